import PipelineCore

/// Per-signature totals kept beside a run table the service owns (`<table>_summary`), so that
/// `summaries()` reads one row per signature instead of scanning every run. Both SQL backends
/// keep it with these statements, in the transaction that stores or deletes runs.
///
/// Totals are computed in Swift: new runs are added to the stored totals one at a time in
/// insertion order (``SummaryFold``), so the sums equal bit for bit what
/// ``SignatureAggregate/add(_:)-(PipelineInfo)`` gives for the same runs, on every backend. The one
/// exception is a run written alone (``addOne(_:binds:onlyIfRowIn:)``), where the statement adds
/// it itself with operations that give exactly the same values and cannot overflow. The rowcount
/// sum is 128 bits wide, held in `rowcount_sum` (its low 63 bits) and `rowcount_sum_high` (the
/// bits above).
struct SQLSummaryTable: Sendable {
    /// Signatures per statement: 13 binds each stays far below SQLite's 32,766 and PostgreSQL's 65,535.
    static let signaturesPerStatement = 1000

    let name: String
    let dialect: SQLDialect

    /// The upsert clause of ``addOne(_:binds:onlyIfRowIn:)``, the same for every run: built once.
    private let addingOne: String

    init(runsTable: String, dialect: SQLDialect) {
        self.name = runsTable + "_summary"
        self.dialect = dialect
        addingOne = Self.addingOneClause(table: SQLTableLayout.quote(name), dialect: dialect)
    }

    var quotedName: String { SQLTableLayout.quote(name) }

    /// Every column in the order the writes bind them.
    private static let columns = [
        "signature", "pipeline_name", "script_name", "pipeline_type", "environment", "total_runs", "last_run",
        "duration_sum", "duration_count", "rowcount_sum", "rowcount_count", "failed_runs", "rowcount_sum_high",
    ]

    /// The totals columns after the key and the signature fields.
    private static var totalColumns: ArraySlice<String> { columns.dropFirst(5) }

    /// The key of a signature: the JSON array of its four fields, where null is a value of its
    /// own. Unlike the fields themselves the key is never NULL, so a primary key can hold it.
    static func key(_ signature: PipelineSignature) -> String {
        var writer = JSONWriter(reservingCapacity: 128)
        writer.array(signature.values) { writer, value in writer.optionalString(value) }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Every row's totals, in the shape ``SignatureAggregate/init(reading:split:)`` reads (`.sixtyThree`).
    var selectAll: SQLStatement {
        SQLStatement(sql: selectColumns, binds: [])
    }

    private var selectColumns: String {
        """
        SELECT "pipeline_name", "script_name", "pipeline_type", "environment", "total_runs", "last_run", \
        "duration_sum", "duration_count", "rowcount_sum_high", "rowcount_sum", "rowcount_count", "failed_runs" FROM \(quotedName)
        """
    }

    /// The totals of these keys in the shape of ``selectAll``; on PostgreSQL the rows are locked
    /// until the transaction ends, in byte order of the keys, so two writers locking overlapping
    /// sets cannot deadlock.
    func select(keys: [String]) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let placeholders = keys.map { binds.bind(.text($0)) }.joined(separator: ", ")
        let locking = dialect == .postgres ? " ORDER BY \"signature\" COLLATE \"C\" FOR UPDATE" : ""
        return binds.oneOffStatement("\(selectColumns) WHERE \"signature\" IN (\(placeholders))\(locking)")
    }

    /// Creates a row holding these totals for each signature that has none; leaves existing rows alone.
    func createMissing(_ aggregates: some Sequence<SignatureAggregate>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let rows = aggregates.map { binds.row(Self.values(of: $0)) }
        return binds.oneOffStatement(
            "INSERT INTO \(quotedName) (\(Self.quoted(Self.columns))) VALUES \(rows.joined(separator: ", ")) ON CONFLICT (\"signature\") DO NOTHING"
        )
    }

    /// Adds one newly stored run to its signature's totals, creating the row when there is none, in
    /// one statement: a write of one run alone then costs no read of the totals and no second round
    /// trip. The statement does exactly what ``SignatureAggregate/add(_:)-(PipelineInfo)`` does for
    /// one run, with nothing that can overflow on any stored value: counts saturate at `Int64.max`,
    /// the rowcount sum carries from its low 63 bits into the high part, and the duration is the
    /// same IEEE addition (of zero when the run has no positive duration).
    ///
    /// - Parameter source: a CTE whose row says the run was inserted (PostgreSQL); the run is then
    ///   added only if it holds one. Nil: the run is added (SQLite, after its own insert).
    func addOne(_ run: PipelineInfo, binds: inout SQLBinds, onlyIfRowIn source: String? = nil) -> String {
        var contribution = SignatureAggregate(empty: run.signature)
        contribution.add(run)
        let row = Self.values(of: contribution).map { binds.bind($0) }.joined(separator: ", ")
        let rows = source.map { "SELECT \(row) FROM \($0)" } ?? "VALUES (\(row))"
        return "INSERT INTO \(quotedName) (\(Self.quoted(Self.columns))) \(rows) \(addingOne)"
    }

