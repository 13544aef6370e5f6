import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

@testable import PipelineServer

/// Issue 7 "Dashboard": the pages at `/ui`, rendered on the server from the insight numbers.
/// These tests drive the renderers directly with data built in memory.
@Suite("Dashboard renderers")
struct DashboardRendererTests {
    static let now = UTCInstant(iso8601: "2025-09-30T12:00:00Z")!
    static let links = DashboardLinks(basePath: "")

    /// `count` hourly runs ending `silentHours` before `now`, newest first; `latest` changes the newest one.
    static func samples(
        count: Int,
        every interval: Int64 = 3600,
        silentHours: Int64 = 0,
        latest: (inout RunSample) -> Void = { _ in }
    ) -> [RunSample] {
        let newest = now.microsecondsSinceEpoch - silentHours * 3_600_000_000 - 600_000_000
        var samples = (0..<count).map { index in
            RunSample(
                startUTC: UTCInstant(microsecondsSinceEpoch: newest - Int64(index) * interval * 1_000_000),
                elapsedSeconds: 600 + Double(index % 7) * 10,
                rowcount: 10_000 + Int64(index % 5) * 100,
                status: "success",
                exitCode: 0,
                dateCode: "run_\(index)"
            )
        }
        if !samples.isEmpty { latest(&samples[0]) }
        return samples
    }

    static func pipeline(
        _ name: String?,
        script: String? = "job.py",
        type: String? = "batch",
        environment: String? = "prod",
        samples: [RunSample]
    ) -> DashboardPipeline {
        let insight = PipelineInsight(recentNewestFirst: samples, now: now)
        let summary = PipelineSummary(
            signature: PipelineSignature(pipelineName: name, scriptName: script, pipelineType: type, environment: environment),
            totalRuns: Int64(samples.count),
            lastRun: samples.first?.startUTC ?? now,
            avgDuration: nil,
            avgRowcount: nil,
            failedRuns: Int64(samples.count { $0.isFailed }),
            insight: insight
        )
        return DashboardPipeline(summary: summary, recent: samples)
    }

    /// One pipeline of each health.
    static var mixed: [DashboardPipeline] {
        [
            pipeline("healthy_ingest", samples: samples(count: 48)),
            pipeline(
                "failing_export",
                samples: samples(count: 48) {
                    $0.status = "failed"
                    $0.exitCode = 1
                }
            ),
            pipeline("silent_sync", environment: "dev", samples: samples(count: 48, silentHours: 10)),
            pipeline("dropping_load", type: "streaming", samples: samples(count: 48) { $0.rowcount = 1_000 }),
        ]
    }

    static func page(_ pipeline: DashboardPipeline, history: RunHistoryTable? = nil, links: DashboardLinks = links) -> String {
        let table = history ?? RunHistoryTable(content: .page(RunPage(total: 0, runs: []), RunQuery()), parameters: [])
        let daily = DailyRuns(
            history: RunHistory(bucketSize: .day, zoneName: "UTC", buckets: []),
            link: links.basePath + "/pipelines/history",
            isExact: true
        )
        return PipelinePage.render(pipeline: pipeline, settings: .standard, history: table, daily: daily, now: now, links: links)
    }

    /// The rows of the overview table, in order, as (health, pipeline name) pairs.
    static func rows(_ html: String) -> [(health: String, name: String)] {
        html.components(separatedBy: "<tr class=\"h-").dropFirst().map { row in
            let health = String(row.prefix { $0 != "\"" })
            let link = row.components(separatedBy: "<td class=\"name\"><a href=\"").dropFirst().first ?? ""
            let name = link.components(separatedBy: "\">").dropFirst().first?.components(separatedBy: "</a>").first ?? ""
            return (health, name)
        }
    }

