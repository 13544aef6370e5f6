import PipelineCore
import PipelineStore
import Synchronization

/// One signature's summary with its insight filled in, and the recent runs it was computed from.
struct PipelineReport: Sendable {
    /// `summary.insight` is non-nil.
    var summary: PipelineSummary
    /// The signature's most recent runs, newest first, at most `InsightSettings.window`.
    var recent: [RunSample]
}

/// Adds trends and health (``PipelineInsight``) to the per-signature summaries, for `/pipelines`,
/// `/pipelines/history` and the dashboard.
///
/// The definitions are the pure core's; this type only gathers their inputs from the repository.
/// Each signature's recent runs are cached with the summary totals they were read at: the summary
/// is read on every request anyway (O(signatures)), and any insert or deletion — by this process or
/// another sharing the table — changes those totals, so a changed signature is re-read and an
/// unchanged one costs nothing. Insight is computed at `now` truncated to the second and cached
/// for that second.
final class InsightService<Repository: PipelineRunRepository>: Sendable {
    let repository: Repository
    let settings: InsightSettings
    private let clock: @Sendable () -> UTCInstant
    private let cache = Mutex<[PipelineSignature: CachedSignature]>([:])

    private struct CachedSignature: Sendable {
        var version: PipelineSummary
        var recent: [RunSample]
        var insight: PipelineInsight
        var computedAt: UTCInstant
    }

    init(
        repository: Repository,
        settings: InsightSettings = .standard,
        clock: @escaping @Sendable () -> UTCInstant = ServiceConfiguration.systemClock
    ) {
        self.repository = repository
        self.settings = settings
        self.clock = clock
    }

    /// The instant insight is judged at: the clock, truncated to the second.
    func now() -> UTCInstant {
        let micros = clock().microsecondsSinceEpoch
        return UTCInstant(microsecondsSinceEpoch: micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000)
    }

    /// Every signature's report, in `/pipelines` order.
    func reports() async throws -> [PipelineReport] {
        try await reports(selecting: SummaryQuery())
    }

    /// The reports of the signatures `query` selects, in `/pipelines` order: only those get their
    /// recent runs read and their insight computed.
    func reports(selecting query: SummaryQuery) async throws -> [PipelineReport] {
        let summaries = try await repository.summaries()
        let now = now()
        var reports: [PipelineReport] = []
        let selected = query.select(summaries)
        reports.reserveCapacity(selected.count)
        let running = try await runningRuns()
        for summary in selected {
            var report = try await report(for: summary, now: now)
            report.summary.insight?.includeRunning(running[summary.signature], now: now, settings: settings)
            reports.append(report)
        }
        // Signatures only disappear when a prune deletes all their runs: drop those entries then.
        cache.withLock { entries in
            guard entries.count > summaries.count else { return }
            let known = Set(summaries.map(\.signature))
            entries = entries.filter { known.contains($0.key) }
        }
        return reports
    }

    /// The summaries `query` selects, with insight, for `GET /pipelines`.
    func summaries(selecting query: SummaryQuery) async throws -> [PipelineSummary] {
        try await reports(selecting: query).map(\.summary)
    }

    /// One signature's report; nil when it has no finished runs.
    func report(for signature: PipelineSignature) async throws -> PipelineReport? {
        guard let summary = try await repository.summaries().first(where: { $0.signature == signature }) else { return nil }
        let now = now()
        var report = try await report(for: summary, now: now)
        report.summary.insight?.includeRunning(try await runningRuns()[signature], now: now, settings: settings)
        return report
    }

    /// The runs still running, by signature: counted by the repository, never read one by one.
    func runningRuns() async throws -> [PipelineSignature: RunningRuns] {
        var bySignature: [PipelineSignature: RunningRuns] = [:]
        for running in try await repository.runningRuns() {
            if let signature = running.signature { bySignature[signature] = running }
        }
        return bySignature
    }

    /// Buckets of the runs matching `filter` (names and a start bound), started in `from...to`.
    func history(filter: RunFilter, bucket: HistoryBucketSize, zone: any UTCOffsetRule, from: UTCInstant?, to: UTCInstant?) async throws -> RunHistory
    {
        var fetched = filter
        fetched.startUTCFrom = from
        let samples = try await repository.historySamples(matching: fetched)
        var lower = from
        if lower == nil, let latest = to ?? samples.first?.startUTC, let earliest = samples.last?.startUTC {
            // Without a start, history begins at the earliest run, but not more than the default span back.
            let span = HistoryDefaults.span(bucket)
            lower = max(earliest, UTCInstant(microsecondsSinceEpoch: Saturating.subtract(latest.microsecondsSinceEpoch, span)))
        }
        return try RunHistory(historySamples: samples, bucket: bucket, zone: zone, from: lower, to: to, pipelineName: filter.pipelineName?.value)
    }

    private func report(for summary: PipelineSummary, now: UTCInstant) async throws -> PipelineReport {
        let signature = summary.signature
        var version = summary
        version.insight = nil
        let cached = cache.withLock { $0[signature] }.flatMap { $0.version == version ? $0 : nil }
        if let cached, cached.computedAt == now {
            return PipelineReport(summary: with(summary, cached.insight), recent: cached.recent)
        }
        let recent: [RunSample]
        if let cached {
            recent = cached.recent
        } else {
            recent = try await repository.samples(matching: RunFilter(signature: signature), limit: settings.window)
        }
        let insight = PipelineInsight(
            recentNewestFirst: recent,
            now: now,
            settings: settings,
            recentCounts: try await recentCounts(of: signature, recent: recent, now: now)
        )
        cache.withLock { $0[signature] = CachedSignature(version: version, recent: recent, insight: insight, computedAt: now) }
        return PipelineReport(summary: with(summary, insight), recent: recent)
    }

    /// Counts over all history when the window may not hold every run of the last 7 days; nil
    /// (count over the window) when it does: it holds the whole history, or reaches back further.
    private func recentCounts(of signature: PipelineSignature, recent: [RunSample], now: UTCInstant) async throws -> RecentRunCounts? {
        let weekAgo = UTCInstant(microsecondsSinceEpoch: Saturating.subtract(now.microsecondsSinceEpoch, 7 * UTCInstant.microsecondsPerDay))
        guard recent.count >= settings.window, let oldest = recent.last, oldest.startUTC >= weekAgo else { return nil }
        let dayAgo = UTCInstant(microsecondsSinceEpoch: Saturating.subtract(now.microsecondsSinceEpoch, UTCInstant.microsecondsPerDay))
        var since = RunFilter(signature: signature)
        since.startUTCFrom = dayAgo
        let last24Hours = try await repository.count(matching: since)
        since.startUTCFrom = weekAgo
        return RecentRunCounts(last24Hours: last24Hours, last7Days: try await repository.count(matching: since))
    }

    private func with(_ summary: PipelineSummary, _ insight: PipelineInsight) -> PipelineSummary {
        var summary = summary
        summary.insight = insight
        return summary
    }
}

/// How far back `/pipelines/history` reaches when no `start_utc` is given.
enum HistoryDefaults {
    static func span(_ bucket: HistoryBucketSize) -> Int64 {
        let day = UTCInstant.microsecondsPerDay
        return switch bucket {
        case .hour: 14 * day
        case .day: 365 * day
        case .week: 5 * 365 * day
        }
    }
}
