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
        case .value(let wanted): ExactText.equal(wanted, value)
        }
    }
}

/// What the overview shows: filters, sort order and page, from and to its query parameters.
public struct OverviewQuery: Sendable, Hashable {
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
    /// The page of the table asked for, from 1. It may be past the last page; ``OverviewPaging``
    /// settles which page is shown.
    var page: Int = 1

    init(
        sort: SortKey = .health,
        order: SortOrder? = nil,
        environment: FieldChoice = .any,
        pipelineType: FieldChoice = .any,
        health: PipelineHealth? = nil,
        page: Int = 1
    ) {
        self.sort = sort
        self.order = order ?? sort.defaultOrder
        self.environment = environment
        self.pipelineType = pipelineType
        self.health = health
        self.page = max(page, 1)
    }

    /// Reads `sort`, `order`, `environment`, `pipeline_type`, `health` and `page`; the last value
    /// of a repeated name wins, and an unknown value falls back to the default (a dashboard link
    /// is never an error).
    public init(parameters: [(name: String, value: String)]) {
        var values: [String: String] = [:]
        for (name, value) in parameters { values[name] = value }
        let sort = values["sort"].flatMap(SortKey.init(rawValue:)) ?? .health
        self.init(
            sort: sort,
            order: values["order"].flatMap(SortOrder.init(rawValue:)),
            environment: FieldChoice(parameter: values["environment"]),
            pipelineType: FieldChoice(parameter: values["pipeline_type"]),
            health: values["health"].flatMap(PipelineHealth.init(rawValue:)),
            page: Self.page(parameter: values["page"])
        )
    }

    /// A `page` parameter as a page number: a whole number from 1 as itself, digits too many for
    /// an `Int` as past the last page, anything else (absent, 0, negative, not a number) as 1.
    static func page(parameter text: String?) -> Int {
        guard let text, !text.isEmpty else { return 1 }
        if let number = Int(text) { return max(number, 1) }
        return text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ? .max : 1
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
        if page != 1 { out.append(("page", String(page))) }
        return out
    }

    /// This query on another page (the first by default): what a link that changes the filters or
    /// the sort starts from, since the old page number means nothing in the new order.
    func onPage(_ page: Int = 1) -> OverviewQuery {
        var query = self
        query.page = max(page, 1)
        return query
    }

    func matches(_ pipeline: DashboardPipeline) -> Bool {
        environment.matches(pipeline.signature.environment) && pipelineType.matches(pipeline.signature.pipelineType)
            && (health == nil || pipeline.health == health)
    }

    /// The pipelines this query shows (on every page), in its order. Missing values sort last in
    /// either order, and so does a NaN duration, which compares with nothing; ties go by health,
    /// then latest run first, then signature, so the order is total and pages never overlap.
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
        case .name: compare(lhs.signature.pipelineName.map(ExactText.init), rhs.signature.pipelineName.map(ExactText.init))
        case .lastRun: compare(lhs.summary.lastRun, rhs.summary.lastRun)
        case .duration: compare(sortableDuration(lhs), sortableDuration(rhs))
        case .rowcount: compare(lhs.insight?.lastRowcount, rhs.insight?.lastRowcount)
        case .runs24h: compare(lhs.insight?.recentRuns.last24Hours, rhs.insight?.recentRuns.last24Hours)
        }
    }

    /// The latest run's duration; nil when it is unknown or NaN (a NaN orders against nothing, so
    /// sorting with it would not be a total order).
    private static func sortableDuration(_ pipeline: DashboardPipeline) -> Double? {
        pipeline.insight?.lastDuration.flatMap { $0.isNaN ? nil : $0 }
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

/// Which rows of the sorted overview one page shows: at most ``rowsPerPage``, so the page stays
/// a few hundred kilobytes however many pipelines there are.
struct OverviewPaging: Sendable, Hashable {
    static let rowsPerPage = 200

    /// The page shown, from 1: the one asked for, or the last page when that is past the end.
    var page: Int
    /// At least 1 (an empty table is one empty page).
    var pageCount: Int
    /// The positions of the shown rows among all the query's rows.
    var rows: Range<Int>
    /// How many rows the query selects, on all pages.
    var total: Int

    init(requested: Int, total: Int, rowsPerPage: Int = Self.rowsPerPage) {
        let total = max(total, 0)
        let perPage = max(rowsPerPage, 1)
        pageCount = max(1, total / perPage + (total % perPage == 0 ? 0 : 1))
        page = min(max(requested, 1), pageCount)
        let lower = (page - 1) * perPage
        rows = lower..<(total - lower > perPage ? lower + perPage : total)
        self.total = total
    }
}
