import GRDB
import PipelineCore

// MARK: - The schema the service owns

/// The tables the service creates when it owns the run table, as named GRDB migrations.
/// `sql/sqlite.sql` is the same DDL for the default table name.
struct SQLiteOwnedSchema {
    /// Index and summary-table names append a suffix to the table name; the result must still be a safe identifier.
    static let longestSuffix = "_by_start"

    let layout: SQLTableLayout
    let summary: SQLiteSummaryTable
    private let byStartIndex: String
    private let byNameIndex: String
    private let keyIndex: String

    /// - Throws: ``ConfigurationError`` when the table name leaves no room for the derived names.
    init(layout: SQLTableLayout) throws(ConfigurationError) {
        let limit = 63 - Self.longestSuffix.utf8.count
        guard layout.table.utf8.count <= limit else {
            throw ConfigurationError(
                "PIPELINE_TABLE",
                "\"\(layout.table)\" is too long for a table this service creates in SQLite (at most \(limit) characters)"
            )
        }
        self.layout = layout
        self.summary = SQLiteSummaryTable(table: layout.table + "_summary")
        self.byStartIndex = layout.table + "_by_start"
        self.byNameIndex = layout.table + "_by_name"
        self.keyIndex = layout.table + "_key"
    }

    /// Migration identifiers carry the table name: one database file may hold several run
    /// tables (`PIPELINE_TABLE`), each with its own history in `grdb_migrations`.
    static func createRunsIdentifier(table: String) -> String { "\(table)/v1-create-runs" }
    static func createSummaryIdentifier(table: String) -> String { "\(table)/v2-create-summary" }

    /// The DDL of `v1-create-runs`: the run table, then its indexes.
    var createRuns: [String] {
        func column(_ field: PipelineField) -> String {
            let type =
                switch field {
                case .elapsedSeconds: "REAL"
                case .rowcount, .pid: "INTEGER"
                default: "TEXT"
                }
            return "    \(layout.quoted(field)) \(type)\(field.isOptional ? "" : " NOT NULL")"
        }
        // The first release's fields; extension fields are added by later migrations.
        let columns =
            ["    \(layout.quotedIDColumn) INTEGER PRIMARY KEY AUTOINCREMENT"] + PipelineField.allCases.filter { !$0.isExtension }.map(column)
        let table = layout.quotedTable
        let start = layout.quoted(.startUTC)
        let id = layout.quotedIDColumn
        return [
            "CREATE TABLE \(table) (\n\(columns.joined(separator: ",\n"))\n)",
            "CREATE INDEX \(SQLTableLayout.quote(byStartIndex)) ON \(table) (\(start), \(id))",
            "CREATE INDEX \(SQLTableLayout.quote(byNameIndex)) ON \(table) (\(layout.quoted(.pipelineName)), \(start), \(id))",
            "CREATE UNIQUE INDEX \(SQLTableLayout.quote(keyIndex)) ON \(table) (\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode)))",
        ]
    }

    /// The DDL of `v5-covering-indexes`: the start and name indexes rebuilt with the columns the
    /// filters, counts and history samples read, after the columns that give result order.
    var coveringIndexes: [String] {
        let table = layout.quotedTable
        let start = layout.quoted(.startUTC)
        let id = layout.quotedIDColumn
        let byStart = SQLTableLayout.quote(byStartIndex)
        let byName = SQLTableLayout.quote(byNameIndex)
        let startColumns = [start, id] + SQLTableLayout.coveredByStartIndex.map(layout.quoted)
        let nameColumns = [layout.quoted(.pipelineName), start, id] + SQLTableLayout.coveredByPipelineIndex.map(layout.quoted)
        return [
            "DROP INDEX \(byStart)",
            "CREATE INDEX \(byStart) ON \(table) (\(startColumns.joined(separator: ", ")))",
            "DROP INDEX \(byName)",
            "CREATE INDEX \(byName) ON \(table) (\(nameColumns.joined(separator: ", ")))",
        ]
    }

