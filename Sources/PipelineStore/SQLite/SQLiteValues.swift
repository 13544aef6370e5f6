import GRDB
import PipelineCore

// MARK: - Instants as text

/// Instants as the SQLite backend stores them: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 27 bytes,
/// so that comparing the text compares the instants (the indexes and the `start_utc`/`end_utc`
/// filters rely on it).
enum SQLiteTimestamp {
    /// 0000-01-01T00:00:00Z: the earliest instant four year digits can write.
    static let earliest = UTCInstant(microsecondsSinceEpoch: -62_167_219_200 * UTCInstant.microsecondsPerSecond)
    /// 9999-12-31T23:59:59.999999Z: the latest instant four year digits can write.
    static let latest = UTCInstant(microsecondsSinceEpoch: 253_402_300_800 * UTCInstant.microsecondsPerSecond - 1)

    /// The Gregorian calendar repeats every 400 years, which are exactly this many microseconds.
    private static let fourHundredYears: Int64 = 146_097 * UTCInstant.microsecondsPerDay

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

extension FieldValue {
    /// The value GRDB binds for this parameter.
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text?.databaseValue ?? .null
        case .integer(let value): value?.databaseValue ?? .null
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

/// Reads the columns of one fetched row in order, throwing ``StorageError/corrupt(_:)`` for a
/// value of the wrong kind instead of trapping as GRDB's typed subscripts do.
///
/// Someone else's table may declare any column affinity: a text column keeps `-9` as `"-9"` and
/// a numeric one turns `"123"` into 123, so each kind also accepts the other spelling when it is exact.
struct SQLiteRow: SQLRowReader {
    private enum Source {
        case row(Row)
        /// The current row of a statement being stepped: each column is read straight from SQLite,
        /// without GRDB's generic row decoding (which a history of 60,000 rows felt).
        case statement(SQLiteStatement)
    }

    private let source: Source
    /// What the row is, for error messages (`a stored run`, `run 42`).
    private var subject: String
    private let count: Int
    private var next = 0

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

    private mutating func take() -> DatabaseValue {
        defer { next += 1 }
        guard next < count else { return .null }
        switch source {
        case .row(let row): return row[next]
        case .statement(let statement): return DatabaseValue(sqliteStatement: statement, index: CInt(next))
        }
    }

    mutating func identify(as subject: String) {
        self.subject = subject
    }

    private func unreadable(_ name: String) -> StorageError {
        StorageError.corrupt("\(subject) has an unreadable \(name)")
    }

    mutating func integer(column name: String) throws -> Int64 {
        guard let value = try optionalInteger(column: name) else { throw unreadable(name) }
        return value
    }

    mutating func optionalInteger(column name: String) throws -> Int64? {
        switch take().storage {
        case .null: return nil
        case .int64(let value): return value
        case .double(let value):
            guard let exact = Int64(exactly: value) else { throw unreadable(name) }
            return exact
        case .string(let text):
            guard let value = Int64(text) else { throw unreadable(name) }
            return value
        case .blob: throw unreadable(name)
        }
    }

    mutating func double(column name: String) throws -> Double {
        switch take().storage {
        case .double(let value): return value
        case .int64(let value): return Double(value)
        case .string(let text):
            guard let value = Double(text) else { throw unreadable(name) }
            return value
        case .null, .blob: throw unreadable(name)
        }
    }

    mutating func optionalText(column name: String) throws -> String? {
        switch take().storage {
        case .null: return nil
        case .string(let text): return text
        case .int64(let value): return String(value)
        case .double, .blob: throw unreadable(name)
        }
    }

    mutating func text(column name: String) throws -> String {
        guard let text = try optionalText(column: name) else { throw unreadable(name) }
        return text
    }

    mutating func instant(column name: String) throws -> UTCInstant {
        guard let instant = SQLiteTimestamp.instant(try text(column: name)) else { throw unreadable(name) }
        return instant
    }

    mutating func localDateTime(column name: String) throws -> LocalDateTime {
        guard let local = LocalDateTime(iso8601: try text(column: name)) else { throw unreadable(name) }
        return local
    }
}

extension SQLStatement {
    /// The compiled statement: kept by the connection for reuse when its text recurs, made afresh
    /// otherwise, so that the connection's cache holds a bounded number of texts.
    func prepared(in db: Database) throws -> Statement {
        recurs ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
    }
}

extension SQLiteRow {
    /// Every row `statement` selects, each made by `make` from the values read in place.
    static func each<Value>(
        _ statement: SQLStatement,
        in db: Database,
        subject: String,
        _ make: (inout SQLiteRow) throws -> Value
    ) throws -> [Value] {
        let prepared = try statement.prepared(in: db)
        let rows = try Row.fetchCursor(prepared, arguments: statement.arguments)
        var made: [Value] = []
        while try rows.next() != nil {
            var row = SQLiteRow(current: prepared, subject: subject)
            made.append(try make(&row))
        }
        return made
    }

    /// The first row `statement` selects, if any.
    static func first<Value>(
        _ statement: SQLStatement,
        in db: Database,
        subject: String,
        _ make: (inout SQLiteRow) throws -> Value
    ) throws
        -> Value?
    {
        guard let row = try Row.fetchOne(statement.prepared(in: db), arguments: statement.arguments) else { return nil }
        var reader = SQLiteRow(row, subject: subject)
        return try make(&reader)
    }
}

/// The SQL function ``SQLStatements/sequentialSumFunction``: the sum of its arguments (NULL ones
/// left out) added one at a time in the order SQLite hands them over, as ``SignatureAggregate``
/// adds durations. SQLite's own `SUM` compensates rounding from 3.43 on (Kahan–Babuška–Neumaier),
/// which gives other last bits than adding one at a time; this gives the same on every SQLite.
struct SQLiteSequentialSum: DatabaseAggregate {
    private var sum = 0.0

    static let function = DatabaseFunction(SQLStatements.sequentialSumFunction, argumentCount: 1, pure: true, aggregate: Self.self)

    init() {}

    mutating func step(_ dbValues: [DatabaseValue]) {
        if let value = dbValues.first.flatMap(Double.fromDatabaseValue) { sum += value }
    }

    func finalize() -> (any DatabaseValueConvertible)? { sum }
}
