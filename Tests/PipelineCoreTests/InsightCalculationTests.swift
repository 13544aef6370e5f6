import PipelineCore
import PipelineTestSupport
import Testing

/// 2025-09-01T00:00:00Z.
private let epochOfTests: Int64 = 1_756_684_800_000_000
private let hour: Int64 = 3_600_000_000
private let day: Int64 = 24 * hour

private func instant(_ micros: Int64) -> UTCInstant { UTCInstant(microsecondsSinceEpoch: micros) }

/// A sample at `micros`, through the one test builder.
private func run(at micros: Int64) -> RunSample { TestRun.sample(at: instant(micros)) }

/// `count` runs an hour apart, newest first, the newest at `last`; `configure` gets each run's
/// age (0 for the newest) to adjust it.
private func hourly(_ count: Int, last: Int64 = epochOfTests, configure: (Int, inout RunSample) -> Void = { _, _ in }) -> [RunSample] {
    (0..<count).map { age in
        var sample = TestRun.sample(at: instant(last - Int64(age) * hour), code: "run\(age)")
        configure(age, &sample)
        return sample
    }
}

private func isClose(_ actual: Double?, _ expected: Double, tolerance: Double = 1e-9) -> Bool {
    guard let actual else { return false }
    return abs(actual - expected) <= tolerance * max(1, abs(expected))
}

private func number(of value: JSONValue?) -> Double? {
    guard case .number(let text) = value else { return nil }
    return Double(text)
}

/// The rowcount-drop history: the newest run (age 0) has rowcount 12; the 30 runs before it have
/// rowcounts 980, 990, 1000, 1010, 1020 six times over (median 1000, MAD 10 · 1.4826); older runs
/// have rowcount 12 again and must not enter the baseline.
private func rowcountDropHistory(totalRuns: Int = 40, newestFailed: Bool = false) -> [RunSample] {
    hourly(totalRuns) { age, sample in
        switch age {
        case 0:
            sample.rowcount = 12
            sample.dateCode = "20250901_000000"
            if newestFailed { sample.status = "failed" }
        case 1...30: sample.rowcount = 1000 + Int64((age % 5) - 2) * 10
        default: sample.rowcount = 12
        }
    }
}

@Suite("Run insight: quantiles, trends, overdue, anomalies, health")
struct InsightCalculationTests {
    // MARK: - Quantiles

    @Test("Quantiles interpolate linearly between closest ranks, as numpy's default does")
    func quantiles() {
        #expect(Quantile.of([], 0.5) == nil)
        #expect(Quantile.median([]) == nil)

        #expect(Quantile.of([7], 0) == 7)
        #expect(Quantile.of([7], 0.95) == 7)
        #expect(Quantile.of([7], 1) == 7)
        #expect(Quantile.median([7]) == 7)

        #expect(Quantile.of([10, 20], 0.5) == 15)
        #expect(Quantile.of([10, 20], 0.25) == 12.5)
        #expect(isClose(Quantile.of([10, 20], 0.95), 19.5))
        #expect(Quantile.median([10, 20]) == 15)

        // Odd n: h = 4q.
        #expect(Quantile.of([1, 2, 3, 4, 5], 0.5) == 3)
        #expect(isClose(Quantile.of([1, 2, 3, 4, 5], 0.95), 4.8))
        #expect(isClose(Quantile.of([1, 2, 3, 4, 5], 0.1), 1.4))
        #expect(Quantile.median([1, 2, 3, 4, 5]) == 3)

        // Even n: h = 3q.
        #expect(Quantile.of([1, 2, 3, 4], 0.5) == 2.5)
        #expect(isClose(Quantile.of([1, 2, 3, 4], 0.95), 3.85))
        #expect(Quantile.median([1, 2, 3, 4]) == 2.5)

        // numpy.percentile(range(1, 11), 95) == 9.55
        #expect(isClose(Quantile.of((1...10).map(Double.init), 0.95), 9.55))
        #expect(Quantile.of([1, 1, 1, 9], 0.5) == 1)

        #expect(Quantile.of([1, 2], -1) == 1)
        #expect(Quantile.of([1, 2], 2) == 2)
        #expect(Quantile.of([1, 2], .nan) == nil)
        #expect(Quantile.of([-.greatestFiniteMagnitude, .greatestFiniteMagnitude], 0.5) == 0)
    }

    // MARK: - Trends and overdue

