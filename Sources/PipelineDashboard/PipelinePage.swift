public import PipelineCore

/// The last 30 days of a signature's runs in day buckets: exactly what `/pipelines/history`
/// answers for the same filter (the link the page shows), so the two can be compared.
public struct DailyRuns: Sendable {
    public static let days = 30

    var history: RunHistory
    /// The `/pipelines/history` URL with the same parameters.
    var link: String
    /// False when the signature has a null field, which the history filter cannot ask for: the
    /// buckets then hold every run of the name whose other set fields match.
    var isExact: Bool

    public init(history: RunHistory, link: String, isExact: Bool) {
        self.history = history
        self.link = link
        self.isExact = isExact
    }
}

/// `GET /ui/pipeline`: one signature in depth — health, statistics, charts and its run history.
public enum PipelinePage {
    public static func render(
        pipeline: DashboardPipeline,
        settings: InsightSettings,
        history: RunHistoryTable,
        daily: DailyRuns,
        now: UTCInstant,
        links: DashboardLinks
    )
        -> HTML
    {
        let signature = pipeline.signature
        let name = signature.pipelineName ?? "(no name)"
        var body: HTML = "<div class=\"crumbs\"><a href=\"\(links.overview)\">Pipelines</a> › \(name)</div>\n"
        body += "<div class=\"titlebar\"><h1>\(name)</h1>\(DashboardPage.badge(pipeline.health, title: pipeline.healthReason(now: now)))"
        body += "<dl class=\"sig\"><div><dt>script</dt><dd>\(DashboardPage.optional(signature.scriptName))</dd></div>"
        body += "<div><dt>type</dt><dd>\(DashboardPage.optional(signature.pipelineType))</dd></div>"
        body += "<div><dt>environment</dt><dd>\(DashboardPage.optional(signature.environment))</dd></div></dl>"
        body += "<a class=\"count\" href=\"\(links.history(signature))\">runs as JSON</a></div>\n"
        body += callouts(pipeline, now: now)
        body += cards(pipeline, now: now)
        body += charts(pipeline, settings: settings, now: now)
        body += dailySection(daily)
        body += historySection(signature: signature, history: history, links: links)
        return DashboardPage.document(title: "\(name) — pipeline runs", links: links, body: body)
    }

    /// The expected band of the latest run's `metric`, from the `settings.anomalyBaseline` runs
    /// before it, over the time those runs span; nil while there are too few runs.
    static func band(_ pipeline: DashboardPipeline, _ metric: AnomalyMetric, settings: InsightSettings) -> (LineChart.Band, AnomalyFinding)? {
        guard let latest = pipeline.recent.first else { return nil }
        let baseline = Array(pipeline.recent.dropFirst().prefix(max(settings.anomalyBaseline, 0)))
        let observed =
            switch metric {
            case .duration: latest.elapsedSeconds
            case .rowcount: Double(latest.rowcount)
            }
        guard let oldest = baseline.last, let finding = AnomalyFinding(metric: metric, observed: observed, baseline: baseline, settings: settings)
        else {
            return nil
        }
        let band = LineChart.Band(
            low: finding.expectedLow,
            high: finding.expectedHigh,
            median: finding.median,
            from: oldest.startUTC,
            to: latest.startUTC
        )
        return (band, finding)
    }

    // MARK: - Sections

    private static func callouts(_ pipeline: DashboardPipeline, now: UTCInstant) -> HTML {
        var out = HTML.empty
        let health = pipeline.health
        if health == .failed || health == .stuck || health == .overdue {
            out += "<div class=\"callout \(health.rawValue)\">\(DashboardPage.badge(health)) \(pipeline.healthReason(now: now))</div>\n"
        }
        if let findings = pipeline.insight?.anomaly?.findings, !findings.isEmpty {
            out += "<div class=\"callout anomaly\">\(DashboardPage.badge(.anomaly)) The latest run is outside its expected band:<ul>"
            for finding in findings {
                out += "<li class=\"finding\">\(DashboardFormat.finding(finding))</li>"
            }
            out += "</ul></div>\n"
        }
        return out
    }

