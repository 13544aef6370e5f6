import GRDB
public import Logging
public import PipelineCore
import Synchronization

/// Pipeline runs in an SQLite file, through a GRDB `DatabasePool`.
///
/// Reads run concurrently with the single writer (WAL mode). An insert returns only once its
/// transaction is flushed to disk (`synchronous=FULL`). Concurrent inserts share one transaction
/// through a ``GroupCommitter``, each in a savepoint of its own, so one request's conflict never
/// undoes another request's runs.
///
/// On a table the service owns (no column map, created by its migrations) per-signature totals
/// are kept in `<table>_summary`, updated in the transaction of each insert. Someone else's
/// table is never altered: its summaries come from one grouped scan.
public struct SQLiteRunRepository: PipelineRunRepository {
    public var backendName: String { "sqlite" }

    let pool: DatabasePool
    private let layout: SQLTableLayout
    let logger: Logger
    let tables: PreparedTables
    private let committer: GroupCommitter<WriteRequest, [InsertOutcome]>

    /// Opens the database file, creating it when missing. Call ``prepare()`` before anything else.
    ///
    /// - Parameter layout: the table and its columns; by default the service's own `pipeline_runs`
    ///   (a constant name that always validates, hence the `try!`).
    /// - Throws: ``ConfigurationError`` for `PIPELINE_SQLITE_PATH` when the file cannot be opened or created.
    public init(path: String, layout: SQLTableLayout = .standard, logger: Logger) throws {
        var configuration = Configuration()
        configuration.label = "pipeline-runs"
        // Another process's write makes this one wait instead of failing at once.
        configuration.busyMode = .timeout(5)
        // Reads through a memory map: history and all_data read tens of thousands of rows spread over
        // the table, and without it every page is a read() copied out of the page cache. Writes
        // still go through the WAL with write() and fsync (this SQLite maps read-only).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA mmap_size = \(SQLiteTuning.mmapSize)")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB picks synchronous=NORMAL with WAL, which can lose the last commits on power loss;
            // a 201 promises the run is on disk. The pool's writer is one connection for its lifetime.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw ConfigurationError("PIPELINE_SQLITE_PATH", "cannot open or create the SQLite database \"\(path)\": \(Self.reason(error))")
        }
        let tables = PreparedTables()
        self.pool = pool
        self.layout = layout
        self.logger = logger
        self.tables = tables
        self.committer = GroupCommitter { requests in
            await Self.commit(requests, tables: tables, pool: pool, logger: logger)
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
            SQLTableLayout.reportAbsentColumns(prepared.statements.layout.absentFields, table: layout.table, logger: logger)
            if prepared.summary != nil {
                // On its own table only: fresh statistics let the planner choose between the start, name
                // and rowcount indexes (without them a combined filter can walk the wrong one).
                try await analyze()
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            logger.error("SQLite prepare failed", metadata: ["error": "\(error)"])
            throw ConfigurationError("PIPELINE_SQLITE_PATH", "cannot prepare table \"\(layout.table)\": \(Self.reason(error))")
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
        guard let outcome = try await committer.submit(.one(run)).first else {
            throw StorageError.unavailable("the write was not committed")
        }
        return outcome
    }

    public func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await committer.submit(.all(runs))
    }

    /// Commits a group of writes in one transaction. A conflict fails only its own request;
    /// any other failure fails the whole group, since nothing of it was committed.
    private static func commit(
        _ requests: [WriteRequest],
        tables: PreparedTables,
        pool: DatabasePool,
        logger: Logger
    ) async -> [Result<[InsertOutcome], any Error>] {
        do {
            let tables = try tables.prepared()
            return try await pool.write { db in try tables.store(requests, in: db) }
        } catch {
            let failure = StorageError.fromSQLite(error, during: .write, logger: logger)
            return requests.map { _ in .failure(failure) }
        }
    }

    // MARK: - Reads

    public func runs(matching query: RunQuery) async throws -> RunPage {
        try await read { tables, db in try tables.page(query, in: db) }
    }

    public func summaries() async throws -> [PipelineSummary] {
        PipelineSummary.ordered(try await read { tables, db in try tables.aggregates(in: db) })
    }

    public func run(dateCode: String) async throws -> PipelineInfo? {
        try await read { tables, db in try tables.run(tables.statements.runByDateCode(dateCode), in: db)?.info }
    }

    public func recentSamples(of signature: PipelineSignature, limit: Int) async throws -> [RunSample] {
        try await read { tables, db in try tables.samples(tables.statements.recentSamples(of: signature, limit: limit), in: db) }
    }