    @Test("A steady hourly pipeline: typical interval 3600 s, due two intervals after its last run")
    func steadyHourlyPipeline() throws {
        let samples = hourly(10) { age, sample in sample.elapsedSeconds = Double(109 - age) }
        let last = epochOfTests

        let early = PipelineInsight(recentNewestFirst: samples, now: instant(last + 3 * hour / 2))
        #expect(early.windowRuns == 10)
        #expect(early.typicalIntervalSeconds == 3600)
        #expect(early.dueBy == instant(last + 2 * hour))
        #expect(!early.overdue)
        #expect(early.health == .ok)
        #expect(early.anomaly == nil)
        #expect(early.lastStartUTC == instant(last))
        #expect(early.lastDuration == 109)
        #expect(early.lastRowcount == 1000)
        #expect(early.lastStatus == "success")
        #expect(early.recentRuns == RecentRunCounts(last24Hours: 10, last7Days: 10))
        let duration = try #require(early.duration)
        #expect(duration.min == 100)
        #expect(duration.max == 109)
        #expect(duration.p50 == 104.5)
        #expect(isClose(duration.p95, 108.55))

        let late = PipelineInsight(recentNewestFirst: samples, now: instant(last + 5 * hour / 2))
        #expect(late.overdue)
        #expect(late.dueBy == instant(last + 2 * hour))
        #expect(late.health == .overdue)

        // Due by is the last moment that is still on time.
        #expect(!PipelineInsight(recentNewestFirst: samples, now: instant(last + 2 * hour)).overdue)
        #expect(PipelineInsight(recentNewestFirst: samples, now: instant(last + 2 * hour + 1)).overdue)

        // The factor is a setting.
        let strict = PipelineInsight(recentNewestFirst: samples, now: instant(last + 3 * hour / 2), settings: InsightSettings(overdueFactor: 1.25))
        #expect(strict.dueBy == instant(last + 5 * hour / 4))
        #expect(strict.overdue)
    }

