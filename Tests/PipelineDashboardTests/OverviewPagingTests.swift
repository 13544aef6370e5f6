import Foundation
import PipelineCore
import Testing

@testable import PipelineDashboard

/// The overview shows at most ``OverviewPaging/rowsPerPage`` rows a page, so its size does not
/// grow with the number of pipelines.
@Suite("Dashboard overview paging")
struct OverviewPagingTests {
    /// 450 pipelines (two and a quarter pages) across three environments and all four healths.
    static let many: [DashboardPipeline] = (0..<450).map { index in
        let name = "pipeline_\(String(1000 + index).dropFirst())"
        let environment = ["prod", "dev", "test"][index % 3]
        let samples = Fixtures.samples(count: 8, silentHours: index % 7 == 0 ? 20 : Int64(index % 5)) {
            if index % 11 == 0 { $0.status = "failed" }
            if index % 13 == 0 { $0.rowcount = 1 }
            $0.elapsedSeconds = Double(index % 17) * 30
        }
        return Fixtures.pipeline(name, environment: environment, samples: samples)
    }

    static func query(_ parameters: [(name: String, value: String)]) -> OverviewQuery {
        OverviewQuery(parameters: parameters)
    }

    /// The link of the pager's `class`, unescaped, read back as an overview query.
    static func pagerLink(_ linkClass: String, in html: String) -> OverviewQuery? {
        html.components(separatedBy: "<a class=\"\(linkClass)\" href=\"").dropFirst().first.map { rest in
            let href = String(rest.prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
            let query = href.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            return OverviewQuery(parameters: QueryString.parse(query))
        }
    }

    @Test("Page numbers: a bad value is page 1, past the end is the last page")
    func pageNumbers() {
        for (text, page) in [("2", 2), ("", 1), ("0", 1), ("-4", 1), ("abc", 1), ("1.5", 1), ("99999999999999999999999", Int.max)] {
            #expect(OverviewQuery.page(parameter: text) == page, "\(text)")
        }
        #expect(OverviewPaging(requested: 1, total: 0) == OverviewPaging(requested: 9, total: 0))
        #expect(OverviewPaging(requested: 1, total: 0).rows == 0..<0)
        #expect(OverviewPaging(requested: 1, total: 200).pageCount == 1)
        #expect(OverviewPaging(requested: 2, total: 201).rows == 200..<201)
        #expect(OverviewPaging(requested: .max, total: 450).page == 3)
        #expect(OverviewPaging(requested: .max, total: .max).rows.count == 7)
    }

    @Test("A page never holds more than 200 rows; a bad or out-of-range page falls back")
    func pagesAreBounded() {
        let expected = [("1", 200, "rows 1–200 of 450"), ("2", 200, "rows 201–400 of 450"), ("3", 50, "rows 401–450 of 450")]
        for (page, count, text) in expected {
            let html = Fixtures.overview(Self.many, query: Self.query([("page", page)]))
            #expect(Fixtures.rows(html).count == count)
            #expect(html.contains(text))
        }
        let first = Fixtures.rows(Fixtures.overview(Self.many)).map(\.name)
        let last = Fixtures.rows(Fixtures.overview(Self.many, query: Self.query([("page", "3")]))).map(\.name)
        for (page, rows) in [("0", first), ("-1", first), ("x", first), ("4", last), ("99999999999999999999", last)] {
            #expect(Fixtures.rows(Fixtures.overview(Self.many, query: Self.query([("page", page)]))).map(\.name) == rows, "page=\(page)")
        }
    }

    @Test(
        "Pages partition the sorted, filtered rows with no repeat or gap",
        arguments: [
            [(name: String, value: String)](),
            [("sort", "name"), ("order", "desc")],
            [("sort", "duration")],
            [("sort", "rowcount"), ("order", "asc"), ("environment", "prod")],
            [("health", "ok"), ("sort", "last_run")],
        ]
    )
    func pagesPartitionTheRows(parameters: [(name: String, value: String)]) throws {
        let query = Self.query(parameters)
        let sorted = query.apply(to: Self.many).map { $0.signature.pipelineName ?? "" }
        var shown: [String] = []
        var page: OverviewQuery? = query
        var pages = 0
        while let current = page {
            let html = Fixtures.overview(Self.many, query: current)
            let rows = Fixtures.rows(html).map(\.name)
            #expect(rows.count <= OverviewPaging.rowsPerPage)
            shown += rows
            page = Self.pagerLink("next-page", in: html)
            pages += 1
            try #require(pages <= 3)
        }
        #expect(shown == sorted)
        #expect(Set(shown).count == shown.count)
    }

    @Test("Previous and next links keep the filters and the sort; sort and filter links start again from page 1")
    func linksKeepTheQuery() throws {
        // Three copies of every pipeline under other names: 450 in prod, three pages.
        let pipelines = (0..<3).flatMap { copy in
            Self.many.map { pipeline in
                var renamed = pipeline
                renamed.summary.signature.pipelineName = (pipeline.signature.pipelineName ?? "") + "_\(copy)"
                return renamed
            }
        }
        let query = Self.query([("environment", "prod"), ("sort", "name"), ("order", "desc")])
        #expect(query.apply(to: pipelines).count == 450)

        let middle = Fixtures.overview(pipelines, query: query.onPage(2))
        #expect(middle.contains("rows 201–400 of 450"))
        #expect(Self.pagerLink("prev-page", in: middle) == query.onPage(1))
        #expect(Self.pagerLink("next-page", in: middle) == query.onPage(3))
        #expect(middle.contains("<a class=\"prev-page\" href=\"/ui?environment=prod&amp;sort=name&amp;order=desc\">"))
        #expect(middle.contains("<a class=\"next-page\" href=\"/ui?environment=prod&amp;sort=name&amp;order=desc&amp;page=3\">"))
        // Every other link (tiles, column headers) changes the filters or the sort, so it has no page.
        for href in Fixtures.attributes("href", in: middle) where href.hasPrefix("/ui?") && !middle.contains("-page\" href=\"\(href)\"") {
            #expect(!href.contains("page="), "\(href)")
        }

        let last = Fixtures.overview(pipelines, query: query.onPage(3))
        #expect(last.contains("rows 401–450 of 450"))
        #expect(Self.pagerLink("prev-page", in: last) == query.onPage(2))
        #expect(Self.pagerLink("next-page", in: last) == nil)
        #expect(Self.pagerLink("prev-page", in: Fixtures.overview(pipelines, query: query)) == nil)
    }

    @Test("The page's size does not grow with the number of pipelines")
    func pageSizeIsBounded() {
        func pipelines(_ count: Int) -> [DashboardPipeline] {
            (0..<count).map { index in
                Fixtures.pipeline("p\(index)", environment: ["prod", "dev"][index % 2], samples: Fixtures.samples(count: 2))
            }
        }
        let small = Fixtures.overview(pipelines(400)).utf8.count
        let large = Fixtures.overview(pipelines(8000)).utf8.count
        #expect(Double(large) < Double(small) * 1.02, "\(small) bytes for 400 pipelines, \(large) for 8000")
    }

    @Test("The health counts and the filter choices cover every pipeline, not just the page")
    func countsCoverEveryPipeline() {
        var pipelines = Self.many
        pipelines.append(Fixtures.pipeline("zzz_last", environment: "rare_env", samples: Fixtures.samples(count: 8)))
        let html = Fixtures.overview(pipelines, query: Self.query([("sort", "name")]))
        #expect(!Fixtures.rows(html).contains { $0.name == "zzz_last" })
        #expect(html.contains("data-count=\"pipelines\">451<"))
        let healthCounts = PipelineHealth.allCases.map { health in pipelines.count { $0.health == health } }
        #expect(healthCounts.reduce(0, +) == 451)
        for (health, count) in zip(PipelineHealth.allCases, healthCounts) {
            #expect(html.contains("data-count=\"\(health.rawValue)\">\(count)<"))
        }
        #expect(html.contains("<option value=\"rare_env\">rare_env</option>"))
        #expect(html.contains("451 of 451 pipelines"))
    }
}
