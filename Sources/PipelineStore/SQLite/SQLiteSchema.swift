import GRDB
import PipelineCore

// MARK: - The schema the service owns

/// The tables the service creates when it owns the run table, as named GRDB migrations.
/// `sql/sqlite.sql` is the same DDL for the default table name.
struct SQLiteOwnedSchema {
    let layout: SQLTableLayout
    let summary: SQLSummaryTable

    /// - Throws: ``ConfigurationError`` when the table name leaves no room for the derived names.
    init(layout: SQLTableLayout) throws(ConfigurationError) {
        let limit = SQLTableLayout.maximumOwnedTableNameLength
        guard layout.table.utf8.count <= limit else {
            throw ConfigurationError(
                .table,
                "\"\(layout.table)\" is too long for a table this service creates in SQLite (at most \(limit) characters)"
            )
        }
        self.layout = layout
        self.summary = SQLSummaryTable(runsTable: layout.table, dialect: .sqlite)
    }

    /// Migration identifiers carry the table name: one database file may hold several run
    /// tables (`PIPELINE_TABLE`), each with its own history in `grdb_migrations`.
    static func createRunsIdentifier(table: String) -> String { "\(table)/v1-create-runs" }

    private func index(_ suffix: String) -> String { SQLTableLayout.quote(layout.table + suffix) }

    /// Each migration's statements, in order. A migration, once released, never changes: a new
    /// need is a new migration.
    var migrations: [(name: String, statements: [String])] {
        let table = layout.quotedTable
        let start = layout.quoted(.startUTC)
        let id = layout.quotedIDColumn
        let summaryTable = summary.quotedName
        let statements = SQLStatements(layout: layout, dialect: .sqlite)
        let (finished, running) = (statements.isFinished, statements.isRunning)
        let signature = PipelineField.signatureFields.map(layout.quoted).joined(separator: ", ")
        // The first release's fields; extension fields are added by later migrations.
        let columns =
            ["    \(id) INTEGER PRIMARY KEY AUTOINCREMENT"]
            + PipelineField.allCases.filter { !$0.isExtension }.map {
                "    \(layout.quoted($0)) \(Self.columnType($0))\($0.isOptional ? "" : " NOT NULL")"
            }
        return [
            (
                "v1-create-runs",
                [
                    "CREATE TABLE \(table) (\n\(columns.joined(separator: ",\n"))\n)",
                    "CREATE INDEX \(index("_by_start")) ON \(table) (\(start), \(id))",
                    "CREATE INDEX \(index("_by_name")) ON \(table) (\(layout.quoted(.pipelineName)), \(start), \(id))",
                    "CREATE UNIQUE INDEX \(index("_key")) ON \(table) (\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode)))",
                ]
            ),
            // Created with the run table in the first release, so there are never runs to fold in.
            (
                "v2-create-summary",
                [
                    """
                    CREATE TABLE \(summaryTable) (
                        "signature" TEXT NOT NULL PRIMARY KEY,
                        "pipeline_name" TEXT,
                        "script_name" TEXT,
                        "pipeline_type" TEXT,
                        "environment" TEXT,
                        "total_runs" INTEGER NOT NULL,
                        "last_run" TEXT NOT NULL,
                        "duration_sum" REAL NOT NULL,
                        "duration_count" INTEGER NOT NULL,
                        "rowcount_sum" INTEGER NOT NULL,
                        "rowcount_count" INTEGER NOT NULL
                    )
                    """
                ]
            ),
            // Row count ranges are a query class of their own: without this index each one scans the table.
            ("v3-index-rowcount", ["CREATE INDEX \(index("_by_rowcount")) ON \(table) (\(layout.quoted(.rowcount)), \(start), \(id))"]),
            // Run status. Runs stored before have neither, so none of them failed: 0 is exact.
            (
                "v4-add-status-exit-code",
                [
                    "ALTER TABLE \(table) ADD COLUMN \(layout.quoted(.status)) TEXT",
                    "ALTER TABLE \(table) ADD COLUMN \(layout.quoted(.exitCode)) INTEGER",
                    "ALTER TABLE \(summaryTable) ADD COLUMN \"failed_runs\" INTEGER NOT NULL DEFAULT 0",
                ]
            ),
            // Covering indexes: a filter on one pipeline (counts, history, insight) and a time window
            // or row count range in result order are answered from the index alone, without a lookup
            // of every matching row in a table where one pipeline's runs sit among all the others'.
            (
                "v5-covering-indexes",
                [
                    "DROP INDEX \(index("_by_start"))",
                    "CREATE INDEX \(index("_by_start")) ON \(table) (\(([start, id] + SQLTableLayout.coveredByStartIndex.map(layout.quoted)).joined(separator: ", ")))",
                    "DROP INDEX \(index("_by_name"))",
                    "CREATE INDEX \(index("_by_name")) ON \(table) (\(([layout.quoted(.pipelineName), start, id] + SQLTableLayout.coveredByPipelineIndex.map(layout.quoted)).joined(separator: ", ")))",
                ]
            ),
            // Rowcount sums 128 bits wide: a signature's sum can pass Int64.max (legacy rowcounts near
            // it, or billions of large runs), and a summary must never overflow.
            ("v6-wide-rowcount-sums", [summary.addHighRowcountSum]),
            // Runs are looked up by date code (archived files, the date_code filter).
            ("v7-index-date-code", ["CREATE INDEX \(index("_date_code")) ON \(table) (\(layout.quoted(.dateCode)), \(id))"]),
            // Run ids: the one key. Stored runs get their name-based id (RunID), computed by the same
            // Swift function registered for the migration, and the (name, date code) key goes, so
            // that runs of one pipeline in one second with ids of their own can all be stored.
            // Runs still running are left out of every read that does not ask for them: the query
            // indexes hold finished runs only (their WHERE is the very condition those reads carry),
            // so no read checks a status row by row, and one small index holds the running ones.
            (
                "v8-add-run-id",
                [
                    "ALTER TABLE \(table) ADD COLUMN \(layout.quoted(.runID)) TEXT",
                    "UPDATE \(table) SET \(layout.quoted(.runID)) = \(Self.nameBasedIDFunction)(\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode)), \(id))",
                    "CREATE UNIQUE INDEX \(index("_run_id")) ON \(table) (\(layout.quoted(.runID)))",
                    "DROP INDEX \(index("_key"))",
                    "DROP INDEX \(index("_by_start"))",
                    "DROP INDEX \(index("_by_name"))",
                    "DROP INDEX \(index("_by_rowcount"))",
                    "DROP INDEX \(index("_date_code"))",
                    // SQLite reads status to test the WHERE even where the index's own WHERE implies it:
                    // the index carries it, so counts stay answered from the index alone.
                    "CREATE INDEX \(index("_by_start")) ON \(table) (\(([start, id] + (SQLTableLayout.coveredByStartIndex + [.status]).map(layout.quoted)).joined(separator: ", "))) WHERE \(finished)",
                    "CREATE INDEX \(index("_by_name")) ON \(table) (\(([layout.quoted(.pipelineName), start, id] + SQLTableLayout.coveredByPipelineIndex.map(layout.quoted)).joined(separator: ", "))) WHERE \(finished)",
                    "CREATE INDEX \(index("_by_rowcount")) ON \(table) (\(layout.quoted(.rowcount)), \(start), \(id), \(layout.quoted(.status))) WHERE \(finished)",
                    "CREATE INDEX \(index("_date_code")) ON \(table) (\(layout.quoted(.dateCode)), \(id)) WHERE \(finished)",
                    "CREATE INDEX \(index("_running")) ON \(table) (\(start), \(id)) WHERE \(running)",
                ]
            ),
            // The runs still running counted by signature with the oldest start (health, the
            // pipeline cap): read from this index alone, in signature order, however many there are.
            (
                "v9-index-running-by-signature",
                [
                    "CREATE INDEX \(index("_running_by_signature")) ON \(table) (\(signature), \(start)) WHERE \(running)"
                ]
            ),
        ]
    }

