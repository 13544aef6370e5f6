import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

@testable import PipelineDashboard
@testable import PipelineServer

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
        var run = TestRun.make(
            name,
            start: TestRun.hours(Double(minutesAgo) / 60, before: now),
            seconds: seconds,
            rowcount: rowcount,
            code: "\(environment ?? "none")_\(minutesAgo)",
            type: type,
            environment: environment,
            status: failed ? "failed" : "success",
            exitCode: failed ? 1 : 0
        )
        run.scriptName = script
        return run
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

    /// Every value of `attribute="…"` in the page.
    static func attributes(_ attribute: String, in html: String) -> [String] {
        html.components(separatedBy: " \(attribute)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    /// The run date codes of a pipeline page's table, and its next-page link (unescaped).
    static func table(_ html: String) -> (dateCodes: [String], next: String?) {
        let codes = Self.attributes("data-date-code", in: html)
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
            // A page number the table does not have is the nearest page, never an error.
            for page in ["abc", "0", "99999999999999999999"] {
                let paged = try await client.get("/ui?page=\(page)")
                #expect(paged.status == .ok)
                #expect(Self.rows(paged.text).count == rows.count)
            }
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

    @Test("?refresh=N makes a page reload itself; the run table shows log_file and links archived files when they are served")
    func refreshLogFileAndArchiveLinks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [directory.path])) { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let overview = try await client.get("/ui?refresh=60").text
            #expect(overview.contains("<meta http-equiv=\"refresh\" content=\"60\">"))
            #expect(!(try await client.get("/ui?refresh=1").text.contains("http-equiv")), "below 5 s is ignored")
            let signature =
                "pipeline_name=subcon_lotg_to_refdb_ingest&script_name=get_subcon_lot_ref_data_LOTGDB_rc10.py&pipeline_type=batch&environment=prod"
            let page = try await client.get("/ui/pipeline?\(signature)&refresh=30")
            #expect(page.status == .ok)
            #expect(page.text.contains("content=\"30\""))
            #expect(page.text.contains("getSubconLotRefData_LOTGDB.log"))
            #expect(page.text.contains("/pipelines/archived/20250902_050702?pipeline_name=subcon_lotg_to_refdb_ingest"))
        }
        try await withApp(.jsonl) { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let signature =
                "pipeline_name=subcon_lotg_to_refdb_ingest&script_name=get_subcon_lot_ref_data_LOTGDB_rc10.py&pipeline_type=batch&environment=prod"
            #expect(!(try await client.get("/ui/pipeline?\(signature)").text.contains("/pipelines/archived/")), "no link when files are not served")
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
            #expect(invalid.text.contains("<code>query.limit</code>: \(HTML(text: message).markup)"))

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
                let targets = Self.attributes("href", in: html) + Self.attributes("action", in: html)
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
