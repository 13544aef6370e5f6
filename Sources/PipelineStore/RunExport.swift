public import PipelineCore

extension PipelineRunRepository {
    /// Calls `body` with every run matching `filter`, in result order, one page of at most
    /// `pageSize` runs at a time, starting after `position` when one is given. Pages are fetched
    /// with keyset cursors, so memory stays flat however many runs match, and runs stored
    /// meanwhile never shift a page.
    public func forEachPage(
        matching filter: RunFilter,
        pageSize: Int = 1000,
        after position: RunPosition? = nil,
        _ body: ([StoredRun]) async throws -> Void
    ) async throws {
        var query = RunQuery(filter: filter, paging: position.map { RunPaging.after($0, limit: pageSize) } ?? .window(limit: pageSize, offset: 0))
        while true {
            let page = try await runs(matching: query)
            if !page.runs.isEmpty { try await body(page.runs) }
            guard page.runs.count == pageSize, let last = page.runs.last else { return }
            query.paging = .after(last.position, limit: pageSize)
            // The first page counted the matches; later pages need not count them again.
            query.knownTotal = page.total
        }
    }
}