    private static func addingOneClause(table t: String, dialect: SQLDialect) -> String {
        let max = String(Int64.max)
        func saturating(_ column: String) -> String {
            "\"\(column)\" = CASE WHEN \(t).\"\(column)\" > \(max) - EXCLUDED.\"\(column)\" THEN \(max) ELSE \(t).\"\(column)\" + EXCLUDED.\"\(column)\" END"
        }
        let carries = "\(t).\"rowcount_sum\" > \(max) - EXCLUDED.\"rowcount_sum\""
        let latest = dialect == .postgres ? "GREATEST" : "MAX"
        let updates = [
            saturating("total_runs"),
            "\"last_run\" = \(latest)(\(t).\"last_run\", EXCLUDED.\"last_run\")",
            "\"duration_sum\" = \(t).\"duration_sum\" + EXCLUDED.\"duration_sum\"",
            saturating("duration_count"),
            "\"rowcount_sum\" = CASE WHEN \(carries) THEN \(t).\"rowcount_sum\" - (\(max) - EXCLUDED.\"rowcount_sum\") - 1 "
                + "ELSE \(t).\"rowcount_sum\" + EXCLUDED.\"rowcount_sum\" END",
            "\"rowcount_sum_high\" = CASE WHEN \(carries) AND \(t).\"rowcount_sum_high\" < \(max) THEN \(t).\"rowcount_sum_high\" + 1 "
                + "ELSE \(t).\"rowcount_sum_high\" END",
            saturating("rowcount_count"),
            saturating("failed_runs"),
        ]
        return "ON CONFLICT (\"signature\") DO UPDATE SET \(updates.joined(separator: ", "))"
    }

    /// Replaces the totals of signatures that have a row.
    func setTotals(_ aggregates: some Sequence<SignatureAggregate>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let rows = aggregates.map { aggregate in binds.row([.text(Self.key(aggregate.signature))] + Self.values(of: aggregate).dropFirst(5)) }
        let updated = Self.totalColumns.map { "\(SQLTableLayout.quote($0)) = v.\(SQLTableLayout.quote($0))" }.joined(separator: ", ")
        let valueColumns = Self.quoted(["signature"] + Self.totalColumns)
        return binds.oneOffStatement(
            "WITH v (\(valueColumns)) AS (VALUES \(rows.joined(separator: ", "))) UPDATE \(quotedName) SET \(updated) FROM v WHERE \(quotedName).\"signature\" = v.\"signature\""
        )
    }

    /// Removes the rows of these signatures (they have no runs left).
    func delete(_ signatures: some Sequence<PipelineSignature>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let placeholders = signatures.map { binds.bind(.text(Self.key($0))) }.joined(separator: ", ")
        return binds.oneOffStatement("DELETE FROM \(quotedName) WHERE \"signature\" IN (\(placeholders))")
    }

    /// The sum of `total_runs`: the number of runs in the table.
    var totalRuns: SQLStatement {
        SQLStatement(sql: "SELECT CAST(COALESCE(SUM(\"total_runs\"), 0) AS BIGINT) FROM \(quotedName)", binds: [])
    }

    /// The column added to a table created before rowcount sums were 128 bits wide; existing sums
    /// all fit in `rowcount_sum`, so their high part is 0.
    var addHighRowcountSum: String {
        let type = dialect == .postgres ? "BIGINT" : "INTEGER"
        return "ALTER TABLE \(quotedName) ADD COLUMN \"rowcount_sum_high\" \(type) NOT NULL DEFAULT 0"
    }

    /// A row's values in ``columns`` order.
    private static func values(of aggregate: SignatureAggregate) -> [FieldValue] {
        let rowcount = SplitSum.halves(of: aggregate.positiveRowcountSum)
        return [.text(key(aggregate.signature))] + aggregate.signature.values.map(FieldValue.text) + [
            .integer(aggregate.totalRuns), .instant(aggregate.lastRun),
            .double(aggregate.positiveDurationSum), .integer(aggregate.positiveDurationCount),
            .integer(rowcount.low), .integer(aggregate.positiveRowcountCount),
            .integer(aggregate.failedRuns), .integer(rowcount.high),
        ]
    }

    private static func quoted(_ names: some Sequence<String>) -> String {
        names.map(SQLTableLayout.quote).joined(separator: ", ")
    }
}
