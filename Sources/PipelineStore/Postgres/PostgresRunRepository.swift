public import Logging
public import PipelineCore
import PostgresNIO
public import ServiceLifecycle

/// Runs kept in a PostgreSQL table, through one pooled `PostgresClient` (SPEC §4).
///
/// A table the service owns is created and upgraded by named migrations and has a summary table
/// beside it, kept up to date in each insert's transaction. A mapped table (`PIPELINE_COLUMN_MAP`)
/// or one created by someone else is used as it is: nothing is created, its columns are checked.
/// Concurrent single inserts share one transaction; every query comes from `SQLStatements`.
public struct PostgresRunRepository: PipelineRunRepository {
    public var backendName: String { "postgres" }

    private let url: PostgresURL
    private let layout: SQLTableLayout
    let connections: PostgresConnections
    private let clientService: PostgresClientService
    let schema = PostgresSchemaSlot()
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
        layout: SQLTableLayout = .standard,
        timeout: Duration = .seconds(5),
        logger: Logger,
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws(ConfigurationError) {
        let url = try PostgresURL(url)
        self.url = url
        self.layout = layout
        let client = PostgresClient(configuration: url.clientConfiguration(connectTimeout: timeout), backgroundLogger: logger)
        connections = PostgresConnections(client: client, timeout: timeout, logger: logger)
        clientService = PostgresClientService(client: client)
        let writer = PostgresBatchWriter(connections: connections, schema: schema)
        committer = GroupCommitter(onBatch: onBatch) { requests in await writer.commit(requests) }
    }

    /// The connection pool, which must run while the repository is used.
    public var services: [any Service] { [clientService] }

    public func prepare() async throws {
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
        } catch let error as PSQLError where error.code == .server {
            logger.error("Cannot prepare the PostgreSQL table", metadata: ["table": "\(layout.table)", "error": "\(String(reflecting: error))"])
            let message = error.serverInfo?[.message] ?? "the server refused"
            throw ConfigurationError("PIPELINE_TABLE", "cannot prepare table \"\(layout.table)\" on \(url): \(message)")
        } catch {
            logger.error("Cannot prepare the PostgreSQL table", metadata: ["table": "\(layout.table)", "error": "\(String(reflecting: error))"])
            throw ConfigurationError(
                PostgresURL.setting,
                "cannot connect to \(url): \(PostgresStartupProbe.reason(error, url: url, timeout: connections.timeout))"
            )
        }
        schema.store(prepared)
    }

    public func refreshStatistics() async throws {
        let schema = try schema.current()
        guard schema.summary != nil else { return }
        let statement = PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) \(schema.layout.quotedTable)")
        let logger = connections.logger
        try await connections.withConnection("vacuum") { connection in
            _ = try await connection.query(statement, logger: logger)
        }
    }

    // MARK: - Writes

    public func insert(_ run: PipelineInfo) async throws -> InsertOutcome {
        let outcomes = try await committer.submit(.one(run))
        guard let outcome = outcomes.first else { throw StorageError.unavailable(PostgresConnections.notCompleted) }
        return outcome
    }

    public func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await committer.submit(.all(runs))
    }

    // MARK: - Reads

    public func runs(matching query: RunQuery) async throws -> RunPage {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("query runs") { connection in
            switch query.paging {
            case .all:
                let runs = try await Self.storedRuns(schema.statements.page(query), on: connection, logger: logger)
                return RunPage(total: runs.count, runs: runs)

            case .window(let limit, let offset):
                // One snapshot for the page and the count, so they agree.
                return try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) { connection in
                    let runs = try await Self.storedRuns(schema.statements.page(query), on: connection, logger: logger)
                    // A short page that starts inside the matches ends them: no need to count.
                    let isShortPage = runs.count < limit && (!runs.isEmpty || offset == 0)
                    let total =
                        if let known = query.knownTotal { known } else if isShortPage { offset + runs.count } else {
                            try await Self.count(query.filter, schema: schema, on: connection, logger: logger)
                        }
                    return RunPage(total: total, runs: runs, nextCursor: query.nextCursor(after: runs, totalIsBeyond: offset + runs.count < total))
                }

            case .after(let position, let limit):
                // One run more than asked tells whether another page follows.
                let probe = RunQuery(filter: query.filter, paging: .after(position, limit: limit + 1))
                return try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) { connection in
                    let fetched = try await Self.storedRuns(schema.statements.page(probe), on: connection, logger: logger)
                    let total =
                        if let known = query.knownTotal { known } else {
                            try await Self.count(query.filter, schema: schema, on: connection, logger: logger)
                        }
                    let runs = Array(fetched.prefix(limit))
                    return RunPage(total: total, runs: runs, nextCursor: query.nextCursor(after: runs, totalIsBeyond: fetched.count > limit))
                }
            }
        }
    }

    public func summaries() async throws -> [PipelineSummary] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("read summaries") { connection in
            let query = schema.summary?.selectAll ?? schema.statements.aggregatesByGroupedScan().postgresQuery
            let rows = try await connection.rows(query, logger: logger)
            return PipelineSummary.ordered(try rows.map(SignatureAggregate.init(row:)))
        }
    }

    public func run(dateCode: String) async throws -> PipelineInfo? {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("read run") { connection in
            try await Self.storedRuns(schema.statements.runByDateCode(dateCode), on: connection, logger: logger).first?.info
        }
    }

    public func recentSamples(of signature: PipelineSignature, limit: Int) async throws -> [RunSample] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("read recent runs") { connection in
            try await connection.rows(schema.statements.recentSamples(of: signature, limit: limit).postgresQuery, logger: logger)
                .map(RunSample.init(row:))
        }
    }

    public func countRuns(of signature: PipelineSignature, since: UTCInstant) async throws -> Int {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("count recent runs") { connection in
            guard let row = try await connection.rows(schema.statements.countRuns(of: signature, since: since).postgresQuery, logger: logger).first
            else { return 0 }
            return Int(try row.decode(Int64.self))
        }
    }

    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("read run history") { connection in
            var samples: [HistorySample] = []
            for try await row in try await connection.query(schema.statements.historySamples(matching: filter).postgresQuery, logger: logger) {
                samples.append(try HistorySample(row: row))
            }
            return samples
        }
    }

    public func checkHealth() async throws {
        let logger = connections.logger
        try await connections.withConnection("health check") { connection in
            try await connection.execute("SELECT 1", logger: logger)
        }
    }

    private static func storedRuns(_ statement: SQLStatement, on connection: PostgresConnection, logger: Logger) async throws -> [StoredRun] {
        try await connection.rows(statement.postgresQuery, logger: logger).map(StoredRun.init(row:))
    }

    private static func count(_ filter: RunFilter, schema: PostgresSchema, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let statement = (schema.summary == nil ? nil : schema.statements.countFromSummary(filter)) ?? schema.statements.count(filter)
        guard let row = try await connection.rows(statement.postgresQuery, logger: logger).first else { return 0 }
        return Int(try row.decode(Int64.self))
    }
}
