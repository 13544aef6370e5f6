import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Run status, richer summaries and history over HTTP: every backend answers with the
/// numbers the pure core computes from the same runs.
@Suite("Insight: status, trends and history")
struct InsightTests {
    /// A fixed "now" shortly after the constructed histories end.
    static let now = UTCInstant(microsecondsSinceEpoch: 1_764_000_000 * 1_000_000)  // 2025-11-24T16:00:00Z

    static var configuration: ServiceConfiguration {
        var configuration = ServiceConfiguration()
        configuration.clock = { InsightTests.now }
        return configuration
    }

    /// A run of `name` starting `hoursAgo` before `now`.
    static func run(
        _ name: String,
        hoursAgo: Double,
        code: String,
        duration: Double = 60,
        rowcount: Int64 = 1000,
        status: String? = nil,
        exitCode: Int64? = nil,
        environment: String? = "prod"
    ) -> PipelineInfo {
        TestRun.make(
            name,
            start: TestRun.hours(hoursAgo, before: now),
            seconds: duration,
            rowcount: rowcount,
            code: code,
            environment: environment,
            status: status,
            exitCode: exitCode
        )
    }

    /// Three problem pipelines and a healthy one, plus random noise from every signature shape.
    static var dataset: [PipelineInfo] {
        var runs: [PipelineInfo] = []
        for hour in stride(from: 40, through: 1, by: -1) {
            let wobble = Double(hour % 5)
            runs.append(run("healthy", hoursAgo: Double(hour), code: "h\(hour)", duration: 60 + wobble, rowcount: 1000 + Int64(hour % 7)))
            runs.append(
                run("failing", hoursAgo: Double(hour), code: "f\(hour)", status: hour == 1 ? "failed" : "success", exitCode: hour == 1 ? 2 : 0)
            )
            runs.append(run("dropped", hoursAgo: Double(hour), code: "d\(hour)", rowcount: hour == 1 ? 12 : 1000 + Int64(hour % 3)))
            // Hourly until 10 hours ago, then silent.
            if hour > 10 { runs.append(run("silent", hoursAgo: Double(hour), code: "s\(hour)")) }
        }
        var generator = RandomRuns(seed: 77)
        runs += generator.runs(150)
        return runs
    }

    /// What `/pipelines` must answer: the core's summaries and insight over the runs in insertion order.
    static func expectedSummaries(_ runs: [PipelineInfo]) -> [PipelineSummary] {
        let stored = runs.enumerated().map { StoredRun(sequence: Int64($0.offset + 1), info: $0.element) }
        return PipelineSummary.summarize(runs).map { summary in
            var summary = summary
            let recent =
                stored
                .filter { $0.info.signature == summary.signature }
                .sorted { $0.position > $1.position }
                .prefix(InsightSettings.standard.window)
                .map { RunSample($0.info) }
            summary.insight = PipelineInsight(recentNewestFirst: Array(recent), now: now)
            return summary
        }
    }