    @Test("The typical interval is the median gap, whatever order the starts come in")
    func typicalIntervalIsTheMedianGap() {
        // Gaps (ascending starts): 1 h, 1 h, 5 h, 2 h → median of [1, 1, 2, 5] h = 1.5 h.
        let starts: [Int64] = [0, hour, 2 * hour, 7 * hour, 9 * hour].map { epochOfTests + $0 }
        let samples = starts.reversed().map { run(at: $0) }
        let insight = PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests + 9 * hour))
        #expect(insight.typicalIntervalSeconds == 5400)
        #expect(insight.dueBy == instant(epochOfTests + 12 * hour))

        let one = PipelineInsight(recentNewestFirst: [run(at: epochOfTests)], now: instant(epochOfTests + 100 * day))
        #expect(one.typicalIntervalSeconds == nil)
        #expect(one.dueBy == nil)
        #expect(!one.overdue)

        // Runs that all started at the same instant have no cadence to be late against.
        let burst = (0..<6).map { _ in run(at: epochOfTests) }
        let insight2 = PipelineInsight(recentNewestFirst: burst, now: instant(epochOfTests + day))
        #expect(insight2.typicalIntervalSeconds == 0)
        #expect(insight2.dueBy == nil)
        #expect(!insight2.overdue)
    }

    @Test("With fewer than minimumRuns a signature is never overdue nor anomalous")
    func fewerThanMinimumRuns() {
        let now = instant(epochOfTests + 100 * hour)
        let four = hourly(4) { age, sample in if age == 0 { sample.rowcount = 1_000_000 } }
        let insight = PipelineInsight(recentNewestFirst: four, now: now)
        #expect(insight.dueBy == instant(epochOfTests + 2 * hour))
        #expect(!insight.overdue)
        #expect(insight.anomaly == nil)
        #expect(insight.health == .ok)

        // Five runs are enough to be overdue, but the baseline of four is too short for an anomaly.
        let five = hourly(5) { age, sample in if age == 0 { sample.rowcount = 1_000_000 } }
        let fiveInsight = PipelineInsight(recentNewestFirst: five, now: now)
        #expect(fiveInsight.overdue)
        #expect(fiveInsight.anomaly == nil)
        #expect(fiveInsight.health == .overdue)

        // Six runs give a baseline of five.
        let six = hourly(6) { age, sample in if age == 0 { sample.rowcount = 1_000_000 } }
        let sixInsight = PipelineInsight(recentNewestFirst: six, now: instant(epochOfTests))
        #expect(sixInsight.anomaly?.findings.map(\.metric) == [.rowcount])
        #expect(sixInsight.health == .anomaly)

        let settings = InsightSettings(minimumRuns: 7)
        #expect(PipelineInsight(recentNewestFirst: six, now: now, settings: settings).anomaly == nil)
        #expect(!PipelineInsight(recentNewestFirst: six, now: now, settings: settings).overdue)
    }

    @Test("No runs: nothing to report, and healthy")
    func noRuns() {
        let insight = PipelineInsight(recentNewestFirst: [], now: instant(epochOfTests))
        #expect(
            insight
                == PipelineInsight(
                    windowRuns: 0,
                    duration: nil,
                    lastStartUTC: nil,
                    lastDuration: nil,
                    lastRowcount: nil,
                    lastStatus: nil,
                    recentRuns: RecentRunCounts(last24Hours: 0, last7Days: 0),
                    typicalIntervalSeconds: nil,
                    overdue: false,
                    dueBy: nil,
                    anomaly: nil,
                    health: .ok
                )
        )
    }

    // MARK: - Anomalies

    @Test("A rowcount drop is flagged against the band of the 30 runs before it")
    func rowcountDrop() throws {
        let samples = rowcountDropHistory()
        let insight = PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests + hour / 2))
        let anomaly = try #require(insight.anomaly)
        #expect(anomaly.startUTC == instant(epochOfTests))
        #expect(anomaly.dateCode == "20250901_000000")
        #expect(anomaly.findings.count == 1)
        let finding = try #require(anomaly.findings.first)
        #expect(finding.metric == .rowcount)
        #expect(finding.observed == 12)
        #expect(finding.median == 1000)
        // |x − 1000| is 0 six times, 10 twelve times, 20 twelve times: median 10.
        #expect(isClose(finding.mad, 14.826))
        #expect(isClose(finding.expectedLow, 1000 - 3.5 * 14.826))
        #expect(isClose(finding.expectedHigh, 1000 + 3.5 * 14.826))
        #expect(isClose(finding.expectedLow, 948.109))
        #expect(isClose(finding.expectedHigh, 1051.891))
        #expect(insight.health == .anomaly)
        #expect(!insight.overdue)

        // A rowcount inside the band is not flagged; one just outside is.
        var inside = samples
        inside[0].rowcount = 949
        #expect(PipelineInsight(recentNewestFirst: inside, now: instant(epochOfTests)).anomaly == nil)
        var above = samples
        above[0].rowcount = 1052
        #expect(PipelineInsight(recentNewestFirst: above, now: instant(epochOfTests)).anomaly?.findings.first?.observed == 1052)

        // A wider k takes the drop in.
        let lenient = InsightSettings(anomalyK: 70)
        #expect(PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests), settings: lenient).anomaly == nil)
    }

    @Test("A constant history has MAD 0, so the band is 1% of the median either side, times k")
    func constantHistory() throws {
        let constant = hourly(10)
        func latest(rowcount: Int64, elapsed: Double = 60) -> PipelineInsight {
            var samples = constant
            samples[0].rowcount = rowcount
            samples[0].elapsedSeconds = elapsed
            return PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests))
        }
        // Band: 1000 ± 3.5 · 10 = [965, 1035]; the edges themselves are inside.
        #expect(latest(rowcount: 1000).anomaly == nil)
        #expect(latest(rowcount: 1035).anomaly == nil)
        #expect(latest(rowcount: 965).anomaly == nil)
        #expect(latest(rowcount: 1030).health == .ok)

        let high = try #require(latest(rowcount: 1036).anomaly?.findings.first)
        #expect(high == AnomalyFinding(metric: .rowcount, observed: 1036, median: 1000, mad: 0, expectedLow: 965, expectedHigh: 1035))
        #expect(latest(rowcount: 964).anomaly?.findings.first?.observed == 964)

        // Duration band: 60 ± 3.5 · 0.6 = [57.9, 62.1]. Both outside: rowcount first.
        let both = try #require(latest(rowcount: 2000, elapsed: 70).anomaly)
        #expect(both.findings.map(\.metric) == [.rowcount, .duration])
        let durationFinding = both.findings[1]
        #expect(durationFinding.observed == 70)
        #expect(durationFinding.median == 60)
        #expect(durationFinding.mad == 0)
        #expect(isClose(durationFinding.expectedLow, 57.9))
        #expect(isClose(durationFinding.expectedHigh, 62.1))
        #expect(latest(rowcount: 1000, elapsed: 62).anomaly == nil)
        #expect(latest(rowcount: 1000, elapsed: 62.2).anomaly?.findings.map(\.metric) == [.duration])
    }

    // MARK: - Status and health

    @Test("A failed latest run makes the signature failed; status decides before exit_code")
    func failedLatestRun() {
        func insight(status: String?, exitCode: Int64?) -> PipelineInsight {
            var samples = hourly(10)
            samples[0].status = status
            samples[0].exitCode = exitCode
            return PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests))
        }
        let failed = insight(status: "failed", exitCode: nil)
        #expect(failed.health == .failed)
        #expect(failed.lastStatus == "failed")

        let exitTwo = insight(status: nil, exitCode: 2)
        #expect(exitTwo.health == .failed)
        #expect(exitTwo.lastStatus == "failed")

        let exitZero = insight(status: nil, exitCode: 0)
        #expect(exitZero.health == .ok)
        #expect(exitZero.lastStatus == "success")

        let successWithExitOne = insight(status: "success", exitCode: 1)
        #expect(successWithExitOne.health == .ok)
        #expect(successWithExitOne.lastStatus == "success")

        let running = insight(status: "running", exitCode: nil)
        #expect(running.health == .ok)
        #expect(running.lastStatus == "running")

        let unknown = insight(status: nil, exitCode: nil)
        #expect(unknown.health == .ok)
        #expect(unknown.lastStatus == nil)

        // Only the latest run counts.
        var olderFailure = hourly(10)
        olderFailure[1].status = "failed"
        #expect(PipelineInsight(recentNewestFirst: olderFailure, now: instant(epochOfTests)).health == .ok)
    }

    @Test("Health is failed before overdue before anomaly before ok")
    func healthOrdering() {
        let late = instant(epochOfTests + 10 * hour)
        let soon = instant(epochOfTests + hour / 2)

        let all = PipelineInsight(recentNewestFirst: rowcountDropHistory(newestFailed: true), now: late)
        #expect(all.overdue)
        #expect(all.anomaly != nil)
        #expect(all.health == .failed)

        let overdueAndAnomalous = PipelineInsight(recentNewestFirst: rowcountDropHistory(), now: late)
        #expect(overdueAndAnomalous.anomaly != nil)
        #expect(overdueAndAnomalous.health == .overdue)

        #expect(PipelineInsight(recentNewestFirst: rowcountDropHistory(), now: soon).health == .anomaly)
        #expect(PipelineInsight(recentNewestFirst: hourly(40), now: soon).health == .ok)

        #expect(PipelineHealth.allCases.sorted() == [.failed, .stuck, .overdue, .anomaly, .inactive, .ok])
        #expect(PipelineHealth.failed < .overdue)
        #expect(PipelineHealth.anomaly < .ok)
    }

    // MARK: - Recent counts and the window

    @Test("Recent counts include a run exactly 24 h / 7 d old and runs in the future")
    func recentCountBoundaries() {
        let now = epochOfTests
        let samples = [
            run(at: now + hour),
            run(at: now - day),
            run(at: now - day - 1),
            run(at: now - 7 * day),
            run(at: now - 7 * day - 1),
        ]
        let insight = PipelineInsight(recentNewestFirst: samples, now: instant(now))
        #expect(insight.recentRuns == RecentRunCounts(last24Hours: 2, last7Days: 4))

        let given = RecentRunCounts(last24Hours: 42, last7Days: 420)
        #expect(PipelineInsight(recentNewestFirst: samples, now: instant(now), recentCounts: given).recentRuns == given)
    }

    @Test("Only the first `window` samples are used")
    func windowTruncation() throws {
        // Five hourly runs (durations 50, 40, 30, 20, 10, newest first), then three older runs
        // ten hours apart that last 1000 s and would change every statistic.
        let recent = hourly(5) { age, sample in sample.elapsedSeconds = Double(50 - 10 * age) }
        let older = (1...3).map { index in TestRun.sample(at: instant(epochOfTests - 4 * hour - Int64(index) * 10 * hour), seconds: 1000) }
        let settings = InsightSettings(window: 5)
        let insight = PipelineInsight(recentNewestFirst: recent + older, now: instant(epochOfTests), settings: settings)
        #expect(insight.windowRuns == 5)
        let duration = try #require(insight.duration)
        #expect(duration.min == 10)
        #expect(duration.max == 50)
        #expect(duration.p50 == 30)
        #expect(isClose(duration.p95, 48))
        #expect(insight.typicalIntervalSeconds == 3600)
        #expect(insight.recentRuns == RecentRunCounts(last24Hours: 5, last7Days: 5))

        let all = PipelineInsight(recentNewestFirst: recent + older, now: instant(epochOfTests))
        #expect(all.windowRuns == 8)
        #expect(all.duration?.max == 1000)
        // The older runs 14 h and exactly 24 h ago count too.
        #expect(all.recentRuns == RecentRunCounts(last24Hours: 7, last7Days: 8))
    }

    @Test("Instants at the edges of Int64 clamp instead of overflowing")
    func extremeInstants() {
        let nearEnd = hourly(6, last: Int64.max - 1)
        let insight = PipelineInsight(recentNewestFirst: nearEnd, now: instant(.max))
        #expect(insight.typicalIntervalSeconds == 3600)
        #expect(insight.dueBy == instant(.max))
        #expect(!insight.overdue)

        let span = [run(at: .max), run(at: .min)]
        let wide = PipelineInsight(recentNewestFirst: span, now: instant(.min))
        #expect(isClose(wide.typicalIntervalSeconds, (Double(Int64.max) - Double(Int64.min)) / 1_000_000))
        #expect(wide.dueBy == instant(.max))
        #expect(wide.recentRuns == RecentRunCounts(last24Hours: 2, last7Days: 2))
    }

    // MARK: - JSON

    @Test("writeMembers appends every member, with the anomaly spelled out")
    func jsonMembers() throws {
        let insight = PipelineInsight(recentNewestFirst: rowcountDropHistory(), now: instant(epochOfTests + 3 * hour))
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("pipeline_name")
        writer.string("p")
        insight.writeMembers(to: &writer)
        writer.endObject()
        let body = try #require(members(of: try parseWritten(writer.bytes)))
        #expect(
            Set(body.keys) == [
                "pipeline_name", "health", "last_status", "last_duration", "last_rowcount", "min_duration", "p50_duration", "p95_duration",
                "max_duration", "runs_24h", "runs_7d", "typical_interval_seconds", "overdue", "due_by", "window_runs", "anomaly",
                "running_runs", "oldest_running_start", "stuck_after",
            ]
        )
        #expect(body["pipeline_name"] == "p")
        #expect(body["health"] == "overdue")
        #expect(body["last_status"] == "success")
        #expect(number(of: body["last_duration"]) == 60)
        #expect(body["last_rowcount"] == 12)
        #expect(number(of: body["min_duration"]) == 60)
        #expect(number(of: body["p50_duration"]) == 60)
        #expect(number(of: body["p95_duration"]) == 60)
        #expect(number(of: body["max_duration"]) == 60)
        // Now is 03:00: the runs of 21:00 the day before (age 21) up to 00:00 started in the last 24 h.
        #expect(body["runs_24h"] == 22)
        #expect(body["runs_7d"] == 40)
        #expect(number(of: body["typical_interval_seconds"]) == 3600)
        #expect(body["overdue"] == true)
        #expect(body["due_by"] == "2025-09-01T02:00:00Z")
        #expect(body["window_runs"] == 40)

        let anomaly = try #require(members(of: body["anomaly"]))
        #expect(Set(anomaly.keys) == ["start_utc", "date_code", "findings"])
        #expect(anomaly["start_utc"] == "2025-09-01T00:00:00Z")
        #expect(anomaly["date_code"] == "20250901_000000")
        let findings = try #require(elements(of: anomaly["findings"]))
        #expect(findings.count == 1)
        let finding = try #require(members(of: findings.first))
        #expect(Set(finding.keys) == ["metric", "observed", "median", "mad", "expected_low", "expected_high"])
        #expect(finding["metric"] == "rowcount")
        #expect(number(of: finding["observed"]) == 12)
        #expect(number(of: finding["median"]) == 1000)
        #expect(isClose(number(of: finding["mad"]), 14.826))
        #expect(isClose(number(of: finding["expected_low"]), 948.109))
        #expect(isClose(number(of: finding["expected_high"]), 1051.891))
    }

    @Test("Absent values are written as null, and so are non-finite numbers")
    func jsonNulls() throws {
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("a")
            writer.integer(1)
            PipelineInsight(recentNewestFirst: [], now: instant(epochOfTests)).writeMembers(to: &writer)
        }
        let empty = try #require(members(of: try parseWritten(writer.bytes)))
        #expect(empty.count == 19)
        for key in [
            "last_status", "last_duration", "last_rowcount", "min_duration", "p50_duration", "p95_duration", "max_duration",
            "typical_interval_seconds", "due_by", "anomaly", "oldest_running_start", "stuck_after",
        ] {
            #expect(empty[key] == .null, "\(key)")
        }
        #expect(empty["health"] == "ok")
        #expect(empty["overdue"] == false)
        #expect(empty["runs_24h"] == 0)
        #expect(empty["runs_7d"] == 0)
        #expect(empty["window_runs"] == 0)

        // An infinite duration is left out of the statistics and written as null.
        var samples = hourly(10)
        samples[0].elapsedSeconds = .infinity
        let insight = PipelineInsight(recentNewestFirst: samples, now: instant(epochOfTests))
        #expect(insight.duration == DurationStatistics(min: 60, p50: 60, p95: 60, max: 60))
        var infiniteWriter = JSONWriter()
        infiniteWriter.object { writer in
            writer.key("a")
            writer.integer(1)
            insight.writeMembers(to: &writer)
        }
        let body = try #require(members(of: try parseWritten(infiniteWriter.bytes)))
        #expect(body["last_duration"] == .null)
        let finding = try #require(members(of: elements(of: members(of: body["anomaly"])?["findings"])?.first))
        #expect(finding["metric"] == "duration")
        #expect(finding["observed"] == .null)
        #expect(number(of: finding["median"]) == 60)
    }
}

