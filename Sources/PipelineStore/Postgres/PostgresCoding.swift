import PipelineCore
import PostgresNIO

// MARK: - Timestamps in PostgreSQL's binary format

/// PostgreSQL sends `timestamp` and `timestamptz` as microseconds since 2000-01-01 00:00:00
/// (UTC for `timestamptz`). Converting through these integers keeps every microsecond;
/// `Foundation.Date` would round through a `Double`.
enum PostgresTimestamp {
    /// Microseconds from 1970-01-01 to 2000-01-01.
    static let epochOffset: Int64 = 946_684_800_000_000

    static func encode(unixMicroseconds: Int64, into buffer: inout ByteBuffer) {
        buffer.writeInteger(unixMicroseconds - epochOffset)
    }

    /// Accepts both timestamp types: with the session's time zone set to UTC (see `PostgresURL`),
    /// a `timestamp` column holding instants and a `timestamptz` column holding wall times both read back exactly.
    static func decodeUnixMicroseconds(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat) throws -> Int64 {
        guard format == .binary, type == .timestamptz || type == .timestamp else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        guard buffer.readableBytes == 8, let postgresMicroseconds = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.failure
        }
        // `infinity` and `-infinity` are Int64.max and .min: they have no place in a run.
        let (unixMicroseconds, overflow) = postgresMicroseconds.addingReportingOverflow(epochOffset)
        guard !overflow, UTCInstant.supportedMicroseconds.contains(unixMicroseconds) else { throw PostgresDecodingError.Code.failure }
        return unixMicroseconds
    }
}

/// A point in time as one of PostgreSQL's two timestamp types.
protocol PostgresTimestampKind: Sendable {
    /// `timestamptz` for an instant, `timestamp` for a wall-clock time.
    static var psqlType: PostgresDataType { get }
    init(microseconds: Int64)
    var microseconds: Int64 { get }
}

extension UTCInstant: PostgresTimestampKind {
    static var psqlType: PostgresDataType { .timestamptz }
    init(microseconds: Int64) { self.init(microsecondsSinceEpoch: microseconds) }
    var microseconds: Int64 { microsecondsSinceEpoch }
}

extension LocalDateTime: PostgresTimestampKind {
    static var psqlType: PostgresDataType { .timestamp }
    init(microseconds: Int64) { self.init(wallMicroseconds: microseconds) }
    var microseconds: Int64 { wallMicroseconds }
}

/// A `UTCInstant` or `LocalDateTime` as a PostgreSQL value.
///
/// A wrapper rather than a conformance of the core types themselves: a conformance of a public
/// type to a public protocol is public, and would put PostgresNIO into this module's public interface.
struct PostgresTimestampValue<Value: PostgresTimestampKind>: PostgresNonThrowingEncodable, PostgresDecodable {
    static var psqlType: PostgresDataType { Value.psqlType }
    static var psqlFormat: PostgresFormat { .binary }

    var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        PostgresTimestamp.encode(unixMicroseconds: value.microseconds, into: &byteBuffer)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from byteBuffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        value = Value(microseconds: try PostgresTimestamp.decodeUnixMicroseconds(from: &byteBuffer, type: type, format: format))
    }
}

// MARK: - Statements and rows

extension SQLStatement {
    /// The statement with every value bound as a parameter. The SQL text comes from
    /// ``SQLStatements`` and ``SQLSummaryTable``, whose only spliced parts are validated, quoted identifiers.
    var postgresQuery: PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .text(let value): bindings.append(value)
            case .integer(let value): bindings.append(value)
            case .double(let value): bindings.append(value)
            case .instant(let value): bindings.append(PostgresTimestampValue(value))
            case .local(let value): bindings.append(PostgresTimestampValue(value))
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}

/// Reads the cells of a row one at a time in column order. Cell by cell rather than as a tuple:
/// decoding a tuple looks up the tuple's generic metadata for every row, which dominated an
/// `all_data` answer of 60,000 runs.
struct PostgresRowReader: SQLRowReader {
    private var iterator: PostgresRow.Iterator

    init(_ row: PostgresRow) {
        iterator = row.makeIterator()
    }

    private mutating func next<Value: PostgresDecodable>(_ type: Value.Type) throws -> Value {
        guard let cell = iterator.next() else { throw StorageError.corrupt("a stored row has too few columns") }
        return try cell.decode(Value.self)
    }

    /// The driver's decoding errors say what went wrong; the backend logs them and answers without them.
    mutating func identify(as subject: String) {}

    mutating func text(column name: String) throws -> String { try next(String.self) }
    mutating func optionalText(column name: String) throws -> String? { try next(String?.self) }
    mutating func integer(column name: String) throws -> Int64 { try next(Int64.self) }
    mutating func optionalInteger(column name: String) throws -> Int64? { try next(Int64?.self) }
    mutating func instant(column name: String) throws -> UTCInstant { try next(PostgresTimestampValue<UTCInstant>.self).value }
    mutating func localDateTime(column name: String) throws -> LocalDateTime { try next(PostgresTimestampValue<LocalDateTime>.self).value }

    mutating func double(column name: String) throws -> Double {
        guard let cell = iterator.next() else { throw StorageError.corrupt("a stored row has too few columns") }
        if cell.dataType == .float8 || cell.dataType == .float4 { return try cell.decode(Double.self) }
        // An exact sum, written as text (`NUMERIC` cast), that may lie beyond the double range.
        guard let value = Double(try cell.decode(String.self)) else { throw StorageError.corrupt("\(name) is not a number") }
        return value
    }
}

extension PostgresRow {
    /// The row read by `read`, through a fresh reader.
    func read<Value>(_ read: (inout PostgresRowReader) throws -> Value) throws -> Value {
        var reader = PostgresRowReader(self)
        return try read(&reader)
    }
}
