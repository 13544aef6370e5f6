import PipelineCore

/// Reads the columns of one result row in order, each in the type asked for: the one interface
/// both SQL backends decode through, so every row shape (a run, a sample, a summary) is read by
/// one function here, whatever the database.
///
/// A reader throws ``StorageError/corrupt(_:)`` (or the driver's own decoding error, which the
/// backend maps to it) for a value of the wrong kind, instead of trapping. `name` only says which
/// column a message is about.
protocol SQLRowReader: FieldDecoder where Failure == any Error {
    mutating func text(column name: String) throws -> String
    mutating func optionalText(column name: String) throws -> String?
    mutating func integer(column name: String) throws -> Int64
    mutating func optionalInteger(column name: String) throws -> Int64?
    /// A double; also accepts a decimal held as text (an exact sum that may exceed the double range).
    mutating func double(column name: String) throws -> Double
    mutating func instant(column name: String) throws -> UTCInstant
    mutating func localDateTime(column name: String) throws -> LocalDateTime
    /// Says which row this is, for the messages of later failures (`run 42`).
    mutating func identify(as subject: String)
}

extension SQLRowReader {
    mutating func localDateTime(_ field: PipelineField) throws -> LocalDateTime { try localDateTime(column: field.rawValue) }
    mutating func instant(_ field: PipelineField) throws -> UTCInstant { try instant(column: field.rawValue) }
    mutating func number(_ field: PipelineField) throws -> Double { try double(column: field.rawValue) }
    mutating func text(_ field: PipelineField) throws -> String { try text(column: field.rawValue) }
    mutating func optionalText(_ field: PipelineField) throws -> String? { try optionalText(column: field.rawValue) }
    mutating func integer(_ field: PipelineField) throws -> Int64 { try integer(column: field.rawValue) }
    mutating func optionalInteger(_ field: PipelineField) throws -> Int64? { try optionalInteger(column: field.rawValue) }
}

// MARK: - Row shapes

extension StoredRun {
    /// A run from a row of ``SQLStatements/selectList``: the id, then every field in ``PipelineField`` order.
    init(reading row: inout some SQLRowReader) throws {
        let sequence = try row.integer(column: SQLTableLayout.idKey)
        row.identify(as: "run \(sequence)")
        self.init(sequence: sequence, info: try PipelineInfo(decoding: &row))
    }
}

extension RunSample {
    /// A sample from a row of ``SQLStatements/sampleSelectList``.
    init(reading row: inout some SQLRowReader) throws {
        self.init(
            startUTC: try row.instant(.startUTC),
            elapsedSeconds: try row.number(.elapsedSeconds),
            rowcount: try row.integer(.rowcount),
            status: try row.optionalText(.status),
            exitCode: try row.optionalInteger(.exitCode),
            dateCode: try row.text(.dateCode)
        )
    }
}

extension HistorySample {
    /// A sample from a row of ``SQLStatements/historySamples(matching:)``: start_utc,
    /// elapsed_seconds, rowcount, failed (1 or 0).
    init(reading row: inout some SQLRowReader) throws {
        self.init(
            startUTC: try row.instant(.startUTC),
            elapsedSeconds: try row.number(.elapsedSeconds),
            rowcount: try row.integer(.rowcount),
            isFailed: try row.integer(column: "failed") != 0
        )
    }
}

extension RunningRuns {
    /// A row of ``SQLStatements/runningRuns()``.
    init(reading row: inout some SQLRowReader) throws {
        let signature = try PipelineSignature(reading: &row)
        let count = try row.integer(column: "count")
        self.init(signature: signature, count: Int(clamping: count), oldestStart: try row.instant(column: "oldest_start"))
    }
}

extension PipelineSignature {
    /// The signature in the next four columns.
    init(reading row: inout some SQLRowReader) throws {
        try self.init { (field: PipelineField) throws(any Error) -> String? in try row.optionalText(field) }
    }
}

/// How a row holds a 128-bit rowcount sum in two 64-bit columns: `high << shift + low`.
enum SplitSum: Int {
    /// The sums of each rowcount's high and low 32 bits (a grouped scan: neither sum can overflow).
    case thirtyTwo = 32
    /// The sum's bits above and below bit 63 (the summary table: a sum below 2^63 is all `low`).
    case sixtyThree = 63

    func combine(high: Int64, low: Int64) -> Int128 {
        (Int128(high) << rawValue) + Int128(low)
    }

    /// `sum` as (high, low) 63-bit halves, clamped to what two 64-bit columns can hold.
    static func halves(of sum: Int128) -> (high: Int64, low: Int64) {
        let clamped = max(0, sum)
        let high = clamped >> 63
        return (high: high > Int128(Int64.max) ? .max : Int64(high), low: Int64(clamped & Int128(Int64.max)))
    }
}

extension SignatureAggregate {
    /// Totals from a row of the four signature fields, total runs, last start, positive-duration
    /// sum and count, the positive-rowcount sum in two columns (`split`), positive-rowcount count,
    /// failed runs: the shape of the summary table's rows and of the grouped scan.
    init(reading row: inout some SQLRowReader, split: SplitSum) throws {
        let signature = try PipelineSignature(reading: &row)
        let totalRuns = try row.integer(column: "total_runs")
        let lastRun = try row.instant(column: "last_run")
        let durationSum = try row.double(column: "duration_sum")
        let durationCount = try row.integer(column: "duration_count")
        let rowcountHigh = try row.integer(column: "rowcount_sum_high")
        let rowcountLow = try row.integer(column: "rowcount_sum")
        self.init(
            signature: signature,
            totalRuns: totalRuns,
            lastRun: lastRun,
            positiveDurationSum: durationSum,
            positiveDurationCount: durationCount,
            positiveRowcountSum: split.combine(high: rowcountHigh, low: rowcountLow),
            positiveRowcountCount: try row.integer(column: "rowcount_count"),
            failedRuns: try row.integer(column: "failed_runs")
        )
    }
}
