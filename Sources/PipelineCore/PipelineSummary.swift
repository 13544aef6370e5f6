/// The grouping key of summaries: (`pipeline_name`, `script_name`, `pipeline_type`, `environment`),
/// where a missing value is a value of its own. Two signatures are one when their fields are the
/// same bytes (``ExactText``), as SQL groups them.
public struct PipelineSignature: Sendable, Hashable, Comparable {
    public var pipelineName: String?
    public var scriptName: String?
    public var pipelineType: String?
    public var environment: String?

    public init(pipelineName: String?, scriptName: String?, pipelineType: String?, environment: String?) {
        (self.pipelineName, self.scriptName, self.pipelineType, self.environment) = (pipelineName, scriptName, pipelineType, environment)
    }

    public static func == (lhs: PipelineSignature, rhs: PipelineSignature) -> Bool {
        ExactText.equal(lhs.pipelineName, rhs.pipelineName) && ExactText.equal(lhs.scriptName, rhs.scriptName)
            && ExactText.equal(lhs.pipelineType, rhs.pipelineType) && ExactText.equal(lhs.environment, rhs.environment)
    }

    public func hash(into hasher: inout Hasher) {
        for field in PipelineField.signatureFields { ExactText.hash(self[field], into: &hasher) }
    }

    /// Orders signatures field by field, a missing value before any string, strings by their bytes.
    public static func < (lhs: PipelineSignature, rhs: PipelineSignature) -> Bool {
        for field in PipelineField.signatureFields where !ExactText.equal(lhs[field], rhs[field]) {
            guard let left = lhs[field] else { return true }
            guard let right = rhs[field] else { return false }
            return ExactText.precedes(left, right)
        }
        return false
    }
}

/// Running totals for one signature, from which its summary is derived.
///
/// Backends keep these incrementally or compute them with one grouped query; either way the
/// summary numbers come from `summary`, so every backend reports the same values.
///
/// No total can trap, whatever the stored runs hold: the rowcount sum is 128 bits wide (a
/// trillion-row run a million times over still fits exactly, and so do legacy rowcounts near
/// `Int64.max`), counts saturate at `Int64.max`, and a duration sum that overflows to infinity
/// gives a `null` average.
public struct SignatureAggregate: Sendable, Hashable {
    public var signature: PipelineSignature
    public var totalRuns: Int64
    public var lastRun: UTCInstant
    /// Sum and count of `elapsed_seconds` over runs where it is > 0.
    public var positiveDurationSum: Double
    public var positiveDurationCount: Int64
    /// Sum and count of `rowcount` over runs where it is > 0.
    public var positiveRowcountSum: Int128
    public var positiveRowcountCount: Int64
    /// Runs that failed (``PipelineInfo/isFailed``).
    public var failedRuns: Int64

    public init(
        signature: PipelineSignature,
        totalRuns: Int64,
        lastRun: UTCInstant,
        positiveDurationSum: Double,
        positiveDurationCount: Int64,
        positiveRowcountSum: Int128,
        positiveRowcountCount: Int64,
        failedRuns: Int64
    ) {
        (self.signature, self.totalRuns, self.lastRun, self.positiveDurationSum) = (signature, totalRuns, lastRun, positiveDurationSum)
        (self.positiveDurationCount, self.positiveRowcountSum) = (positiveDurationCount, positiveRowcountSum)
        (self.positiveRowcountCount, self.failedRuns) = (positiveRowcountCount, failedRuns)
    }

    /// Totals of a signature with no runs yet.
    public init(empty signature: PipelineSignature) {
        self.init(
            signature: signature,
            totalRuns: 0,
            lastRun: UTCInstant(microsecondsSinceEpoch: .min),
            positiveDurationSum: 0,
            positiveDurationCount: 0,
            positiveRowcountSum: 0,
            positiveRowcountCount: 0,
            failedRuns: 0
        )
    }

    /// Adds one more run of this signature.
    public mutating func add(_ run: PipelineInfo) {
        add(startUTC: run.startUTC, elapsedSeconds: run.elapsedSeconds, rowcount: run.rowcount, isFailed: run.isFailed)
    }

    /// Adds one more run of this signature, read back as a sample: the same totals from the same fields.
    public mutating func add(_ sample: RunSample) {
        add(startUTC: sample.startUTC, elapsedSeconds: sample.elapsedSeconds, rowcount: sample.rowcount, isFailed: sample.isFailed)
    }