    /// Every value of `attribute="…"` in the page.
    static func attributes(_ attribute: String, in html: String) -> [String] {
        html.components(separatedBy: " \(attribute)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    // MARK: - Escaping

    @Test("HTML escaping replaces the five special characters")
    func escapingReplacesSpecialCharacters() {
        #expect(HTML.escape("<script>alert('x') & \"y\"</script>") == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
        #expect(HTML.escape("plain é ✓") == "plain é ✓")
    }

    @Test("A hostile pipeline name, script or environment is shown as text on every page")
    func hostileNamesAreEscaped() {
        let hostile = "<script>alert(1)</script>"
        let pipeline = Self.pipeline(
            hostile,
            script: "\"><img src=x onerror=alert(2)>",
            environment: "'><svg onload=alert(3)>",
            samples: Self.samples(count: 10)
        )
        let overview = OverviewPage.render(pipelines: [pipeline], query: OverviewQuery(), now: Self.now, links: Self.links)
        let detail = Self.page(pipeline)
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
        let url = Self.links.pipeline(signature)
        let query = String(url.split(separator: "?", maxSplits: 1)[1])
        let parsed = QueryString.parse(query)
        #expect(parsed.map(\.name) == ["pipeline_name", "pipeline_type", "environment"])
        #expect(parsed.map(\.value) == ["a&b=c d+é", "", "prod"])
    }

    // MARK: - Overview

    @Test("Each health shows its badge, and the header counts each health")
    func badgesAndCounts() {
        let html = OverviewPage.render(pipelines: Self.mixed, query: OverviewQuery(), now: Self.now, links: Self.links)
        let rows = Self.rows(html)
        #expect(
            Set(rows.map { "\($0.name)=\($0.health)" }) == [
                "healthy_ingest=ok", "failing_export=failed", "silent_sync=overdue", "dropping_load=anomaly",
            ]
        )
        for health in PipelineHealth.allCases {
            #expect(html.contains("<span class=\"badge b-\(health.rawValue)\""))
            #expect(html.contains("data-count=\"\(health.rawValue)\">1<"))
        }
        #expect(html.contains("data-count=\"pipelines\">4<"))
    }

    @Test("An anomalous rowcount shows the observed value and its expected band in text and tooltip")
    func anomalyShowsItsBand() throws {
        let html = OverviewPage.render(pipelines: Self.mixed, query: OverviewQuery(health: .anomaly), now: Self.now, links: Self.links)
        #expect(Self.rows(html).map(\.name) == ["dropping_load"])
        let cell = try #require(html.components(separatedBy: "<td class=\"num rowcount\"").dropFirst().first)
        #expect(cell.hasPrefix(" title=\"rowcount 1,000 outside expected "))
        #expect(cell.contains("<span class=\"anom\">1,000</span><span class=\"sub\">expected "))
    }

    @Test("Rows come most urgent first, then latest run first; a column header sorts by that column")
    func rowsAreSorted() {
        var pipelines = Self.mixed
        pipelines.append(Self.pipeline("older_ok", samples: Self.samples(count: 48, silentHours: 1)))
        pipelines.append(Self.pipeline("another_failure", samples: Self.samples(count: 3, silentHours: 2) { $0.status = "failed" }))
        let byHealth = Self.rows(OverviewPage.render(pipelines: pipelines, query: OverviewQuery(), now: Self.now, links: Self.links))
        #expect(byHealth.map(\.name) == ["failing_export", "another_failure", "silent_sync", "dropping_load", "healthy_ingest", "older_ok"])

        let byName = Self.rows(OverviewPage.render(pipelines: pipelines, query: OverviewQuery(sort: .name), now: Self.now, links: Self.links))
        #expect(byName.map(\.name) == byName.map(\.name).sorted())
        let byNameDesc = OverviewQuery(parameters: [("sort", "name"), ("order", "desc")])
        let reversed = Self.rows(OverviewPage.render(pipelines: pipelines, query: byNameDesc, now: Self.now, links: Self.links))
        #expect(reversed.map(\.name) == byName.map(\.name).reversed())

        let byRows = Self.rows(OverviewPage.render(pipelines: pipelines, query: OverviewQuery(sort: .rowcount), now: Self.now, links: Self.links))
        #expect(byRows.last?.name == "dropping_load")
        let byRuns = Self.rows(OverviewPage.render(pipelines: pipelines, query: OverviewQuery(sort: .runs24h), now: Self.now, links: Self.links))
        #expect(byRuns.last?.name == "another_failure")
    }

    @Test("Sort links ask for the column's natural order first and reverse the sorted column")
    func sortLinksToggle() {
        let html = OverviewPage.render(pipelines: Self.mixed, query: OverviewQuery(sort: .rowcount), now: Self.now, links: Self.links)
        let hrefs = Self.attributes("href", in: html)
        #expect(hrefs.contains("/ui?sort=rowcount&amp;order=asc"))
        #expect(hrefs.contains("/ui?sort=last_run&amp;order=desc"))
        #expect(hrefs.contains("/ui?sort=name&amp;order=asc"))
        #expect(hrefs.contains("/ui"))  // health ascending is the default, so its link has no parameters
        #expect(html.contains("<a class=\"on desc\" href=\"/ui?sort=rowcount&amp;order=asc\">Rows</a>"))
    }

    @Test("Filters select by environment, type (null included) and health, and keep the sort")
    func filtersSelect() {
        var pipelines = Self.mixed
        pipelines.append(Self.pipeline("unlabelled", type: nil, environment: nil, samples: Self.samples(count: 8)))
        func names(_ parameters: [(name: String, value: String)]) -> Set<String> {
            Set(
                Self.rows(OverviewPage.render(pipelines: pipelines, query: OverviewQuery(parameters: parameters), now: Self.now, links: Self.links))
                    .map(\.name)
            )
        }
        #expect(names([("environment", "dev")]) == ["silent_sync"])
        #expect(names([("pipeline_type", "streaming")]) == ["dropping_load"])
        #expect(names([("environment", "~null")]) == ["unlabelled"])
        #expect(names([("health", "failed")]) == ["failing_export"])
        #expect(names([("environment", ""), ("health", "bogus"), ("sort", "bogus")]).count == 5)

        let html = OverviewPage.render(
            pipelines: pipelines,
            query: OverviewQuery(sort: .name, environment: .value("prod")),
            now: Self.now,
            links: Self.links
        )
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
            (Self.attributes("points", in: svg).first ?? "").split(separator: " ").count
        }
        let long = Self.pipeline("long", samples: Self.samples(count: 200))
        let short = Self.pipeline("short", samples: Self.samples(count: 5))
        let longLine = Sparkline.svg(long.points(.duration), label: "duration", lastClass: "ok")
        #expect(points(longLine) == 60)
        #expect(longLine.contains("data-points=\"60\""))
        #expect(points(Sparkline.svg(short.points(.rowcount), label: "rows", lastClass: "ok")) == 5)
        #expect(longLine.contains("<circle class=\"spark-last ok\""))
        #expect(Sparkline.svg([], label: "none", lastClass: "ok").contains("—"))

        let html = OverviewPage.render(pipelines: [long], query: OverviewQuery(), now: Self.now, links: Self.links)
        #expect(Self.attributes("data-points", in: html) == ["60", "60"])
    }

