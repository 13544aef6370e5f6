import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineDashboard

/// The pages at `/ui`, rendered from the insight numbers: these tests drive the renderers
/// directly with data built in memory.
@Suite("Dashboard renderers")
struct DashboardRendererTests {
    // MARK: - Escaping

    @Test("A hostile pipeline name, script or environment is shown as text on every page")
    func hostileNamesAreEscaped() {
        let hostile = "<script>alert(1)</script>"
        let pipeline = Fixtures.pipeline(
            hostile,
            script: "\"><img src=x onerror=alert(2)>",
            environment: "'><svg onload=alert(3)>",
            samples: Fixtures.samples(count: 10)
        )
        let overview = Fixtures.overview([pipeline])
        let detail = Fixtures.page(pipeline)
        for html in [overview, detail] {
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("<img src=x"))
            #expect(!html.contains("<svg onload"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"))
        }
        // The link to the pipeline page carries the name percent-encoded.
        #expect(overview.contains("/ui/pipeline?pipeline_name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"))
    }

    @Test("Query values are percent-encoded so they come back exactly")
    func linksRoundTripThroughTheQueryString() {
        let signature = PipelineSignature(pipelineName: "a&b=c d+é", scriptName: nil, pipelineType: "", environment: "prod")
        let url = Fixtures.links.pipeline(signature)
        let query = String(url.split(separator: "?", maxSplits: 1)[1])
        let parsed = QueryString.parse(query)
        #expect(parsed.map(\.name) == ["pipeline_name", "pipeline_type", "environment"])
        #expect(parsed.map(\.value) == ["a&b=c d+é", "", "prod"])
    }

    // MARK: - Overview

    @Test("Each health shows its badge, and the header counts each health")
    func badgesAndCounts() {
        let html = Fixtures.overview(Fixtures.mixed)
        let rows = Fixtures.rows(html)
        #expect(
            Set(rows.map { "\($0.name)=\($0.health)" }) == [
                "healthy_ingest=ok", "failing_export=failed", "silent_sync=overdue", "dropping_load=anomaly",
            ]
        )
        // No pipeline of the fixture has a run still running or is young and idle: none is stuck or inactive.
        for health in PipelineHealth.allCases where health != .stuck && health != .inactive {
            #expect(html.contains("<span class=\"badge b-\(health.rawValue)\""))
            #expect(html.contains("data-count=\"\(health.rawValue)\">1<"))
        }
        #expect(html.contains("data-count=\"stuck\">0<"))
        #expect(html.contains("data-count=\"inactive\">0<"))
        #expect(html.contains("data-count=\"pipelines\">4<"))
    }

    @Test("An anomalous rowcount shows the observed value and its expected band in text and tooltip")
    func anomalyShowsItsBand() throws {
        let html = Fixtures.overview(Fixtures.mixed, query: OverviewQuery(health: .anomaly))
        #expect(Fixtures.rows(html).map(\.name) == ["dropping_load"])
        let cell = try #require(html.components(separatedBy: "<td class=\"num rowcount\"").dropFirst().first)
        #expect(cell.hasPrefix(" title=\"rowcount 1,000 outside expected "))
        #expect(cell.contains("<span class=\"anom\">1,000</span><span class=\"sub\">expected "))
    }

    @Test("Rows come most urgent first, then latest run first; a column header sorts by that column")
    func rowsAreSorted() {
        var pipelines = Fixtures.mixed
        pipelines.append(Fixtures.pipeline("older_ok", samples: Fixtures.samples(count: 48, silentHours: 1)))
        pipelines.append(Fixtures.pipeline("another_failure", samples: Fixtures.samples(count: 3, silentHours: 2) { $0.status = "failed" }))
        let byHealth = Fixtures.rows(Fixtures.overview(pipelines, query: OverviewQuery()))
        #expect(byHealth.map(\.name) == ["failing_export", "another_failure", "silent_sync", "dropping_load", "healthy_ingest", "older_ok"])

        let byName = Fixtures.rows(Fixtures.overview(pipelines, query: OverviewQuery(sort: .name)))
        #expect(byName.map(\.name) == byName.map(\.name).sorted())
        let byNameDesc = OverviewQuery(parameters: [("sort", "name"), ("order", "desc")])
        let reversed = Fixtures.rows(Fixtures.overview(pipelines, query: byNameDesc))
        #expect(reversed.map(\.name) == byName.map(\.name).reversed())

        let byRows = Fixtures.rows(Fixtures.overview(pipelines, query: OverviewQuery(sort: .rowcount)))
        #expect(byRows.last?.name == "dropping_load")
        let byRuns = Fixtures.rows(Fixtures.overview(pipelines, query: OverviewQuery(sort: .runs24h)))
        #expect(byRuns.last?.name == "another_failure")
    }

    @Test("Sort links ask for the column's natural order first and reverse the sorted column")
    func sortLinksToggle() {
        let html = Fixtures.overview(Fixtures.mixed, query: OverviewQuery(sort: .rowcount))
        let hrefs = Fixtures.attributes("href", in: html)
        #expect(hrefs.contains("/ui?sort=rowcount&amp;order=asc"))
        #expect(hrefs.contains("/ui?sort=last_run&amp;order=desc"))
        #expect(hrefs.contains("/ui?sort=name&amp;order=asc"))
        #expect(hrefs.contains("/ui"))  // health ascending is the default, so its link has no parameters
        #expect(html.contains("<a class=\"on desc\" href=\"/ui?sort=rowcount&amp;order=asc\">Rows</a>"))
    }

    @Test("Filters select by environment, type (null included) and health, and keep the sort")
    func filtersSelect() {
        var pipelines = Fixtures.mixed
        pipelines.append(Fixtures.pipeline("unlabelled", type: nil, environment: nil, samples: Fixtures.samples(count: 8)))
        func names(_ parameters: [(name: String, value: String)]) -> Set<String> {
            Set(
                Fixtures.rows(Fixtures.overview(pipelines, query: OverviewQuery(parameters: parameters)))
                    .map(\.name)
            )
        }
        #expect(names([("environment", "dev")]) == ["silent_sync"])
        #expect(names([("pipeline_type", "streaming")]) == ["dropping_load"])
        #expect(names([("environment", "~null")]) == ["unlabelled"])
        #expect(names([("health", "failed")]) == ["failing_export"])
        #expect(names([("environment", ""), ("health", "bogus"), ("sort", "bogus")]).count == 5)

        let html = Fixtures.overview(pipelines, query: OverviewQuery(sort: .name, environment: .value("prod")))
        #expect(html.contains("<option value=\"~null\">(none)</option>"))
        #expect(html.contains("<option value=\"prod\" selected>prod</option>"))
        #expect(html.contains("<input type=\"hidden\" name=\"sort\" value=\"name\">"))
    }

    @Test("Field choices write every value, null and empty included, so they read back the same")
    func fieldChoicesRoundTrip() {
        for choice in [FieldChoice.any, .value(nil), .value(""), .value("prod"), .value("~x"), .value("~null"), .value("~=")] {
            #expect(FieldChoice(parameter: choice.parameter) == choice)
        }
        #expect(FieldChoice.value("prod").parameter == "prod")
    }

    @Test("A sparkline draws at most 60 recent runs and marks the latest")
    func sparklinesDrawRecentRuns() {
        func points(_ svg: String) -> Int {
            (Fixtures.attributes("points", in: svg).first ?? "").split(separator: " ").count
        }
        let long = Fixtures.pipeline("long", samples: Fixtures.samples(count: 200))
        let short = Fixtures.pipeline("short", samples: Fixtures.samples(count: 5))
        let longLine = Sparkline.svg(long.points(.duration), label: "duration", lastClass: "ok").markup
        #expect(points(longLine) == 60)
        #expect(longLine.contains("data-points=\"60\""))
        #expect(points(Sparkline.svg(short.points(.rowcount), label: "rows", lastClass: "ok").markup) == 5)
        #expect(longLine.contains("<circle class=\"spark-last ok\""))
        #expect(Sparkline.svg([], label: "none", lastClass: "ok").markup.contains("—"))

        let html = Fixtures.overview([long], query: OverviewQuery())
        #expect(Fixtures.attributes("data-points", in: html) == ["60", "60"])
    }

    @Test("Failed runs in a sparkline are red dots")
    func sparklineMarksFailures() {
        let samples = Fixtures.samples(count: 10).enumerated().map { index, sample in
            var sample = sample
            if index == 4 { sample.status = "failed" }
            return sample
        }
        let svg = Sparkline.svg(Fixtures.pipeline("x", samples: samples).points(.duration), label: "d", lastClass: "ok").markup
        #expect(svg.components(separatedBy: "class=\"pt-failed\"").count == 2)
    }

    // MARK: - Pipeline page

    @Test("The pipeline page draws both charts with the expected band and highlights an anomalous latest run")
    func chartsShowTheBand() throws {
        let pipeline = Fixtures.mixed[3]
        let html = Fixtures.page(pipeline)
        #expect(html.contains("<section class=\"panel chart-duration\">"))
        #expect(html.contains("<section class=\"panel chart-rowcount\">"))
        #expect(html.components(separatedBy: "<rect class=\"band\"").count == 3)
        #expect(html.contains("<circle class=\"pt-latest anomaly\""))
        #expect(Fixtures.attributes("data-points", in: html) == ["48", "48"])
        #expect(html.contains("<li class=\"finding\">rowcount 1,000 outside expected "))

        let (band, finding) = try #require(PipelinePage.band(pipeline, .rowcount, settings: .standard))
        let baseline = Array(pipeline.recent.dropFirst().prefix(InsightSettings.standard.anomalyBaseline))
        let expected = try #require(AnomalyFinding(metric: .rowcount, observed: 1000, baseline: baseline, settings: .standard))
        #expect(finding == expected)
        #expect(band.from == baseline.last?.startUTC)
        #expect(band.to == pipeline.recent.first?.startUTC)
        #expect(band.low == expected.expectedLow && band.high == expected.expectedHigh)
    }

    @Test("A young pipeline has no band yet; a failed latest run is drawn red")
    func chartsWithoutBand() {
        let young = Fixtures.page(Fixtures.pipeline("young", samples: Fixtures.samples(count: 3) { $0.status = "failed" }))
        #expect(!young.contains("class=\"band\""))
        #expect(young.contains("<circle class=\"pt-latest failed\""))
        #expect(young.contains("<div class=\"callout failed\">"))
        let empty = LineChart(title: "t", metric: .duration, points: [], band: nil, isLatestAnomalous: false).svg().markup
        #expect(empty.contains("No runs yet"))
    }

    @Test("Stat cards show the insight numbers")
    func statCards() {
        let pipeline = Fixtures.mixed[2]
        let html = Fixtures.page(pipeline)
        #expect(html.contains("data-stat=\"total_runs\"><span class=\"l\">Total runs</span><span class=\"v\">48</span>"))
        #expect(html.contains("data-stat=\"typical_interval\"><span class=\"l\">Usual interval</span><span class=\"v\">60 min</span>"))
        #expect(html.contains("<div class=\"card overdue\" data-stat=\"due_by\">"))
        #expect(html.contains("<div class=\"callout overdue\">"))
    }

    @Test("The run table lists each run with its fields and links to the next page by cursor")
    func runTableAndPager() throws {
        let signature = PipelineSignature(pipelineName: "p", scriptName: nil, pipelineType: "batch", environment: "prod")
        var generator = RandomRuns(seed: 7)
        let stored = generator.runs(30).enumerated().map { index, run in
            var run = run
            run.pipelineName = "p"
            run.scriptName = nil
            run.pipelineType = "batch"
            run.environment = "prod"
            run.outputFile = "/out/<b>\(index).csv"
            return StoredRun(sequence: Int64(index), info: run)
        }
        let parameters: [(name: String, value: String)] = [("limit", "10"), ("min_rowcount", "0")]
        let query = try RunQuery(parameters: parameters + DashboardLinks.signatureParameters(signature))
        let runPage = query.evaluate(over: stored)
        let table = RunHistoryTable(content: .page(runPage, query), parameters: parameters)
        let pipeline = DashboardPipeline(
            summary: PipelineSummary(signature: signature, totalRuns: 30, lastRun: Fixtures.now, avgDuration: nil, avgRowcount: nil),
            recent: []
        )
        let html = Fixtures.page(pipeline, history: table)
        #expect(Fixtures.attributes("data-date-code", in: html) == runPage.runs.map(\.info.dateCode))
        #expect(html.contains("/out/&lt;b&gt;"))
        #expect(html.contains("runs 1–10 of 30"))
        let cursor = try #require(runPage.nextCursor?.description)
        #expect(
            Fixtures.attributes("href", in: html).contains(
                "/ui/pipeline?pipeline_name=p&amp;pipeline_type=batch&amp;environment=prod&amp;limit=10&amp;min_rowcount=0&amp;cursor=\(cursor)"
            )
        )
        #expect(html.contains("<input class=\"short\" name=\"limit\" placeholder=\"100\" value=\"10\">"))
        #expect(!html.contains("name=\"script_name\""))  // a null field is left out, which the page reads as null
    }

    @Test("Invalid history filters show the API's field-named messages")
    func invalidFiltersAreNamed() throws {
        let parameters: [(name: String, value: String)] = [("limit", "0"), ("start_utc", "yesterday")]
        let error = try #require(throws: ValidationError.self) { try RunQuery(parameters: parameters) }
        let table = RunHistoryTable(content: .invalid(error), parameters: parameters)
        let html = Fixtures.page(Fixtures.mixed[0], history: table)
        #expect(html.contains("<li class=\"issue\"><code>query.start_utc</code>: Input should be a valid ISO 8601 date-time"))
        #expect(html.contains("<li class=\"issue\"><code>query.limit</code>: Input should be greater than or equal to 1</li>"))
        #expect(html.contains("value=\"yesterday\""))
    }

    // MARK: - Base path

    @Test("Every link and form action is under the base path")
    func linksUseTheBasePath() {
        let links = DashboardLinks(basePath: "/pipeline-service")
        var pipelines = Fixtures.mixed
        pipelines.append(Fixtures.pipeline(nil, script: nil, type: nil, environment: nil, samples: Fixtures.samples(count: 6)))
        var generator = RandomRuns(seed: 1)
        let stored = StoredRun(sequence: 1, info: generator.next())
        let page = RunPage(total: 5, runs: [stored], nextCursor: RunCursor(position: stored.position, filterFingerprint: 1))
        let table = RunHistoryTable(
            content: .page(page, RunQuery(paging: .window(limit: 1, offset: 2))),
            parameters: [("offset", "2"), ("limit", "1")]
        )
        let html = [
            Fixtures.overview(pipelines, query: OverviewQuery(sort: .name), links: links),
            Fixtures.page(pipelines[0], history: table, links: links),
            DashboardPage.notFound(links: links, message: "none").markup,
        ]
        for page in html {
            let targets = Fixtures.attributes("href", in: page) + Fixtures.attributes("action", in: page)
            #expect(targets.count >= 5)
            for target in targets {
                #expect(target.hasPrefix("/pipeline-service/"), "\(target)")
            }
            #expect(page.contains("href=\"/pipeline-service/pipelines\""))
            #expect(page.contains("href=\"/pipeline-service/docs\""))
            #expect(page.contains("href=\"/pipeline-service/openapi.json\""))
        }
        #expect(html[1].contains("class=\"first-page\""))
        #expect(html[1].contains("class=\"next-page\""))
    }

    @Test("Pages are self-contained: no external resources")
    func pagesAreSelfContained() {
        for html in [
            Fixtures.overview(Fixtures.mixed),
            Fixtures.page(Fixtures.mixed[3]),
        ] {
            #expect(!html.contains("http://") && !html.contains("https://"))
            #expect(!html.contains("<link"))
            #expect(!html.contains("src=\""))
            #expect(!html.contains("url("))
            #expect(!html.contains("@import"))
        }
    }

    // MARK: - Formatting

    @Test("Durations, counts and relative times read naturally")
    func formatting() {
        #expect(DashboardFormat.duration(0.42) == "0.4 s")
        #expect(DashboardFormat.duration(42.4) == "42 s")
        #expect(DashboardFormat.duration(2424.879) == "40m 25s")
        #expect(DashboardFormat.duration(3 * 3600 + 7 * 60) == "3h 07m")
        #expect(DashboardFormat.duration(nil) == "—")
        #expect(DashboardFormat.count(11_060) == "11,060")
        #expect(DashboardFormat.count(-1_234_567) == "-1,234,567")
        #expect(DashboardFormat.count(999) == "999")
        #expect(DashboardFormat.compact(12_500) == "12.5k")
        #expect([0, 45, 1800, 5400, 7200, 172_800].map(DashboardFormat.durationTick) == ["0 s", "45 s", "30m", "1h 30m", "2h", "2d"])
        #expect(DashboardFormat.interval(3600) == "60 min")
        #expect(DashboardFormat.interval(86_400) == "24 h")
        let now = Fixtures.now
        func ago(_ seconds: Int64) -> UTCInstant { UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - seconds * 1_000_000) }
        #expect(DashboardFormat.relative(ago(10), now: now) == "just now")
        #expect(DashboardFormat.relative(ago(3 * 3600 + 5), now: now) == "3 h ago")
        #expect(DashboardFormat.relative(ago(5 * 86_400), now: now) == "5 d ago")
        #expect(DashboardFormat.relative(ago(-7200), now: now) == "in 2 h")
        #expect(DashboardFormat.timestamp(UTCInstant(iso8601: "2025-09-02T12:07:02.5Z")!) == "2025-09-02 12:07 UTC")
        #expect(DashboardFormat.seconds(UTCInstant(iso8601: "2025-09-02T12:07:02.5Z")!) == "2025-09-02T12:07:02Z")
    }

    @Test("Chart ticks are round numbers covering the values")
    func niceTicks() {
        #expect(LineChart.niceTicks(low: 0, high: 11_200) == [0, 2500, 5000, 7500, 10_000, 12_500])
        #expect(LineChart.niceTicks(low: 0, high: 1).map(DashboardFormat.compact) == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        #expect(LineChart.niceTicks(low: 0, high: 3_700) == [0, 1000, 2000, 3000, 4000])
    }
}
