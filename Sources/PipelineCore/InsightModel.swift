/// The few fields of one run that trends, health and history are computed from.
public struct RunSample: Sendable, Hashable {
    public var startUTC: UTCInstant
    public var elapsedSeconds: Double
    public var rowcount: Int64
    public var status: String?
    public var exitCode: Int64?
    public var dateCode: String

    public init(startUTC: UTCInstant, elapsedSeconds: Double, rowcount: Int64, status: String?, exitCode: Int64?, dateCode: String) {
        (self.startUTC, self.elapsedSeconds, self.rowcount, self.status) = (startUTC, elapsedSeconds, rowcount, status)
        (self.exitCode, self.dateCode) = (exitCode, dateCode)
    }

    public init(_ run: PipelineInfo) {
        self.init(
            startUTC: run.startUTC,
            elapsedSeconds: run.elapsedSeconds,
            rowcount: run.rowcount,
            status: run.status,
            exitCode: run.exitCode,
            dateCode: run.dateCode
        )
    }

    /// See ``RunStatus/isFailed(status:exitCode:)``.
    public var isFailed: Bool { RunStatus.isFailed(status: status, exitCode: exitCode) }
}

/// What a history bucket needs of a run. It holds no strings, so history over tens of thousands
/// of runs copies plain values instead of touching (retaining) a string object per run.
public struct HistorySample: Sendable, Hashable {
    public var startUTC: UTCInstant
    public var elapsedSeconds: Double
    public var rowcount: Int64
    public var isFailed: Bool

    public init(startUTC: UTCInstant, elapsedSeconds: Double, rowcount: Int64, isFailed: Bool) {
        (self.startUTC, self.elapsedSeconds, self.rowcount, self.isFailed) = (startUTC, elapsedSeconds, rowcount, isFailed)
    }

    public init(_ sample: RunSample) {
        self.init(startUTC: sample.startUTC, elapsedSeconds: sample.elapsedSeconds, rowcount: sample.rowcount, isFailed: sample.isFailed)
    }

    public init(_ run: PipelineInfo) {
        self.init(startUTC: run.startUTC, elapsedSeconds: run.elapsedSeconds, rowcount: run.rowcount, isFailed: run.isFailed)
    }
}

/// The knobs of the insight definitions. Every backend uses the same values, so every backend
/// reports the same numbers.
public struct InsightSettings: Sendable, Hashable {
    /// How many of a signature's most recent runs the duration statistics and the typical
    /// interval are computed over.
    public var window: Int
    /// The `k` of the anomaly band: median ± k · MAD (MAD scaled by 1.4826 to estimate σ).
    public var anomalyK: Double
    /// How many runs before the latest one form the anomaly baseline.
    public var anomalyBaseline: Int
    /// The fewest runs a signature needs before it can be judged overdue or anomalous.
    public var minimumRuns: Int
    /// A signature is overdue when its last run is older than this many typical intervals.
    public var overdueFactor: Double
    /// A run still running is stuck once it has run this many times the p95 duration of the
    /// signature's finished runs (and at least ``minimumStuckSeconds``).
    public var stuckFactor: Double
    /// The shortest time a run must have run to be stuck, whatever its pipeline's usual length.
    public var minimumStuckSeconds: Double
    /// A signature too young to be judged overdue is `inactive` once its last run is this old.
    public var inactiveAfterSeconds: Double

    public init(
        window: Int = 1000,
        anomalyK: Double = 3.5,
        anomalyBaseline: Int = 30,
        minimumRuns: Int = 5,
        overdueFactor: Double = 2,
        stuckFactor: Double = 3,
        minimumStuckSeconds: Double = 60,
        inactiveAfterSeconds: Double = 30 * 86_400
    ) {
        (self.window, self.anomalyK, self.anomalyBaseline, self.minimumRuns) = (window, anomalyK, anomalyBaseline, minimumRuns)
        (self.overdueFactor, self.stuckFactor, self.minimumStuckSeconds) = (overdueFactor, stuckFactor, minimumStuckSeconds)
        self.inactiveAfterSeconds = inactiveAfterSeconds
    }

    public static let standard = InsightSettings()
}

/// Order statistics of `elapsed_seconds` over a signature's recent runs.
public struct DurationStatistics: Sendable, Hashable {
    public var min: Double
    public var p50: Double
    public var p95: Double
    public var max: Double

