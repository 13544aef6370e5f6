import GRDB
import PipelineCore

// MARK: - Instants as text

/// Instants as the SQLite backend stores them: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 27 bytes,
/// so that comparing the text compares the instants (the indexes and the `start_utc`/`end_utc`
/// filters rely on it).
enum SQLiteTimestamp {
    /// 0000-01-01T00:00:00Z: the earliest instant four year digits can write.
    static let earliest = UTCInstant(microsecondsSinceEpoch: -62_167_219_200 * 1_000_000)
    /// 9999-12-31T23:59:59.999999Z: the latest instant four year digits can write.
    static let latest = UTCInstant(microsecondsSinceEpoch: 253_402_300_800 * 1_000_000 - 1)

    /// The Gregorian calendar repeats every 400 years, which are exactly this many microseconds.
    private static let fourHundredYears: Int64 = 146_097 * 86_400 * 1_000_000

    /// The fixed-width text of an instant. Instants beyond what four year digits can write are
    /// clamped to the nearest one that can, which keeps comparisons with them correct.
    static func text(_ instant: UTCInstant) -> String {
        let text = min(max(instant, earliest), latest).description
        // `description` leaves out a zero fraction: `YYYY-MM-DDTHH:MM:SSZ` is 20 bytes.
        guard text.utf8.count == 20 else { return text }
        return String(text.dropLast()) + ".000000Z"
    }

    /// Reads the fixed-width text back, or any ISO 8601 form (a table the service does not own).
    static func instant(_ text: String) -> UTCInstant? {
        if let instant = UTCInstant(iso8601: text) { return instant }
        // The parser starts at year 1, but an offset can move an instant into year 0
        // (`0001-01-01T00:30:00+01:00`): read year 0 as year 400 and move it back.
        guard text.hasPrefix("0000-"), let shifted = UTCInstant(iso8601: "0400" + text.dropFirst(4)) else { return nil }
        return UTCInstant(microsecondsSinceEpoch: shifted.microsecondsSinceEpoch - fourHundredYears)
    }
}

// MARK: - Binds

extension SQLBind {
    /// The value GRDB binds for this parameter.
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text.databaseValue
        case .optionalText(let text): text?.databaseValue ?? .null
        case .integer(let value): value.databaseValue
        case .optionalInteger(let value): value?.databaseValue ?? .null
        case .double(let value): value.databaseValue
        case .instant(let instant): SQLiteTimestamp.text(instant).databaseValue
        case .local(let local): local.description.databaseValue
        }
    }
}

extension SQLStatement {
    /// The binds as GRDB statement arguments, in placeholder order.
    var arguments: StatementArguments { StatementArguments(binds.map(\.databaseValue)) }
}

// MARK: - Reading rows

/// Reads the values of one fetched row, throwing ``StorageError/corrupt(_:)`` for a value of the wrong kind
/// instead of trapping as GRDB's typed subscripts do.
struct StoredValues {
    private enum Source {
        case row(Row)
        /// The current row of a statement being stepped: each column is read straight from SQLite,
        /// without GRDB's generic row decoding (which a history of 60,000 rows felt).
        case statement(SQLiteStatement)
    }

    private let source: Source
    /// What the row is, for error messages (`a pipeline summary`).
    private let subject: String
    /// The run's id, once known: error messages then name `run 42`.
    var sequence: Int64?
    let count: Int

    init(_ row: Row, subject: String) {
        self.source = .row(row)
        self.count = row.count
        self.subject = subject
    }

    /// The values of whichever row `statement` is on; valid while a cursor over it is on that row.
    init(current statement: Statement, subject: String) {
        self.source = .statement(statement.sqliteStatement)
        self.count = statement.columnCount
        self.subject = subject
    }

    private func value(_ index: Int) -> DatabaseValue {
        guard index < count else { return .null }
        switch source {
        case .row(let row): return row[index]
        case .statement(let statement): return DatabaseValue(sqliteStatement: statement, index: CInt(index))
        }
    }

    private func unreadable(_ name: String) -> StorageError {
        StorageError.corrupt("\(sequence.map { "run \($0)" } ?? subject) has an unreadable \(name)")
    }

    func integer(_ index: Int, _ name: String) throws(StorageError) -> Int64 {
        switch value(index).storage {
        case .int64(let value): return value
        case .double(let value):
            guard let exact = Int64(exactly: value) else { throw unreadable(name) }
            return exact
        default: throw unreadable(name)
        }
    }

    func optionalInteger(_ index: Int, _ name: String) throws(StorageError) -> Int64? {
        switch value(index).storage {
        case .null: return nil
        // A column with text affinity in someone else's table keeps -9 as "-9".
        case .string(let text):
            guard let value = Int64(text) else { throw unreadable(name) }
            return value
        default: return try integer(index, name)
        }
    }

    func double(_ index: Int, _ name: String) throws(StorageError) -> Double {
        switch value(index).storage {
        case .double(let value): return value
        case .int64(let value): return Double(value)
        default: throw unreadable(name)
        }
    }

