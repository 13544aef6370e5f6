import PipelineCore

/// Per-signature totals kept beside a run table the service owns (`<table>_summary`), so that
/// `summaries()` reads one row per signature instead of scanning every run. Both SQL backends
/// keep it with these statements, in the transaction that stores or deletes runs.
///
/// Totals are computed in Swift, never by the database: new runs are added to the stored totals
/// one at a time in insertion order (``SummaryFold``), so the sums equal bit for bit what
/// ``SignatureAggregate/add(_:)-(PipelineInfo)`` gives for the same runs, on every backend, and no
/// database arithmetic can overflow on extreme stored values. The rowcount sum is 128 bits wide,
/// held in `rowcount_sum` (its low 63 bits) and `rowcount_sum_high` (the bits above).
struct SQLSummaryTable: Sendable {
    /// Signatures per statement: 13 binds each stays far below SQLite's 32,766 and PostgreSQL's 65,535.
    static let signaturesPerStatement = 1000

    let name: String
    let dialect: SQLDialect

    init(runsTable: String, dialect: SQLDialect) {
        self.name = runsTable + "_summary"
        self.dialect = dialect
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
        return binds.statement("\(selectColumns) WHERE \"signature\" IN (\(placeholders))\(locking)")
    }

    /// Creates a row holding these totals for each signature that has none; leaves existing rows alone.
    func createMissing(_ aggregates: some Sequence<SignatureAggregate>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let rows = aggregates.map { binds.row(Self.values(of: $0)) }
        return binds.statement(
            "INSERT INTO \(quotedName) (\(Self.quoted(Self.columns))) VALUES \(rows.joined(separator: ", ")) ON CONFLICT (\"signature\") DO NOTHING"
        )
    }

    /// Replaces the totals of signatures that have a row.
    func setTotals(_ aggregates: some Sequence<SignatureAggregate>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let rows = aggregates.map { aggregate in binds.row([.text(Self.key(aggregate.signature))] + Self.values(of: aggregate).dropFirst(5)) }
        let updated = Self.totalColumns.map { "\(SQLTableLayout.quote($0)) = v.\(SQLTableLayout.quote($0))" }.joined(separator: ", ")
        let valueColumns = Self.quoted(["signature"] + Self.totalColumns)
        return binds.statement(
            "WITH v (\(valueColumns)) AS (VALUES \(rows.joined(separator: ", "))) UPDATE \(quotedName) SET \(updated) FROM v WHERE \(quotedName).\"signature\" = v.\"signature\""
        )
    }

    /// Removes the rows of these signatures (they have no runs left).
    func delete(_ signatures: some Sequence<PipelineSignature>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let placeholders = signatures.map { binds.bind(.text(Self.key($0))) }.joined(separator: ", ")
        return binds.statement("DELETE FROM \(quotedName) WHERE \"signature\" IN (\(placeholders))")
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
