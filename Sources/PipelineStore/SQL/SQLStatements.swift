public import PipelineCore

/// A SQL statement and its binds, in placeholder order. Every value is a bind; nothing a request
/// carries is ever spliced into the SQL text.
public struct SQLStatement: Sendable, Hashable {
    public var sql: String
    public var binds: [FieldValue]
    /// Whether the text recurs: the same for a table whatever the values. Statements with a
    /// placeholder per signature or per row (summary upkeep, refolds) spell a new text for each
    /// count, so a backend that keeps prepared statements by text (SQLite) does not keep these.
    public var recurs: Bool

    public init(sql: String, binds: [FieldValue], recurs: Bool = true) {
        self.sql = sql
        self.binds = binds
        self.recurs = recurs
    }
}

/// How a dialect writes what differs between SQLite and PostgreSQL.
public enum SQLDialect: Sendable {
    /// SQLite: `?` placeholders.
    case sqlite
    /// PostgreSQL: `$1`, `$2`, … placeholders.
    case postgres
}

/// Numbers placeholders and collects binds in order.
struct SQLBinds {
    let dialect: SQLDialect
    private(set) var values: [FieldValue] = []

    init(_ dialect: SQLDialect) {
        self.dialect = dialect
    }

    /// Binds that follow those of `statement`, for SQL that embeds it.
    init(_ dialect: SQLDialect, continuing statement: SQLStatement) {
        self.dialect = dialect
        values = statement.binds
    }

    /// The placeholder for `value`, whose bind is appended.
    mutating func bind(_ value: FieldValue) -> String {
        values.append(value)
        switch dialect {
        case .sqlite: return "?"
        case .postgres: return "$\(values.count)"
        }
    }

    /// A parenthesised row of placeholders for `values`.
    mutating func row(_ values: some Sequence<FieldValue>) -> String {
        "(" + values.map { bind($0) }.joined(separator: ", ") + ")"
    }

    /// The statement of `sql` with the binds collected. Mutating, so that the compiler refuses a
    /// call whose argument still binds values (`statement("… \(bind(x))")`): its placeholders must be
    /// written before the binds are taken.
    mutating func statement(_ sql: String) -> SQLStatement {
        SQLStatement(sql: sql, binds: values)
    }

    /// A statement whose text depends on how many values it binds (``SQLStatement/recurs`` false).
    mutating func oneOffStatement(_ sql: String) -> SQLStatement {
        SQLStatement(sql: sql, binds: values, recurs: false)
    }
}

/// Translates the pure query module's values into SQL for a table layout — the single place
/// where run filters, ordering, keyset paging and samples become SQL, shared by every SQL backend.
public struct SQLStatements: Sendable {
    public let layout: SQLTableLayout
    public let dialect: SQLDialect

    public init(layout: SQLTableLayout, dialect: SQLDialect) {
        self.layout = layout
        self.dialect = dialect
    }

    /// The columns every run query selects: the id column, then every field in ``PipelineField``
    /// order (a typed NULL for an extension field the table lacks) — the order ``StoredRun`` is read in.
    public var selectList: String {
        ([layout.quotedIDColumn] + PipelineField.allCases.map(layout.selectExpression)).joined(separator: ", ")
    }

    /// The signature columns, in signature order.
    var signatureColumns: String {
        PipelineField.signatureFields.map(layout.selectExpression).joined(separator: ", ")
    }

    /// `ORDER BY start_utc DESC, id DESC`: result order.
    var resultOrder: String {
        "ORDER BY \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC"
    }

    /// `INSERT INTO t (fields…) VALUES (…), (…), …` for runs stored in their order, without a
    /// RETURNING clause (dialects differ in what they hand back). `verb` is `INSERT`, or SQLite's
    /// `INSERT OR IGNORE`.
    public func insert(_ runs: some Collection<PipelineInfo>, verb: String = "INSERT") -> SQLStatement {
        var binds = SQLBinds(dialect)
        let fields = layout.storedFields
        let columns = fields.map(layout.quoted).joined(separator: ", ")
        let rows = runs.map { run in "(" + fields.map { layout.insertPlaceholder($0, of: run, binds: &binds) }.joined(separator: ", ") + ")" }
        return binds.statement("\(verb) INTO \(layout.quotedTable) (\(columns)) VALUES \(rows.joined(separator: ", "))")
    }

