import PipelineCore

extension FieldLimits {
    /// Refuses a write holding a value its storage cannot hold (``FieldLimits``), before anything
    /// of it is submitted: the one place every backend checks its limits, so that a single run, a
    /// batch (refused whole) and merged runs answer alike, with a 422 naming each field, the limit
    /// and the column, and nothing stored. The runs of a batch are named by their index.
    func check(_ request: WriteRequest) throws(ValidationError) {
        guard !isEmpty else { return }
        if case .one(let run) = request {
            let issues = issues(in: run)
            if !issues.isEmpty { throw ValidationError(issues) }
            return
        }
        var issues: [FieldIssue] = []
        for (index, run) in request.runs.enumerated() {
            let found = self.issues(in: run)
            if !found.isEmpty { issues += ValidationError(found).nested(atIndex: index).issues }
        }
        if !issues.isEmpty { throw ValidationError(issues) }
    }
}
