public import PipelineCore

/// `GET /ui`: every pipeline signature, the ones that need attention first, a page of rows at a
/// time.
public enum OverviewPage {
    /// - Parameters:
    ///   - pipelines: every signature (the counts in the header and the filter choices cover them
    ///     all; the table shows one page of those the query selects).
    ///   - now: the instant "3 h ago" is measured from.
    /// - Parameter running: the runs still running (newest first, at most a page of them), and how many there are in all.
    public static func render(
        pipelines: [DashboardPipeline],
        running: (runs: [PipelineInfo], total: Int) = ([], 0),
        query: OverviewQuery,
        now: UTCInstant,
        links: DashboardLinks
    ) -> HTML {
        let rows = query.apply(to: pipelines)
        let paging = OverviewPaging(requested: query.page, total: rows.count)
        var body: HTML = "<div class=\"titlebar\"><h1>Pipelines</h1><span class=\"muted\">as of \(DashboardFormat.timestamp(now))</span></div>\n"
        body += tiles(pipelines: pipelines, query: query, links: links)
        body += runningNow(running, pipelines: pipelines, now: now, links: links)
        body += filterForm(pipelines: pipelines, query: query, shown: rows.count, links: links)
        body += "<div class=\"tablewrap\"><table class=\"overview\">\n<thead><tr>"
        body += header("Health", .health, query: query, links: links)
        body += header("Pipeline", .name, query: query, links: links)
        body += "<th>Type</th><th>Env</th>"
        body += header("Last run (UTC)", .lastRun, query: query, links: links)
        body += "<th>Status</th>"
        body += header("Duration", .duration, query: query, links: links, numeric: true)
        body += header("Rows", .rowcount, query: query, links: links, numeric: true)
        body += header("Runs 24h / 7d", .runs24h, query: query, links: links, numeric: true)
        body += "<th class=\"num\">Failed</th><th>Duration trend</th><th>Rows trend</th></tr></thead>\n<tbody>\n"
        for pipeline in rows[paging.rows] {
            body += row(pipeline, now: now, links: links)
        }
        if rows.isEmpty {
            let message =
                pipelines.isEmpty
                ? "No runs stored yet. Runs appear here as pipelines report them (POST \(links.summariesAPI))."
                : "No pipeline matches these filters."
            body += "<tr><td colspan=\"12\" class=\"empty\">\(message)</td></tr>\n"
        }
        body += "</tbody></table></div>"
        if !rows.isEmpty {
            body += pager(paging, query: query, links: links)
        }
        return DashboardPage.document(title: "Pipelines — pipeline runs", links: links, body: body)
    }

