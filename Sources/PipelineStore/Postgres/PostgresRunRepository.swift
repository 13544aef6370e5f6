public import Logging
public import PipelineCore
import PostgresNIO
public import ServiceLifecycle

/// Runs kept in a PostgreSQL table, through one pooled `PostgresClient`.
///
/// A table the service owns is created and upgraded by named migrations and has a summary table
/// beside it, kept up to date in each insert's transaction. A mapped table (`PIPELINE_COLUMN_MAP`)
/// or one created by someone else is used as it is: nothing is created, its columns are checked.
/// Concurrent inserts share one transaction; every statement comes from the shared SQL layer.
public struct PostgresRunRepository: PipelineRunRepository {
    public var backendName: String { "postgres" }

    private let url: PostgresURL
    private let layout: SQLTableLayout
    let connections: PostgresConnections
    /// Hot standbys for reads; none unless `PIPELINE_POSTGRES_READ_URL` names some.
    let standbys: PostgresStandbys
    let schema = PostgresSchemaSlot()
    let knownSignatures = KnownSignatures()
    let runningRunsCache = RunningRunsCache()
    private let committer: GroupCommitter<WriteRequest, [InsertOutcome]>

    /// - Parameters:
    ///   - url: `PIPELINE_POSTGRES_URL`, `postgres://user:password@host:port/database[?sslmode=disable|prefer|require|verify-full]`.
    ///   - layout: the table and its columns.
    ///   - timeout: how long an operation waits for a database connection before it fails; also
    ///     the limit for connecting at start-up.
    ///   - onBatch: called with the number of writes in each group commit (for metrics).
    /// - Throws: a ``ConfigurationError`` naming `PIPELINE_POSTGRES_URL` when the URL is malformed
    ///   (the message never repeats the password).
    public init(
        url: String,
        readURLs: [String] = [],
        layout: SQLTableLayout = .standard,
        limits: RepositoryLimits = .standard,
        timeout: Duration = .seconds(5),
        logger: Logger,
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws(ConfigurationError) {
        var url = try PostgresURL(url)
        url.searchSchema(layout.schema)
        self.url = url
        self.layout = layout
        let client = PostgresClient(configuration: url.clientConfiguration(connectTimeout: timeout), backgroundLogger: logger)
        connections = PostgresConnections(client: client, timeout: timeout, logger: logger)
        standbys = try PostgresStandbys(urls: readURLs, schema: layout.schema, timeout: timeout, logger: logger)
        let writer = PostgresBatchWriter(connections: connections, schema: schema, knownSignatures: knownSignatures, limit: limits.maximumSignatures)
        let runningRunsCache = runningRunsCache
        committer = GroupCommitter(onBatch: onBatch) { requests in
            let results = await writer.commit(requests)
            runningRunsCache.noteCommitted(results)
            return results
        }
    }

    /// The connection pool, which must run (once) while the repository is used.
    public var services: [any Service] { [connections.client] + standbys.services }

    /// Prepares the table on the primary. When the primary cannot be reached but a standby can,
    /// and the standby shows the table fully migrated, reads are served from the standby at once:
    /// a service restarted while its primary is down still answers history, summaries and `/ui`,
    /// and its writes answer 503 until the primary is back (it needs no migration then).
    public func prepare() async throws {
        do {
            try await preparePrimary()
        } catch let unreachable as StorageUnreachable where !standbys.standbys.isEmpty {
            let (layout, logger) = (layout, connections.logger)
            guard let inspected = await standbys.firstAnswer({ try await PostgresSchema.inspect(on: $0, layout: layout, logger: logger) }) else {
                throw unreachable
            }
            schema.store(inspected)
            logger.warning(
                "The primary cannot be reached: serving reads from a standby; writes fail until the primary is back",
                metadata: ["table": "\(layout.qualifiedName)", "reason": "\(unreachable.error.message)"]
            )
        }
    }

    private func preparePrimary() async throws {
        try await PostgresStartupProbe.check(url, timeout: connections.timeout, logger: connections.logger)
        let layout = layout
        let logger = connections.logger
        let prepared: PostgresSchema
        do {
            prepared = try await connections.withBoundedLease { connection in
                try await PostgresSchema.prepare(on: connection, layout: layout, logger: logger)
            }
        } catch let error as ConfigurationError {
            throw error
        } catch let error as PSQLError where error.code == .server && !PostgresStartupProbe.isTransient(error) {
            logger.error(
                "Cannot prepare the PostgreSQL table",
                metadata: ["table": "\(layout.qualifiedName)", "error": "\(String(reflecting: error))"]
            )
            let message = error.serverInfo?[.message] ?? "the server refused"
            throw ConfigurationError(.table, "cannot prepare table \"\(layout.qualifiedName)\" on \(url): \(message)")
        } catch {
            let failure = ConfigurationError(
                .postgresURL,
                "cannot connect to \(url): \(PostgresStartupProbe.reason(error, url: url, timeout: connections.timeout))"
            )
            // The server went away between the probe and the migration: as unreachable as before it.
            guard PostgresStartupProbe.isTransient(error) else {
                logger.error(
                    "Cannot prepare the PostgreSQL table",
                    metadata: ["table": "\(layout.qualifiedName)", "error": "\(String(reflecting: error))"]
                )
                throw failure
            }
            throw StorageUnreachable(failure)
        }
        schema.store(prepared)
    }

    public func refreshStatistics() async throws {
        let schema = try schema.current()
        guard schema.summary != nil else { return }
        let statement = PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) \(schema.layout.quotedTable)")
        let logger = connections.logger
        try await connections.withConnection("vacuum") { connection in
            try await connection.execute(statement, logger: logger)
        }
    }

