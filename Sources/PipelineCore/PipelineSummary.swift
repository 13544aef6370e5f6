/// The grouping key of summaries: (`pipeline_name`, `script_name`, `pipeline_type`, `environment`),
/// where a missing value is a value of its own.
public struct PipelineSignature: Sendable, Hashable, Comparable {
    public var pipelineName: String?
    public var scriptName: String?
    public var pipelineType: String?
    public var environment: String?

    public init(pipelineName: String?, scriptName: String?, pipelineType: String?, environment: String?) {
        self.pipelineName = pipelineName
        self.scriptName = scriptName
        self.pipelineType = pipelineType
        self.environment = environment
    }

    /// Orders signatures field by field, a missing value before any string.
    public static func < (lhs: PipelineSignature, rhs: PipelineSignature) -> Bool {
        for (left, right) in [
            (lhs.pipelineName, rhs.pipelineName), (lhs.scriptName, rhs.scriptName),
            (lhs.pipelineType, rhs.pipelineType), (lhs.environment, rhs.environment),
        ] where left != right {
            guard let left else { return true }
            guard let right else { return false }
            return left < right
        }
        return false
    }
}

/// Running totals for one signature, from which its summary is derived (SPEC §2.2).
///
/// Backends keep these incrementally or compute them with one grouped query; either way the
/// summary numbers come from `summary`, so every backend reports the same values.
public struct SignatureAggregate: Sendable, Hashable {
    public var signature: PipelineSignature
    public var totalRuns: Int64
    public var lastRun: UTCInstant
    /// Sum and count of `elapsed_seconds` over runs where it is > 0.
    public var positiveDurationSum: Double
    public var positiveDurationCount: Int64
    /// Sum and count of `rowcount` over runs where it is > 0.
    public var positiveRowcountSum: Int64
    public var positiveRowcountCount: Int64
    /// Runs that failed (``PipelineInfo/isFailed``).
    public var failedRuns: Int64

    public init(
        signature: PipelineSignature,
        totalRuns: Int64,
        lastRun: UTCInstant,
        positiveDurationSum: Double,
        positiveDurationCount: Int64,
        positiveRowcountSum: Int64,
        positiveRowcountCount: Int64,
        failedRuns: Int64
    ) {
        self.signature = signature
        self.totalRuns = totalRuns
        self.lastRun = lastRun
        self.positiveDurationSum = positiveDurationSum
        self.positiveDurationCount = positiveDurationCount
        self.positiveRowcountSum = positiveRowcountSum
        self.positiveRowcountCount = positiveRowcountCount
        self.failedRuns = failedRuns
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
        totalRuns += 1
        lastRun = max(lastRun, startUTC)
        if elapsedSeconds > 0 {
            positiveDurationSum += elapsedSeconds
            positiveDurationCount += 1
        }
        if rowcount > 0 {
            positiveRowcountSum += rowcount
            positiveRowcountCount += 1
        }
        if isFailed { failedRuns += 1 }
    }

    /// The public summary these totals describe.
    public var summary: PipelineSummary {
        PipelineSummary(
            signature: signature,
            totalRuns: totalRuns,
            lastRun: lastRun,
            avgDuration: positiveDurationCount > 0 ? positiveDurationSum / Double(positiveDurationCount) : nil,
            avgRowcount: positiveRowcountCount > 0 ? Double(positiveRowcountSum) / Double(positiveRowcountCount) : nil,
            failedRuns: failedRuns
        )
    }
}

/// How one pipeline signature is doing overall (SPEC §2.2).
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
        self.signature = signature
        self.totalRuns = totalRuns
        self.lastRun = lastRun
        self.avgDuration = avgDuration
        self.avgRowcount = avgRowcount
        self.failedRuns = failedRuns
        self.insight = insight
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
        for run in runs {
            aggregates[run.signature, default: SignatureAggregate(empty: run.signature)].add(run)
        }
        return ordered(aggregates.values)
    }

    public func write(to writer: inout JSONWriter) {
        writer.raw("{\"pipeline_name\":")
        writer.optionalString(signature.pipelineName)
        writer.raw(",\"script_name\":")
        writer.optionalString(signature.scriptName)
        writer.raw(",\"pipeline_type\":")
        writer.optionalString(signature.pipelineType)
        writer.raw(",\"environment\":")
        writer.optionalString(signature.environment)
        writer.raw(",\"total_runs\":")
        writer.integer(totalRuns)
        writer.raw(",\"last_run\":")
        writer.instant(lastRun)
        writer.raw(",\"avg_duration\":")
        writer.optionalDouble(avgDuration)
        writer.raw(",\"avg_rowcount\":")
        writer.optionalDouble(avgRowcount)
        writer.raw(",\"failed_runs\":")
        writer.integer(failedRuns)
        insight?.writeMembers(to: &writer)
        writer.raw("}")
    }
}
