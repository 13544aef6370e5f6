public import PipelineCore

/// A value bound to a statement parameter. Backends convert each to their native binding;
/// nothing here is ever spliced into SQL text.
public enum SQLBind: Sendable, Hashable {
    case text(String)
    case optionalText(String?)
    case integer(Int64)
    case optionalInteger(Int64?)
    case double(Double)
    case instant(UTCInstant)
    case local(LocalDateTime)
}

/// A SQL statement and its binds, in placeholder order.
public struct SQLStatement: Sendable, Hashable {
    public var sql: String
    public var binds: [SQLBind]

    public init(sql: String, binds: [SQLBind]) {
        self.sql = sql
        self.binds = binds
    }
}

/// How a dialect writes placeholders.
public enum SQLDialect: Sendable {
    /// `?` placeholders (SQLite).
    case questionMarks
    /// `$1`, `$2`, … placeholders (PostgreSQL).
    case numbered
}

/// Translates the pure query module's values into SQL for a table layout — the single place
/// where run filters, ordering, keyset paging and summaries become SQL, shared by every SQL backend.
public struct SQLStatements: Sendable {
    public let layout: SQLTableLayout
    public let dialect: SQLDialect

    public init(layout: SQLTableLayout, dialect: SQLDialect) {
        self.layout = layout
        self.dialect = dialect
    }

    /// The columns every run query selects: the id column, then every field in `PipelineField.allCases`
    /// order (a typed NULL for an extension field the table lacks).
    public var selectList: String {
        ([layout.quotedIDColumn] + PipelineField.allCases.map(layout.selectExpression)).joined(separator: ", ")
    }

    /// The bind for one field of a run.
    public static func bind(_ field: PipelineField, of run: PipelineInfo) -> SQLBind {
        switch field {
        case .startLocal: .local(run.startLocal)
        case .endLocal: .local(run.endLocal)
        case .startUTC: .instant(run.startUTC)
        case .endUTC: .instant(run.endUTC)
        case .elapsedSeconds: .double(run.elapsedSeconds)
        case .elapsedHuman: .text(run.elapsedHuman)
        case .outputFile: .text(run.outputFile)
        case .rowcount: .integer(run.rowcount)
        case .logFile: .text(run.logFile)
        case .pid: .integer(run.pid)
        case .dateCode: .text(run.dateCode)
        case .pipelineName: .optionalText(run.pipelineName)
        case .scriptName: .optionalText(run.scriptName)
        case .pipelineType: .optionalText(run.pipelineType)
        case .environment: .optionalText(run.environment)
        case .archivedFile: .optionalText(run.archivedFile)
        case .status: .optionalText(run.status)
        case .exitCode: .optionalInteger(run.exitCode)
        }
    }

    /// The binds for inserting a run, in `layout.storedFields` order.
    public func binds(for run: PipelineInfo) -> [SQLBind] {
        layout.storedFields.map { Self.bind($0, of: run) }
    }

    /// `INSERT INTO t (fields…) VALUES (…)` for one run, without a RETURNING clause
    /// (dialects differ in how they hand back the new id).
    public func insert(_ run: PipelineInfo) -> SQLStatement {
        insert(CollectionOfOne(run))
    }

