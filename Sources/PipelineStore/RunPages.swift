public import PipelineCore

/// Every run matching a filter, in result order, one page at a time: the one way anything reads
/// more runs than a page holds (exports, `all_data`, `migrate`). Pages follow keyset cursors, so
/// memory stays flat however many runs match and runs stored meanwhile never shift a page; the
/// sequence ends when a page has no next cursor, and pages after the first reuse its total
/// instead of counting the matches again.
public struct RunPages: AsyncSequence, Sendable {
    public typealias Element = RunPage

    private let repository: any PipelineRunRepository
    private let first: RunQuery

    /// - Parameter position: where to start (after this run), or nil for the first run.
    public init(of repository: any PipelineRunRepository, matching filter: RunFilter, pageSize: Int, after position: RunPosition? = nil) {
        self.repository = repository
        self.first = RunQuery(filter: filter, paging: position.map { .after($0, limit: pageSize) } ?? .window(limit: pageSize, offset: 0))
    }

    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        fileprivate let repository: any PipelineRunRepository
        fileprivate var next: RunQuery?

        public mutating func next() async throws -> RunPage? {
            guard var query = next else { return nil }
            let page = try await repository.runs(matching: query)
            if let cursor = page.nextCursor, let limit = query.paging.limit {
                query.paging = .after(cursor.position, limit: limit)
                query.knownTotal = page.total
                next = query
            } else {
                next = nil
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(repository: repository, next: first)
    }

    /// Hands every page to `body` in order, reading each next page while `body` works on the one
    /// before (``AsyncIterator/readingAhead(startingWith:_:)``).
    public func readingAhead(_ body: (RunPage) async throws -> Void) async throws {
        var pages = makeAsyncIterator()
        // Read before the call: an argument that advances `pages` would not advance the receiver.
        let first = try await pages.next()
        try await pages.readingAhead(startingWith: first, body)
    }
}

extension RunPages.AsyncIterator {
    /// Hands `first` (a page already read, nil for none) and then every page after it to `body`,
    /// in order, reading each next page while `body` works on the one before. Reading (the
    /// database, decoding rows) and what `body` does (encoding, writing) then overlap instead of
    /// taking turns. At most one page is read ahead.
    ///
    /// An error of `body` (the client went away) ends the loop once the read under way has
    /// finished, uncancelled: a cancelled read would fail as a storage error, logged and counted
    /// as one, though the storage is fine. An error of a read ends the loop after `body` has
    /// handled the page before it.
    public func readingAhead(startingWith first: RunPage?, _ body: (RunPage) async throws -> Void) async throws {
        var pages = self
        var current = first
        while let page = current {
            let reader = pages
            async let upcoming = reader.advanced()
            do {
                try await body(page)
            } catch {
                _ = try? await upcoming
                throw error
            }
            (current, pages) = try await upcoming
        }
    }

    /// The next page, and the iterator after it.
    private func advanced() async throws -> (RunPage?, Self) {
        var pages = self
        let page = try await pages.next()
        return (page, pages)
    }
}
