import Logging
import PipelineCore
import PostgresNIO
import Synchronization

/// What `prepare()` learned about the table: the statements for its actual column names, and
/// whether the service owns it (created it through its migrations and keeps a summary table beside it).
struct PostgresSchema: Sendable {
    let statements: SQLStatements
    /// Present exactly when the service owns the table.
    let summary: SQLSummaryTable?
    /// The table as the database resolved it, `schema.table` (just `table` in `public`), for
    /// advisory-lock keys: `legacy.runs`, and `runs` with `search_path=legacy`, are one table and
    /// must take one lock. Nil before `prepare` read it.
    var resolvedName: String?

    /// The name advisory-lock keys hash.
    private var lockName: String { resolvedName ?? layout.qualifiedName }
    /// The unique keys of a table the service adopted (its primary key, `UNIQUE` constraints and
    /// unique indexes), by the name PostgreSQL gives when one refuses an insert: the index's.
    var uniqueKeys: [String: UniqueKey] = [:]
    /// The check constraints of a table the service adopted, with their columns.
    var checkConstraints: [String: [String]] = [:]

    var layout: SQLTableLayout { statements.layout }

    /// Inserts a run into a table the service does not own and returns its new id.
    func insertReturningID(_ run: PipelineInfo) -> PostgresQuery {
        let insert = statements.insert(CollectionOfOne(run))
        return SQLStatement(sql: insert.sql + " RETURNING \(layout.quotedIDColumn)", binds: insert.binds).postgresQuery
    }

    /// One run on a table the service owns, in one statement: inserted unless its key is stored,
    /// and added to its signature's totals only if it was (``SQLSummaryTable/addOne(_:binds:onlyIfRowIn:)``).
    /// Returns the new id, or no row when the key was already stored. Both tables are locked
    /// (`ROW EXCLUSIVE`) as the statement starts, before any row, as a group's writes lock them.
    func insertAddingToSummary(_ run: PipelineInfo, summary: SQLSummaryTable) -> PostgresQuery {
        let insert = statements.insert(CollectionOfOne(run))
        var binds = SQLBinds(.postgres, continuing: insert)
        let key = layout.keyColumns
        let id = layout.quotedIDColumn
        let add = summary.addOne(run, binds: &binds, onlyIfRowIn: "inserted")
        return binds.statement(
            "WITH inserted AS (\(insert.sql) ON CONFLICT (\(key)) DO NOTHING RETURNING \(id)), added AS (\(add)) SELECT \(id) FROM inserted"
        ).postgresQuery
    }

    /// Deletes the stored record of a running run that a newer record replaces; a row back when it did.
    func deleteRunningReturningID(id: Int64) -> PostgresQuery {
        returningID(statements.deleteRunning(id: id))
    }

    /// Deletes the stored record of a finished run that the same run with its start replaces; a row back when it did.
    func deleteFinishedReturningID(id: Int64) -> PostgresQuery {
        returningID(statements.deleteFinished(id: id))
    }

    private func returningID(_ delete: SQLStatement) -> PostgresQuery {
        SQLStatement(sql: delete.sql + " RETURNING \(layout.quotedIDColumn)", binds: delete.binds).postgresQuery
    }

    /// Serializes writers of one run key until their transactions end, on tables without a unique key.
    func lockRunKey(_ key: RunKey) -> PostgresQuery {
        "SELECT pg_advisory_xact_lock(\(lockKey(of: key)))"
    }

    /// The advisory-lock key of one run key of this table.
    func lockKey(of key: RunKey) -> Int64 {
        let parts = layout.hasColumn(.runID) ? [key.runID ?? ""] : [key.pipelineName ?? "", key.dateCode]
        return Int64(bitPattern: FNV1a.hash(([lockName] + parts).joined(separator: "\u{1F}").utf8))
    }

    /// Makes retention batches of every process on this table take turns until the transaction ends.
    func lockRetention() -> PostgresQuery {
        "SELECT pg_advisory_xact_lock(\(retentionLockKey))"
    }

    /// The advisory-lock key of this table's retention batches.
    var retentionLockKey: Int64 {
        Int64(bitPattern: FNV1a.hash(["retention", lockName].joined(separator: "\u{1F}").utf8))
    }

    /// The table lock an insert's summary update needs (`ROW EXCLUSIVE`), taken before any row lock:
    /// a prune holds the table in a mode that excludes it, so taking it only at the update, after
    /// locking rows the prune is about to update, would deadlock.
    func lockSummaryForWriting(_ summary: SQLSummaryTable) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "LOCK TABLE \(summary.quotedName) IN ROW EXCLUSIVE MODE")
    }

    /// Blocks inserts' summary updates, and waits for those under way, until the transaction ends.
    func lockSummaryAgainstWriters(_ summary: SQLSummaryTable) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "LOCK TABLE \(summary.quotedName) IN SHARE ROW EXCLUSIVE MODE")
    }
}

