/// Order statistics of a sorted sample.
public enum Quantile {
    /// The `q`-quantile (0 ≤ q ≤ 1) of values sorted ascending, by linear interpolation between
    /// the closest ranks (numpy's default `linear` method, PostgreSQL's `percentile_cont`):
    /// h = (n − 1) · q, then x[⌊h⌋] + (h − ⌊h⌋) · (x[⌈h⌉] − x[⌊h⌋]).
    ///
    /// Nil for an empty sample or a `q` that is not a number; `q` outside 0…1 is clamped.
    public static func of(_ sortedAscending: [Double], _ q: Double) -> Double? {
        guard !sortedAscending.isEmpty, !q.isNaN else { return nil }
        let last = sortedAscending.count - 1
        let h = Double(last) * Swift.min(Swift.max(q, 0), 1)
        let lower = Swift.min(Int(h.rounded(.down)), last)
        let upper = Swift.min(lower + 1, last)
        let fraction = h - Double(lower)
        let low = sortedAscending[lower]
        let high = sortedAscending[upper]
        guard fraction > 0, low != high else { return low }
        let interpolated = low + fraction * (high - low)
        // `high - low` overflows to infinity for values near ±Double.greatestFiniteMagnitude.
        return interpolated.isFinite ? interpolated : low * (1 - fraction) + high * fraction
    }

    /// The median of values sorted ascending: the middle value, or the mean of the two middle
    /// values (numpy's `median`). Nil for an empty sample.
    public static func median(_ sortedAscending: [Double]) -> Double? {
        guard !sortedAscending.isEmpty else { return nil }
        let middle = sortedAscending.count / 2
        if sortedAscending.count % 2 == 1 { return sortedAscending[middle] }
        let mean = (sortedAscending[middle - 1] + sortedAscending[middle]) / 2
        return mean.isFinite ? mean : sortedAscending[middle - 1] / 2 + sortedAscending[middle] / 2
    }
}

extension PipelineInsight {
    /// The microseconds in 24 hours and in 7 days, the windows of ``RecentRunCounts``.
    static let dayMicroseconds = UTCInstant.microsecondsPerDay
    static let weekMicroseconds = 7 * UTCInstant.microsecondsPerDay

    /// Trends and health of a signature from its most recent runs.
    ///
    /// - Parameters:
    ///   - samples: the signature's most recent runs, newest first (ties already ordered by the
    ///     caller). Only the first `settings.window` are used.
    ///   - now: the instant recent counts and overdue are judged at.
    ///   - recentCounts: the runs started in the last 24 hours and 7 days when the caller counted
    ///     them over all history; when nil they are counted over the window (a run starting at
    ///     exactly now − 24 h counts, and so does one in the future).
    public init(
        recentNewestFirst samples: [RunSample],
        now: UTCInstant,
        settings: InsightSettings = .standard,
        recentCounts: RecentRunCounts? = nil
    ) {
        let window = samples.prefix(Swift.max(settings.window, 0))
        let newest = window.first

        let durations = window.map(\.elapsedSeconds).filter(\.isFinite).sorted()
        var duration: DurationStatistics?
        if let first = durations.first, let last = durations.last, let p50 = Quantile.of(durations, 0.5), let p95 = Quantile.of(durations, 0.95) {
            duration = DurationStatistics(min: first, p50: p50, p95: p95, max: last)
        }

        var lastStatus: String?
        if let newest {
            lastStatus = newest.status ?? newest.exitCode.map(RunStatus.forExitCode)
        }

        let recentRuns =
            recentCounts
            ?? {
                let nowMicros = now.microsecondsSinceEpoch
                let dayAgo = Saturating.subtract(nowMicros, Self.dayMicroseconds)
                let weekAgo = Saturating.subtract(nowMicros, Self.weekMicroseconds)
                return RecentRunCounts(
                    last24Hours: window.count { $0.startUTC.microsecondsSinceEpoch >= dayAgo },
                    last7Days: window.count { $0.startUTC.microsecondsSinceEpoch >= weekAgo }
                )
            }()

        let typicalInterval = Self.typicalIntervalSeconds(window.map(\.startUTC))
        var dueBy: UTCInstant?
        if let newest, let typicalInterval, typicalInterval > 0,
            let allowance = Saturating.clamped(settings.overdueFactor * typicalInterval * 1_000_000)
        {
            dueBy = UTCInstant(microsecondsSinceEpoch: Saturating.add(newest.startUTC.microsecondsSinceEpoch, allowance))
        }
        let overdue = window.count >= settings.minimumRuns && dueBy.map { now > $0 } == true

        var anomaly: RunAnomaly?
        if let newest {
            let baseline = Array(window.dropFirst().prefix(Swift.max(settings.anomalyBaseline, 0)))
            let observations: [(AnomalyMetric, Double)] = [(.rowcount, Double(newest.rowcount)), (.duration, newest.elapsedSeconds)]
            let findings = observations.compactMap { metric, observed in
                AnomalyFinding(metric: metric, observed: observed, baseline: baseline, settings: settings)
            }.filter(\.isOutside)
            if !findings.isEmpty {
                anomaly = RunAnomaly(startUTC: newest.startUTC, dateCode: newest.dateCode, findings: findings)
            }
        }

        // Without enough runs to know its rhythm, a signature is not overdue: it is inactive once its
        // last run is older than the fixed allowance, rather than shown as plainly ok.
        let inactive =
            window.count < settings.minimumRuns
            && newest.map { Double(Saturating.subtract(now.microsecondsSinceEpoch, $0.startUTC.microsecondsSinceEpoch)) / 1_000_000 }
                .map { $0 > settings.inactiveAfterSeconds } == true
        let health: PipelineHealth =
            if newest?.isFailed == true {
                .failed
            } else if overdue {
                .overdue
            } else if anomaly != nil {
                .anomaly
            } else if inactive {
                .inactive
            } else {
                .ok
            }

        self.init(
            windowRuns: window.count,
            duration: duration,
            lastStartUTC: newest?.startUTC,
            lastDuration: newest?.elapsedSeconds,
            lastRowcount: newest?.rowcount,
            lastStatus: lastStatus,
            recentRuns: recentRuns,
            typicalIntervalSeconds: typicalInterval,
            overdue: overdue,
            dueBy: dueBy,
            anomaly: anomaly,
            health: health
        )
    }