    /// `INSERT INTO t (fields…) VALUES (…), (…), …` for several runs, stored in their order
    /// (`runs.count × layout.storedFields.count` binds).
    public func insert(_ runs: some Collection<PipelineInfo>) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let columns = layout.storedFields.map(layout.quoted).joined(separator: ", ")
        let rows = runs.map { run in "(" + binds(for: run).map { builder.bind($0) }.joined(separator: ", ") + ")" }
        return SQLStatement(sql: "INSERT INTO \(layout.quotedTable) (\(columns)) VALUES \(rows.joined(separator: ", "))", binds: builder.binds)
    }

    /// The stored run with this (`pipeline_name`, `date_code`), if any.
    public func runByKey(_ key: RunKey) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let sql =
            "SELECT \(selectList) FROM \(layout.quotedTable) WHERE \(layout.quoted(.pipelineName)) = \(builder.bind(.text(key.pipelineName))) AND \(layout.quoted(.dateCode)) = \(builder.bind(.text(key.dateCode))) ORDER BY \(layout.quotedIDColumn) DESC LIMIT 1"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The most recently stored run with this date code, if any.
    public func runByDateCode(_ dateCode: String) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let sql =
            "SELECT \(selectList) FROM \(layout.quotedTable) WHERE \(layout.quoted(.dateCode)) = \(builder.bind(.text(dateCode))) ORDER BY \(layout.quotedIDColumn) DESC LIMIT 1"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The page of runs a query asks for, in result order.
    ///
    /// With `walkingResultOrder`, a row count bound is written so that no index can seek it
    /// (`+"rowcount"`): the planner then walks an index in result order and checks the bound on the
    /// way, instead of collecting and sorting every run in the range. See ``prefersWalkingResultOrder(for:matches:tableSize:)``.
    public func page(_ query: RunQuery, walkingResultOrder: Bool = false) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        var conditions = whereConditions(query.filter, builder: &builder, rowcountSeekable: !walkingResultOrder)
        if case .after(let position, _) = query.paging {
            let start = layout.quoted(.startUTC)
            let id = layout.quotedIDColumn
            // (start, id) < (p, s), written so that its first half is a plain range on start_utc: both
            // planners seek the start index there instead of scanning every run before the cursor.
            conditions.append("\(start) <= \(builder.bind(.instant(position.startUTC)))")
            conditions.append(
                "(\(start) < \(builder.bind(.instant(position.startUTC))) OR \(id) < \(builder.bind(.integer(position.sequence))))"
            )
        }
        var sql = "SELECT \(selectList) FROM \(layout.quotedTable)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC"
        switch query.paging {
        case .all:
            break
        case .window(let limit, let offset):
            sql += " LIMIT \(builder.bind(.integer(Int64(limit)))) OFFSET \(builder.bind(.integer(Int64(offset))))"
        case .after(_, let limit):
            sql += " LIMIT \(builder.bind(.integer(Int64(limit))))"
        }
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The number of runs matching a filter, regardless of paging.
    public func count(_ filter: RunFilter) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let conditions = whereConditions(filter, builder: &builder)
        var sql = "SELECT COUNT(*) FROM \(layout.quotedTable)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The number of runs matching a filter read from the per-signature summary table kept beside
    /// a table the service owns (`<table>_summary`), when the filter has only exact conditions on
    /// signature fields (or none) — then the answer is a sum over a few summary rows instead of a
    /// count over every matching run. Nil for any other filter.
    public func countFromSummary(_ filter: RunFilter) -> SQLStatement? {
        guard filter.startUTCFrom == nil, filter.endUTCTo == nil, filter.minRowcount == nil, filter.maxRowcount == nil else { return nil }
        var builder = Builder(dialect: dialect)
        var conditions: [String] = []
        let exact: [(PipelineField, String?)] = [
            (.pipelineName, filter.pipelineName), (.scriptName, filter.scriptName),
            (.pipelineType, filter.pipelineType), (.environment, filter.environment),
        ]
        // The summary table's columns carry the model's own names, whatever the run table's map says.
        for case (let field, let value?) in exact {
            conditions.append("\(SQLTableLayout.quote(field.rawValue)) = \(builder.bind(.text(value)))")
        }
        var sql = "SELECT CAST(COALESCE(SUM(\"total_runs\"), 0) AS BIGINT) FROM \(SQLTableLayout.quote(layout.table + "_summary"))"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// Per-signature totals computed by one grouped scan, for tables the service does not own
    /// (owned tables keep them incrementally). Columns: the four signature fields, total runs,
    /// last start, positive-duration sum and count, positive-rowcount sum and count, failed runs.
    public func aggregatesByGroupedScan() -> SQLStatement {
        let elapsed = layout.quoted(.elapsedSeconds)
        let rows = layout.quoted(.rowcount)
        let signature = [PipelineField.pipelineName, .scriptName, .pipelineType, .environment].map(layout.quoted).joined(separator: ", ")
        let sql = """
            SELECT \(signature), COUNT(*), MAX(\(layout.quoted(.startUTC))), \
            SUM(CASE WHEN \(elapsed) > 0 THEN \(elapsed) ELSE 0 END), \
            CAST(SUM(CASE WHEN \(elapsed) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN \(rows) ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(\(failedRunIndicator)) AS BIGINT) \
            FROM \(layout.quotedTable) GROUP BY \(signature)
            """
        return SQLStatement(sql: sql, binds: [])
    }

    // MARK: - Samples (insight and history)

    /// The columns a sample query selects: start_utc, elapsed_seconds, rowcount, status, exit_code, date_code.
    public var sampleSelectList: String {
        [PipelineField.startUTC, .elapsedSeconds, .rowcount, .status, .exitCode, .dateCode].map(layout.selectExpression).joined(separator: ", ")
    }

    /// The `limit` most recent runs of one signature, in result order, as samples.
    public func recentSamples(of signature: PipelineSignature, limit: Int) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let conditions = signatureConditions(signature, builder: &builder)
        let sql =
            "SELECT \(sampleSelectList) FROM \(layout.quotedTable) WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC LIMIT \(builder.bind(.integer(Int64(limit))))"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The number of runs of one signature that started at or after `since`.
    public func countRuns(of signature: PipelineSignature, since: UTCInstant) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        var conditions = signatureConditions(signature, builder: &builder)
        conditions.append("\(layout.quoted(.startUTC)) >= \(builder.bind(.instant(since)))")
        return SQLStatement(sql: "SELECT COUNT(*) FROM \(layout.quotedTable) WHERE \(conditions.joined(separator: " AND "))", binds: builder.binds)
    }

    /// Every run matching a filter, in result order, as history samples: start_utc,
    /// elapsed_seconds, rowcount, and 1 or 0 for failed (decided in SQL: no strings are read).
    public func historySamples(matching filter: RunFilter) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let conditions = whereConditions(filter, builder: &builder)
        let columns = [PipelineField.startUTC, .elapsedSeconds, .rowcount].map(layout.quoted).joined(separator: ", ")
        var sql = "SELECT \(columns), \(failedRunIndicator) FROM \(layout.quotedTable)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// Exactly one signature: each field equal to its value, or NULL where the signature has none.
    private func signatureConditions(_ signature: PipelineSignature, builder: inout Builder) -> [String] {
        let fields: [(PipelineField, String?)] = [
            (.pipelineName, signature.pipelineName), (.scriptName, signature.scriptName),
            (.pipelineType, signature.pipelineType), (.environment, signature.environment),
        ]
        return fields.map { field, value in
            guard let value else { return "\(layout.quoted(field)) IS NULL" }
            return "\(layout.quoted(field)) = \(builder.bind(.text(value)))"
        }
    }

    /// 1 for a failed run, else 0 (``RunStatus/isFailed(status:exitCode:)`` in SQL; 0 without the columns).
    var failedRunIndicator: String {
        let status = layout.hasColumn(.status) ? layout.quoted(.status) : "NULL"
        let exitCode = layout.hasColumn(.exitCode) ? layout.quoted(.exitCode) : "NULL"
        return "CASE WHEN \(status) = 'failed' OR (\(status) IS NULL AND \(exitCode) <> 0) THEN 1 ELSE 0 END"
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

    private func whereConditions(_ filter: RunFilter, builder: inout Builder, rowcountSeekable: Bool = true) -> [String] {
        var conditions: [String] = []
        let rowcount = (rowcountSeekable ? "" : "+") + layout.quoted(.rowcount)
        if let value = filter.startUTCFrom { conditions.append("\(layout.quoted(.startUTC)) >= \(builder.bind(.instant(value)))") }
        if let value = filter.endUTCTo {
            conditions.append("\(layout.quoted(.endUTC)) <= \(builder.bind(.instant(value)))")
            // Implied for every run (RunFilter.matches), and what lets the start_utc index bound a time window.
            conditions.append("\(layout.quoted(.startUTC)) <= \(builder.bind(.instant(value)))")
        }
        if let value = filter.minRowcount { conditions.append("\(rowcount) >= \(builder.bind(.integer(value)))") }
        if let value = filter.maxRowcount { conditions.append("\(rowcount) <= \(builder.bind(.integer(value)))") }
        let exact: [(PipelineField, String?)] = [
            (.pipelineName, filter.pipelineName), (.scriptName, filter.scriptName),
            (.pipelineType, filter.pipelineType), (.environment, filter.environment),
        ]
        for case (let field, let value?) in exact {
            conditions.append("\(layout.quoted(field)) = \(builder.bind(.text(value)))")
        }
        return conditions
    }

    /// Numbers placeholders and collects binds in order.
    private struct Builder {
        let dialect: SQLDialect
        var binds: [SQLBind] = []
        private var count = 0

        init(dialect: SQLDialect) {
            self.dialect = dialect
        }

        mutating func placeholder() -> String {
            count += 1
            switch dialect {
            case .questionMarks: return "?"
            case .numbered: return "$\(count)"
            }
        }

        mutating func bind(_ value: SQLBind) -> String {
            binds.append(value)
            return placeholder()
        }
    }

    // MARK: - Retention

    /// The number of runs that started before `cutoff`.
    public func countRuns(startedBefore cutoff: UTCInstant) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let sql = "SELECT COUNT(*) FROM \(layout.quotedTable) WHERE \(layout.quoted(.startUTC)) < \(builder.bind(.instant(cutoff)))"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// Deletes the `limit` oldest runs (`start_utc`, then id) that started before `cutoff`, and
    /// returns the signature fields of each (pipeline_name, script_name, pipeline_type, environment).
    public func deleteOldestRuns(startedBefore cutoff: UTCInstant, limit: Int) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let (table, id, start) = (layout.quotedTable, layout.quotedIDColumn, layout.quoted(.startUTC))
        let signature = [PipelineField.pipelineName, .scriptName, .pipelineType, .environment].map(layout.quoted).joined(separator: ", ")
        let sql = """
            DELETE FROM \(table) WHERE \(id) IN (SELECT \(id) FROM \(table) WHERE \(start) < \(builder.bind(.instant(cutoff))) \
            ORDER BY \(start), \(id) LIMIT \(builder.bind(.integer(Int64(limit))))) RETURNING \(signature)
            """
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The runs of these signatures in insertion order, as the signature fields followed by the
    /// columns of `sampleSelectList`: what a summary is folded from, one run at a time.
    public func summaryInputs(of signatures: [PipelineSignature]) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let signature = [PipelineField.pipelineName, .scriptName, .pipelineType, .environment].map(layout.quoted).joined(separator: ", ")
        let matches = signatures.map { "(" + signatureConditions($0, builder: &builder).joined(separator: " AND ") + ")" }
        let sql =
            "SELECT \(signature), \(sampleSelectList) FROM \(layout.quotedTable) WHERE \(matches.joined(separator: " OR ")) ORDER BY \(layout.quotedIDColumn)"
        return SQLStatement(sql: sql, binds: builder.binds)
    }

    /// The totals of these signatures in the columns of `aggregatesByGroupedScan()`, durations
    /// summed in insertion order by an ordered aggregate (PostgreSQL), so the sums equal bit for bit
    /// those `SignatureAggregate.add` gives.
    public func aggregatesInInsertionOrder(of signatures: [PipelineSignature]) -> SQLStatement {
        var builder = Builder(dialect: dialect)
        let elapsed = layout.quoted(.elapsedSeconds)
        let rows = layout.quoted(.rowcount)
        let signature = [PipelineField.pipelineName, .scriptName, .pipelineType, .environment].map(layout.quoted).joined(separator: ", ")
        let matches = signatures.map { "(" + signatureConditions($0, builder: &builder).joined(separator: " AND ") + ")" }
        let sql = """
            SELECT \(signature), COUNT(*), MAX(\(layout.quoted(.startUTC))), \
            SUM(CASE WHEN \(elapsed) > 0 THEN \(elapsed) ELSE 0 END ORDER BY \(layout.quotedIDColumn)), \
            CAST(SUM(CASE WHEN \(elapsed) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN \(rows) ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(\(failedRunIndicator)) AS BIGINT) \
            FROM \(layout.quotedTable) WHERE \(matches.joined(separator: " OR ")) GROUP BY \(signature)
            """
        return SQLStatement(sql: sql, binds: builder.binds)
    }
}
