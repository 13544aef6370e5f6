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

/// A `UTCInstant` as a `timestamptz` value.
///
/// A wrapper rather than a conformance of `UTCInstant` itself: a conformance of a public type to
/// a public protocol is public, and would put PostgresNIO into this module's public interface.
struct PostgresInstant: PostgresNonThrowingEncodable, PostgresDecodable {
    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    var instant: UTCInstant

    init(_ instant: UTCInstant) {
        self.instant = instant
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        PostgresTimestamp.encode(unixMicroseconds: instant.microsecondsSinceEpoch, into: &byteBuffer)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from byteBuffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        instant = UTCInstant(microsecondsSinceEpoch: try PostgresTimestamp.decodeUnixMicroseconds(from: &byteBuffer, type: type, format: format))
    }
}

/// A `LocalDateTime` as a `timestamp` (without time zone) value.
struct PostgresLocalDateTime: PostgresNonThrowingEncodable, PostgresDecodable {
    static var psqlType: PostgresDataType { .timestamp }
    static var psqlFormat: PostgresFormat { .binary }

    var local: LocalDateTime

    init(_ local: LocalDateTime) {
        self.local = local
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        PostgresTimestamp.encode(unixMicroseconds: local.wallMicroseconds, into: &byteBuffer)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from byteBuffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        local = LocalDateTime(wallMicroseconds: try PostgresTimestamp.decodeUnixMicroseconds(from: &byteBuffer, type: type, format: format))
    }
}

// MARK: - Statements and rows

extension SQLStatement {
    /// The statement with every value bound as a parameter. The SQL text comes from
    /// `SQLStatements`, whose only spliced parts are validated, quoted identifiers.
    var postgresQuery: PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: PostgresBindings(binds))
    }
}

extension PostgresBindings {
    init(_ binds: [SQLBind]) {
        self.init(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .text(let value): append(value)
            case .optionalText(let value): append(value)
            case .integer(let value): append(value)
            case .optionalInteger(let value): append(value)
            case .double(let value): append(value)
            case .instant(let value): append(PostgresInstant(value))
            case .local(let value): append(PostgresLocalDateTime(value))
            }
        }
    }
}

extension StoredRun {
    /// A run from a row of `SQLStatements.selectList`: the id, then every field in `PipelineField.allCases` order.
    /// Decoded cell by cell, like ``HistorySample/init(row:)``: a 19-element tuple's generic metadata
    /// would be looked up for every row of an `all_data` answer.
    init(row: PostgresRow) throws {
        var cells = Cells(row: row)
        let id = try cells.next(Int64.self)
        let info = PipelineInfo(
            startLocal: try cells.next(PostgresLocalDateTime.self).local,
            endLocal: try cells.next(PostgresLocalDateTime.self).local,
            startUTC: try cells.next(PostgresInstant.self).instant,
            endUTC: try cells.next(PostgresInstant.self).instant,
            elapsedSeconds: try cells.next(Double.self),
            elapsedHuman: try cells.next(String.self),
            outputFile: try cells.next(String.self),
            rowcount: try cells.next(Int64.self),
            logFile: try cells.next(String.self),
            pid: try cells.next(Int64.self),
            dateCode: try cells.next(String.self),
            pipelineName: try cells.next(String?.self),
            scriptName: try cells.next(String?.self),
            pipelineType: try cells.next(String?.self),
            environment: try cells.next(String?.self),
            archivedFile: try cells.next(String?.self),
            status: try cells.next(String?.self),
            exitCode: try cells.next(Int64?.self)
        )
        try cells.end()
        self.init(sequence: id, info: info)
    }
}

/// The cells of a row, decoded one at a time in column order.
struct Cells {
    private var iterator: PostgresRow.Iterator

    init(row: PostgresRow) {
        iterator = row.makeIterator()
    }

    mutating func next<Value: PostgresDecodable>(_ type: Value.Type) throws -> Value {
        guard let cell = iterator.next() else { throw StorageError.corrupt("a stored row has too few columns") }
        return try cell.decode(Value.self)
    }

    /// Throws when the row has columns left over (the statement and the decoder disagree).
    mutating func end() throws {
        guard iterator.next() == nil else { throw StorageError.corrupt("a stored row has too many columns") }
    }
}

extension RunSample {
    /// A sample from a row of `SQLStatements.sampleSelectList`.
    init(row: PostgresRow) throws {
        let (startUTC, elapsedSeconds, rowcount, status, exitCode, dateCode) =
            try row.decode((PostgresInstant, Double, Int64, String?, Int64?, String).self)
        self.init(
            startUTC: startUTC.instant,
            elapsedSeconds: elapsedSeconds,
            rowcount: rowcount,
            status: status,
            exitCode: exitCode,
            dateCode: dateCode
        )
    }
}

extension HistorySample {
    /// A sample from a row of `SQLStatements.historySamples(matching:)`: start_utc, elapsed_seconds,
    /// rowcount, failed (1 or 0). Read cell by cell: decoding the row as a tuple looks up the tuple's
    /// generic metadata for every row, which dominated a history of 60,000 runs.
    init(row: PostgresRow) throws {
        var cells = Cells(row: row)
        self.init(
            startUTC: try cells.next(PostgresInstant.self).instant,
            elapsedSeconds: try cells.next(Double.self),
            rowcount: try cells.next(Int64.self),
            isFailed: try cells.next(Int32.self) != 0
        )
        try cells.end()
    }
}

extension SignatureAggregate {
    /// Totals from a row of the four signature fields, total runs, last start, positive-duration
    /// sum and count, positive-rowcount sum and count, failed runs (the shape of `SQLStatements.aggregatesByGroupedScan()`
    /// and of the summary table).
    init(row: PostgresRow) throws {
        let (
            pipelineName, scriptName, pipelineType, environment, totalRuns, lastRun, durationSum, durationCount, rowcountSum, rowcountCount,
            failedRuns
        ) =
            try row.decode((String?, String?, String?, String?, Int64, PostgresInstant, Double, Int64, Int64, Int64, Int64).self)
        self.init(
            signature: PipelineSignature(pipelineName: pipelineName, scriptName: scriptName, pipelineType: pipelineType, environment: environment),
            totalRuns: totalRuns,
            lastRun: lastRun.instant,
            positiveDurationSum: durationSum,
            positiveDurationCount: durationCount,
            positiveRowcountSum: rowcountSum,
            positiveRowcountCount: rowcountCount,
            failedRuns: failedRuns
        )
    }
}