    public init(min: Double, p50: Double, p95: Double, max: Double) {
        (self.min, self.p50, self.p95, self.max) = (min, p50, p95, max)
    }
}

/// The measure an anomaly is about.
public enum AnomalyMetric: String, Sendable, Hashable, CaseIterable {
    case rowcount
    case duration
}

/// One measure of the latest run against the band its baseline predicts.
public struct AnomalyFinding: Sendable, Hashable {
    public var metric: AnomalyMetric
    public var observed: Double
    public var median: Double
    /// The median absolute deviation of the baseline, scaled by 1.4826.
    public var mad: Double
    public var expectedLow: Double
    public var expectedHigh: Double

    public init(metric: AnomalyMetric, observed: Double, median: Double, mad: Double, expectedLow: Double, expectedHigh: Double) {
        (self.metric, self.observed, self.median, self.mad) = (metric, observed, median, mad)
        (self.expectedLow, self.expectedHigh) = (expectedLow, expectedHigh)
    }

    public var isOutside: Bool { observed < expectedLow || observed > expectedHigh }
}

/// The latest run of a signature, when one of its measures falls outside its expected band.
public struct RunAnomaly: Sendable, Hashable {
    public var startUTC: UTCInstant
    public var dateCode: String
    /// Only the measures outside their band, rowcount first.
    public var findings: [AnomalyFinding]

    public init(startUTC: UTCInstant, dateCode: String, findings: [AnomalyFinding]) {
        (self.startUTC, self.dateCode, self.findings) = (startUTC, dateCode, findings)
    }
}

/// The one-word state of a signature, most urgent first.
public enum PipelineHealth: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The latest run failed.
    case failed
    /// A run still running has run far longer than the pipeline's runs usually take.
    case stuck
    /// No run for longer than the overdue factor times the typical interval.
    case overdue
    /// The latest run's rowcount or duration is outside its expected band.
    case anomaly
    /// Too few runs to judge overdue, and none for ``InsightSettings/inactiveAfterSeconds``.
    case inactive
    case ok

    /// Worst first: the order cases are declared in.
    private var rank: Int {
        switch self {
        case .failed: 0
        case .stuck: 1
        case .overdue: 2
        case .anomaly: 3
        case .inactive: 4
        case .ok: 5
        }
    }

    public static func < (lhs: PipelineHealth, rhs: PipelineHealth) -> Bool {
        lhs.rank < rhs.rank
    }
}

/// How many runs of a signature started recently.
public struct RecentRunCounts: Sendable, Hashable {
    public var last24Hours: Int
    public var last7Days: Int

    public init(last24Hours: Int, last7Days: Int) {
        (self.last24Hours, self.last7Days) = (last24Hours, last7Days)
    }
}

/// Trends and health of one signature, derived from its recent runs (the added fields of a
/// `/pipelines` entry).
/// The runs of one signature still running: how many, and the start of the oldest, all that
/// health needs of them (their number and whether the oldest is stuck).
public struct RunningRuns: Sendable, Hashable {
    /// Nil where the signature is known from context.
    public var signature: PipelineSignature?
    public var count: Int
    public var oldestStart: UTCInstant

    public init(signature: PipelineSignature?, count: Int, oldestStart: UTCInstant) {
        (self.signature, self.count, self.oldestStart) = (signature, count, oldestStart)
    }
}

public struct PipelineInsight: Sendable, Hashable {
    /// How many recent runs the statistics cover (at most `InsightSettings.window`).
    public var windowRuns: Int
    public var duration: DurationStatistics?
    public var lastStartUTC: UTCInstant?
    public var lastDuration: Double?
    public var lastRowcount: Int64?
    public var lastStatus: String?
    public var recentRuns: RecentRunCounts
    /// The median gap between consecutive run starts in the window, in seconds.
    public var typicalIntervalSeconds: Double?
    public var overdue: Bool
    /// When the next run was due at the latest (last start + factor × typical interval).
    public var dueBy: UTCInstant?
    public var anomaly: RunAnomaly?
    public var health: PipelineHealth
    /// How many runs of the signature are still running (``includeRunning(startedAt:now:settings:)``).
    public var runningRuns = 0
    /// The start of the oldest run still running.
    public var oldestRunningStart: UTCInstant?
    /// When that run counts as stuck (its start + the stuck allowance); nil without enough history.
    public var stuckAfter: UTCInstant?