    var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        let createRuns = createRuns
        let createSummary = summary.create
        // The migrations only create tables, so foreign keys stay on and no check of the whole
        // database (which may hold other applications' tables) runs after them.
        migrator.registerMigration(Self.createRunsIdentifier(table: layout.table), foreignKeyChecks: .immediate) { db in
            for statement in createRuns { try db.execute(sql: statement) }
        }
        // Created with the run table in the first release, so there are never runs to fold in.
        migrator.registerMigration(Self.createSummaryIdentifier(table: layout.table), foreignKeyChecks: .immediate) { db in
            try db.execute(sql: createSummary)
        }
        // Row count ranges are a query class of their own: without this index each one scans the table.
        let table = SQLTableLayout.quote(layout.table)
        let byRowcount = SQLTableLayout.quote(layout.table + "_by_rowcount")
        let rowcount = layout.quoted(.rowcount)
        let start = layout.quoted(.startUTC)
        let id = layout.quotedIDColumn
        migrator.registerMigration("\(layout.table)/v3-index-rowcount", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: "CREATE INDEX \(byRowcount) ON \(table) (\(rowcount), \(start), \(id))")
        }
        // Run status (issue #7). Runs stored before have neither, so none of them failed: 0 is exact.
        let status = layout.quoted(.status)
        let exitCode = layout.quoted(.exitCode)
        let summaryTable = SQLTableLayout.quote(summary.table)
        migrator.registerMigration("\(layout.table)/v4-add-status-exit-code", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(status) TEXT")
            try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(exitCode) INTEGER")
            try db.execute(sql: "ALTER TABLE \(summaryTable) ADD COLUMN \"failed_runs\" INTEGER NOT NULL DEFAULT 0")
        }
        // Covering indexes (issue #4): a filter on one pipeline (counts, history, insight) and a time
        // window or row count range in result order are answered from the index alone, without a
        // lookup of every matching row in a table where one pipeline's runs sit among all the others'.
        let coveringIndexes = coveringIndexes
        migrator.registerMigration("\(layout.table)/v5-covering-indexes", foreignKeyChecks: .immediate) { db in
            for statement in coveringIndexes { try db.execute(sql: statement) }
        }
        return migrator
    }
}

// MARK: - Summary table

/// Per-signature totals kept next to an owned run table and updated in the transaction of each
/// insert, so `summaries()` reads one row per signature instead of scanning every run.
///
/// Sums are added one run at a time in insertion order, so they equal bit for bit what
/// `SignatureAggregate.add` gives for the same runs.
struct SQLiteSummaryTable: Sendable {
    static let signatureColumns = ["pipeline_name", "script_name", "pipeline_type", "environment"]
    static let totalColumns = ["total_runs", "last_run", "duration_sum", "duration_count", "rowcount_sum", "rowcount_count", "failed_runs"]

    let table: String

    private var quotedTable: String { SQLTableLayout.quote(table) }

    /// The original table (migration v2); `failed_runs` is added by v4.
    var create: String {
        let columns =
            ["    \"signature\" TEXT NOT NULL PRIMARY KEY"]
            + Self.signatureColumns.map { "    \(SQLTableLayout.quote($0)) TEXT" }
            + [
                "    \"total_runs\" INTEGER NOT NULL",
                "    \"last_run\" TEXT NOT NULL",
                "    \"duration_sum\" REAL NOT NULL",
                "    \"duration_count\" INTEGER NOT NULL",
                "    \"rowcount_sum\" INTEGER NOT NULL",
                "    \"rowcount_count\" INTEGER NOT NULL",
            ]
        return "CREATE TABLE \(quotedTable) (\n\(columns.joined(separator: ",\n"))\n)"
    }

