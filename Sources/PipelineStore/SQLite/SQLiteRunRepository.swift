import GRDB
public import Logging
public import PipelineCore
public import ServiceLifecycle
import Synchronization

/// Pipeline runs in an SQLite file, through a GRDB `DatabasePool`.
///
/// Reads run concurrently with the single writer (WAL mode). An insert returns only once its
/// transaction is flushed to disk (`synchronous=FULL`). Concurrent inserts share one transaction
/// through a ``GroupCommitter``, each in a savepoint of its own, so one request's conflict never
/// undoes another request's runs.
///
/// On a table the service owns (no column map, created by its migrations) per-signature totals
/// are kept in its summary table, updated in the transaction of each group of inserts. Someone
/// else's table is never altered: its summaries come from one grouped scan.
public struct SQLiteRunRepository: PipelineRunRepository {
    public var backendName: String { "sqlite" }
    public var services: [any Service] { [] }

    let pool: DatabasePool
    private let layout: SQLTableLayout
    let logger: Logger
    let tables: PreparedTables
    let knownSignatures: KnownSignatures
    let runningRunsCache = RunningRunsCache()
    private let committer: GroupCommitter<WriteRequest, [InsertOutcome]>

    /// Opens the database file, creating it when missing. Call ``prepare()`` before anything else.
    ///
    /// - Parameter layout: the table and its columns; by default the service's own `pipeline_runs`.
    /// - Throws: ``ConfigurationError`` for `PIPELINE_SQLITE_PATH` when the file cannot be opened or created.
    public init(path: String, layout: SQLTableLayout = .standard, limits: RepositoryLimits = .standard, logger: Logger) throws {
        if let schema = layout.schema {
            throw ConfigurationError(.table, "\"\(schema).\(layout.table)\" names a schema, which SQLite does not have: name the table alone")
        }
        var configuration = Configuration()
        configuration.label = "pipeline-runs"
        // Another process's write makes this one wait instead of failing at once.
        configuration.busyMode = .timeout(5)
        // Reads through a memory map: history and all_data read tens of thousands of rows spread over
        // the table, and without it every page is a read() copied out of the page cache. Writes
        // still go through the WAL with write() and fsync (this SQLite maps read-only).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA mmap_size = \(SQLiteTuning.mmapSize)")
            db.add(function: SQLiteSequentialSum.function)
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB picks synchronous=NORMAL with WAL, which can lose the last commits on power loss;
            // a 201 promises the run is on disk. The pool's writer is one connection for its lifetime.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = \(SQLiteTuning.writerCacheKiB)")
            }
        } catch {
            throw ConfigurationError(.sqlitePath, "cannot open or create the SQLite database \"\(path)\": \(Self.reason(error))")
        }
        let tables = PreparedTables()
        let knownSignatures = KnownSignatures()
        self.pool = pool
        self.layout = layout
        self.logger = logger
        self.tables = tables
        self.knownSignatures = knownSignatures
        let runningRunsCache = runningRunsCache
        self.committer = GroupCommitter { requests in
            let results = await Self.commit(
                requests,
                tables: tables,
                known: knownSignatures,
                limit: limits.maximumSignatures,
                pool: pool,
                logger: logger
            )
            runningRunsCache.noteCommitted(results)
            return results
        }
    }

    /// Applies the migrations of a table the service owns, or checks that someone else's table
    /// (a column map, or a table the migrations did not create) has every column.
    ///
    /// - Throws: ``ConfigurationError`` naming the setting at fault (`PIPELINE_TABLE`,
    ///   `PIPELINE_COLUMN_MAP`, `PIPELINE_SQLITE_PATH`).
    public func prepare() async throws {
        do {
            let prepared = try await SQLiteTables.prepare(layout, in: pool)
            tables.set(prepared)
            prepared.statements.layout.reportAbsentColumns(logger: logger)
            if prepared.summary != nil {
                // On its own table only: fresh statistics let the planner choose between the start, name
                // and rowcount indexes (without them a combined filter can walk the wrong one).
                try await analyze()
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            logger.error("SQLite prepare failed", metadata: ["error": "\(error)"])
            throw ConfigurationError(.sqlitePath, "cannot prepare table \"\(layout.table)\": \(Self.reason(error))")
        }
    }

    public func refreshStatistics() async throws {
        guard try tables.prepared().summary != nil else { return }
        do {
            try await analyze()
        } catch {
            throw StorageError.fromSQLite(error, during: .write, logger: logger)
        }
    }

    /// Fresh planner statistics for the run table. Cheap: analysis_limit samples each index.
    private func analyze() async throws {
        let table = layout.quotedTable
        try await pool.write { db in try db.execute(sql: "PRAGMA analysis_limit = 1000; ANALYZE \(table)") }
    }

    /// Closes the database; later calls fail with ``StorageError/unavailable(_:)``. Closing twice is harmless.
    public func close() throws {
        do {
            try pool.close()
        } catch {
            throw StorageError.fromSQLite(error, during: .write, logger: logger)
        }
    }

    // MARK: - Writes

    public func insert(_ run: PipelineInfo) async throws -> InsertOutcome {
        guard let outcome = try await submit(.one(run)).first else {
            throw StorageError.unavailable("the write was not committed")
        }
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

    /// Hands a write to the group commit once it fits the table's columns (``FieldLimits``: SQLite
    /// keeps any length and any number in any column, so only NOT NULL columns limit a table there).
    private func submit(_ request: WriteRequest) async throws -> [InsertOutcome] {
        try fieldLimits().check(request)
        return try await committer.submit(request)
    }

    public func fieldLimits() throws -> FieldLimits {
        try tables.prepared().statements.layout.fieldLimits
    }

    /// Commits a group of writes in one transaction. A conflict or a refused new signature fails
    /// only its own request; any other failure fails the whole group, since nothing of it was committed.
    private static func commit(
        _ requests: [WriteRequest],
        tables: PreparedTables,
        known: KnownSignatures,
        limit: Int,
        pool: DatabasePool,
        logger: Logger
    ) async -> [Result<[InsertOutcome], any Error>] {
        do {
            let tables = try tables.prepared()
            let results = try await pool.write { db in
                if !known.isLoaded { known.replace(with: try tables.signatures(in: db)) }
                var refusals = known.admit(requests, limit: limit)
                if refusals.contains(where: { $0 != nil }) {
                    known.replace(with: try tables.signatures(in: db))
                    refusals = known.admit(requests, limit: limit)
                }
                return try tables.store(requests, refusals: refusals, in: db)
            }
            known.insert(Set(results.flatMap { (try? $0.get()) ?? [] }.filter(\.isWritten).map(\.storedRun.info.signature)))
            return results
        } catch let conflict as StorageError where (conflict.conflictingKey != nil || conflict.refusal != nil) && requests.count == 1 {
            // A request alone in its transaction, refused for a conflicting run or a rule of the table: rolled back, its own answer.
            return [.failure(conflict)]
        } catch {
            let failure = StorageError.fromSQLite(error, during: .write, logger: logger)
            return requests.map { _ in .failure(failure) }
        }
    }

    // MARK: - Reads

    public func runs(matching query: RunQuery) async throws -> RunPage {
        try await read { tables, db in try tables.page(query, in: db) }
    }

    public func count(matching filter: RunFilter) async throws -> Int {
        try await read { tables, db in try tables.count(tables.statements.count(filter, summary: tables.summary), in: db) }
    }

    public func summaries() async throws -> [PipelineSummary] {
        PipelineSummary.ordered(try await read { tables, db in try tables.aggregates(in: db) })
    }

    public func runningRuns() async throws -> [RunningRuns] {
        try await runningRunsCache.runs { try await read { tables, db in try tables.runningRuns(in: db) } }
    }

    public func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample] {
        try await read { tables, db in
            try SQLiteRow.each(tables.statements.samples(matching: filter, limit: limit), in: db, subject: "a run sample") {
                try RunSample(reading: &$0)
            }
        }
    }

    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        try await read { tables, db in
            try SQLiteRow.each(tables.statements.historySamples(matching: filter), in: db, subject: "a run sample") {
                try HistorySample(reading: &$0)
            }
        }
    }

    public func checkHealth() async throws {
        try await read(during: .healthCheck) { tables, db in
            _ = try Row.fetchOne(db, sql: "SELECT 1 FROM \(tables.statements.layout.quotedTable) LIMIT 1")
        }
    }

    /// One read transaction (a consistent snapshot), with database errors made client-safe.
    func read<T: Sendable>(
        during access: SQLiteAccess = .read,
        _ body: @Sendable (SQLiteTables, Database) throws -> T
    ) async throws -> T {
        do {
            let tables = try tables.prepared()
            return try await pool.read { db in try body(tables, db) }
        } catch {
            throw StorageError.fromSQLite(error, during: access, logger: logger)
        }
    }

    /// One line for a start-up message.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return error.message ?? "SQLite error \(error.resultCode.rawValue)"
    }
}

/// The tables `prepare()` found, shared by copies of the repository and by its commit closure.
final class PreparedTables: Sendable {
    private let tables = Mutex<SQLiteTables?>(nil)

    func set(_ tables: SQLiteTables) {
        self.tables.withLock { $0 = tables }
    }

    func prepared() throws(StorageError) -> SQLiteTables {
        guard let tables = tables.withLock({ $0 }) else { throw StorageError.unavailable("the storage was not prepared") }
        return tables
    }
}

/// Connection settings chosen for reads at scale.
enum SQLiteTuning {
    /// Up to 2 GiB of the database mapped for reads (SQLite caps it at its compile-time maximum).
    static let mmapSize: Int64 = 2 << 30

    /// The writer's page cache, 64 MiB (negative: KiB, as SQLite reads it). A batch adds keys all
    /// over the run-id and rowcount indexes; with SQLite's default 2 MiB the cache fills
    /// mid-transaction and spills dirty pages to the WAL, to be dirtied and written again by the
    /// next rows (a 200,000-run import: a fifth fewer page writes, 8% less time with it). The
    /// cache is allocated as it fills, so a small database never takes it all; once filled (a large
    /// import), it stays allocated for the life of the process.
    static let writerCacheKiB = -65_536
}
