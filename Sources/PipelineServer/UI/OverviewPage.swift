import PipelineCore

/// A filter on one optional signature field: any value, or exactly one value (null included).
///
/// In a query string the value is written as itself; the few values that could be mistaken for
/// something else are escaped, so every stored value — null, empty, or anything — can be chosen:
/// an absent or empty parameter is "any", `~null` is null, `~=` followed by text is that text.
enum FieldChoice: Sendable, Hashable {
    case any
    case value(String?)

    init(parameter text: String?) {
        guard let text, !text.isEmpty else {
            self = .any
            return
        }
        if text == "~null" {
            self = .value(nil)
        } else if text.hasPrefix("~=") {
            self = .value(String(text.dropFirst(2)))
        } else {
            self = .value(text)
        }
    }

    /// The parameter text; nil for `.any`, which is left out.
    var parameter: String? {
        switch self {
        case .any: nil
        case .value(nil): "~null"
        case .value(let text?): text.isEmpty || text.hasPrefix("~") ? "~=" + text : text
        }
    }

    func matches(_ value: String?) -> Bool {
        switch self {
        case .any: true
        case .value(let wanted): wanted == value
        }
    }
}

/// What the overview shows: filters and sort order, from and to its query parameters.
struct OverviewQuery: Sendable, Hashable {
    /// The sortable columns, as the `sort` parameter names them.
    enum SortKey: String, Sendable, CaseIterable {
        case health
        case name
        case lastRun = "last_run"
        case duration
        case rowcount
        case runs24h = "runs_24h"

        /// The order a first click on the column asks for: most urgent, A to Z, or largest first.
        var defaultOrder: SortOrder {
            switch self {
            case .health, .name: .asc
            case .lastRun, .duration, .rowcount, .runs24h: .desc
            }
        }
    }

    enum SortOrder: String, Sendable, CaseIterable {
        case asc
        case desc

        var reversed: SortOrder { self == .asc ? .desc : .asc }
    }

    var sort: SortKey = .health
    var order: SortOrder = .asc
    var environment: FieldChoice = .any
    var pipelineType: FieldChoice = .any
    var health: PipelineHealth?

    init(
        sort: SortKey = .health,
        order: SortOrder? = nil,
        environment: FieldChoice = .any,
        pipelineType: FieldChoice = .any,
        health: PipelineHealth? = nil
    ) {
        self.sort = sort
        self.order = order ?? sort.defaultOrder
        self.environment = environment
        self.pipelineType = pipelineType
        self.health = health
    }

    /// Reads `sort`, `order`, `environment`, `pipeline_type` and `health`; the last value of a
    /// repeated name wins, and an unknown value falls back to the default (a dashboard link is
    /// never an error).
    init(parameters: [(name: String, value: String)]) {
        var values: [String: String] = [:]
        for (name, value) in parameters { values[name] = value }
        let sort = values["sort"].flatMap(SortKey.init(rawValue:)) ?? .health
        self.init(
            sort: sort,
            order: values["order"].flatMap(SortOrder.init(rawValue:)),
            environment: FieldChoice(parameter: values["environment"]),
            pipelineType: FieldChoice(parameter: values["pipeline_type"]),
            health: values["health"].flatMap(PipelineHealth.init(rawValue:))
        )
    }