    /// Adds one run to its signature's totals, creating the row for a new signature.
    func add(_ run: PipelineInfo, in db: Database) throws {
        let columns = (["signature"] + Self.signatureColumns + Self.totalColumns).map(SQLTableLayout.quote).joined(separator: ", ")
        let sql = """
            INSERT INTO \(quotedTable) (\(columns)) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) \
            ON CONFLICT ("signature") DO UPDATE SET \
            "total_runs" = "total_runs" + 1, \
            "last_run" = MAX("last_run", excluded."last_run"), \
            "duration_sum" = "duration_sum" + excluded."duration_sum", \
            "duration_count" = "duration_count" + excluded."duration_count", \
            "rowcount_sum" = "rowcount_sum" + excluded."rowcount_sum", \
            "rowcount_count" = "rowcount_count" + excluded."rowcount_count", \
            "failed_runs" = "failed_runs" + excluded."failed_runs"
            """
        // A run that does not count towards an average adds 0.0 and 0, which leaves the sums unchanged.
        let isTimed = run.elapsedSeconds > 0
        let hasRows = run.rowcount > 0
        let signature = run.signature
        let binds: [SQLBind] = [
            .text(Self.key(signature)),
            .optionalText(signature.pipelineName), .optionalText(signature.scriptName),
            .optionalText(signature.pipelineType), .optionalText(signature.environment),
            .instant(run.startUTC),
            .double(isTimed ? run.elapsedSeconds : 0), .integer(isTimed ? 1 : 0),
            .integer(hasRows ? run.rowcount : 0), .integer(hasRows ? 1 : 0),
            .integer(run.isFailed ? 1 : 0),
        ]
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(binds.map(\.databaseValue)))
    }

    /// Every signature's totals.
    func aggregates(in db: Database) throws -> [SignatureAggregate] {
        let columns = (Self.signatureColumns + Self.totalColumns).map(SQLTableLayout.quote).joined(separator: ", ")
        return try Row.fetchAll(db.cachedStatement(sql: "SELECT \(columns) FROM \(quotedTable)")).map { row throws(StorageError) in
            try SignatureAggregate(row: row)
        }
    }

    /// The primary key of a signature: the JSON array of its four fields, where null is a value of its own.
    static func key(_ signature: PipelineSignature) -> String {
        var writer = JSONWriter(reservingCapacity: 128)
        writer.raw("[")
        for (index, value) in [signature.pipelineName, signature.scriptName, signature.pipelineType, signature.environment].enumerated() {
            if index > 0 { writer.raw(",") }
            writer.optionalString(value)
        }
        writer.raw("]")
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

// MARK: - Deciding what the table is

/// The run table as `prepare()` found it: the statements for its actual column names, and the
/// summary table when the service owns it.
struct SQLiteTables: Sendable {
    let statements: SQLStatements
    /// Present when the service created the run table; nil for someone else's table, which is never altered.
    let summary: SQLiteSummaryTable?

    /// Applies the migrations of a table the service owns, or checks that someone else's table has
    /// every column, and resolves the column names the statements use.
    ///
    /// The table is the service's when no column map is given and the table either does not exist
    /// yet or was created by the service's own migrations.
    static func prepare(_ layout: SQLTableLayout, in pool: DatabasePool) async throws -> SQLiteTables {
        if layout.isMapped {
            let resolved = try await pool.writeWithoutTransaction { db in
                try resolvedLayout(layout, in: db, setting: "PIPELINE_COLUMN_MAP")
            }
            return SQLiteTables(statements: SQLStatements(layout: resolved, dialect: .questionMarks), summary: nil)
        }
        let createRuns = SQLiteOwnedSchema.createRunsIdentifier(table: layout.table)
        let isOwned = try await pool.writeWithoutTransaction { db in
            try !db.tableExists(layout.table) || DatabaseMigrator().appliedIdentifiers(db).contains(createRuns)
        }
        var summary: SQLiteSummaryTable?
        if isOwned {
            let owned = try SQLiteOwnedSchema(layout: layout)
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                owned.migrator.asyncMigrate(pool) { result in
                    continuation.resume(with: result.map { _ in () })
                }
            }
            summary = owned.summary
        }
        let resolved = try await pool.writeWithoutTransaction { db in
            try resolvedLayout(layout, in: db, setting: "PIPELINE_TABLE")
        }
        return SQLiteTables(statements: SQLStatements(layout: resolved, dialect: .questionMarks), summary: summary)
    }

    /// The layout with each column's actual name: an exact match, else one that differs only in
    /// ASCII case (SQLite's own rule for identifiers).
    ///
    /// - Throws: ``ConfigurationError`` naming `setting` and every missing column.
    static func resolvedLayout(_ layout: SQLTableLayout, in db: Database, setting: String) throws -> SQLTableLayout {
        guard try db.tableExists(layout.table) else {
            throw ConfigurationError("PIPELINE_TABLE", "table \"\(layout.table)\" does not exist")
        }
        let actual = try db.columns(in: layout.table).map(\.name)
        let wanted = [(SQLTableLayout.idKey, layout.idColumn)] + PipelineField.allCases.map { ($0.rawValue, layout.column($0)) }
        var resolved: [(key: String, column: String)] = []
        var isRenamed = false
        var missing: [String] = []
        var absent: Set<PipelineField> = []
        for (key, column) in wanted {
            if let name = actual.first(where: { $0 == column }) ?? actual.first(where: { asciiLowercased($0) == asciiLowercased(column) }) {
                resolved.append((key, name))
                isRenamed = isRenamed || name != column
            } else if let field = PipelineField(rawValue: key), field.isExtension {
                absent.insert(field)
            } else {
                missing.append(key == column ? column : "\(column) (\(key))")
            }
        }
        guard missing.isEmpty else {
            throw ConfigurationError(setting, "table \"\(layout.table)\" lacks columns: \(missing.joined(separator: ", "))")
        }
        guard isRenamed else { return layout.withoutColumns(for: absent) }
        var writer = JSONWriter()
        writer.raw("{")
        for (index, entry) in resolved.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(entry.key)
            writer.raw(":")
            writer.string(entry.column)
        }
        writer.raw("}")
        return try SQLTableLayout(table: layout.table, columnMapJSON: String(decoding: writer.bytes, as: UTF8.self)).withoutColumns(for: absent)
    }

    private static func asciiLowercased(_ name: String) -> String {
        String(decoding: name.utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
