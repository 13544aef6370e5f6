import Logging
import PipelineCore
import PostgresNIO
import Synchronization

/// What `prepare()` learned about the table: the statements for its actual column names, and
/// whether the service owns it (created it through its migrations and keeps a summary table beside it).
struct PostgresSchema: Sendable {
    let statements: SQLStatements
    /// Present exactly when the service owns the table.
    let summary: PostgresSummaryTable?

    var layout: SQLTableLayout { statements.layout }

    /// Inserts a run into a table the service does not own and returns its new id.
    func insertReturningID(_ run: PipelineInfo) -> PostgresQuery {
        let insert = statements.insert(run)
        return PostgresQuery(unsafeSQL: insert.sql + " RETURNING \(layout.quotedIDColumn)", binds: PostgresBindings(insert.binds))
    }

    /// On a table the service owns: inserts a run unless its key is stored, and adds it to its
    /// signature's totals in the same statement (one round trip). Returns the new id, or no row
    /// when the key was already stored.
    func insertWithSummary(_ run: PipelineInfo) -> PostgresQuery? {
        guard let summary else { return nil }
        let insert = statements.insert(run)
        let key = "\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode))"
        let id = layout.quotedIDColumn
        var binds = PostgresBindings(insert.binds)
        let upsert = summary.add(run, appendingTo: &binds, onlyIfRowIn: "inserted")
        let sql = "WITH inserted AS (\(insert.sql) ON CONFLICT (\(key)) DO NOTHING RETURNING \(id)), added AS (\(upsert)) SELECT \(id) FROM inserted"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// On a table the service owns: inserts runs in their order in one statement, skipping each
    /// whose key is already stored or appears earlier among `runs`. Returns one row per inserted
    /// run: its new id, `pipeline_name` and `date_code`. Ids follow the order of `runs`.
    func insertSkippingStoredKeys(_ runs: some Collection<PipelineInfo>) -> PostgresQuery {
        let insert = statements.insert(runs)
        let key = "\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode))"
        return PostgresQuery(
            unsafeSQL: "\(insert.sql) ON CONFLICT (\(key)) DO NOTHING RETURNING \(layout.quotedIDColumn), \(key)",
            binds: PostgresBindings(insert.binds)
        )
    }

    /// Serializes writers of one run key until their transactions end, on tables without a unique key.
    func lockRunKey(_ key: RunKey) -> PostgresQuery {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in [layout.table, key.pipelineName, key.dateCode].joined(separator: "\u{1F}").utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return "SELECT pg_advisory_xact_lock(\(Int64(bitPattern: hash)))"
    }
}

/// Holds the schema once `prepare()` has found it; shared by the copies of a repository.
final class PostgresSchemaSlot: Sendable {
    private let schema = Mutex<PostgresSchema?>(nil)

    func store(_ schema: PostgresSchema) {
        self.schema.withLock { $0 = schema }
    }

    func current() throws(StorageError) -> PostgresSchema {
        guard let schema = schema.withLock({ $0 }) else {
            throw StorageError.unavailable("the database is not prepared yet")
        }
        return schema
    }
}

// MARK: - The summary table

/// Per-signature totals kept beside a table the service owns, updated in the same transaction
/// as each insert. Durations are added one run at a time in insertion order, so the sums equal,
/// bit for bit, what `SignatureAggregate.add` computes over the same runs in the same order.
struct PostgresSummaryTable: Sendable {
    /// `<table>_summary`.
    let name: String

    init(runsTable: String) {
        name = runsTable + "_summary"
    }

    /// The original table; `failed_runs` is added by migration 3.
    var createStatement: String {
        """
        CREATE TABLE \(SQLTableLayout.quote(name)) (
            "signature" TEXT PRIMARY KEY,
            "pipeline_name" TEXT,
            "script_name" TEXT,
            "pipeline_type" TEXT,
            "environment" TEXT,
            "total_runs" BIGINT NOT NULL,
            "last_run" TIMESTAMPTZ NOT NULL,
            "duration_sum" DOUBLE PRECISION NOT NULL,
            "duration_count" BIGINT NOT NULL,
            "rowcount_sum" BIGINT NOT NULL,
            "rowcount_count" BIGINT NOT NULL
        )
        """
    }