extension PostgresSchema {
    /// Every signature's totals: the summary table when the service owns the table, else one grouped scan.
    func aggregates(on connection: PostgresConnection, logger: Logger) async throws -> [SignatureAggregate] {
        if let summary {
            return try await connection.rows(summary.selectAll, logger: logger) { try SignatureAggregate(reading: &$0, split: .sixtyThree) }
        }
        do {
            return try await connection.rows(statements.aggregatesByGroupedScan(), logger: logger) {
                try SignatureAggregate(reading: &$0, split: .thirtyTwo)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "22003" {
            // A duration sum beyond the largest double (numeric_value_out_of_range): sum exactly instead.
            return try await connection.rows(statements.aggregatesByGroupedScan(exactDurations: true), logger: logger) {
                try SignatureAggregate(reading: &$0, split: .thirtyTwo)
            }
        }
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

// MARK: - Preparing

extension PostgresSchema {
    /// Readies the table on `connection`: migrates a table the service owns (absent, or recorded in the
    /// ledger), or, for a mapped or foreign table, creates nothing and checks its columns.
    static func prepare(on connection: PostgresConnection, layout: SQLTableLayout, logger: Logger) async throws -> PostgresSchema {
        let resolvedName = try await resolvedName(of: layout, on: connection, logger: logger)
        var prepared: PostgresSchema
        if !layout.isMapped, try await migrateOwnedTable(on: connection, layout: layout, logger: logger) {
            prepared = owned(layout)
        } else {
            prepared = try await adopt(on: connection, layout: layout, setting: layout.isMapped ? .columnMap : .table, logger: logger)
        }
        prepared.resolvedName = resolvedName
        return prepared
    }

    /// What ``prepare(on:layout:logger:)`` would find, read from a hot standby without writing
    /// anything: nil when the table is not there yet or has migrations still to apply, which only
    /// the primary can do. A standby that lists every migration as applied replays a primary that
    /// applied them too, so the schema holds there as well once it is back.
    static func inspect(on connection: PostgresConnection, layout: SQLTableLayout, logger: Logger) async throws -> PostgresSchema? {
        let resolvedName = try await resolvedName(of: layout, on: connection, logger: logger)
        var inspected: PostgresSchema
        if layout.isMapped {
            inspected = try await adopt(on: connection, layout: layout, setting: .columnMap, logger: logger)
        } else {
            guard try await tableExists(layout.table, on: connection, logger: logger) else { return nil }
            let applied = try await appliedMigrations(of: layout, on: connection, logger: logger) ?? []
            if applied.isEmpty {
                inspected = try await adopt(on: connection, layout: layout, setting: .table, logger: logger)
            } else {
                guard PostgresMigration.all.allSatisfy({ applied.contains($0.name) }) else { return nil }
                inspected = owned(layout)
            }
        }
        inspected.resolvedName = resolvedName
        return inspected
    }

    /// The schema of a table the service created and migrated.
    private static func owned(_ layout: SQLTableLayout) -> PostgresSchema {
        PostgresSchema(
            statements: SQLStatements(layout: layout, dialect: .postgres),
            summary: SQLSummaryTable(runsTable: layout.table, dialect: .postgres)
        )
    }

    /// The table as the session resolves it (``resolvedName``): in the session's schema, where the
    /// table is looked for (and created). A search path naming no existing schema leaves none to
    /// look in or create in: refused when the table names one.
    private static func resolvedName(of layout: SQLTableLayout, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let current = try await connection.rows("SELECT current_schema()::text", logger: logger).first?.decode(String?.self) ?? nil
        if let schema = layout.schema, current == nil {
            throw ConfigurationError(.table, "schema \"\(schema)\" does not exist (or this user may not use it)")
        }
        return current.map { $0 == "public" ? layout.table : "\($0).\(layout.table)" }
    }

    /// The migrations the ledger records for the table; nil when there is no ledger yet.
    private static func appliedMigrations(of layout: SQLTableLayout, on connection: PostgresConnection, logger: Logger) async throws -> Set<String>? {
        guard try await tableExists(PostgresMigration.ledgerTable, on: connection, logger: logger) else { return nil }
        let rows = try await connection.rows("SELECT migration FROM pipeline_service_migrations WHERE table_name = \(layout.table)", logger: logger)
        return Set(try rows.map { try $0.decode(String.self) })
    }

    /// Applies the pending migrations of the table when the service owns it, under an advisory
    /// lock that serializes every starter sharing the database. False when the table is someone else's.
    private static func migrateOwnedTable(on connection: PostgresConnection, layout: SQLTableLayout, logger: Logger) async throws -> Bool {
        try await connection.inTransaction("BEGIN", logger: logger) { connection -> Bool in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresMigration.lockKey))", logger: logger)
            let ledger = try await appliedMigrations(of: layout, on: connection, logger: logger)
            let hasLedger = ledger != nil
            var applied = ledger ?? []
            let hasTable = try await tableExists(layout.table, on: connection, logger: logger)
            if hasTable && applied.isEmpty { return false }
            if !hasTable && !applied.isEmpty {
                // The ledger remembers a table that was dropped since: start it afresh.
                logger.warning("Table was dropped since it was created; creating it again", metadata: ["table": "\(layout.table)"])
                try await connection.execute("DELETE FROM pipeline_service_migrations WHERE table_name = \(layout.table)", logger: logger)
                let summary = SQLSummaryTable(runsTable: layout.table, dialect: .postgres)
                try await connection.execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(summary.quotedName)"), logger: logger)
                applied = []
            }
            let pending = PostgresMigration.all.filter { !applied.contains($0.name) }
            if !pending.isEmpty {
                guard layout.table.utf8.count <= SQLTableLayout.maximumOwnedTableNameLength else {
                    throw ConfigurationError(
                        .table,
                        "\"\(layout.table)\" is too long for a table the service creates (at most \(SQLTableLayout.maximumOwnedTableNameLength) characters)"
                    )
                }
                if !hasLedger { try await connection.execute(PostgresQuery(unsafeSQL: PostgresMigration.createLedger), logger: logger) }
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
            return true
        }
    }

    private static func tableExists(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.rows(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = \(name)",
            logger: logger
        )
        return !rows.isEmpty
    }

    /// Uses a table the service does not own, creating nothing: every column the layout names
    /// must exist, with a type the runs can be stored in and read back from exactly.
    private static func adopt(
        on connection: PostgresConnection,
        layout: SQLTableLayout,
        setting: Setting,
        logger: Logger
    ) async throws
        -> PostgresSchema
    {
        let rows = try await connection.rows(
            """
            SELECT column_name::text, udt_name::text, character_maximum_length::int8, numeric_precision::int8, \
            numeric_scale::int8, datetime_precision::int8, is_nullable = 'YES', \
            (column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS') \
            FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(layout.table) \
            ORDER BY ordinal_position
            """,
            logger: logger
        )
        guard !rows.isEmpty else {
            throw ConfigurationError(.table, "table \"\(layout.qualifiedName)\" does not exist")
        }
        let columns = try rows.map { row in
            let (name, type, length, precision, scale, datetimePrecision, isNullable, hasDefault) = try row.decode(
                (String, String, Int64?, Int64?, Int64?, Int64?, Bool, Bool).self
            )
            return SQLColumnDescription(
                name: name,
                type: type,
                hasDefault: hasDefault,
                columnType: SQLColumnType(
                    postgres: type,
                    characterLength: length,
                    numericPrecision: precision,
                    numericScale: scale,
                    datetimePrecision: datetimePrecision
                ),
                isNullable: isNullable
            )
        }
        let resolved = try layout.resolved(against: columns, setting: setting) { key, column in
            guard let type = column.columnType else { return "is \(column.type), a type the service cannot store a run's \(key) in" }
            if let trouble = type.problem(storing: PipelineField(rawValue: key)) { return trouble }
            if key == SQLTableLayout.idKey, !column.hasDefault { return "has no default; it must be an identity or serial column" }
            return nil
        }
        logger.info("Using a table the service does not own; it is not migrated", metadata: ["table": "\(layout.qualifiedName)"])
        resolved.reportAbsentColumns(logger: logger)
        var schema = PostgresSchema(statements: SQLStatements(layout: resolved, dialect: .postgres), summary: nil)
        try await schema.readConstraints(on: connection, logger: logger)
        await schema.checkIdentity(on: connection, logger: logger)
        return schema
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

    /// Each row of a statement, read by `read`.
    func rows<Value>(_ statement: SQLStatement, logger: Logger, _ read: (inout PostgresRowReader) throws -> Value) async throws -> [Value] {
        var values: [Value] = []
        for try await row in try await query(statement.postgresQuery, logger: logger) {
            values.append(try row.read(read))
        }
        return values
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