    @Test("Failed runs in a sparkline are red dots")
    func sparklineMarksFailures() {
        let samples = Self.samples(count: 10).enumerated().map { index, sample in
            var sample = sample
            if index == 4 { sample.status = "failed" }
            return sample
        }
        let svg = Sparkline.svg(Self.pipeline("x", samples: samples).points(.duration), label: "d", lastClass: "ok")
        #expect(svg.components(separatedBy: "class=\"pt-failed\"").count == 2)
    }

    // MARK: - Pipeline page

    @Test("The pipeline page draws both charts with the expected band and highlights an anomalous latest run")
    func chartsShowTheBand() throws {
        let pipeline = Self.mixed[3]
        let html = Self.page(pipeline)
        #expect(html.contains("<section class=\"panel chart-duration\">"))
        #expect(html.contains("<section class=\"panel chart-rowcount\">"))
        #expect(html.components(separatedBy: "<rect class=\"band\"").count == 3)
        #expect(html.contains("<circle class=\"pt-latest anomaly\""))
        #expect(Self.attributes("data-points", in: html) == ["48", "48"])
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
        let young = Self.page(Self.pipeline("young", samples: Self.samples(count: 3) { $0.status = "failed" }))
        #expect(!young.contains("class=\"band\""))
        #expect(young.contains("<circle class=\"pt-latest failed\""))
        #expect(young.contains("<div class=\"callout failed\">"))
        let empty = LineChart(title: "t", metric: .duration, points: [], band: nil, isLatestAnomalous: false).svg()
        #expect(empty.contains("No runs yet"))
    }