    /// The upsert adding one newly stored run to its signature's totals, its binds appended to
    /// `binds` (placeholders numbered after those already there), adding the run only when the CTE
    /// named `source` returned a row (the run was inserted).
    func add(_ run: PipelineInfo, appendingTo binds: inout PostgresBindings, onlyIfRowIn source: String) -> String {
        let signature = run.signature
        let isTimed = run.elapsedSeconds > 0
        let hasRows = run.rowcount > 0
        let offset = binds.count
        Self.appendSignature(signature, to: &binds)
        binds.append(PostgresInstant(run.startUTC))
        binds.append(isTimed ? run.elapsedSeconds : 0)
        binds.append(Int64(isTimed ? 1 : 0))
        binds.append(hasRows ? run.rowcount : 0)
        binds.append(Int64(hasRows ? 1 : 0))
        binds.append(Int64(run.isFailed ? 1 : 0))
        let p = (1...11).map { "$\(offset + $0)" }
        let values = "\(p[0]), \(p[1]), \(p[2]), \(p[3]), \(p[4]), 1, \(p[5]), \(p[6]), \(p[7]), \(p[8]), \(p[9]), \(p[10])"
        return "INSERT INTO \(SQLTableLayout.quote(name)) AS s (\(Self.columns)) SELECT \(values) FROM \(source) \(Self.addingOnConflict)"
    }

    /// Every column, in the order `add`, `createMissing` and `replace` write them.
    static let columns = """
        "signature", "pipeline_name", "script_name", "pipeline_type", "environment", \
        "total_runs", "last_run", "duration_sum", "duration_count", "rowcount_sum", "rowcount_count", "failed_runs"
        """

    /// Adds the inserted row's totals to a signature's stored ones.
    private static let addingOnConflict = """
        ON CONFLICT ("signature") DO UPDATE SET \
        "total_runs" = s."total_runs" + EXCLUDED."total_runs", \
        "last_run" = GREATEST(s."last_run", EXCLUDED."last_run"), \
        "duration_sum" = s."duration_sum" + EXCLUDED."duration_sum", \
        "duration_count" = s."duration_count" + EXCLUDED."duration_count", \
        "rowcount_sum" = s."rowcount_sum" + EXCLUDED."rowcount_sum", \
        "rowcount_count" = s."rowcount_count" + EXCLUDED."rowcount_count", \
        "failed_runs" = s."failed_runs" + EXCLUDED."failed_runs"
        """

    /// The table lock an insert's summary update takes (`ROW EXCLUSIVE`), taken explicitly.
    var lockForWriting: PostgresQuery {
        PostgresQuery(unsafeSQL: "LOCK TABLE \(SQLTableLayout.quote(name)) IN ROW EXCLUSIVE MODE")
    }