    /// The parameters that reproduce this query, defaults left out.
    var parameters: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        if let environment = environment.parameter { out.append(("environment", environment)) }
        if let pipelineType = pipelineType.parameter { out.append(("pipeline_type", pipelineType)) }
        if let health { out.append(("health", health.rawValue)) }
        if sort != .health || order != sort.defaultOrder {
            out.append(("sort", sort.rawValue))
            out.append(("order", order.rawValue))
        }
        return out
    }

    func matches(_ pipeline: DashboardPipeline) -> Bool {
        environment.matches(pipeline.signature.environment) && pipelineType.matches(pipeline.signature.pipelineType)
            && (health == nil || pipeline.health == health)
    }

    /// The pipelines this query shows, in its order. Missing values sort last in either order;
    /// ties go by health, then latest run first, then signature, so the order is total.
    func apply(to pipelines: [DashboardPipeline]) -> [DashboardPipeline] {
        pipelines.filter(matches).sorted { lhs, rhs in
            switch Self.compare(lhs, rhs, by: sort) {
            case .ordered(let ascending): return order == .asc ? ascending : !ascending
            case .oneMissing(let lhsFirst): return lhsFirst
            case .tie: break
            }
            if lhs.health != rhs.health { return lhs.health < rhs.health }
            if lhs.summary.lastRun != rhs.summary.lastRun { return lhs.summary.lastRun > rhs.summary.lastRun }
            return lhs.signature < rhs.signature
        }
    }

    private enum Comparison {
        /// Whether the left one comes first in ascending order.
        case ordered(Bool)
        /// Exactly one value is missing; whether the left one (which has a value) comes first.
        case oneMissing(Bool)
        case tie
    }

    private static func compare(_ lhs: DashboardPipeline, _ rhs: DashboardPipeline, by key: SortKey) -> Comparison {
        switch key {
        case .health: compare(lhs.health, rhs.health)
        case .name: compare(lhs.signature.pipelineName, rhs.signature.pipelineName)
        case .lastRun: compare(lhs.summary.lastRun, rhs.summary.lastRun)
        case .duration: compare(lhs.insight?.lastDuration, rhs.insight?.lastDuration)
        case .rowcount: compare(lhs.insight?.lastRowcount, rhs.insight?.lastRowcount)
        case .runs24h: compare(lhs.insight?.recentRuns.last24Hours, rhs.insight?.recentRuns.last24Hours)
        }
    }

    private static func compare<Value: Comparable>(_ lhs: Value?, _ rhs: Value?) -> Comparison {
        switch (lhs, rhs) {
        case (nil, nil): .tie
        case (nil, _?): .oneMissing(false)
        case (_?, nil): .oneMissing(true)
        case (let left?, let right?): left == right ? .tie : .ordered(left < right)
        }
    }
}

/// `GET /ui`: every pipeline signature on one screen, the ones that need attention first.
enum OverviewPage {
    /// - Parameters:
    ///   - pipelines: every signature (the counts in the header cover them all; the table shows
    ///     those the query selects).
    ///   - now: the instant "3 h ago" is measured from.
    static func render(pipelines: [DashboardPipeline], query: OverviewQuery, now: UTCInstant, links: DashboardLinks) -> String {
        let rows = query.apply(to: pipelines)
        var body =
            "<div class=\"titlebar\"><h1>Pipelines</h1><span class=\"muted\">as of \(HTML.escape(DashboardFormat.timestamp(now)))</span></div>\n"
        body += tiles(pipelines: pipelines, query: query, links: links)
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
        for pipeline in rows {
            body += row(pipeline, now: now, links: links)
        }
        if rows.isEmpty {
            let message =
                pipelines.isEmpty
                ? "No runs stored yet. Runs appear here as pipelines report them (POST \(links.summariesAPI))."
                : "No pipeline matches these filters."
            body += "<tr><td colspan=\"12\" class=\"empty\">\(HTML.escape(message))</td></tr>\n"
        }
        body += "</tbody></table></div>"
        return DashboardPage.document(title: "Pipelines — pipeline runs", links: links, body: body)
    }

