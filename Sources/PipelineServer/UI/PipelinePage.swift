import PipelineCore

/// The run table of a pipeline page: one page of the signature's runs, or why the request's
/// history parameters were refused.
struct RunHistoryTable: Sendable {
    enum Content: Sendable {
        /// The page and the query that produced it (its paging decides the pager's links).
        case page(RunPage, RunQuery)
        /// The API's own validation error for the same parameters.
        case invalid(ValidationError)
    }

    var content: Content
    /// The history parameters of the request (`start_utc`, …, `cursor`), to refill the form and
    /// carry into the paging links.
    var parameters: [(name: String, value: String)]

    /// The parameters the table reads from a pipeline page's query; the signature fields are the
    /// page's own and `all_data` is not offered (a page is always paged).
    static let parameterNames: Set<String> = [
        RunQueryParameter.startUTC, .endUTC, .minRowcount, .maxRowcount, .limit, .offset, .cursor,
    ].reduce(into: []) { $0.insert($1.rawValue) }

    var isInvalid: Bool {
        if case .invalid = content { return true }
        return false
    }
}

/// `GET /ui/pipeline`: one signature in depth — health, statistics, charts and its run history.
enum PipelinePage {
    static func render(
        pipeline: DashboardPipeline,
        settings: InsightSettings,
        history: RunHistoryTable,
        daily: DailyRuns,
        now: UTCInstant,
        links: DashboardLinks
    )
        -> String
    {
        let signature = pipeline.signature
        let name = signature.pipelineName ?? "(no name)"
        var body = "<div class=\"crumbs\"><a href=\"\(HTML.escape(links.overview))\">Pipelines</a> › \(HTML.escape(name))</div>\n"
        body += "<div class=\"titlebar\"><h1>\(HTML.escape(name))</h1>\(DashboardPage.badge(pipeline.health, title: pipeline.healthReason(now: now)))"
        body += "<dl class=\"sig\"><div><dt>script</dt><dd>\(DashboardPage.optional(signature.scriptName))</dd></div>"
        body += "<div><dt>type</dt><dd>\(DashboardPage.optional(signature.pipelineType))</dd></div>"
        body += "<div><dt>environment</dt><dd>\(DashboardPage.optional(signature.environment))</dd></div></dl>"
        body += "<a class=\"count\" href=\"\(HTML.escape(links.history(signature)))\">runs as JSON</a></div>\n"
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

    private static func callouts(_ pipeline: DashboardPipeline, now: UTCInstant) -> String {
        var out = ""
        let health = pipeline.health
        if health == .failed || health == .overdue {
            out += "<div class=\"callout \(health.rawValue)\">\(DashboardPage.badge(health)) \(HTML.escape(pipeline.healthReason(now: now)))</div>\n"
        }
        if let findings = pipeline.insight?.anomaly?.findings, !findings.isEmpty {
            out += "<div class=\"callout anomaly\">\(DashboardPage.badge(.anomaly)) The latest run is outside its expected band:<ul>"
            for finding in findings {
                out += "<li class=\"finding\">\(HTML.escape(DashboardFormat.finding(finding)))</li>"
            }
            out += "</ul></div>\n"
        }
        return out
    }

    private static func cards(_ pipeline: DashboardPipeline, now: UTCInstant) -> String {
        let insight = pipeline.insight
        func card(_ label: String, _ value: String, sub: String? = nil, tone: String = "", key: String) -> String {
            let subText = sub.map { "<span class=\"sub\">\(HTML.escape($0))</span>" } ?? ""
            return "<div class=\"card \(tone)\" data-stat=\"\(key)\"><span class=\"l\">\(HTML.escape(label))</span>"
                + "<span class=\"v\">\(HTML.escape(value))</span>\(subText)</div>"
        }
        let summary = pipeline.summary
        var out = "<div class=\"cards\">"
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
    static func chartRuns(_ settings: InsightSettings) -> Int { max(120, 4 * settings.anomalyBaseline) }

    private static func charts(_ pipeline: DashboardPipeline, settings: InsightSettings, now: UTCInstant) -> String {
        let shown = min(pipeline.recent.count, chartRuns(settings))
        var out = "<div class=\"charts\">"
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
            out += "<section class=\"panel chart-\(metric.rawValue)\"><h2>\(HTML.escape(chart.title))</h2>\(chart.svg())"
            out += "<div class=\"legend\"><span><i class=\"sw-line\"></i>\(title.lowercased())</span>"
            out += "<span><i class=\"sw-failed\"></i>failed run</span>"
            out += "<span><i class=\"sw-band\"></i>expected band of the latest run</span>"
            if pipeline.insight?.overdue == true { out += "<span><i class=\"sw-overdue\"></i>overdue: no run since it was due</span>" }
            out += "</div>"
            if let (band, finding) = expected {
                let range = "\(DashboardFormat.measure(metric, max(band.low, 0))) – \(DashboardFormat.measure(metric, band.high))"
                let verdict = finding.isOutside ? "<b class=\"anom\">latest run outside</b>" : "latest run inside"
                out += "<p class=\"note\">Expected \(HTML.escape(range)): median ± \(DashboardFormat.trimmed(settings.anomalyK))·spread of the "
                out +=
                    "\(settings.anomalyBaseline) runs before the latest · \(verdict) (\(HTML.escape(DashboardFormat.measure(metric, finding.observed))))</p>"
            } else {
                out += "<p class=\"note\">No expected band yet: it needs \(settings.minimumRuns) runs before the latest.</p>"
            }
            out += "</section>"
        }
        return out + "</div>\n"
    }

    /// Runs per day as bars (failed runs in red), each bar carrying the numbers of its
    /// `/pipelines/history` bucket, with a link to that JSON.
    private static func dailySection(_ daily: DailyRuns) -> String {
        let buckets = daily.history.buckets
        guard !buckets.isEmpty else { return "" }
        let (width, height) = (1000.0, 64.0)
        let most = Double(max(1, buckets.map(\.runs).max() ?? 1))
        let step = width / Double(buckets.count)
        var out = "<section class=\"panel daily\"><h2>Runs per day (UTC), last \(buckets.count) days</h2>"
        out += "<svg viewBox=\"0 0 \(SVGNumber.text(width)) \(SVGNumber.text(height + 12))\" width=\"100%\" role=\"img\" aria-label=\"Runs per day\">"
        for (index, bucket) in buckets.enumerated() {
            let day = String(bucket.localStart.description.prefix(10))
            let x = Double(index) * step + step * 0.1
            let total = height * Double(bucket.runs) / most
            let failed = height * Double(bucket.failedRuns) / most
            let average = bucket.avgDuration.map { ", average \(DashboardFormat.measure(.duration, $0))" } ?? ""
            out += "<g class=\"day\" data-day=\"\(day)\" data-runs=\"\(bucket.runs)\" data-failed=\"\(bucket.failedRuns)\">"
            out += "<title>\(day): \(bucket.runs) runs, \(bucket.failedRuns) failed\(HTML.escape(average))</title>"
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
        out += "</svg><p class=\"note\">Most in a day: \(Int(most)). "
        if !daily.isExact {
            out += "Counts every run of this pipeline name whose other fields match where this signature has a value. "
        }
        out += "<a href=\"\(HTML.escape(daily.link))\">as JSON</a> (the same numbers from <code>/pipelines/history</code>).</p></section>\n"
        return out
    }

    private static func historySection(signature: PipelineSignature, history: RunHistoryTable, links: DashboardLinks) -> String {
        var values: [String: String] = [:]
        for (name, value) in history.parameters { values[name] = value }
        var out = "<section class=\"panel history\"><h2>Run history</h2>"
        out += "<form class=\"filters\" method=\"get\" action=\"\(HTML.escape(links.pipelinePath))\">"
        for (name, value) in DashboardLinks.signatureParameters(signature) {
            out += "<input type=\"hidden\" name=\"\(name)\" value=\"\(HTML.escape(value))\">"
        }
        let fields: [(RunQueryParameter, String, String, Bool)] = [
            (.startUTC, "Started from (UTC)", "2025-09-01T00:00:00Z", false),
            (.endUTC, "Ended by (UTC)", "2025-10-01T00:00:00Z", false),
            (.minRowcount, "Min rows", "", true),
            (.maxRowcount, "Max rows", "", true),
            (.limit, "Per page", String(RunQuery.defaultLimit), true),
        ]
        for (parameter, label, placeholder, short) in fields {
            let value = values[parameter.rawValue].map { " value=\"\(HTML.escape($0))\"" } ?? ""
            out += "<label>\(HTML.escape(label))<input\(short ? " class=\"short\"" : "") name=\"\(parameter.rawValue)\""
            out += " placeholder=\"\(HTML.escape(placeholder))\"\(value)></label>"
        }
        out += "<button type=\"submit\">Apply</button> <a href=\"\(HTML.escape(links.pipeline(signature)))\">Reset</a></form>\n"

        switch history.content {
        case .invalid(let error):
            out += "<div class=\"callout error\" role=\"alert\"><b>These filters are not valid</b><ul>"
            for issue in error.issues {
                out +=
                    "<li class=\"issue\"><code>\(HTML.escape(issue.location.rawValue + "." + issue.field))</code>: \(HTML.escape(issue.message))</li>"
            }
            out += "</ul></div>"
        case .page(let page, let query):
            out += runTable(page)
            out += pager(page: page, query: query, signature: signature, parameters: history.parameters, links: links)
        }
        return out + "</section>\n"
    }

    private static func runTable(_ page: RunPage) -> String {
        var out = "<div class=\"tablewrap\"><table class=\"runs\"><thead><tr><th>start_utc</th><th>end_utc</th><th class=\"num\">duration</th>"
        out +=
            "<th class=\"num\">rowcount</th><th>status</th><th class=\"num\">exit_code</th><th>date_code</th><th>output_file</th></tr></thead><tbody>\n"
        for stored in page.runs {
            let run = stored.info
            out += "<tr class=\"\(run.isFailed ? "h-failed" : "")\" data-date-code=\"\(HTML.escape(run.dateCode))\">"
            out += "<td><time datetime=\"\(run.startUTC)\">\(HTML.escape(DashboardFormat.seconds(run.startUTC)))</time></td>"
            out += "<td><time datetime=\"\(run.endUTC)\">\(HTML.escape(DashboardFormat.seconds(run.endUTC)))</time></td>"
            out += "<td class=\"num\" title=\"\(HTML.escape(DashboardFormat.number(run.elapsedSeconds))) s\">\(HTML.escape(run.elapsedHuman))</td>"
            out += "<td class=\"num\">\(DashboardFormat.count(run.rowcount))</td>"
            let status =
                run.status.map { "<span class=\"\(run.isFailed ? "st-failed" : "")\">\(HTML.escape($0))</span>" } ?? DashboardPage.optional(nil)
            out += "<td>\(status)</td>"
            out +=
                "<td class=\"num\">\(run.exitCode.map { "<span\($0 != 0 ? " class=\"st-failed\"" : "")>\($0)</span>" } ?? DashboardPage.optional(nil))</td>"
            out += "<td class=\"path\">\(HTML.escape(run.dateCode))</td>"
            out += "<td class=\"path\" title=\"\(HTML.escape(run.outputFile))\">\(HTML.escape(run.outputFile))</td></tr>\n"
        }
        if page.runs.isEmpty {
            out += "<tr><td colspan=\"8\" class=\"empty\">No run matches these filters.</td></tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// Where this page sits among the matches, and links to the first and next pages (the next
    /// one by the API's `next_cursor`, so pages never repeat or skip a run).
    private static func pager(
        page: RunPage,
        query: RunQuery,
        signature: PipelineSignature,
        parameters: [(name: String, value: String)],
        links: DashboardLinks
    ) -> String {
        let filters = parameters.filter { $0.name != RunQueryParameter.offset.rawValue && $0.name != RunQueryParameter.cursor.rawValue }
        var out = "<div class=\"pager\"><span class=\"page-info\">"
        switch query.paging {
        case .window(_, let offset) where !page.runs.isEmpty:
            out += "runs \(offset + 1)–\(offset + page.runs.count) of \(page.total)"
        case .after:
            out += "\(page.runs.count) more runs of \(page.total)"
        default:
            out += "\(page.runs.count) of \(page.total) runs"
        }
        out += "</span>"
        var isFirstPage = true
        switch query.paging {
        case .window(_, let offset) where offset > 0: isFirstPage = false
        case .after: isFirstPage = false
        default: break
        }
        if !isFirstPage {
            out += "<a class=\"first-page\" href=\"\(HTML.escape(links.pipeline(signature, filters)))\">« first page</a>"
        }
        if let next = page.nextCursor {
            let target = filters + [(RunQueryParameter.cursor.rawValue, next.description)]
            out += "<a class=\"next-page\" href=\"\(HTML.escape(links.pipeline(signature, target)))\">next page »</a>"
        }
        return out + "</div>"
    }
}