    @Test("Stat cards show the insight numbers")
    func statCards() {
        let pipeline = Self.mixed[2]
        let html = Self.page(pipeline)
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
            summary: PipelineSummary(signature: signature, totalRuns: 30, lastRun: Self.now, avgDuration: nil, avgRowcount: nil),
            recent: []
        )
        let html = Self.page(pipeline, history: table)
        #expect(Self.attributes("data-date-code", in: html) == runPage.runs.map(\.info.dateCode))
        #expect(html.contains("/out/&lt;b&gt;"))
        #expect(html.contains("runs 1–10 of 30"))
        let cursor = try #require(runPage.nextCursor?.description)
        #expect(
            Self.attributes("href", in: html).contains(
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
        let html = Self.page(Self.mixed[0], history: table)
        #expect(html.contains("<li class=\"issue\"><code>query.start_utc</code>: Input should be a valid ISO 8601 date-time"))
        #expect(html.contains("<li class=\"issue\"><code>query.limit</code>: Input should be greater than or equal to 1</li>"))
        #expect(html.contains("value=\"yesterday\""))
    }

    // MARK: - Base path

    @Test("Every link and form action is under the base path")
    func linksUseTheBasePath() {
        let links = DashboardLinks(basePath: "/pipeline-service")
        var pipelines = Self.mixed
        pipelines.append(Self.pipeline(nil, script: nil, type: nil, environment: nil, samples: Self.samples(count: 6)))
        var generator = RandomRuns(seed: 1)
        let stored = StoredRun(sequence: 1, info: generator.next())
        let page = RunPage(total: 5, runs: [stored], nextCursor: RunCursor(position: stored.position, filterFingerprint: 1))
        let table = RunHistoryTable(
            content: .page(page, RunQuery(paging: .window(limit: 1, offset: 2))),
            parameters: [("offset", "2"), ("limit", "1")]
        )
        let html = [
            OverviewPage.render(pipelines: pipelines, query: OverviewQuery(sort: .name), now: Self.now, links: links),
            Self.page(pipelines[0], history: table, links: links),
            DashboardPage.notFound(links: links, message: "none"),
        ]
        for page in html {
            let targets = Self.attributes("href", in: page) + Self.attributes("action", in: page)
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
            OverviewPage.render(pipelines: Self.mixed, query: OverviewQuery(), now: Self.now, links: Self.links),
            Self.page(Self.mixed[3]),
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
        let now = Self.now
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

/// The dashboard through the real router: the pages agree with the JSON API, page like it, and
/// sit behind the same base path and read authentication.
@Suite("Dashboard over HTTP")
struct DashboardHTTPTests {
    static let now = UTCInstant(iso8601: "2025-09-30T12:00:00Z")!
    static let hostileName = "x<script>alert(1)</script>"

    static func configuration(_ configuration: ServiceConfiguration = ServiceConfiguration()) -> ServiceConfiguration {
        var configuration = configuration
        configuration.clock = { DashboardHTTPTests.now }
        return configuration
    }

    /// One run `minutesAgo` before `now`.
    static func run(
        _ name: String,
        minutesAgo: Int64,
        script: String? = "job.py",
        type: String? = "batch",
        environment: String? = "prod",
        seconds: Double = 600,
        rowcount: Int64 = 10_000,
        failed: Bool = false
    ) -> PipelineInfo {
        let start = now.microsecondsSinceEpoch - minutesAgo * 60_000_000
        let end = start + Int64(seconds * 1_000_000)
        return PipelineInfo(
            startLocal: LocalDateTime(wallMicroseconds: start),
            endLocal: LocalDateTime(wallMicroseconds: end),
            startUTC: UTCInstant(microsecondsSinceEpoch: start),
            endUTC: UTCInstant(microsecondsSinceEpoch: end),
            elapsedSeconds: seconds,
            elapsedHuman: DashboardFormat.duration(seconds),
            outputFile: "/data/\(name)/\(minutesAgo).csv",
            rowcount: rowcount,
            logFile: "/data/\(name).log",
            pid: 100,
            dateCode: "\(environment ?? "none")_\(minutesAgo)",
            pipelineName: name,
            scriptName: script,
            pipelineType: type,
            environment: environment,
            status: failed ? "failed" : "success",
            exitCode: failed ? 1 : 0
        )
    }

    /// A healthy, a failing, an overdue and a shrinking pipeline (48 hourly runs each), a
    /// pipeline with a null script and environment (150 runs every 30 minutes) that shares its
    /// name with a fully labelled one, and one run with a hostile name.
    static var dataset: [PipelineInfo] {
        var runs: [PipelineInfo] = []
        for index in Int64(0)..<48 {
            let noise = Double(index % 7) * 10
            let rows = 10_000 + (index % 5) * 100
            runs.append(run("steady_ingest", minutesAgo: 5 + index * 60, seconds: 600 + noise, rowcount: rows))
            runs.append(run("broken_export", minutesAgo: 7 + index * 60, seconds: 600 + noise, rowcount: rows, failed: index == 0))
            runs.append(run("silent_sync", minutesAgo: 600 + index * 60, environment: "dev", seconds: 600 + noise, rowcount: rows))
            runs.append(
                run("shrinking_load", minutesAgo: 9 + index * 60, type: "streaming", seconds: 600 + noise, rowcount: index == 0 ? 1_000 : rows)
            )
        }
        for index in Int64(0)..<150 {
            runs.append(run("unlabelled_job", minutesAgo: 3 + index * 30, script: nil, environment: nil, rowcount: 500 + index))
        }
        for index in Int64(0)..<20 {
            runs.append(run("unlabelled_job", minutesAgo: 4 + index * 30, script: "other.py", environment: "prod"))
        }
        runs.append(run(hostileName, minutesAgo: 30))
        return runs
    }

    /// Runs `body` against the real application holding the dataset, with the clock fixed at `now`.
    static func withDashboard(
        _ backend: Backend = .jsonl,
        configuration: ServiceConfiguration = ServiceConfiguration(),
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withApp(backend, configuration: Self.configuration(configuration)) { client, fixture in
            _ = try await fixture.repository.insert(contentsOf: dataset)
            try await body(client)
        }
    }

    /// One overview row: the signature its link names, and the cells the tests compare.
    struct Row {
        var signature: PipelineSignature
        var health: String
        var lastRun: UTCInstant?
        var failedRuns: Int?
        var totalRuns: Int?
        var recentRuns: String
        var html: String
    }

    static func rows(_ html: String) -> [Row] {
        html.components(separatedBy: "<tr class=\"h-").dropFirst().map { row in
            func between(_ start: String, _ end: String, in text: String = row) -> String? {
                guard let from = text.range(of: start), let to = text[from.upperBound...].range(of: end) else { return nil }
                return String(text[from.upperBound..<to.lowerBound])
            }
            let href = between("<td class=\"name\"><a href=\"", "\"") ?? ""
            let query = href.replacingOccurrences(of: "&amp;", with: "&").split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            var fields: [String: String] = [:]
            for (name, value) in QueryString.parse(query) { fields[name] = value }
            let failedCell = between("<td class=\"num failed-runs\">", "</td>") ?? ""
            return Row(
                signature: PipelineSignature(
                    pipelineName: fields["pipeline_name"],
                    scriptName: fields["script_name"],
                    pipelineType: fields["pipeline_type"],
                    environment: fields["environment"]
                ),
                health: String(row.prefix { $0 != "\"" }),
                lastRun: between("<time datetime=\"", "\"").flatMap { UTCInstant(iso8601: $0) },
                failedRuns: between(">", "</span>", in: failedCell).flatMap { Int($0.replacingOccurrences(of: ",", with: "")) },
                totalRuns: between("of ", "</span>", in: failedCell).flatMap { Int($0.replacingOccurrences(of: ",", with: "")) },
                recentRuns: between("<td class=\"num runs\">", "</td>") ?? "",
                html: row
            )
        }
    }

    /// The run date codes of a pipeline page's table, and its next-page link (unescaped).
    static func table(_ html: String) -> (dateCodes: [String], next: String?) {
        let codes = DashboardRendererTests.attributes("data-date-code", in: html)
        let next = html.components(separatedBy: "<a class=\"next-page\" href=\"").dropFirst().first.map {
            String($0.prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
        }
        return (codes, next)
    }

    @Test("The overview shows a failing, an overdue and an anomalous pipeline with their badges, as HTML that is never cached")
    func overviewShowsEachProblem() async throws {
        try await Self.withDashboard { client in
            let response = try await client.get("/ui")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-store")
            let rows = Self.rows(response.text)
            let health = Dictionary(rows.map { ($0.signature.pipelineName ?? "", $0.health) }, uniquingKeysWith: { first, _ in first })
            #expect(health["broken_export"] == "failed")
            #expect(health["silent_sync"] == "overdue")
            #expect(health["shrinking_load"] == "anomaly")
            #expect(health["steady_ingest"] == "ok")
            #expect(rows.prefix(3).map(\.health) == ["failed", "overdue", "anomaly"])
            #expect(response.text.contains("data-count=\"failed\">1<"))
            #expect(!response.text.contains("<script>alert"))
            #expect(response.text.contains("x&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(try await client.get("/ui/").status == .ok)
        }
    }

    @Test("The overview's numbers are the numbers of /pipelines", arguments: Backend.underTest)
    func overviewMatchesSummaries(backend: Backend) async throws {
        try await Self.withDashboard(backend) { client in
            let rows = Self.rows(try await client.get("/ui").text)
            let summaries = try #require(try await client.get("/pipelines").json["pipelines"]?.array)
            #expect(rows.count == summaries.count)
            for summary in summaries {
                let signature = PipelineSignature(
                    pipelineName: summary["pipeline_name"]?.string,
                    scriptName: summary["script_name"]?.string,
                    pipelineType: summary["pipeline_type"]?.string,
                    environment: summary["environment"]?.string
                )
                let row = try #require(rows.first { $0.signature == signature }, "no row for \(signature)")
                #expect(row.totalRuns == summary["total_runs"]?.int)
                #expect(row.failedRuns == summary["failed_runs"]?.int)
                #expect(row.lastRun == summary["last_run"]?.string.flatMap { UTCInstant(iso8601: $0) })
                #expect(row.health == summary["health"]?.string)
                #expect(row.recentRuns == "\(summary["runs_24h"]?.int ?? -1) / \(summary["runs_7d"]?.int ?? -1)")
            }
        }
    }

    @Test("The pipeline page draws the charts and pages its runs as /get_pipeline_info does")
    func pipelinePagePagesLikeTheAPI() async throws {
        try await Self.withDashboard { client in
            let signature = "pipeline_name=shrinking_load&script_name=job.py&pipeline_type=streaming&environment=prod"
            let page = try await client.get("/ui/pipeline?\(signature)&limit=20")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let html = page.text
            #expect(html.contains("<section class=\"panel chart-duration\">"))
            #expect(html.contains("<section class=\"panel chart-rowcount\">"))
            #expect(html.components(separatedBy: "<rect class=\"band\"").count == 3)
            #expect(html.contains("<circle class=\"pt-latest anomaly\""))
            #expect(html.contains("<span class=\"badge b-anomaly\""))

            var next: String? = "/ui/pipeline?\(signature)&limit=20"
            var apiURI: String? = "/get_pipeline_info?\(signature)&limit=20"
            var seen: [String] = []
            while let uri = next, let api = apiURI {
                let (codes, following) = Self.table(try await client.get(uri).text)
                let expected = try await client.get(api).json
                #expect(codes == expected["results"]?.array.compactMap { $0["date_code"]?.string })
                seen += codes
                next = following
                apiURI = expected["next_cursor"]?.string.map { "/get_pipeline_info?\(signature)&limit=20&cursor=\($0)" }
                #expect((next == nil) == (apiURI == nil))
            }
            #expect(seen.count == 48)
            #expect(Set(seen).count == 48)
        }
    }

    @Test("A signature with null fields lists exactly its own runs, paged by cursor")
    func nullSignatureListsItsOwnRuns() async throws {
        try await Self.withDashboard { client in
            let first = try await client.get("/ui/pipeline?pipeline_name=unlabelled_job&pipeline_type=batch")
            #expect(first.status == .ok)
            #expect(first.text.contains("runs 1–100 of 150"))
            let (codes, next) = Self.table(first.text)
            let nextURI = try #require(next)
            #expect(!nextURI.contains("script_name") && !nextURI.contains("environment"))
            let second = Self.table(try await client.get(nextURI).text)
            #expect(second.next == nil)
            let all = codes + second.dateCodes
            #expect(all.count == 150)
            #expect(all.allSatisfy { $0.hasPrefix("none_") })
            #expect(all == all.sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! })

            let labelled = try await client.get("/ui/pipeline?pipeline_name=unlabelled_job&script_name=other.py&pipeline_type=batch&environment=prod")
            #expect(Self.table(labelled.text).dateCodes.count == 20)
        }
    }

    @Test("Invalid history filters answer 422 with the API's message; an unknown signature is a 404 page")
    func invalidFiltersAndUnknownSignatures() async throws {
        try await Self.withDashboard { client in
            let invalid = try await client.get(
                "/ui/pipeline?pipeline_name=steady_ingest&script_name=job.py&pipeline_type=batch&environment=prod&limit=0"
            )
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.headers[.contentType] == "text/html; charset=utf-8")
            let api = try await client.get("/get_pipeline_info?limit=0").json
            let message = try #require(api["detail"]?.array.first?["msg"]?.string)
            #expect(invalid.text.contains("<code>query.limit</code>: \(HTML.escape(message))"))

            let mismatched = try await client.get(
                "/ui/pipeline?pipeline_name=steady_ingest&script_name=job.py&pipeline_type=batch&environment=prod&cursor=zzz"
            )
            #expect(mismatched.status == .unprocessableContent)
            #expect(mismatched.text.contains("<code>query.cursor</code>"))

            let unknown = try await client.get("/ui/pipeline?pipeline_name=steady_ingest")
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "text/html; charset=utf-8")
            #expect(unknown.text.contains("<h1>Not found</h1>"))
        }
    }

    @Test("Under a base path the pages are served there and every link stays under it")
    func basePath() async throws {
        try await Self.withDashboard(configuration: ServiceConfiguration(basePath: "/pipeline-service")) { client in
            #expect(try await client.get("/ui").status == .notFound)
            let overview = try await client.get("/pipeline-service/ui")
            #expect(overview.status == .ok)
            let detail = try await client.get("/pipeline-service/ui/pipeline?pipeline_name=unlabelled_job&pipeline_type=batch")
            #expect(detail.status == .ok)
            for html in [overview.text, detail.text] {
                let targets = DashboardRendererTests.attributes("href", in: html) + DashboardRendererTests.attributes("action", in: html)
                #expect(targets.count >= 8)
                for target in targets { #expect(target.hasPrefix("/pipeline-service/"), "\(target)") }
            }
            let next = try #require(Self.table(detail.text).next)
            #expect(try await client.get(next).status == .ok)
        }
    }

    @Test("With PIPELINE_AUTH_READS the dashboard needs a key like any read")
    func readAuthentication() async throws {
        try await Self.withDashboard(configuration: AuthTests.configuration(.writesAndReads)) { client in
            #expect(try await client.get("/ui").status == .unauthorized)
            #expect(try await client.get("/ui/pipeline?pipeline_name=steady_ingest").status == .unauthorized)
            let keyed = try await client.send(.get, "/ui", headers: [.authorization: "Bearer \(AuthTests.readerKey)"])
            #expect(keyed.status == .ok)
        }
    }
}