    /// The runs still running, each with how long it has run; a stuck one (past its pipeline's
    /// allowance) is marked. Nothing when none is running.
    private static func runningNow(
        _ running: (runs: [PipelineInfo], total: Int),
        pipelines: [DashboardPipeline],
        now: UTCInstant,
        links: DashboardLinks
    ) -> HTML {
        guard !running.runs.isEmpty else { return .empty }
        let stuckAfter = Dictionary(pipelines.compactMap { pipeline in pipeline.insight?.stuckAfter.map { (pipeline.signature, $0) } }) { first, _ in
            first
        }
        let more = running.total > running.runs.count ? " (the newest \(running.runs.count))" : ""
        var out: HTML = "<h2 class=\"running-title\">Running now: \(running.total)\(more)</h2>\n"
        out += "<div class=\"tablewrap\"><table class=\"running\"><thead><tr><th>Pipeline</th><th>Env</th><th>Started (UTC)</th>"
        out += "<th>Running for</th><th>Run id</th></tr></thead>\n<tbody>\n"
        for run in running.runs {
            // A run counts as stuck from its own start + its pipeline's allowance, known only for the oldest.
            let isStuck = stuckAfter[run.signature].map { now > $0 && run.startUTC <= $0 } == true
            out += "<tr\(isStuck ? " class=\"h-stuck\"" : "")>"
            let name: HTML = run.pipelineName.map { "\($0)" } ?? "<i>(no name)</i>"
            out += "<td class=\"name\"><a href=\"\(links.pipeline(run.signature))\">\(name)</a>"
            if isStuck { out += " \(DashboardPage.badge(.stuck))" }
            out += "</td><td>\(DashboardPage.optional(run.environment))</td>"
            out += "<td><time datetime=\"\(run.startUTC)\">\(DashboardFormat.minute(run.startUTC))</time></td>"
            out += "<td>\(DashboardFormat.duration(now.secondsSinceEpoch - run.startUTC.secondsSinceEpoch))</td>"
            out += "<td class=\"sub\">\(DashboardPage.optional(run.runID))</td></tr>\n"
        }
        return out + "</tbody></table></div>\n"
    }

    /// The counts by health, each a link that filters on it.
    private static func tiles(pipelines: [DashboardPipeline], query: OverviewQuery, links: DashboardLinks) -> HTML {
        var base = query.onPage()
        base.health = nil
        var out: HTML = "<div class=\"tiles\">"
        let allSelected = query.health == nil ? " sel" : ""
        out += "<a class=\"tile\(allSelected)\" href=\"\(links.overview(base.parameters))\">"
        out += "<span class=\"n\" data-count=\"pipelines\">\(pipelines.count)</span><span class=\"l\">pipelines</span></a>"
        for health in PipelineHealth.allCases {
            let count = pipelines.count { $0.health == health }
            var filtered = base
            filtered.health = health
            let classes = "tile t-\(health.rawValue)\(count == 0 ? " zero" : "")\(query.health == health ? " sel" : "")"
            out += "<a class=\"\(classes)\" href=\"\(links.overview(filtered.parameters))\">"
            out += "<span class=\"n\" data-count=\"\(health.rawValue)\">\(count)</span><span class=\"l\">\(health.rawValue)</span></a>"
        }
        return out + "</div>\n"
    }

    private static func filterForm(pipelines: [DashboardPipeline], query: OverviewQuery, shown: Int, links: DashboardLinks) -> HTML {
        func options(_ values: [String?], selected: FieldChoice) -> HTML {
            var out: HTML = "<option value=\"\"\(selected == .any ? " selected" : "")>all</option>"
            // Null ("(none)") first, then the values in byte order, each spelling its own.
            let distinct = Set(values.map { $0.map(ExactText.init) }).sorted { lhs, rhs in
                guard let rhs else { return false }
                guard let lhs else { return true }
                return lhs < rhs
            }
            for value in distinct.map({ $0?.string }) {
                let choice = FieldChoice.value(value)
                let label = value.map { $0.isEmpty ? "(empty)" : $0 } ?? "(none)"
                let isSelected = selected != .any && selected.matches(value)
                out += "<option value=\"\(choice.parameter ?? "")\"\(isSelected ? " selected" : "")>\(label)</option>"
            }
            return out
        }
        var out: HTML = "<form class=\"filters\" method=\"get\" action=\"\(links.overview)\">"
        out +=
            "<label>Environment<select name=\"environment\">\(options(pipelines.map(\.signature.environment), selected: query.environment))</select></label>"
        out +=
            "<label>Type<select name=\"pipeline_type\">\(options(pipelines.map(\.signature.pipelineType), selected: query.pipelineType))</select></label>"
        out += "<label>Health<select name=\"health\"><option value=\"\"\(query.health == nil ? " selected" : "")>all</option>"
        for health in PipelineHealth.allCases {
            out += "<option value=\"\(health.rawValue)\"\(query.health == health ? " selected" : "")>\(health.rawValue)</option>"
        }
        out += "</select></label>"
        // The form starts again from the first page: it has no `page` field.
        if query.sort != .health || query.order != query.sort.defaultOrder {
            out += "<input type=\"hidden\" name=\"sort\" value=\"\(query.sort.rawValue)\">"
            out += "<input type=\"hidden\" name=\"order\" value=\"\(query.order.rawValue)\">"
        }
        out += "<button type=\"submit\">Apply</button> <a href=\"\(links.overview)\">Reset</a>"
        out += "<span class=\"count\">\(shown) of \(pipelines.count) pipelines</span></form>\n"
        return out
    }

    /// A column header that sorts by its column: a first click asks for the column's natural
    /// order, a click on the sorted column reverses it. Either starts from the first page.
    private static func header(
        _ title: String,
        _ key: OverviewQuery.SortKey,
        query: OverviewQuery,
        links: DashboardLinks,
        numeric: Bool = false
    )
        -> HTML
    {
        var target = query.onPage()
        target.sort = key
        target.order = query.sort == key ? query.order.reversed : key.defaultOrder
        let state: HTML = query.sort == key ? " class=\"on \(query.order.rawValue)\"" : .empty
        let cell: HTML = numeric ? "<th class=\"num\">" : "<th>"
        return "\(cell)<a\(state) href=\"\(links.overview(target.parameters))\">\(title)</a></th>"
    }

    /// Where the page sits among the selected rows, and links to the pages before and after it
    /// with the same filters and sort.
    private static func pager(_ paging: OverviewPaging, query: OverviewQuery, links: DashboardLinks) -> HTML {
        let first = DashboardFormat.count(Int64(paging.rows.lowerBound) + 1)
        let last = DashboardFormat.count(Int64(paging.rows.upperBound))
        var out: HTML = "<div class=\"pager\"><span class=\"page-info\">rows \(first)–\(last) of \(DashboardFormat.count(Int64(paging.total)))"
        out += " · page \(paging.page) of \(paging.pageCount)</span>"
        if paging.page > 1 {
            out += "<a class=\"prev-page\" href=\"\(links.overview(query.onPage(paging.page - 1).parameters))\">« previous page</a>"
        }
        if paging.page < paging.pageCount {
            out += "<a class=\"next-page\" href=\"\(links.overview(query.onPage(paging.page + 1).parameters))\">next page »</a>"
        }
        return out + "</div>"
    }

    private static func row(_ pipeline: DashboardPipeline, now: UTCInstant, links: DashboardLinks) -> HTML {
        let signature = pipeline.signature
        let insight = pipeline.insight
        let health = pipeline.health
        var out: HTML = "<tr class=\"h-\(health.rawValue)\" data-health=\"\(health.rawValue)\">"
        out += "<td>\(DashboardPage.badge(health, title: pipeline.healthReason(now: now)))</td>"
        let name: HTML = signature.pipelineName.map { "\($0)" } ?? "<i>(no name)</i>"
        out += "<td class=\"name\"><a href=\"\(links.pipeline(signature))\">\(name)</a>"
        out += "<span class=\"sub script\">\(DashboardPage.optional(signature.scriptName))</span></td>"
        out += "<td>\(DashboardPage.optional(signature.pipelineType))</td>"
        out += "<td>\(DashboardPage.optional(signature.environment))</td>"

        let lastRun = pipeline.summary.lastRun
        var since: HTML = "\(DashboardFormat.relative(lastRun, now: now))"
        if health == .overdue || insight?.overdue == true, let due = insight?.dueBy {
            let late = DashboardFormat.span(now.secondsSinceEpoch - due.secondsSinceEpoch)
            since = "<span class=\"late\">\(since) · \(late) overdue</span>"
        }
        out += "<td class=\"last-run\"><time datetime=\"\(lastRun)\">\(DashboardFormat.minute(lastRun))</time>"
        out += "<span class=\"sub\">\(since)</span></td>"

        let failed = pipeline.recent.first?.isFailed == true
        let status: HTML = insight?.lastStatus.map { "<span class=\"\(failed ? "st-failed" : "")\">\($0)</span>" } ?? DashboardPage.optional(nil)
        out += "<td class=\"status\">\(status)</td>"
        out += measureCell(pipeline, .duration, text: DashboardFormat.duration(insight?.lastDuration), key: "duration")
        out += measureCell(pipeline, .rowcount, text: DashboardFormat.count(insight?.lastRowcount), key: "rowcount")

        if let recent = insight?.recentRuns {
            out += "<td class=\"num runs\">\(recent.last24Hours) / \(recent.last7Days)</td>"
        } else {
            out += "<td class=\"num runs\">\(DashboardPage.optional(nil))</td>"
        }
        let failedRuns = pipeline.summary.failedRuns
        let failedClass: HTML = failedRuns > 0 ? " class=\"bad\"" : .empty
        out += "<td class=\"num failed-runs\"><span\(failedClass)>\(DashboardFormat.count(failedRuns))</span>"
        out += "<span class=\"sub\">of \(DashboardFormat.count(pipeline.summary.totalRuns))</span></td>"
        let lastClass = health.rawValue
        out += "<td>\(Sparkline.svg(pipeline.points(.duration), label: "duration of the last runs", lastClass: lastClass))</td>"
        out += "<td>\(Sparkline.svg(pipeline.points(.rowcount), label: "rowcount of the last runs", lastClass: lastClass))</td>"
        return out + "</tr>\n"
    }

    /// The latest run's duration or rowcount; when it is outside its expected band, in the
    /// anomaly colour with the band under it and in the tooltip. A failed latest run is not
    /// marked: its failure already explains odd numbers.
    private static func measureCell(_ pipeline: DashboardPipeline, _ metric: AnomalyMetric, text: String, key: String) -> HTML {
        guard let finding = pipeline.finding(metric), pipeline.recent.first?.isFailed != true else {
            return "<td class=\"num \(key)\">\(text)</td>"
        }
        let low = max(finding.expectedLow, 0)
        let band =
            switch metric {
            case .duration: "\(DashboardFormat.duration(low))–\(DashboardFormat.duration(finding.expectedHigh))"
            case .rowcount: "\(DashboardFormat.compact(low))–\(DashboardFormat.compact(finding.expectedHigh))"
            }
        return "<td class=\"num \(key)\" title=\"\(DashboardFormat.finding(finding))\"><span class=\"anom\">\(text)</span>"
            + "<span class=\"sub\">expected \(band)</span></td>"
    }
}
