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

extension PipelineRunRepository {
    /// After a command-line load stored runs (`import`, `migrate`): refreshes the planner's
    /// statistics, and only warns when that fails, since the runs are stored either way and stale
    /// statistics only slow queries down until autovacuum or the next start.
    public func refreshStatisticsAfterLoading(logger: Logger) async {
        do {
            try await refreshStatistics()
        } catch {
            logger.warning("Could not refresh the planner's statistics after loading: \(error)")
        }
    }
}
