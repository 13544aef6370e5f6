public import Logging
public import PipelineCore
import ServiceLifecycle
import Synchronization

/// Which backend to open, with its settings.
public enum BackendConfiguration: Sendable, Hashable {
    case jsonl(path: String)
    case sqlite(path: String, layout: SQLTableLayout)
    /// `readURLs`: hot standbys that serve reads (`PIPELINE_POSTGRES_READ_URL`).
    case postgres(url: String, layout: SQLTableLayout, readURLs: [String] = [])

    public var name: String {
        switch self {
        case .jsonl: "jsonl"
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }
}

extension BackendConfiguration {
    /// A backend named on the command line: `jsonl:PATH`, `sqlite:PATH` or `postgres:URL`
    /// (SQL tables with the default name and columns). `argument` names the flag in errors, which
    /// never repeat a password.
    public init(spec: String, argument: String) throws(ConfigurationError) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw ConfigurationError(argument: argument, "\"\(Redaction.credentials(in: spec))\" is not jsonl:PATH, sqlite:PATH or postgres:URL")
        }
        switch parts[0].lowercased() {
        case "jsonl": self = .jsonl(path: parts[1])
        case "sqlite": self = .sqlite(path: parts[1], layout: .standard)
        case "postgres", "postgresql":
            self = .postgres(url: spec.hasPrefix("postgres") && parts[1].hasPrefix("//") ? spec : parts[1], layout: .standard)
        default:
            throw ConfigurationError(
                argument: argument,
                "unknown backend \"\(parts[0])\" in \"\(Redaction.credentials(in: spec))\"; use jsonl:, sqlite: or postgres:"
            )
        }
    }

    /// The backend as a command line names it, any password replaced by `***`.
    public var redactedDescription: String {
        switch self {
        case .jsonl(let path): "jsonl:\(path)"
        case .sqlite(let path, _): "sqlite:\(path)"
        case .postgres(let url, _, _): Redaction.credentials(in: url)
        }
    }
}

/// What a command does with the storage it opens, and whether ``openRepository(_:limits:access:logger:onCommitBatch:)``
/// may create a JSONL or SQLite file that is missing.
public enum StorageAccess: Sendable {
    /// Reads and writes, creating a JSONL or SQLite file that is missing: `serve`, `import` and the
    /// destination of `migrate`, the commands that start a store.
    case readWrite
    /// Reads and writes a store that must exist (`prune`): a mistyped path is refused, not created.
    case readWriteExisting
    /// Only reads a store that must exist (`export`, the source of `migrate`): a JSONL file is then
    /// read beside a running service, without taking its lock. SQL backends allow concurrent
    /// readers anyway.
    case readOnly

    /// Whether a missing JSONL or SQLite file is created.
    var createsStore: Bool { self == .readWrite }
}

extension BackendConfiguration {
    /// The setting and path of a JSONL or SQLite file that does not exist yet; nil when it
    /// exists, and for PostgreSQL.
    private var missingFile: (setting: Setting, path: String)? {
        let (setting, path): (Setting, String)
        switch self {
        case .jsonl(let file): (setting, path) = (.jsonlPath, file)
        case .sqlite(let file, _): (setting, path) = (.sqlitePath, file)
        case .postgres: return nil
        }
        return isMissing(path: path) ? (setting, path) : nil
    }

    /// Whether opening the backend to write creates its file, which a start-up that fails later
    /// would leave behind.
    public var createsFileWhenOpened: Bool { missingFile != nil }

    /// A JSONL or SQLite file that does not exist, for an access that creates no store: the
    /// error names the setting and the path, since a command that only reads or changes runs was
    /// pointed at the wrong place (a mistyped path, another working directory). Nil otherwise.
    func missingStore(for access: StorageAccess) -> ConfigurationError? {
        guard !access.createsStore, let missing = missingFile else { return nil }
        return ConfigurationError(missing.setting, "\(missing.path) does not exist; only serve and import create a store (check the path)")
    }
}

/// Opens the configured backend. Misconfiguration throws a ``ConfigurationError`` naming the setting.
/// `onCommitBatch` hears the size of each JSONL group commit (runs made durable by one `fsync`).
public func openRepository(
    _ backend: BackendConfiguration,
    limits: RepositoryLimits = .standard,
    access: StorageAccess = .readWrite,
    logger: Logger,
    onCommitBatch: @escaping @Sendable (Int) -> Void = { _ in }
) throws -> any PipelineRunRepository {
    if let missing = backend.missingStore(for: access) { throw missing }
    switch backend {
    case .jsonl(let path): return try JSONLRunRepository(path: path, limits: limits, access: access, logger: logger, onBatch: onCommitBatch)
    case .sqlite(let path, let layout): return try SQLiteRunRepository(path: path, layout: layout, limits: limits, logger: logger)
    case .postgres(let url, let layout, let readURLs):
        return try PostgresRunRepository(url: url, readURLs: readURLs, layout: layout, limits: limits, logger: logger)
    }
}

/// Opens the configured backend outside the server (command-line tools): runs its services (a
/// connection pool) in a service group beside `body`, prepares the storage, and shuts the group
/// down gracefully once `body` is done, whether it returned or threw.
public func withRepository<T: Sendable>(
    _ backend: BackendConfiguration,
    limits: RepositoryLimits = .standard,
    access: StorageAccess = .readWrite,
    logger: Logger,
    _ body: @escaping @Sendable (any PipelineRunRepository) async throws -> T
) async throws -> T {
    let repository = try openRepository(backend, limits: limits, access: access, logger: logger)
    let work = CommandWork {
        do {
            try await repository.prepare()
        } catch let error as StorageUnreachable {
            // A command is run by hand or by a scheduler that retries: it reports at once.
            throw error.error
        }
        return try await body(repository)
    }
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: repository.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: work,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            ],
            logger: logger
        )
    )
    do {
        try await group.run()
    } catch {
        // The group reports the work's own failure; the work's result below says the same.
        if case .none = work.outcome() { throw error }
    }
    guard let outcome = work.outcome() else { throw StorageError.unavailable("the command did not run") }
    return try outcome.get()
}

/// A command's work as a service of its group, keeping its outcome for the caller.
private final class CommandWork<Value: Sendable>: Service, Sendable {
    private let body: @Sendable () async throws -> Value
    private let result = Mutex<Result<Value, any Error>?>(nil)

    init(_ body: @escaping @Sendable () async throws -> Value) {
        self.body = body
    }

    func run() async throws {
        do {
            let value = try await body()
            result.withLock { $0 = .success(value) }
        } catch {
            result.withLock { $0 = .failure(error) }
            throw error
        }
    }

    func outcome() -> Result<Value, any Error>? {
        result.withLock { $0 }
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