    private static func cards(_ pipeline: DashboardPipeline, now: UTCInstant) -> HTML {
        let insight = pipeline.insight
        func card(_ label: String, _ value: String, sub: String? = nil, tone: String = "", key: String) -> HTML {
            let subText: HTML = sub.map { "<span class=\"sub\">\($0)</span>" } ?? .empty
            return "<div class=\"card \(tone)\" data-stat=\"\(key)\"><span class=\"l\">\(label)</span>"
                + "<span class=\"v\">\(value)</span>\(subText)</div>"
        }
        let summary = pipeline.summary
        var out: HTML = "<div class=\"cards\">"
        out += card("Total runs", DashboardFormat.count(summary.totalRuns), key: "total_runs")
        out += card("Failed runs", DashboardFormat.count(summary.failedRuns), tone: summary.failedRuns > 0 ? "failed" : "", key: "failed_runs")
        out += card(
            "Last run",
            DashboardFormat.relative(summary.lastRun, now: now),
            sub: DashboardFormat.tick(summary.lastRun, withTime: true) + " UTC",
            tone: pipeline.health == .failed ? "failed" : "",
            key: "last_run"
        )
        let duration = insight?.duration
        out += card("p50 duration", DashboardFormat.duration(duration?.p50), key: "p50_duration")
        out += card("p95 duration", DashboardFormat.duration(duration?.p95), key: "p95_duration")
        out += card("min duration", DashboardFormat.duration(duration?.min), key: "min_duration")
        out += card("max duration", DashboardFormat.duration(duration?.max), key: "max_duration")
        out += card("Usual interval", DashboardFormat.interval(insight?.typicalIntervalSeconds), key: "typical_interval")
        if let due = insight?.dueBy {
            out += card(
                "Due by",
                DashboardFormat.relative(due, now: now),
                sub: DashboardFormat.tick(due, withTime: true) + " UTC",
                tone: insight?.overdue == true ? "overdue" : "",
                key: "due_by"
            )
        } else {
            out += card("Due by", "—", key: "due_by")
        }
        out += card("Runs 24 h / 7 d", insight.map { "\($0.recentRuns.last24Hours) / \($0.recentRuns.last7Days)" } ?? "—", key: "recent_runs")
        return out + "</div>\n"
    }

    /// How many of the latest runs the charts draw: enough to see the rhythm and several times
    /// the anomaly baseline, so the expected band is wide enough to read.
    static func chartRuns(_ settings: InsightSettings) -> Int {
        let (runs, overflow) = settings.anomalyBaseline.multipliedReportingOverflow(by: 4)
        return overflow ? .max : max(120, runs)
    }

    private static func charts(_ pipeline: DashboardPipeline, settings: InsightSettings, now: UTCInstant) -> HTML {
        let shown = min(pipeline.recent.count, chartRuns(settings))
        var out: HTML = "<div class=\"charts\">"
        for (metric, title) in [(AnomalyMetric.duration, "Duration"), (.rowcount, "Rowcount")] {
            let expected = band(pipeline, metric, settings: settings)
            let chart = LineChart(
                title: "\(title), last \(shown) runs",
                metric: metric,
                points: Array(pipeline.points(metric).suffix(shown)),
                band: expected?.0,
                isLatestAnomalous: expected?.1.isOutside == true,
                now: now,
                overdueSince: pipeline.insight?.overdue == true ? pipeline.insight?.dueBy : nil
            )
            out += "<section class=\"panel chart-\(metric.rawValue)\"><h2>\(chart.title)</h2>\(chart.svg())"
            out += "<div class=\"legend\"><span><i class=\"sw-line\"></i>\(title.lowercased())</span>"
            out += "<span><i class=\"sw-failed\"></i>failed run</span>"
            out += "<span><i class=\"sw-band\"></i>expected band of the latest run</span>"
            if pipeline.insight?.overdue == true { out += "<span><i class=\"sw-overdue\"></i>overdue: no run since it was due</span>" }
            out += "</div>"
            if let (band, finding) = expected {
                let range = "\(DashboardFormat.measure(metric, max(band.low, 0))) – \(DashboardFormat.measure(metric, band.high))"
                let verdict: HTML = finding.isOutside ? "<b class=\"anom\">latest run outside</b>" : "latest run inside"
                out += "<p class=\"note\">Expected \(range): median ± \(DashboardFormat.trimmed(settings.anomalyK))·spread of the "
                out += "\(settings.anomalyBaseline) runs before the latest · \(verdict) (\(DashboardFormat.measure(metric, finding.observed)))</p>"
            } else {
                out += "<p class=\"note\">No expected band yet: it needs \(settings.minimumRuns) runs before the latest.</p>"
            }
            out += "</section>"
        }
        return out + "</div>\n"
    }

