public import Logging
public import PipelineStore

/// Opens the configured backend outside the server (for command-line tools), runs its
/// services (a connection pool) while `body` works, prepares it, and stops everything after.
public func withRepository<T: Sendable>(
    _ backend: BackendConfiguration,
    logger: Logger,
    _ body: @Sendable (any PipelineRunRepository) async throws -> T
) async throws -> T {
    let repository = try openRepository(backend, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        for service in repository.services {
            group.addTask { try await service.run() }
        }
        defer { group.cancelAll() }
        try await repository.prepare()
        return try await body(repository)
    }
}