    public init(
        windowRuns: Int,
        duration: DurationStatistics?,
        lastStartUTC: UTCInstant?,
        lastDuration: Double?,
        lastRowcount: Int64?,
        lastStatus: String?,
        recentRuns: RecentRunCounts,
        typicalIntervalSeconds: Double?,
        overdue: Bool,
        dueBy: UTCInstant?,
        anomaly: RunAnomaly?,
        health: PipelineHealth
    ) {
        (self.windowRuns, self.duration, self.lastStartUTC, self.lastDuration) = (windowRuns, duration, lastStartUTC, lastDuration)
        (self.lastRowcount, self.lastStatus, self.recentRuns) = (lastRowcount, lastStatus, recentRuns)
        (self.typicalIntervalSeconds, self.overdue, self.dueBy, self.anomaly) = (typicalIntervalSeconds, overdue, dueBy, anomaly)
        self.health = health
    }
}

// MARK: - History

/// The width of a history bucket.
public enum HistoryBucketSize: String, Sendable, Hashable, CaseIterable {
    case hour
    case day
    /// ISO weeks, starting Monday 00:00 local time.
    case week
}

/// A rule giving the UTC offset in effect at an instant (a fixed offset, or a zone with DST).
public protocol UTCOffsetRule: Sendable {
    /// Seconds east of UTC at `instant`.
    func offsetSeconds(at instant: UTCInstant) -> Int
    /// The rule's name as the request gave it (`UTC`, `+02:00`, `Europe/Paris`).
    var name: String { get }
}

/// A constant offset from UTC.
public struct FixedUTCOffset: UTCOffsetRule, Hashable {
    public var seconds: Int
    public var name: String

    public init(seconds: Int, name: String) {
        (self.seconds, self.name) = (seconds, name)
    }

    public static let utc = FixedUTCOffset(seconds: 0, name: "UTC")

    public func offsetSeconds(at instant: UTCInstant) -> Int { seconds }
}

/// One time bucket of a pipeline's history.
public struct HistoryBucket: Sendable, Hashable {
    /// The bucket's first instant.
    public var start: UTCInstant
    /// The bucket's start as local wall-clock time in the requested zone.
    public var localStart: LocalDateTime
    /// The zone's offset at `start`, in seconds east of UTC.
    public var offsetSeconds: Int
    public var runs: Int
    public var failedRuns: Int
    public var avgDuration: Double?
    public var p95Duration: Double?
    public var totalRowcount: Int64
    public var avgRowcount: Double?

    public init(
        start: UTCInstant,
        localStart: LocalDateTime,
        offsetSeconds: Int,
        runs: Int,
        failedRuns: Int,
        avgDuration: Double?,
        p95Duration: Double?,
        totalRowcount: Int64,
        avgRowcount: Double?
    ) {
        (self.start, self.localStart, self.offsetSeconds, self.runs) = (start, localStart, offsetSeconds, runs)
        (self.failedRuns, self.avgDuration, self.p95Duration, self.totalRowcount) = (failedRuns, avgDuration, p95Duration, totalRowcount)
        self.avgRowcount = avgRowcount
    }
}

extension AnomalyFinding {
    /// The expected band of `metric` for a run observed at `observed`, from the runs before it
    /// (`baseline`, any order): median ± k · max(1.4826 · MAD, 1% of |median|). Nil when the
    /// baseline has fewer than `settings.minimumRuns` runs. The band is returned whether or not the
    /// observation falls outside it (charts draw it for every run).
    public init?(metric: AnomalyMetric, observed: Double, baseline: [RunSample], settings: InsightSettings) {
        guard baseline.count >= settings.minimumRuns, !baseline.isEmpty else { return nil }
        let values = baseline.map { sample in
            switch metric {
            case .rowcount: Double(sample.rowcount)
            case .duration: sample.elapsedSeconds
            }
        }
        guard let center = Quantile.median(values.sorted()), let deviation = Quantile.median(values.map { abs($0 - center) }.sorted()) else {
            return nil
        }
        let mad = 1.4826 * deviation
        let spread = Swift.max(mad, 0.01 * abs(center))
        self.init(
            metric: metric,
            observed: observed,
            median: center,
            mad: mad,
            expectedLow: center - settings.anomalyK * spread,
            expectedHigh: center + settings.anomalyK * spread
        )
    }
}