    /// Locks the rows of these signature keys until the transaction ends, in key order (so that two
    /// writers locking overlapping sets cannot deadlock), and reads them in the shape of `selectAll`.
    func lockTotals(of keys: [String]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: keys.count)
        for key in keys { binds.append(key) }
        let placeholders = (1...max(1, keys.count)).map { "$\($0)" }.joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: "\(selectAll.sql) WHERE \"signature\" IN (\(placeholders)) ORDER BY \"signature\" COLLATE \"C\" FOR UPDATE",
            binds: binds
        )
    }

    /// Replaces the totals of signatures whose rows this transaction locked (``lockTotals(of:)``).
    func setTotals(_ aggregates: [SignatureAggregate]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: aggregates.count * 8)
        var rows: [String] = []
        for aggregate in aggregates {
            let offset = binds.count
            binds.append(Self.key(aggregate.signature))
            Self.appendTotals(of: aggregate, to: &binds)
            rows.append("(" + (1...8).map { "$\(offset + $0)" }.joined(separator: ", ") + ")")
        }
        let sql = """
            UPDATE \(SQLTableLayout.quote(name)) AS s SET "total_runs" = v.total_runs, "last_run" = v.last_run, \
            "duration_sum" = v.duration_sum, "duration_count" = v.duration_count, "rowcount_sum" = v.rowcount_sum, \
            "rowcount_count" = v.rowcount_count, "failed_runs" = v.failed_runs \
            FROM (VALUES \(rows.joined(separator: ", "))) \
            AS v(signature, total_runs, last_run, duration_sum, duration_count, rowcount_sum, rowcount_count, failed_runs) \
            WHERE s."signature" = v.signature
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// Creates a row holding these totals for each signature that has none; leaves existing rows alone.
    func createMissing(_ aggregates: [SignatureAggregate]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: aggregates.count * 12)
        var rows: [String] = []
        for aggregate in aggregates {
            let offset = binds.count
            Self.appendSignature(aggregate.signature, to: &binds)
            Self.appendTotals(of: aggregate, to: &binds)
            rows.append("(" + (1...12).map { "$\(offset + $0)" }.joined(separator: ", ") + ")")
        }
        let sql =
            "INSERT INTO \(SQLTableLayout.quote(name)) (\(Self.columns)) VALUES \(rows.joined(separator: ", ")) ON CONFLICT (\"signature\") DO NOTHING"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The key and the four signature fields: the first five columns.
    static func appendSignature(_ signature: PipelineSignature, to binds: inout PostgresBindings) {
        binds.append(Self.key(signature))
        binds.append(signature.pipelineName)
        binds.append(signature.scriptName)
        binds.append(signature.pipelineType)
        binds.append(signature.environment)
    }

    /// The seven totals: the last seven columns.
    static func appendTotals(of aggregate: SignatureAggregate, to binds: inout PostgresBindings) {
        binds.append(aggregate.totalRuns)
        binds.append(PostgresInstant(aggregate.lastRun))
        binds.append(aggregate.positiveDurationSum)
        binds.append(aggregate.positiveDurationCount)
        binds.append(aggregate.positiveRowcountSum)
        binds.append(aggregate.positiveRowcountCount)
        binds.append(aggregate.failedRuns)
    }

    /// Every signature's totals, in the row shape `SignatureAggregate(row:)` reads.
    var selectAll: PostgresQuery {
        PostgresQuery(
            unsafeSQL: """
                SELECT "pipeline_name", "script_name", "pipeline_type", "environment", "total_runs", "last_run", \
                "duration_sum", "duration_count", "rowcount_sum", "rowcount_count", "failed_runs" FROM \(SQLTableLayout.quote(name))
                """
        )
    }

    /// The signature as a JSON array of its four fields, `null` for a missing one: unlike the
    /// fields themselves, this key is never NULL, so a primary key can hold it.
    static func key(_ signature: PipelineSignature) -> String {
        var writer = JSONWriter(reservingCapacity: 128)
        writer.raw("[")
        writer.optionalString(signature.pipelineName)
        writer.raw(",")
        writer.optionalString(signature.scriptName)
        writer.raw(",")
        writer.optionalString(signature.pipelineType)
        writer.raw(",")
        writer.optionalString(signature.environment)
        writer.raw("]")
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

// MARK: - Migrations

/// The versioned schema of a table the service owns. Each migration runs once per table, in
/// order, in one transaction with the record of it in `pipeline_service_migrations`.
struct PostgresMigration: Sendable {
    static let ledgerTable = "pipeline_service_migrations"
    /// The longest table name the service creates: it adds suffixes of up to 12 characters for its index names,
    /// and PostgreSQL truncates names beyond 63.
    static let maximumTableNameLength = 51

    let name: String
    let statements: @Sendable (SQLTableLayout) -> [String]

    static let all: [PostgresMigration] = [
        PostgresMigration(name: "1_create_runs_and_summary") { layout in
            let table = layout.table
            let q = SQLTableLayout.quote
            let columns =
                [q(layout.idColumn) + " BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
                // The first release's fields; extension fields are added by later migrations.
                + PipelineField.allCases.filter { !$0.isExtension }.map { field in
                    layout.quoted(field) + " " + columnType(field) + (field.isOptional ? "" : " NOT NULL")
                }
            let key = "\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode))"
            return [
                """
                CREATE TABLE \(q(table)) (
                    \(columns.joined(separator: ",\n    ")),
                    CONSTRAINT \(q(table + "_run_key")) UNIQUE (\(key))
                )
                """,
                "CREATE INDEX \(q(table + "_by_start")) ON \(q(table)) (\(layout.quoted(.startUTC)) DESC, \(q(layout.idColumn)) DESC)",
                "CREATE INDEX \(q(table + "_by_pipeline")) ON \(q(table)) (\(layout.quoted(.pipelineName)), \(layout.quoted(.startUTC)) DESC, \(q(layout.idColumn)) DESC)",
                PostgresSummaryTable(runsTable: table).createStatement,
            ]
        },
        // Row count ranges are a query class of their own: without this index each one scans the table.
        PostgresMigration(name: "2_index_rowcount") { layout in
            let q = SQLTableLayout.quote
            return [
                "CREATE INDEX \(q(layout.table + "_by_rowcount")) ON \(q(layout.table)) (\(layout.quoted(.rowcount)), \(layout.quoted(.startUTC)) DESC, \(q(layout.idColumn)) DESC)"
            ]
        },
        // Run status (issue #7). Runs stored before have neither, so none of them failed: 0 is exact.
        PostgresMigration(name: "3_add_status_exit_code") { layout in
            let q = SQLTableLayout.quote
            return [
                "ALTER TABLE \(q(layout.table)) ADD COLUMN \(layout.quoted(.status)) TEXT, ADD COLUMN \(layout.quoted(.exitCode)) BIGINT",
                "ALTER TABLE \(q(layout.table + "_summary")) ADD COLUMN \"failed_runs\" BIGINT NOT NULL DEFAULT 0",
            ]
        },
        // Covering indexes (issue #4): the columns filters, counts and history samples read ride in the
        // start and pipeline indexes (INCLUDE), so those queries are index-only scans on a vacuumed table
        // instead of a heap fetch per matching run.
        PostgresMigration(name: "4_covering_indexes") { layout in
            let q = SQLTableLayout.quote
            let table = q(layout.table)
            let order = "\(layout.quoted(.startUTC)) DESC, \(q(layout.idColumn)) DESC"
            let byStart = q(layout.table + "_by_start")
            let byPipeline = q(layout.table + "_by_pipeline")
            let startColumns = SQLTableLayout.coveredByStartIndex.map(layout.quoted).joined(separator: ", ")
            let pipelineColumns = SQLTableLayout.coveredByPipelineIndex.map(layout.quoted).joined(separator: ", ")
            return [
                "DROP INDEX \(byStart)",
                "CREATE INDEX \(byStart) ON \(table) (\(order)) INCLUDE (\(startColumns))",
                "DROP INDEX \(byPipeline)",
                "CREATE INDEX \(byPipeline) ON \(table) (\(layout.quoted(.pipelineName)), \(order)) INCLUDE (\(pipelineColumns))",
            ]
        },
    ]

    static func columnType(_ field: PipelineField) -> String {
        switch field {
        case .startLocal, .endLocal: "TIMESTAMP"
        case .startUTC, .endUTC: "TIMESTAMPTZ"
        case .elapsedSeconds: "DOUBLE PRECISION"
        case .rowcount, .pid: "BIGINT"
        case .exitCode: "BIGINT"
        case .elapsedHuman, .outputFile, .logFile, .dateCode, .pipelineName, .scriptName, .pipelineType, .environment, .archivedFile, .status:
            "TEXT"
        }
    }

    /// The ledger itself; created by the first starter, under the migration lock.
    static let createLedger = """
        CREATE TABLE pipeline_service_migrations (
            "table_name" TEXT NOT NULL,
            "migration" TEXT NOT NULL,
            "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY ("table_name", "migration")
        )
        """

    /// The key of the advisory lock that serializes every starter's migrations.
    static let lockKey: Int64 = 0x7069_7065_6c69_6e65  // "pipeline"
}

// MARK: - Preparing

extension PostgresSchema {
    /// Readies the table on `connection`: migrates a table the service owns (absent, or recorded in the
    /// ledger), or, for a mapped or foreign table, creates nothing and checks its columns.
    static func prepare(on connection: PostgresConnection, layout: SQLTableLayout, logger: Logger) async throws -> PostgresSchema {
        if layout.isMapped {
            return try await adopt(on: connection, layout: layout, setting: "PIPELINE_COLUMN_MAP", logger: logger)
        }
        let owned = try await connection.inTransaction("BEGIN", logger: logger) { connection -> PostgresSchema? in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresMigration.lockKey))", logger: logger)
            let hasLedger = try await tableExists(PostgresMigration.ledgerTable, on: connection, logger: logger)
            var applied: Set<String> = []
            if hasLedger {
                let rows = try await connection.rows(
                    "SELECT migration FROM pipeline_service_migrations WHERE table_name = \(layout.table)",
                    logger: logger
                )
                applied = Set(try rows.map { try $0.decode(String.self) })
            }
            let hasTable = try await tableExists(layout.table, on: connection, logger: logger)
            if hasTable && applied.isEmpty {
                return nil  // someone else's table: use it as it is
            }
            let summary = PostgresSummaryTable(runsTable: layout.table)
            if !hasTable && !applied.isEmpty {
                // The ledger remembers a table that was dropped since: start it afresh.
                logger.warning("Table was dropped since it was created; creating it again", metadata: ["table": "\(layout.table)"])
                try await connection.execute(
                    "DELETE FROM pipeline_service_migrations WHERE table_name = \(layout.table)",
                    logger: logger
                )
                try await connection.execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(SQLTableLayout.quote(summary.name))"), logger: logger)
                applied = []
            }
            let pending = PostgresMigration.all.filter { !applied.contains($0.name) }
            if !pending.isEmpty {
                guard layout.table.utf8.count <= PostgresMigration.maximumTableNameLength else {
                    throw ConfigurationError(
                        "PIPELINE_TABLE",
                        "\"\(layout.table)\" is too long for a table the service creates (at most \(PostgresMigration.maximumTableNameLength) characters)"
                    )
                }
                if !hasLedger {
                    try await connection.execute(PostgresQuery(unsafeSQL: PostgresMigration.createLedger), logger: logger)
                }
            }
            for migration in pending {
                for statement in migration.statements(layout) {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.execute(
                    "INSERT INTO pipeline_service_migrations (table_name, migration) VALUES (\(layout.table), \(migration.name))",
                    logger: logger
                )
                logger.info("Applied migration", metadata: ["table": "\(layout.table)", "migration": "\(migration.name)"])
            }
            return PostgresSchema(statements: SQLStatements(layout: layout, dialect: .numbered), summary: summary)
        }
        if let owned { return owned }
        return try await adopt(on: connection, layout: layout, setting: "PIPELINE_TABLE", logger: logger)
    }

    private static func tableExists(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.rows(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = \(name)",
            logger: logger
        )
        return !rows.isEmpty
    }

    /// Uses a table the service does not own, creating nothing: every column the layout names
    /// must exist (a unique case-insensitive match counts, e.g. `START_UTC` for a table created
    /// unquoted, whose names are lower-case), with a type the runs can be stored in.
    private static func adopt(
        on connection: PostgresConnection,
        layout: SQLTableLayout,
        setting: String,
        logger: Logger
    ) async throws
        -> PostgresSchema
    {
        let rows = try await connection.rows(
            """
            SELECT column_name::text, udt_name::text, (column_default IS NOT NULL OR is_identity = 'YES') \
            FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(layout.table)
            """,
            logger: logger
        )
        guard !rows.isEmpty else {
            throw ConfigurationError("PIPELINE_TABLE", "table \"\(layout.table)\" does not exist")
        }
        var actual: [String: (type: String, hasDefault: Bool)] = [:]
        for row in rows {
            let (name, type, hasDefault) = try row.decode((String, String, Bool).self)
            actual[name] = (type, hasDefault)
        }

        let wanted: [(key: String, column: String, types: Set<String>)] =
            [(SQLTableLayout.idKey, layout.idColumn, Set(["int8", "int4"]))]
            + PipelineField.allCases.map { ($0.rawValue, layout.column($0), acceptedTypes($0)) }
        var resolved: [(key: String, column: String)] = []
        var missing: [String] = []
        var absent: Set<PipelineField> = []
        var problems: [String] = []
        for (key, column, types) in wanted {
            let sameButCase = actual.keys.filter { $0.lowercased() == column.lowercased() }
            let match = actual[column] != nil ? column : (sameButCase.count == 1 ? sameButCase.first : nil)
            guard let name = match, let found = actual[name] else {
                if let field = PipelineField(rawValue: key), field.isExtension {
                    absent.insert(field)
                } else {
                    missing.append(column)
                }
                continue
            }
            if name != column {
                logger.info("Using a column whose name differs only in case", metadata: ["field": "\(key)", "column": "\(name)"])
            }
            resolved.append((key, name))
            if !types.contains(found.type) {
                problems.append("column \"\(name)\" (\(key)) is \(found.type), expected \(types.sorted().joined(separator: " or "))")
            }
            if key == SQLTableLayout.idKey && !found.hasDefault {
                problems.append("column \"\(name)\" (\(key)) has no default; it must be an identity or serial column")
            }
        }
        guard missing.isEmpty else {
            throw ConfigurationError(setting, "table \"\(layout.table)\" lacks columns: \(missing.joined(separator: ", "))")
        }
        guard problems.isEmpty else {
            throw ConfigurationError(setting, "table \"\(layout.table)\": \(problems.joined(separator: "; "))")
        }

        var map = JSONWriter(reservingCapacity: 512)
        map.raw("{")
        for (index, entry) in resolved.enumerated() {
            if index > 0 { map.raw(",") }
            map.string(entry.key)
            map.raw(":")
            map.string(entry.column)
        }
        map.raw("}")
        let actualLayout = try SQLTableLayout(table: layout.table, columnMapJSON: String(decoding: map.bytes, as: UTF8.self))
            .withoutColumns(for: absent)
        logger.info("Using a table the service does not own; it is not migrated", metadata: ["table": "\(layout.table)"])
        SQLTableLayout.reportAbsentColumns(absent, table: layout.table, logger: logger)
        return PostgresSchema(statements: SQLStatements(layout: actualLayout, dialect: .numbered), summary: nil)
    }

    /// The column types (`udt_name`) a field can be stored in and read back from exactly.
    private static func acceptedTypes(_ field: PipelineField) -> Set<String> {
        switch field {
        case .startLocal, .endLocal, .startUTC, .endUTC: ["timestamp", "timestamptz"]
        case .elapsedSeconds: ["float8"]
        case .rowcount, .pid: ["int8", "int4"]
        case .exitCode: ["int8", "int4", "int2"]
        case .elapsedHuman, .outputFile, .logFile, .dateCode, .pipelineName, .scriptName, .pipelineType, .environment, .archivedFile, .status:
            ["text", "varchar"]
        }
    }
}

// MARK: - Connection helpers

extension PostgresConnection {
    /// Runs a statement and reads all its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs a statement, discarding any rows.
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await rows(query, logger: logger)
    }

    /// Runs `body` in a transaction opened with `begin` (`BEGIN`, or `BEGIN` with an isolation level):
    /// committed when it returns, rolled back when it throws.
    func inTransaction<Value>(_ begin: String, logger: Logger, _ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        try await execute(PostgresQuery(unsafeSQL: begin), logger: logger)
        do {
            let value = try await body(self)
            try await execute("COMMIT", logger: logger)
            return value
        } catch {
            try? await execute("ROLLBACK", logger: logger)
            throw error
        }
    }
}