    /// The stored run with this key (its id; on a table without ids, its name and date code), if any.
    public func runByKey(_ key: RunKey) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let condition: String
        if layout.hasColumn(.runID), let id = key.runID {
            condition = "\(layout.quoted(.runID)) = \(binds.bind(.text(id)))"
        } else {
            let name = binds.bind(.text(key.pipelineName))
            condition = "\(layout.quoted(.pipelineName)) = \(name) AND \(layout.quoted(.dateCode)) = \(binds.bind(.text(key.dateCode)))"
        }
        return binds.statement(
            "SELECT \(selectList) FROM \(layout.quotedTable) WHERE \(condition) ORDER BY \(layout.quotedIDColumn) DESC LIMIT 1"
        )
    }

    /// Deletes the stored record of a run still `running`, which a newer record of it replaces
    /// (inserted after, so the run's place in insertion order is where it ended).
    public func deleteRunning(id: Int64) -> SQLStatement {
        deleteRun(id: id, while: isRunning)
    }

    /// Deletes the stored record of a finished run whose start was not known, which the same run
    /// with its start replaces (``KeyedWrite/replacesFinished(_:)``).
    public func deleteFinished(id: Int64) -> SQLStatement {
        deleteRun(id: id, while: isFinished)
    }

    private func deleteRun(id: Int64, while condition: String) -> SQLStatement {
        var binds = SQLBinds(dialect)
        return binds.statement("DELETE FROM \(layout.quotedTable) WHERE \(layout.quotedIDColumn) = \(binds.bind(.integer(id))) AND \(condition)")
    }

    /// True for a run still `running` (never on a table without a status column).
    var isRunning: String {
        "\(layout.conditionExpression(.status)) = '\(RunStatus.running)'"
    }

    /// True for a finished run: what every query reads unless it asks for `running` or names a run.
    var isFinished: String {
        "(\(layout.conditionExpression(.status)) IS NULL OR \(layout.conditionExpression(.status)) <> '\(RunStatus.running)')"
    }

    /// The page of runs a query asks for, in result order, with one run more than its limit
    /// (which tells whether another page follows).
    ///
    /// With `walkingResultOrder`, a row count bound is written so that no index can seek it
    /// (`+"rowcount"`): the planner then walks an index in result order and checks the bound on the
    /// way, instead of collecting and sorting every run in the range. See ``prefersWalkingResultOrder(for:matches:tableSize:)``.
    public func page(_ query: RunQuery, walkingResultOrder: Bool = false) -> SQLStatement {
        var binds = SQLBinds(dialect)
        var conditions = whereConditions(query.filter, binds: &binds, rowcountSeekable: !walkingResultOrder)
        if case .after(let position, _) = query.paging {
            let start = layout.quoted(.startUTC)
            // (start, id) < (p, s), written so that its first half is a plain range on start_utc: both
            // planners seek the start index there instead of scanning every run before the cursor.
            conditions.append("\(start) <= \(binds.bind(.instant(position.startUTC)))")
            conditions.append(
                "(\(start) < \(binds.bind(.instant(position.startUTC))) OR \(layout.quotedIDColumn) < \(binds.bind(.integer(position.sequence))))"
            )
        }
        var sql = "SELECT \(selectList) FROM \(layout.quotedTable)\(whereClause(conditions)) \(resultOrder)"
        switch query.paging {
        case .all:
            break
        case .window(let limit, let offset):
            sql += " LIMIT \(binds.bind(.integer(Int64(limit) + 1))) OFFSET \(binds.bind(.integer(Int64(offset))))"
        case .after(_, let limit):
            sql += " LIMIT \(binds.bind(.integer(Int64(limit) + 1)))"
        }
        return binds.statement(sql)
    }

    /// The number of runs matching a filter.
    public func count(_ filter: RunFilter) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let conditions = whereConditions(filter, binds: &binds)
        return binds.statement("SELECT COUNT(*) FROM \(layout.quotedTable)\(whereClause(conditions))")
    }

    /// The first `limit` runs matching a filter, in result order, in the columns of ``sampleSelectList``.
    public func samples(matching filter: RunFilter, limit: Int) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let conditions = whereConditions(filter, binds: &binds)
        return binds.statement(
            "SELECT \(sampleSelectList) FROM \(layout.quotedTable)\(whereClause(conditions)) \(resultOrder) LIMIT \(binds.bind(.integer(Int64(limit))))"
        )
    }

    /// The columns a sample query selects: start_utc, elapsed_seconds, rowcount, status,
    /// exit_code, date_code — the order ``RunSample`` is read in.
    public var sampleSelectList: String {
        RunSample.fields.map(layout.selectExpression).joined(separator: ", ")
    }

    /// Every run matching a filter, in result order, as history samples: start_utc,
    /// elapsed_seconds, rowcount, and 1 or 0 for failed (decided in SQL: no strings are read).
    public func historySamples(matching filter: RunFilter) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let conditions = whereConditions(filter, binds: &binds)
        let columns = [PipelineField.startUTC, .elapsedSeconds, .rowcount].map(layout.selectExpression).joined(separator: ", ")
        return binds.statement("SELECT \(columns), \(failedRunIndicator) FROM \(layout.quotedTable)\(whereClause(conditions)) \(resultOrder)")
    }

    /// 1 for a failed run, else 0 (``RunStatus/isFailed(status:exitCode:)`` in SQL; 0 without the columns).
    var failedRunIndicator: String {
        let status = layout.conditionExpression(.status)
        let exitCode = layout.conditionExpression(.exitCode)
        return "CASE WHEN \(status) = '\(RunStatus.failed)' OR (\(status) IS NULL AND \(exitCode) <> 0) THEN 1 ELSE 0 END"
    }

    /// Whether a page of `query` is found faster by walking result order and skipping runs outside
    /// its row count range than by seeking the row count index and sorting every run in the range.
    ///
    /// The walk reads about `wanted × tableSize / matches` index entries to find `wanted` runs; the
    /// seek reads and sorts all `matches`. A planner without the numbers (SQLite's statistics give
    /// none for a range) seeks even a range holding a tenth of the table: at a million runs, 70 ms
    /// instead of under 1 ms. A narrow range keeps the seek, where the walk would read the whole table.
    public static func prefersWalkingResultOrder(for query: RunQuery, matches: Int, tableSize: Int) -> Bool {
        guard query.filter.minRowcount != nil || query.filter.maxRowcount != nil, matches > 0 else { return false }
        let wanted: Int
        switch query.paging {
        case .all: return false
        case .window(let limit, let offset):
            let (sum, overflow) = max(0, limit).addingReportingOverflow(max(0, offset))
            wanted = overflow ? .max : sum
        case .after(_, let limit): wanted = limit
        }
        // Sorting costs a few index steps per run; 4 keeps the walk where it wins clearly.
        return Double(max(wanted, 1)) * Double(tableSize) <= 4 * Double(matches) * Double(matches)
    }

    /// The conditions of a filter, each with its binds.
    func whereConditions(_ filter: RunFilter, binds: inout SQLBinds, rowcountSeekable: Bool = true) -> [String] {
        var conditions: [String] = []
        let rowcount = (rowcountSeekable ? "" : "+") + layout.quoted(.rowcount)
        if let value = filter.startUTCFrom { conditions.append("\(layout.quoted(.startUTC)) >= \(binds.bind(.instant(value)))") }
        if let value = filter.endUTCTo {
            conditions.append("\(layout.quoted(.endUTC)) <= \(binds.bind(.instant(value)))")
            // Implied for every run (RunFilter.matches), and what lets the start_utc index bound a time window.
            conditions.append("\(layout.quoted(.startUTC)) <= \(binds.bind(.instant(value)))")
        }
        if let value = filter.minRowcount { conditions.append("\(rowcount) >= \(binds.bind(.integer(value)))") }
        if let value = filter.maxRowcount { conditions.append("\(rowcount) <= \(binds.bind(.integer(value)))") }
        for (field, condition) in filter.signatureConditions {
            conditions.append(Self.condition(layout.quoted(field), condition, binds: &binds))
        }
        if let value = filter.dateCode { conditions.append("\(layout.quoted(.dateCode)) = \(binds.bind(.text(value)))") }
        // A table without a status column holds no status: NULL matches only "no status".
        if let status = filter.status {
            conditions.append(Self.condition(layout.conditionExpression(.status), status, binds: &binds))
        }
        if let runID = filter.runID { conditions.append("\(layout.conditionExpression(.runID)) = \(binds.bind(.text(runID)))") }
        if !filter.includesRunning { conditions.append(isFinished) }
        return conditions
    }

    /// `column = value`, or `column IS NULL`.
    static func condition(_ column: String, _ condition: FieldCondition, binds: inout SQLBinds) -> String {
        switch condition {
        case .equals(let value): "\(column) = \(binds.bind(.text(value)))"
        case .isNull: "\(column) IS NULL"
        }
    }

    func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }
}

extension RunSample {
    /// The fields a sample is read from, in the order it reads them.
    static let fields: [PipelineField] = [.startUTC, .elapsedSeconds, .rowcount, .status, .exitCode, .dateCode]
}
