import PipelineCore
import PipelineDashboard
import PipelineStore

extension RunHistoryTable {
    /// Reads one page of a signature's runs with the API's filters and paging: the history
    /// parameters are read as `GET /get_pipeline_info` reads them, so a bad value gives the API's
    /// own message, and the filter then asks for exactly the signature (a null field for a missing
    /// value) before a cursor is checked against it.
    static func load(
        signature: PipelineSignature,
        parameters requestParameters: [(name: String, value: String)],
        from repository: some PipelineRunRepository
    ) async throws -> RunHistoryTable {
        let parameters = requestParameters.filter { parameterNames.contains($0.name) }
        var reader = QueryParameters(parameters)
        let query = RunQuery(reading: &reader) { filter in filter.restrict(to: signature) }
        do {
            try reader.validate()
        } catch {
            return RunHistoryTable(content: .invalid(error), parameters: parameters)
        }
        return RunHistoryTable(content: .page(try await repository.runs(matching: query), query), parameters: parameters)
    }
}
