public import PipelineCore
public import PipelineStore

/// A repository under test on storage of its own, which can be restarted (closed and opened
/// again on the same storage, as a process restart would) and is destroyed at the end.
public final class RepositoryFixture: @unchecked Sendable {
    /// An open repository and how to close it (stop its services, release its files).
    public typealias Opened = (repository: any PipelineRunRepository, close: @Sendable () async throws -> Void)

    private let open: @Sendable () async throws -> Opened
    private let destroy: @Sendable () async throws -> Void
    private var close: @Sendable () async throws -> Void
    /// The repository currently open, prepared.
    public private(set) var repository: any PipelineRunRepository
    /// A path or URL identifying the storage, for backend-specific checks (file path, table name).
    public let location: String

    /// - Parameters:
    ///   - open: opens the storage and starts the repository's services; `prepare()` is called by the fixture.
    ///   - destroy: removes the storage once closed (delete files, drop the table).
    public init(
        location: String,
        open: @escaping @Sendable () async throws -> Opened,
        destroy: @escaping @Sendable () async throws -> Void
    )
        async throws
    {
        self.location = location
        self.open = open
        self.destroy = destroy
        let opened = try await open()
        self.repository = opened.repository
        self.close = opened.close
        do {
            try await opened.repository.prepare()
        } catch {
            try? await opened.close()
            try? await destroy()
            throw error
        }
    }

    /// Closes the repository and opens the same storage again.
    public func restart() async throws {
        try await close()
        let opened = try await open()
        try await opened.repository.prepare()
        repository = opened.repository
        close = opened.close
    }

    /// Closes the repository and destroys its storage.
    public func tearDown() async throws {
        try await close()
        try await destroy()
    }
}

extension PipelineRunRepository {
    /// The most recently stored run with this date code, if any.
    public func run(dateCode: String) async throws -> PipelineInfo? {
        try await runs(matching: RunQuery(filter: RunFilter(dateCode: dateCode), paging: .window(limit: 1, offset: 0))).runs.first?.info
    }
}