    /// Runs per day as bars (failed runs in red), each bar carrying the numbers of its
    /// `/pipelines/history` bucket, with a link to that JSON.
    private static func dailySection(_ daily: DailyRuns) -> HTML {
        let buckets = daily.history.buckets
        guard !buckets.isEmpty else { return .empty }
        let (width, height) = (1000.0, 64.0)
        let mostRuns = max(1, buckets.map(\.runs).max() ?? 1)
        let most = Double(mostRuns)
        let step = width / Double(buckets.count)
        var out: HTML = "<section class=\"panel daily\"><h2>Runs per day (UTC), last \(buckets.count) days</h2>"
        out += "<svg viewBox=\"0 0 \(SVGNumber.text(width)) \(SVGNumber.text(height + 12))\" width=\"100%\" role=\"img\" aria-label=\"Runs per day\">"
        for (index, bucket) in buckets.enumerated() {
            let day = String(bucket.localStart.description.prefix(10))
            let x = Double(index) * step + step * 0.1
            let total = height * Double(bucket.runs) / most
            let failed = height * Double(bucket.failedRuns) / most
            let average = bucket.avgDuration.map { ", average \(DashboardFormat.measure(.duration, $0))" } ?? ""
            out += "<g class=\"day\" data-day=\"\(day)\" data-runs=\"\(bucket.runs)\" data-failed=\"\(bucket.failedRuns)\">"
            out += "<title>\(day): \(bucket.runs) runs, \(bucket.failedRuns) failed\(average)</title>"
            out += "<rect x=\"\(SVGNumber.text(x))\" y=\"\(SVGNumber.text(height - total))\" width=\"\(SVGNumber.text(step * 0.8))\" "
            out += "height=\"\(SVGNumber.text(total))\" fill=\"#94a3b8\"/>"
            if bucket.failedRuns > 0 {
                out += "<rect x=\"\(SVGNumber.text(x))\" y=\"\(SVGNumber.text(height - failed))\" width=\"\(SVGNumber.text(step * 0.8))\" "
                out += "height=\"\(SVGNumber.text(failed))\" fill=\"#dc2626\"/>"
            }
            out += "</g>"
        }
        for (index, anchor) in [(0, "start"), (buckets.count - 1, "end")] {
            let x = index == 0 ? 0 : width
            out += "<text x=\"\(SVGNumber.text(x))\" y=\"\(SVGNumber.text(height + 10))\" font-size=\"9\" fill=\"#64748b\" text-anchor=\"\(anchor)\">"
            out += "\(buckets[index].localStart.description.prefix(10))</text>"
        }
        out += "</svg><p class=\"note\">Most in a day: \(mostRuns). "
        if !daily.isExact {
            out += "Counts every run of this pipeline name whose other fields match where this signature has a value. "
        }
        out += "<a href=\"\(daily.link)\">as JSON</a> (the same numbers from <code>/pipelines/history</code>).</p></section>\n"
        return out
    }
}