    /// Adds the runs of the signature still running, by their starts: their number, and `stuck`
    /// health when the oldest has run longer than ``InsightSettings/stuckFactor`` times the p95
    /// duration of the finished runs (at least ``InsightSettings/minimumStuckSeconds``), judged
    /// only with at least ``InsightSettings/minimumRuns`` finished runs. A failed last run stays
    /// the worse news. Kept apart from the rest of insight: running runs change without any
    /// finished run changing.
    public mutating func includeRunning(startedAt starts: [UTCInstant], now: UTCInstant, settings: InsightSettings = .standard) {
        includeRunning(starts.min().map { RunningRuns(signature: nil, count: starts.count, oldestStart: $0) }, now: now, settings: settings)
    }

    /// ``includeRunning(startedAt:now:settings:)`` from the runs' number and oldest start (nil: none running).
    public mutating func includeRunning(_ running: RunningRuns?, now: UTCInstant, settings: InsightSettings = .standard) {
        runningRuns = running?.count ?? 0
        oldestRunningStart = running?.oldestStart
        stuckAfter = nil
        guard let oldest = oldestRunningStart, windowRuns >= settings.minimumRuns, let p95 = duration?.p95 else { return }
        let seconds = Swift.max(settings.stuckFactor * p95, settings.minimumStuckSeconds)
        guard let allowance = Saturating.clamped(seconds * 1_000_000) else { return }
        let after = UTCInstant(microsecondsSinceEpoch: Saturating.add(oldest.microsecondsSinceEpoch, allowance))
        stuckAfter = after
        if now > after, health > .stuck { health = .stuck }
    }

    /// The median gap in seconds between consecutive starts (in ascending order); nil for fewer
    /// than two starts.
    static func typicalIntervalSeconds(_ starts: [UTCInstant]) -> Double? {
        let sorted = starts.map(\.microsecondsSinceEpoch).sorted()
        guard sorted.count >= 2 else { return nil }
        var gaps: [Double] = []
        gaps.reserveCapacity(sorted.count - 1)
        for index in 1..<sorted.count {
            let (gap, overflow) = sorted[index].subtractingReportingOverflow(sorted[index - 1])
            let micros = overflow ? Double(sorted[index]) - Double(sorted[index - 1]) : Double(gap)
            gaps.append(micros / 1_000_000)
        }
        return Quantile.median(gaps.sorted())
    }

    /// Writes the insight's members into an open JSON object: `health`, `last_status`,
    /// `last_duration`, `last_rowcount`, `min_duration`, `p50_duration`, `p95_duration`,
    /// `max_duration`, `runs_24h`, `runs_7d`, `typical_interval_seconds`, `overdue`, `due_by`,
    /// `window_runs`, `anomaly`, `running_runs`, `oldest_running_start`, `stuck_after`. Absent
    /// values (and non-finite numbers) are written as null.
    public func writeMembers(to writer: inout JSONWriter) {
        writer.key("health")
        writer.string(health.rawValue)
        writer.key("last_status")
        writer.optionalString(lastStatus)
        writer.key("last_duration")
        writer.optionalDouble(lastDuration)
        writer.key("last_rowcount")
        writer.optionalInteger(lastRowcount)
        writer.key("min_duration")
        writer.optionalDouble(duration?.min)
        writer.key("p50_duration")
        writer.optionalDouble(duration?.p50)
        writer.key("p95_duration")
        writer.optionalDouble(duration?.p95)
        writer.key("max_duration")
        writer.optionalDouble(duration?.max)
        writer.key("runs_24h")
        writer.integer(recentRuns.last24Hours)
        writer.key("runs_7d")
        writer.integer(recentRuns.last7Days)
        writer.key("typical_interval_seconds")
        writer.optionalDouble(typicalIntervalSeconds)
        writer.key("overdue")
        writer.bool(overdue)
        writer.key("due_by")
        writer.optionalInstant(dueBy)
        writer.key("window_runs")
        writer.integer(windowRuns)
        writer.key("anomaly")
        if let anomaly { anomaly.write(to: &writer) } else { writer.null() }
        writer.key("running_runs")
        writer.integer(runningRuns)
        writer.key("oldest_running_start")
        writer.optionalInstant(oldestRunningStart)
        writer.key("stuck_after")
        writer.optionalInstant(stuckAfter)
    }
}

extension RunAnomaly {
    /// `{"start_utc":…,"date_code":…,"findings":[…]}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("start_utc")
            writer.instant(startUTC)
            writer.key("date_code")
            writer.string(dateCode)
            writer.key("findings")
            writer.array(findings) { writer, finding in finding.write(to: &writer) }
        }
    }
}

extension AnomalyFinding {
    /// `{"metric":…,"observed":…,"median":…,"mad":…,"expected_low":…,"expected_high":…}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("metric")
            writer.string(metric.rawValue)
            writer.key("observed")
            writer.double(observed)
            writer.key("median")
            writer.double(median)
            writer.key("mad")
            writer.double(mad)
            writer.key("expected_low")
            writer.double(expectedLow)
            writer.key("expected_high")
            writer.double(expectedHigh)
        }
    }
}