    private mutating func add(startUTC: UTCInstant, elapsedSeconds: Double, rowcount: Int64, isFailed: Bool) {
        totalRuns = Saturating.add(totalRuns, 1)
        lastRun = max(lastRun, startUTC)
        if elapsedSeconds > 0 {
            positiveDurationSum += elapsedSeconds
            positiveDurationCount = Saturating.add(positiveDurationCount, 1)
        }
        if rowcount > 0 {
            let (sum, overflow) = positiveRowcountSum.addingReportingOverflow(Int128(rowcount))
            positiveRowcountSum = overflow ? .max : sum
            positiveRowcountCount = Saturating.add(positiveRowcountCount, 1)
        }
        if isFailed { failedRuns = Saturating.add(failedRuns, 1) }
    }

    /// A 128-bit sum as a double: the general conversion is slow, and a sum almost always fits in 64 bits.
    private static func double(_ sum: Int128) -> Double {
        if let narrow = Int64(exactly: sum) { return Double(narrow) }
        return Double(sum)
    }

    /// The public summary these totals describe.
    public var summary: PipelineSummary {
        PipelineSummary(
            signature: signature,
            totalRuns: totalRuns,
            lastRun: lastRun,
            avgDuration: positiveDurationCount > 0 ? positiveDurationSum / Double(positiveDurationCount) : nil,
            avgRowcount: positiveRowcountCount > 0 ? Self.double(positiveRowcountSum) / Double(positiveRowcountCount) : nil,
            failedRuns: failedRuns
        )
    }
}

/// How one pipeline signature is doing overall.
public struct PipelineSummary: Sendable, Hashable {
    public var signature: PipelineSignature
    public var totalRuns: Int64
    /// The latest `start_utc` of the signature's runs.
    public var lastRun: UTCInstant
    /// Mean `elapsed_seconds` over runs where it is > 0; nil when there are none.
    public var avgDuration: Double?
    /// Mean `rowcount` over runs where it is > 0; nil when there are none.
    public var avgRowcount: Double?
    /// Runs that failed (``PipelineInfo/isFailed``), over all history.
    public var failedRuns: Int64
    /// Trends and health from the signature's recent runs; nil where only the totals were asked for.
    public var insight: PipelineInsight?

    public init(
        signature: PipelineSignature,
        totalRuns: Int64,
        lastRun: UTCInstant,
        avgDuration: Double?,
        avgRowcount: Double?,
        failedRuns: Int64 = 0,
        insight: PipelineInsight? = nil
    ) {
        (self.signature, self.totalRuns, self.lastRun, self.avgDuration) = (signature, totalRuns, lastRun, avgDuration)
        (self.avgRowcount, self.failedRuns, self.insight) = (avgRowcount, failedRuns, insight)
    }

    /// Summaries in API order: `last_run` descending, then by signature so the order is total.
    public static func ordered(_ aggregates: some Sequence<SignatureAggregate>) -> [PipelineSummary] {
        aggregates.map(\.summary).sorted { lhs, rhs in
            lhs.lastRun != rhs.lastRun ? lhs.lastRun > rhs.lastRun : lhs.signature < rhs.signature
        }
    }

    /// Summaries of runs held in memory, computed from scratch (the oracle for every backend).
    public static func summarize(_ runs: some Sequence<PipelineInfo>) -> [PipelineSummary] {
        var aggregates: [PipelineSignature: SignatureAggregate] = [:]
        // A run still running counts nowhere until it ends.
        for run in runs where !run.isRunning {
            aggregates[run.signature, default: SignatureAggregate(empty: run.signature)].add(run)
        }
        return ordered(aggregates.values)
    }

    /// The summary as one JSON object: the signature, the totals, then the insight's members when present.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        for field in PipelineField.signatureFields {
            writer.key(field.rawValue)
            writer.optionalString(signature[field])
        }
        writer.key("total_runs")
        writer.integer(totalRuns)
        writer.key("last_run")
        writer.instant(lastRun)
        writer.key("avg_duration")
        writer.optionalDouble(avgDuration)
        writer.key("avg_rowcount")
        writer.optionalDouble(avgRowcount)
        writer.key("failed_runs")
        writer.integer(failedRuns)
        insight?.writeMembers(to: &writer)
        writer.endObject()
    }
}