    func optionalText(_ index: Int, _ name: String) throws(StorageError) -> String? {
        switch value(index).storage {
        case .null: return nil
        case .string(let text): return text
        // A column with numeric affinity in someone else's table turns "123" into 123.
        case .int64(let value): return String(value)
        default: throw unreadable(name)
        }
    }

    func text(_ index: Int, _ name: String) throws(StorageError) -> String {
        guard let text = try optionalText(index, name) else { throw unreadable(name) }
        return text
    }

    func instant(_ index: Int, _ name: String) throws(StorageError) -> UTCInstant {
        guard let instant = SQLiteTimestamp.instant(try text(index, name)) else { throw unreadable(name) }
        return instant
    }

    func local(_ index: Int, _ name: String) throws(StorageError) -> LocalDateTime {
        guard let local = LocalDateTime(iso8601: try text(index, name)) else { throw unreadable(name) }
        return local
    }
}

extension StoredRun {
    /// A run from a row of `SQLStatements.selectList`: the id column, then every field in `PipelineField.allCases` order.
    init(row: Row) throws(StorageError) {
        try self.init(values: StoredValues(row, subject: "a stored run"))
    }

    init(values: StoredValues) throws(StorageError) {
        var values = values
        let sequence = try values.integer(0, SQLTableLayout.idKey)
        values.sequence = sequence
        guard values.count == 1 + PipelineField.allCases.count else {
            throw StorageError.corrupt("run \(sequence) has \(values.count) columns instead of \(1 + PipelineField.allCases.count)")
        }
        func name(_ field: PipelineField) -> String { field.rawValue }
        let info = PipelineInfo(
            startLocal: try values.local(1, name(.startLocal)),
            endLocal: try values.local(2, name(.endLocal)),
            startUTC: try values.instant(3, name(.startUTC)),
            endUTC: try values.instant(4, name(.endUTC)),
            elapsedSeconds: try values.double(5, name(.elapsedSeconds)),
            elapsedHuman: try values.text(6, name(.elapsedHuman)),
            outputFile: try values.text(7, name(.outputFile)),
            rowcount: try values.integer(8, name(.rowcount)),
            logFile: try values.text(9, name(.logFile)),
            pid: try values.integer(10, name(.pid)),
            dateCode: try values.text(11, name(.dateCode)),
            pipelineName: try values.optionalText(12, name(.pipelineName)),
            scriptName: try values.optionalText(13, name(.scriptName)),
            pipelineType: try values.optionalText(14, name(.pipelineType)),
            environment: try values.optionalText(15, name(.environment)),
            archivedFile: try values.optionalText(16, name(.archivedFile)),
            status: try values.optionalText(17, name(.status)),
            exitCode: try values.optionalInteger(18, name(.exitCode))
        )
        self.init(sequence: sequence, info: info)
    }
}

extension RunSample {
    /// A sample from a row of `SQLStatements.sampleSelectList`.
    init(values: StoredValues) throws(StorageError) {
        self.init(
            startUTC: try values.instant(0, "start_utc"),
            elapsedSeconds: try values.double(1, "elapsed_seconds"),
            rowcount: try values.integer(2, "rowcount"),
            status: try values.optionalText(3, "status"),
            exitCode: try values.optionalInteger(4, "exit_code"),
            dateCode: try values.text(5, "date_code")
        )
    }
}

extension SignatureAggregate {
    /// Totals from a row of the four signature fields, total runs, last start, positive-duration
    /// sum and count, positive-rowcount sum and count, failed runs — the shape of both the summary table and
    /// `SQLStatements.aggregatesByGroupedScan()`.
    init(row: Row) throws(StorageError) {
        let values = StoredValues(row, subject: "a pipeline summary")
        guard values.count == 11 else { throw StorageError.corrupt("a pipeline summary has \(values.count) columns instead of 11") }
        self.init(
            signature: PipelineSignature(
                pipelineName: try values.optionalText(0, "pipeline_name"),
                scriptName: try values.optionalText(1, "script_name"),
                pipelineType: try values.optionalText(2, "pipeline_type"),
                environment: try values.optionalText(3, "environment")
            ),
            totalRuns: try values.integer(4, "total_runs"),
            lastRun: try values.instant(5, "last_run"),
            positiveDurationSum: try values.double(6, "avg_duration"),
            positiveDurationCount: try values.integer(7, "avg_duration"),
            positiveRowcountSum: try values.integer(8, "avg_rowcount"),
            positiveRowcountCount: try values.integer(9, "avg_rowcount"),
            failedRuns: try values.integer(10, "failed_runs")
        )
    }
}

extension StoredValues {
    /// Every row `statement` selects, each made by `make` from the values read in place.
    static func each<Value>(
        _ statement: SQLStatement,
        in db: Database,
        subject: String,
        _ make: (StoredValues) throws(StorageError) -> Value
    ) throws -> [Value] {
        let prepared = try db.cachedStatement(sql: statement.sql)
        let rows = try Row.fetchCursor(prepared, arguments: statement.arguments)
        let values = StoredValues(current: prepared, subject: subject)
        var made: [Value] = []
        while try rows.next() != nil {
            made.append(try make(values))
        }
        return made
    }
}