    // MARK: - Writes

    public func insert(_ run: PipelineInfo) async throws -> InsertOutcome {
        guard let outcome = try await submit(.one(run)).first else { throw StorageError.unavailable(PostgresConnections.notCompleted) }
        return outcome
    }

    public func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await submit(.all(runs))
    }

    public func insert(merged runs: [MergedRun]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await submit(.merged(runs))
    }

    /// Hands a write to the group commit once it fits the table's columns (``FieldLimits``).
    private func submit(_ request: WriteRequest) async throws -> [InsertOutcome] {
        try fieldLimits().check(request)
        return try await committer.submit(request)
    }

    public func fieldLimits() throws -> FieldLimits {
        try schema.current().layout.fieldLimits
    }

    // MARK: - Reads

    public func runs(matching query: RunQuery) async throws -> RunPage {
        let schema = try schema.current()
        let logger = connections.logger
        let assembly = SQLPageAssembly(query: query)
        return try await withReadConnection("query runs") { connection in
            // Every match, or a page whose total the caller already knows: one statement, no count
            // to keep in step with it.
            if query.paging == .all || query.knownTotal != nil {
                let fetched = try await connection.rows(schema.statements.page(query), logger: logger) { try StoredRun(reading: &$0) }
                return assembly.page(fetched: fetched, total: assembly.knownTotal(fetched: fetched.count) ?? fetched.count)
            }
            // One snapshot for the page and the count, so they agree.
            return try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) { connection in
                let fetched = try await connection.rows(schema.statements.page(query), logger: logger) { try StoredRun(reading: &$0) }
                var total = assembly.knownTotal(fetched: fetched.count)
                if total == nil { total = try await Self.count(query.filter, schema: schema, on: connection, logger: logger) }
                return assembly.page(fetched: fetched, total: total ?? 0)
            }
        }
    }

    public func count(matching filter: RunFilter) async throws -> Int {
        let schema = try schema.current()
        let logger = connections.logger
        return try await withReadConnection("count runs") { connection in
            try await Self.count(filter, schema: schema, on: connection, logger: logger)
        }
    }

    public func summaries() async throws -> [PipelineSummary] {
        PipelineSummary.ordered(try await aggregates(fromPrimary: false))
    }

    public func runningRuns() async throws -> [RunningRuns] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await runningRunsCache.runs {
            try await withReadConnection("read running runs") { connection in
                try await connection.rows(schema.statements.runningRuns(), logger: logger) { try RunningRuns(reading: &$0) }
            }
        }
    }

    /// Every signature's totals (``PostgresSchema/aggregates(on:logger:)``), from a standby when
    /// there is one, or from the primary, for a writer that must see its own writes.
    func aggregates(fromPrimary: Bool) async throws -> [SignatureAggregate] {
        let schema = try schema.current()
        let logger = connections.logger
        let read = { @Sendable (connection: PostgresConnection) in try await schema.aggregates(on: connection, logger: logger) }
        return fromPrimary ? try await connections.withConnection("read summaries", read) : try await withReadConnection("read summaries", read)
    }

    /// Runs a read on a standby (``PostgresStandbys``), or on the primary when there is none.
    func withReadConnection<Value: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await standbys.withConnection(operation, primary: connections, body)
    }

    public func latestRun(withID runID: String) async throws -> StoredRun? {
        let schema = try schema.current()
        let logger = connections.logger
        let statement = schema.statements.page(.run(withID: runID))
        return try await connections.withConnection("read a run to write") { connection in
            try await connection.rows(statement, logger: logger) { try StoredRun(reading: &$0) }.first
        }
    }

    public func replicaStates() async -> [ReplicaState] {
        await standbys.states()
    }

    public func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await withReadConnection("read recent runs") { connection in
            try await connection.rows(schema.statements.samples(matching: filter, limit: limit), logger: logger) { try RunSample(reading: &$0) }
        }
    }

    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await withReadConnection("read run history") { connection in
            try await connection.rows(schema.statements.historySamples(matching: filter), logger: logger) { try HistorySample(reading: &$0) }
        }
    }

    public func checkHealth() async throws {
        let logger = connections.logger
        try await connections.withConnection("health check") { connection in
            try await connection.execute("SELECT 1", logger: logger)
        }
    }

    static func count(_ filter: RunFilter, schema: PostgresSchema, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let counts = try await connection.rows(schema.statements.count(filter, summary: schema.summary), logger: logger) {
            try $0.integer(column: "count")
        }
        return Int(counts.first ?? 0)
    }
}