@Suite("Stuck runs")
struct StuckRunTests {
    static let hour: Int64 = 3_600_000_000
    static let now = UTCInstant(microsecondsSinceEpoch: 1_767_225_600_000_000)

    /// Ten hourly runs of 60 s before `now`.
    static func history(_ count: Int = 10) -> [RunSample] {
        (1...count).map { TestRun.sample(at: UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - Int64($0) * hour), seconds: 60) }
    }

    @Test("A run running past 3 × p95 (at least 60 s) is stuck, with enough history; before that, or without history, it is only counted")
    func stuckNeedsHistoryAndTime() {
        let startedLongAgo = UTCInstant(microsecondsSinceEpoch: Self.now.microsecondsSinceEpoch - 181_000_000)
        var insight = PipelineInsight(recentNewestFirst: Self.history(), now: Self.now)
        insight.includeRunning(startedAt: [startedLongAgo, Self.now], now: Self.now)
        #expect(insight.health == .stuck)
        #expect(insight.runningRuns == 2)
        #expect(insight.oldestRunningStart == startedLongAgo)
        #expect(insight.stuckAfter == UTCInstant(microsecondsSinceEpoch: startedLongAgo.microsecondsSinceEpoch + 180_000_000))

        var fresh = PipelineInsight(recentNewestFirst: Self.history(), now: Self.now)
        fresh.includeRunning(startedAt: [UTCInstant(microsecondsSinceEpoch: Self.now.microsecondsSinceEpoch - 179_000_000)], now: Self.now)
        #expect(fresh.health == .ok)
        #expect(fresh.runningRuns == 1)

        var young = PipelineInsight(recentNewestFirst: Self.history(4), now: Self.now)
        young.includeRunning(startedAt: [startedLongAgo], now: Self.now)
        #expect(young.health == .ok, "fewer finished runs than the overdue rule's minimum judge nothing")
        #expect(young.stuckAfter == nil)

        var failed = PipelineInsight(recentNewestFirst: [TestRun.sample(at: Self.now, status: "failed")] + Self.history(), now: Self.now)
        failed.includeRunning(startedAt: [startedLongAgo], now: Self.now)
        #expect(failed.health == .failed, "a failed last run stays the worse news")
    }
}

@Suite("Inactive pipelines")
struct InactivePipelineTests {
    @Test("Fewer runs than the overdue rule needs and none for 30 days is inactive, not ok; with enough runs overdue decides")
    func youngIdlePipelinesAreInactive() {
        let now = StuckRunTests.now
        let day: Int64 = 86_400_000_000
        let old = (1...3).map { TestRun.sample(at: UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - (456 + Int64($0)) * day)) }
        #expect(PipelineInsight(recentNewestFirst: old, now: now).health == .inactive)
        let recent = (1...3).map { TestRun.sample(at: UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - Int64($0) * day)) }
        #expect(PipelineInsight(recentNewestFirst: recent, now: now).health == .ok)
        let failed = [TestRun.sample(at: old[0].startUTC, status: "failed")] + old.dropFirst()
        #expect(PipelineInsight(recentNewestFirst: failed, now: now).health == .failed)
        let many = (1...10).map { TestRun.sample(at: UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - (456 + Int64($0)) * day)) }
        #expect(PipelineInsight(recentNewestFirst: many, now: now).health == .overdue)
    }
}