    static let nameBasedIDFunction = "pipeline_service_run_id"

    /// `RunID.nameBased` as a SQL function of (pipeline_name, date_code, id), for the migration
    /// that gives stored runs their ids.
    static let nameBasedID = DatabaseFunction(nameBasedIDFunction, argumentCount: 3, pure: true) { values in
        guard let dateCode = String.fromDatabaseValue(values[1]), let id = Int64.fromDatabaseValue(values[2]) else { return nil }
        return RunID.nameBased(pipelineName: String.fromDatabaseValue(values[0]), dateCode: dateCode, sequence: id)
    }

    static func columnType(_ field: PipelineField) -> String {
        switch field.kind {
        case .number: "REAL"
        case .integer, .optionalInteger: "INTEGER"
        case .localDateTime, .instant, .text, .optionalText: "TEXT"
        }
    }

    var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            let statements = migration.statements
            // The migrations only create and alter the service's own tables, so foreign keys stay on
            // and no check of the whole database (which may hold other applications' tables) runs after them.
            migrator.registerMigration("\(layout.table)/\(migration.name)", foreignKeyChecks: .immediate) { db in
                db.add(function: Self.nameBasedID)
                for statement in statements { try db.execute(sql: statement) }
            }
        }
        return migrator
    }
}

// MARK: - Deciding what the table is

/// The run table as `prepare()` found it: the statements for its actual column names, and the
/// summary table when the service owns it.
struct SQLiteTables: Sendable {
    let statements: SQLStatements
    /// Present when the service created the run table; nil for someone else's table, which is never altered.
    let summary: SQLSummaryTable?

    /// Applies the migrations of a table the service owns, or checks that someone else's table has
    /// every column, and resolves the column names the statements use.
    ///
    /// The table is the service's when no column map is given and the table either does not exist
    /// yet or was created by the service's own migrations.
    static func prepare(_ layout: SQLTableLayout, in pool: DatabasePool) async throws -> SQLiteTables {
        let createRuns = SQLiteOwnedSchema.createRunsIdentifier(table: layout.table)
        let isOwned =
            try await pool.writeWithoutTransaction { db in
                try !db.tableExists(layout.table) || DatabaseMigrator().appliedIdentifiers(db).contains(createRuns)
            } && !layout.isMapped
        if isOwned {
            let owned = try SQLiteOwnedSchema(layout: layout)
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                owned.migrator.asyncMigrate(pool) { result in
                    continuation.resume(with: result.map { _ in () })
                }
            }
        }
        let setting: Setting = layout.isMapped ? .columnMap : .table
        let resolved = try await pool.writeWithoutTransaction { db in
            guard try db.tableExists(layout.table) else {
                throw ConfigurationError(.table, "table \"\(layout.table)\" does not exist")
            }
            let columns = try db.columns(in: layout.table).map { column in
                SQLColumnDescription(name: column.name, type: column.type, hasDefault: column.defaultValueSQL != nil, isNullable: !column.isNotNull)
            }
            return try layout.resolved(against: columns, setting: setting)
        }
        return SQLiteTables(
            statements: SQLStatements(layout: resolved, dialect: .sqlite),
            summary: isOwned ? SQLSummaryTable(runsTable: layout.table, dialect: .sqlite) : nil
        )
    }
}