    /// The counts by health, each a link that filters on it.
    private static func tiles(pipelines: [DashboardPipeline], query: OverviewQuery, links: DashboardLinks) -> String {
        var base = query
        base.health = nil
        var out = "<div class=\"tiles\">"
        let allSelected = query.health == nil ? " sel" : ""
        out += "<a class=\"tile\(allSelected)\" href=\"\(HTML.escape(links.overview(base.parameters)))\">"
        out += "<span class=\"n\" data-count=\"pipelines\">\(pipelines.count)</span><span class=\"l\">pipelines</span></a>"
        for health in PipelineHealth.allCases {
            let count = pipelines.count { $0.health == health }
            var filtered = base
            filtered.health = health
            let classes = "tile t-\(health.rawValue)\(count == 0 ? " zero" : "")\(query.health == health ? " sel" : "")"
            out += "<a class=\"\(classes)\" href=\"\(HTML.escape(links.overview(filtered.parameters)))\">"
            out += "<span class=\"n\" data-count=\"\(health.rawValue)\">\(count)</span><span class=\"l\">\(health.rawValue)</span></a>"
        }
        return out + "</div>\n"
    }

    private static func filterForm(pipelines: [DashboardPipeline], query: OverviewQuery, shown: Int, links: DashboardLinks) -> String {
        func options(_ values: [String?], selected: FieldChoice) -> String {
            var out = "<option value=\"\"\(selected == .any ? " selected" : "")>all</option>"
            // Null ("(none)") first, then the values A to Z.
            let distinct = Set(values).sorted { lhs, rhs in
                guard let rhs else { return false }
                guard let lhs else { return true }
                return lhs < rhs
            }
            for value in distinct {
                let choice = FieldChoice.value(value)
                let label = value.map { $0.isEmpty ? "(empty)" : $0 } ?? "(none)"
                out +=
                    "<option value=\"\(HTML.escape(choice.parameter ?? ""))\"\(selected == choice ? " selected" : "")>\(HTML.escape(label))</option>"
            }
            return out
        }
        var out = "<form class=\"filters\" method=\"get\" action=\"\(HTML.escape(links.overview))\">"
        out +=
            "<label>Environment<select name=\"environment\">\(options(pipelines.map(\.signature.environment), selected: query.environment))</select></label>"
        out +=
            "<label>Type<select name=\"pipeline_type\">\(options(pipelines.map(\.signature.pipelineType), selected: query.pipelineType))</select></label>"
        out += "<label>Health<select name=\"health\"><option value=\"\"\(query.health == nil ? " selected" : "")>all</option>"
        for health in PipelineHealth.allCases {
            out += "<option value=\"\(health.rawValue)\"\(query.health == health ? " selected" : "")>\(health.rawValue)</option>"
        }
        out += "</select></label>"
        if query.sort != .health || query.order != query.sort.defaultOrder {
            out += "<input type=\"hidden\" name=\"sort\" value=\"\(query.sort.rawValue)\">"
            out += "<input type=\"hidden\" name=\"order\" value=\"\(query.order.rawValue)\">"
        }
        out += "<button type=\"submit\">Apply</button> <a href=\"\(HTML.escape(links.overview))\">Reset</a>"
        out += "<span class=\"count\">\(shown) of \(pipelines.count) pipelines</span></form>\n"
        return out
    }

    /// A column header that sorts by its column: a first click asks for the column's natural
    /// order, a click on the sorted column reverses it.
    private static func header(
        _ title: String,
        _ key: OverviewQuery.SortKey,
        query: OverviewQuery,
        links: DashboardLinks,
        numeric: Bool = false
    )
        -> String
    {
        var target = query
        target.sort = key
        target.order = query.sort == key ? query.order.reversed : key.defaultOrder
        let state = query.sort == key ? " class=\"on \(query.order.rawValue)\"" : ""
        let cell = numeric ? "<th class=\"num\">" : "<th>"
        return "\(cell)<a\(state) href=\"\(HTML.escape(links.overview(target.parameters)))\">\(HTML.escape(title))</a></th>"
    }