    public func countRuns(of signature: PipelineSignature, since: UTCInstant) async throws -> Int {
        try await read { tables, db in try tables.count(tables.statements.countRuns(of: signature, since: since), in: db) }
    }

    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        try await read { tables, db in try tables.historySamples(tables.statements.historySamples(matching: filter), in: db) }
    }

    public func checkHealth() async throws {
        try await read(during: .healthCheck) { tables, db in try tables.probe(in: db) }
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

// MARK: - Statements in a transaction

extension SQLiteTables {
    /// Stores each request in a savepoint of its own: all of its runs, or none when one conflicts.
    /// Errors other than conflicts are rethrown, failing the whole transaction.
    func store(_ requests: [WriteRequest], in db: Database) throws -> [Result<[InsertOutcome], any Error>] {
        try requests.map { request in
            do {
                var outcomes: [InsertOutcome] = []
                try db.inSavepoint {
                    outcomes = try request.runs.map { try store($0, in: db) }
                    return .commit
                }
                return .success(outcomes)
            } catch let error as StorageError where error.conflictingKey != nil {
                return .failure(error)
            }
        }
    }

    /// Stores one run unless its key is already stored; the stored run decides the outcome then.
    private func store(_ incoming: PipelineInfo, in db: Database) throws -> InsertOutcome {
        let run = statements.layout.storable(incoming)
        // Someone else's table may have no unique index on the key: look before inserting.
        if summary == nil, let key = run.runKey, let stored = try self.run(statements.runByKey(key), in: db) {
            return try SQLiteRunRepository.outcome(forExisting: stored, incoming: run)
        }
        let insert = statements.insert(run)
        // On an owned table the unique index on the key decides; a run it turns away returns no row.
        let sql = insert.sql + (summary == nil ? "" : " ON CONFLICT DO NOTHING") + " RETURNING \(statements.layout.quotedIDColumn)"
        if let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: insert.arguments) {
            let sequence = try StoredValues(row, subject: "a new run").integer(0, SQLTableLayout.idKey)
            try summary?.add(run, in: db)
            return .created(StoredRun(sequence: sequence, info: run))
        }
        guard let key = run.runKey, let stored = try self.run(statements.runByKey(key), in: db) else {
            throw StorageError.unavailable("the run could not be stored")
        }
        return try SQLiteRunRepository.outcome(forExisting: stored, incoming: run)
    }

    /// The page a query asks for and the number of all its matches, from the same snapshot.
    func page(_ query: RunQuery, in db: Database) throws -> RunPage {
        var fetched = query
        var afterLimit: Int?
        if case .after(let position, let limit) = query.paging {
            // One run more than asked for tells whether another page follows.
            let wanted = max(0, limit)
            afterLimit = wanted
            fetched.paging = .after(position, limit: wanted < Int.max ? wanted + 1 : wanted)
        }
        let total =
            try query.knownTotal
            ?? count((summary == nil ? nil : statements.countFromSummary(query.filter)) ?? statements.count(query.filter), in: db)
        var runs: [StoredRun] = []
        if total > 0 {
            // The count tells how wide a row count range is, which SQLite's statistics do not; the
            // table's size comes from the summary table (a table without one keeps the planner's choice).
            var walk = false
            if summary != nil, query.filter.minRowcount != nil || query.filter.maxRowcount != nil,
                let everyRun = statements.countFromSummary(RunFilter())
            {
                walk = SQLStatements.prefersWalkingResultOrder(for: query, matches: total, tableSize: try count(everyRun, in: db))
            }
            runs = try self.runs(statements.page(fetched, walkingResultOrder: walk), in: db)
        }
        let isBeyond: Bool
        switch query.paging {
        case .all:
            isBeyond = false
        case .window(_, let offset):
            isBeyond = runs.count < total - min(max(0, offset), total)
        case .after:
            let wanted = afterLimit ?? runs.count
            isBeyond = runs.count > wanted
            runs = Array(runs.prefix(wanted))
        }
        return RunPage(total: total, runs: runs, nextCursor: query.nextCursor(after: runs, totalIsBeyond: isBeyond))
    }

    /// Every signature's totals: the summary table when the service owns the table, else one grouped scan.
    func aggregates(in db: Database) throws -> [SignatureAggregate] {
        if let summary { return try summary.aggregates(in: db) }
        let scan = statements.aggregatesByGroupedScan()
        return try Row.fetchAll(db.cachedStatement(sql: scan.sql), arguments: scan.arguments).map(SignatureAggregate.init(row:))
    }

    /// The first run a statement selects, if any.
    func run(_ statement: SQLStatement, in db: Database) throws -> StoredRun? {
        try Row.fetchOne(db.cachedStatement(sql: statement.sql), arguments: statement.arguments).map(StoredRun.init(row:))
    }

    /// Reads the run table without touching its rows, to prove the database answers.
    func probe(in db: Database) throws {
        _ = try Row.fetchOne(db, sql: "SELECT 1 FROM \(statements.layout.quotedTable) LIMIT 1")
    }

    private func runs(_ statement: SQLStatement, in db: Database) throws -> [StoredRun] {
        try StoredValues.each(statement, in: db, subject: "a stored run", StoredRun.init(values:))
    }

    /// The samples a statement of `SQLStatements.sampleSelectList` selects.
    func samples(_ statement: SQLStatement, in db: Database) throws -> [RunSample] {
        try StoredValues.each(statement, in: db, subject: "a run sample", RunSample.init(values:))
    }

    /// The history samples a statement of `SQLStatements.historySamples(matching:)` selects, read
    /// straight from a cursor (no row copies).
    func historySamples(_ statement: SQLStatement, in db: Database) throws -> [HistorySample] {
        try StoredValues.each(statement, in: db, subject: "a run sample") { values throws(StorageError) in
            HistorySample(
                startUTC: try values.instant(0, "start_utc"),
                elapsedSeconds: try values.double(1, "elapsed_seconds"),
                rowcount: try values.integer(2, "rowcount"),
                isFailed: try values.integer(3, "status") != 0
            )
        }
    }

    func count(_ statement: SQLStatement, in db: Database) throws -> Int {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: statement.sql), arguments: statement.arguments) else { return 0 }
        return Int(clamping: try StoredValues(row, subject: "the match count").integer(0, "count"))
    }
}

/// Connection settings chosen for reads at scale.
enum SQLiteTuning {
    /// Up to 2 GiB of the database mapped for reads (SQLite caps it at its compile-time maximum).
    static let mmapSize: Int64 = 2 << 30
}