    @Test("GET /pipelines adds health and trends computed exactly as the core defines them", arguments: Backend.underTest)
    func summariesCarryInsight(backend: Backend) async throws {
        let runs = Self.dataset
        try await withApp(backend, configuration: Self.configuration) { client, fixture in
            for start in stride(from: 0, to: runs.count, by: 100) {
                _ = try await fixture.repository.insert(contentsOf: Array(runs[start..<min(runs.count, start + 100)]))
            }
            let response = try await client.get("/pipelines")
            #expect(response.status == .ok)
            let expected = PipelineListResponse.bytes(Self.expectedSummaries(runs))
            #expect(response.text == String(decoding: expected, as: UTF8.self))

            let byName = Dictionary(
                try #require((try response.json)["pipelines"]?.arrayValue).compactMap { entry -> (String, JSONValue)? in
                    guard case .string(let name)? = entry["pipeline_name"], case .string("batch")? = entry["pipeline_type"] else { return nil }
                    return (name, entry)
                },
                uniquingKeysWith: { first, _ in first }
            )
            #expect(byName["healthy"]?["health"] == "ok")
            #expect(byName["failing"]?["health"] == "failed")
            #expect(byName["failing"]?["failed_runs"]?.int == 1)
            #expect(byName["failing"]?["last_status"] == "failed")
            #expect(byName["silent"]?["health"] == "overdue")
            #expect(byName["silent"]?["overdue"] == .bool(true))
            #expect(byName["dropped"]?["health"] == "anomaly")
            #expect(byName["dropped"]?["anomaly"]?["findings"]?.arrayValue?.first?["metric"] == "rowcount")
            #expect(byName["healthy"]?["runs_24h"]?.int == 24)
            #expect(byName["healthy"]?["typical_interval_seconds"] == .number("3600.0"))
        }
    }

    @Test("A new run changes the answer at once (the cache follows the summary totals)", arguments: Backend.underTest)
    func cacheFollowsInserts(backend: Backend) async throws {
        try await withApp(backend, configuration: Self.configuration) { client, fixture in
            var runs = (2...12).map { Self.run("job", hoursAgo: Double($0), code: "j\($0)") }
            _ = try await fixture.repository.insert(contentsOf: runs)
            #expect((try await client.get("/pipelines").json)["pipelines"]?[0]?["health"] == "ok")
            let failed = Self.run("job", hoursAgo: 1, code: "j1", status: "failed", exitCode: 1)
            #expect(try await client.post("/pipelines", json: String(decoding: failed.jsonBytes, as: UTF8.self)).status == .created)
            runs.append(failed)
            let response = try await client.get("/pipelines")
            #expect((try response.json)["pipelines"]?[0]?["health"] == "failed")
            #expect(response.text == String(decoding: PipelineListResponse.bytes(Self.expectedSummaries(runs)), as: UTF8.self))
        }
    }

    @Test("status and exit_code are stored and returned by every backend, and validated", arguments: Backend.underTest)
    func statusRoundTrips(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let created = try await client.post("/pipelines", json: try sampleJSON(["status": "\"failed\"", "exit_code": "-9"]))
            #expect(created.status == .created)
            #expect((try created.json)["status"] == "failed")
            #expect((try created.json)["exit_code"]?.int == -9)
            let read = try await client.get("/get_pipeline_info")
            #expect((try read.json)["results"]?[0]?["status"] == "failed")
            #expect((try read.json)["results"]?[0]?["exit_code"]?.int == -9)
            #expect((try await client.get("/pipelines").json)["pipelines"]?[0]?["failed_runs"]?.int == 1)

            let old = try await client.post("/pipelines", json: try sampleJSON(["date_code": "\"old-client\""]))
            #expect(old.status == .created)
            #expect((try old.json)["status"] == .null)
            #expect((try old.json)["exit_code"] == .null)

            for (changes, location) in [
                (["status": "\"\""], "body.status"), (["status": "\"\(String(repeating: "x", count: 33))\""], "body.status"),
                (["status": "\"bad\\nline\""], "body.status"), (["status": "7"], "body.status"),
                (["exit_code": "\"abc\""], "body.exit_code"), (["exit_code": "1.5"], "body.exit_code"),
                (["exit_code": "4294967296"], "body.exit_code"),
            ] {
                let response = try await client.post("/pipelines", json: try sampleJSON(changes.mapValues { Optional($0) }))
                #expect(response.status == .unprocessableContent, "\(changes)")
                #expect((try response.json).validationLocations == [location], "\(changes)")
            }
        }
    }

    @Test("GET /pipelines/history buckets exactly as the core does, in a time zone", arguments: Backend.underTest)
    func historyMatchesTheCore(backend: Backend) async throws {
        let runs = Self.dataset
        try await withApp(backend, configuration: Self.configuration) { client, fixture in
            _ = try await fixture.repository.insert(contentsOf: runs)
            let zone = try #require(HistoryQueryZone.paris)
            let from = try #require(UTCInstant(iso8601: "2025-11-22T12:00:00Z"))
            let to = try #require(UTCInstant(iso8601: "2025-11-24T18:00:00Z"))
            let response = try await client.get(
                "/pipelines/history?pipeline_name=failing&bucket=hour&tz=Europe/Paris&start_utc=2025-11-22T12:00:00Z&end_utc=2025-11-24T18:00:00Z"
            )
            #expect(response.status == .ok)
            let samples = runs.filter { $0.pipelineName == "failing" && $0.startUTC >= from }.map(RunSample.init)
            let expected = try RunHistory(samples: samples, bucket: .hour, zone: zone, from: from, to: to, pipelineName: "failing")
            #expect(response.text == String(decoding: expected.jsonBytes, as: UTF8.self))
            #expect((try response.json)["buckets"]?.arrayValue?.count == 55)
            let failedTotal = (try response.json)["buckets"]?.arrayValue?.compactMap { $0["failed_runs"]?.int }.reduce(0, +)
            #expect(failedTotal == 1)

            let daily = try await client.get("/pipelines/history?pipeline_name=healthy")
            #expect((try daily.json)["bucket"] == "day")
            #expect((try daily.json)["tz"] == "UTC")
            #expect((try daily.json)["buckets"]?.arrayValue?.compactMap { $0["runs"]?.int }.reduce(0, +) == 40)
        }
    }

    @Test("The pipeline page's runs per day are the buckets of /pipelines/history", arguments: Backend.underTest)
    func dashboardDailyRunsMatchHistory(backend: Backend) async throws {
        let runs = Self.dataset
        try await withApp(backend, configuration: Self.configuration) { client, fixture in
            _ = try await fixture.repository.insert(contentsOf: runs)
            let page = try await client.get("/ui/pipeline?pipeline_name=failing&script_name=failing.py&pipeline_type=batch&environment=prod")
            #expect(page.status == .ok)
            // The bars: one <g> per day with its numbers.
            let bars = page.text.components(separatedBy: "<g class=\"day\" ").dropFirst().map { bar -> (String, Int, Int) in
                func attribute(_ name: String) -> String {
                    bar.components(separatedBy: "\(name)=\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
                }
                return (attribute("data-day"), Int(attribute("data-runs")) ?? -1, Int(attribute("data-failed")) ?? -1)
            }
            #expect(bars.count == 30)
            // The page links the JSON it draws; that answer has the same buckets.
            let link = try #require(
                page.text.components(separatedBy: "href=\"").first { $0.hasPrefix("/pipelines/history?") }?.components(separatedBy: "\"").first
            )
            let history = try await client.get(link.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(history.status == .ok)
            let buckets = (try history.json)["buckets"]?.arrayValue ?? []
            let expected = buckets.map { bucket in
                (String(bucket["start_local"]?.string?.prefix(10) ?? ""), bucket["runs"]?.int ?? -2, bucket["failed_runs"]?.int ?? -2)
            }
            #expect(bars.map(\.0) == expected.map(\.0))
            #expect(bars.map(\.1) == expected.map(\.1))
            #expect(bars.map(\.2) == expected.map(\.2))
            #expect(bars.map(\.1).reduce(0, +) == 40)
            #expect(bars.map(\.2).reduce(0, +) == 1)
        }
    }

    @Test("Bad history parameters are 422s naming the parameter")
    func historyValidation() async throws {
        try await withApp(.jsonl, configuration: Self.configuration) { client, fixture in
            _ = try await fixture.repository.insert(Self.run("a", hoursAgo: 1, code: "a1"))
            for (query, location) in [
                ("bucket=month", "query.bucket"), ("tz=Mars/Olympus", "query.tz"), ("tz=%2B25:00", "query.tz"),
                ("start_utc=yesterday", "query.start_utc"), ("start_utc=2025-01-02T00:00:00Z&end_utc=2025-01-01T00:00:00Z", "query.end_utc"),
                ("bucket=hour&start_utc=2000-01-01T00:00:00Z&end_utc=2025-01-01T00:00:00Z", "query.bucket"),
            ] {
                let response = try await client.get("/pipelines/history?\(query)")
                #expect(response.status == .unprocessableContent, "\(query)")
                #expect((try response.json).validationLocations == [location], "\(query)")
            }
            #expect((try await client.get("/pipelines/history?tz=+05:30").json)["tz"] == "+05:30")
            #expect((try await client.get("/pipelines/history?pipeline_name=nobody").json)["buckets"]?.arrayValue == [])
        }
    }
}

/// The zone the history test asks for, resolved the way the server does.
enum HistoryQueryZone {
    static var paris: (any UTCOffsetRule)? {
        guard let zone = TimeZone(identifier: "Europe/Paris") else { return nil }
        return ParisRule(zone: zone)
    }

    private struct ParisRule: UTCOffsetRule {
        let zone: TimeZone
        var name: String { "Europe/Paris" }
        func offsetSeconds(at instant: UTCInstant) -> Int {
            zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant.secondsSinceEpoch))
        }
    }
}

extension JSONValue {
    fileprivate var arrayValue: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }
}