    private static func row(_ pipeline: DashboardPipeline, now: UTCInstant, links: DashboardLinks) -> String {
        let signature = pipeline.signature
        let insight = pipeline.insight
        let health = pipeline.health
        var out = "<tr class=\"h-\(health.rawValue)\" data-health=\"\(health.rawValue)\">"
        out += "<td>\(DashboardPage.badge(health, title: pipeline.healthReason(now: now)))</td>"
        let name = signature.pipelineName.map(HTML.escape) ?? "<i>(no name)</i>"
        out += "<td class=\"name\"><a href=\"\(HTML.escape(links.pipeline(signature)))\">\(name)</a>"
        out += "<span class=\"sub script\">\(DashboardPage.optional(signature.scriptName))</span></td>"
        out += "<td>\(DashboardPage.optional(signature.pipelineType))</td>"
        out += "<td>\(DashboardPage.optional(signature.environment))</td>"

        let lastRun = pipeline.summary.lastRun
        var since = HTML.escape(DashboardFormat.relative(lastRun, now: now))
        if health == .overdue || insight?.overdue == true, let due = insight?.dueBy {
            let late = DashboardFormat.span(now.secondsSinceEpoch - due.secondsSinceEpoch)
            since = "<span class=\"late\">\(since) · \(HTML.escape(late)) overdue</span>"
        }
        out +=
            "<td class=\"last-run\"><time datetime=\"\(lastRun)\">\(HTML.escape(DashboardFormat.minute(lastRun)))</time>"
        out += "<span class=\"sub\">\(since)</span></td>"

        let status = insight?.lastStatus
        let failed = pipeline.recent.first?.isFailed == true
        out +=
            "<td class=\"status\">\(status.map { "<span class=\"\(failed ? "st-failed" : "")\">\(HTML.escape($0))</span>" } ?? DashboardPage.optional(nil))</td>"
        out += measureCell(pipeline, .duration, text: DashboardFormat.duration(insight?.lastDuration), key: "duration")
        out += measureCell(pipeline, .rowcount, text: DashboardFormat.count(insight?.lastRowcount), key: "rowcount")

        if let recent = insight?.recentRuns {
            out += "<td class=\"num runs\">\(recent.last24Hours) / \(recent.last7Days)</td>"
        } else {
            out += "<td class=\"num runs\">\(DashboardPage.optional(nil))</td>"
        }
        let failedRuns = pipeline.summary.failedRuns
        out += "<td class=\"num failed-runs\"><span\(failedRuns > 0 ? " class=\"bad\"" : "")>\(DashboardFormat.count(failedRuns))</span>"
        out += "<span class=\"sub\">of \(DashboardFormat.count(pipeline.summary.totalRuns))</span></td>"
        let lastClass = health.rawValue
        out += "<td>\(Sparkline.svg(pipeline.points(.duration), label: "duration of the last runs", lastClass: lastClass))</td>"
        out += "<td>\(Sparkline.svg(pipeline.points(.rowcount), label: "rowcount of the last runs", lastClass: lastClass))</td>"
        return out + "</tr>\n"
    }

    /// The latest run's duration or rowcount; when it is outside its expected band, in the
    /// anomaly colour with the band under it and in the tooltip. A failed latest run is not
    /// marked: its failure already explains odd numbers.
    private static func measureCell(_ pipeline: DashboardPipeline, _ metric: AnomalyMetric, text: String, key: String) -> String {
        guard let finding = pipeline.finding(metric), pipeline.recent.first?.isFailed != true else {
            return "<td class=\"num \(key)\">\(HTML.escape(text))</td>"
        }
        let low = max(finding.expectedLow, 0)
        let band =
            switch metric {
            case .duration: "\(DashboardFormat.duration(low))–\(DashboardFormat.duration(finding.expectedHigh))"
            case .rowcount: "\(DashboardFormat.compact(low))–\(DashboardFormat.compact(finding.expectedHigh))"
            }
        return "<td class=\"num \(key)\" title=\"\(HTML.escape(DashboardFormat.finding(finding)))\"><span class=\"anom\">\(HTML.escape(text))</span>"
            + "<span class=\"sub\">expected \(HTML.escape(band))</span></td>"
    }
}
