import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// `POST /api/v1/lineage` with the events the real client sent (saved beside this file), the
/// POST lifecycle, and `GET /runs/{run_id}`.
@Suite("Run lifecycle and OpenLineage over HTTP")
struct LineageHTTPTests {
    static func event(_ name: String) throws -> String {
        let path = PostgresTestDatabase.repositoryRoot + "/Tests/PipelineServerTests/Resources/openlineage/\(name).json"
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static let runID = "019ca945-0a00-707b-9512-a1ddddb2f84a"

    /// `text` compressed by the system's gzip.
    static func gzip(_ text: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    @Test("START then COMPLETE from the real client become one run with the documented mapping", arguments: Backend.underTest)
    func startThenComplete(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let started = try await client.post("/api/v1/lineage", json: try Self.event("start"))
            #expect(started.status == .created)
            #expect(try started.json["events"]?[0]?["outcome"] == "created")
            let running = try await client.get("/runs/\(Self.runID)")
            #expect(try running.json["status"] == "running")
            #expect(try running.json["end_utc"] == .null)
            #expect(try running.json["elapsed_seconds"] == .null)
            let completed = try await client.post("/api/v1/lineage", json: try Self.event("complete"))
            #expect(try completed.json["events"]?[0]?["outcome"] == "updated")
            let run = try await client.get("/runs/\(Self.runID.uppercased())").json
            #expect(run["pipeline_name"] == "etl.complete")
            #expect(run["environment"] == "ol-fixtures")
            #expect(run["pipeline_type"] == "BATCH")
            #expect(run["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(run["end_utc"] == "2026-03-01T12:01:30.500000Z")
            #expect(run["elapsed_seconds"] == .number("90.5"))
            #expect(run["elapsed_human"] == "1m 30s")
            #expect(run["rowcount"] == .number("1234"))
            #expect(run["output_file"] == "/data/out/part-1.parquet")
            #expect(run["status"] == "success")
            #expect(run["pid"] == .number("0"))
            #expect(run["date_code"] == "20260301_120000")
            #expect(run["start_local"] == "2026-03-01T12:00:00")
            // The same event again stores nothing new; a late START does not reopen the run.
            #expect(try await client.post("/api/v1/lineage", json: try Self.event("complete")).json["events"]?[0]?["outcome"] == "existing")
            #expect(try await client.post("/api/v1/lineage", json: try Self.event("start")).json["events"]?[0]?["outcome"] == "ignored")
            #expect(try await client.get("/runs/\(Self.runID)").json == run)
            #expect(try await client.get("/get_pipeline_info?run_id=\(Self.runID)").json["total"] == .number("1"))
        }
    }

    @Test("A COMPLETE before its START ends the run, and the START then gives it its start; another end for it is a 409")
    func completeBeforeStart() async throws {
        try await withApp(.jsonl) { client, _ in
            #expect(try await client.post("/api/v1/lineage", json: try Self.event("complete")).status == .created)
            #expect(try await client.post("/api/v1/lineage", json: try Self.event("start")).json["events"]?[0]?["outcome"] == "updated")
            let run = try await client.get("/runs/\(Self.runID)").json
            #expect(run["status"] == "success")
            #expect(run["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(run["elapsed_seconds"] == .number("90.5"))
            var failed = try Self.event("fail")
            failed = failed.replacingOccurrences(of: "019ca945-0a00-70fe-8726-0f15a9c428a8", with: Self.runID)
            let conflict = try await client.post("/api/v1/lineage", json: failed)
            #expect(conflict.status == .conflict)
            #expect(try conflict.json["run_id"] == .string(Self.runID))
        }
    }

    @Test("A gzip body, and an array of events, are accepted; other encodings are 415")
    func gzipAndArrays() async throws {
        try await withApp(.sqlite) { client, _ in
            let compressed = try Self.gzip(try Self.event("fail"))
            let response = try await client.execute(
                uri: "/api/v1/lineage",
                method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                body: ByteBuffer(bytes: compressed)
            )
            #expect(response.status == .created)
            #expect(try await client.get("/runs/019ca945-0a00-70fe-8726-0f15a9c428a8").json["status"] == "failed")
            let array = "[" + (try Self.event("start")) + "," + (try Self.event("job-event")) + "," + (try Self.event("dataset-event")) + "]"
            let batch = try await client.post("/api/v1/lineage", json: array)
            #expect(batch.status == .created)
            #expect(try batch.json["events"]?.array.compactMap { $0["outcome"]?.string } == ["created", "not_stored", "not_stored"])
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"pipeline_lineage_events_total{kind="JobEvent",outcome="not_stored"} 1"#))
            let brotli = try await client.execute(
                uri: "/api/v1/lineage",
                method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "br"],
                body: ByteBuffer(string: "{}")
            )
            #expect(brotli.status == .unsupportedMediaType)
            let corrupt = try await client.execute(
                uri: "/api/v1/lineage",
                method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                body: ByteBuffer(bytes: Array(compressed.prefix(20)))
            )
            #expect(corrupt.status == .unprocessableContent)
        }
    }

    @Test("A gzip body that inflates past the body limit is refused with 413 while inflating")
    func gzipBombIsRefused() async throws {
        var configuration = ServiceConfiguration()
        configuration.maxBodySize = 64 * 1024
        try await withApp(.jsonl, configuration: configuration) { client, _ in
            let bomb = try Self.gzip(String(repeating: " ", count: 8 << 20))
            #expect(bomb.count < 64 * 1024)
            let response = try await client.execute(
                uri: "/api/v1/lineage",
                method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                body: ByteBuffer(bytes: bomb)
            )
            #expect(response.status == .contentTooLarge)
        }
    }

    @Test("A body of many gzip members is refused after 16; a run lasting longer than the model allows is a 422")
    func gzipMembersAndElapsedAreBounded() async throws {
        try await withApp(.jsonl) { client, _ in
            let member = try Self.gzip("")
            let many = (0..<17).flatMap { _ in member } + (try Self.gzip(try Self.event("start")))
            let response = try await client.execute(
                uri: "/api/v1/lineage",
                method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                body: ByteBuffer(bytes: many)
            )
            #expect(response.status == .unprocessableContent)
            let start = try Self.event("start").replacingOccurrences(of: "2026-03-01T12:00:00+00:00", with: "0001-01-03T00:00:00+00:00")
            #expect(try await client.post("/api/v1/lineage", json: start).status == .created)
            let complete = try await client.post("/api/v1/lineage", json: try Self.event("complete"))
            #expect(complete.status == .unprocessableContent)
            #expect(try complete.json.validationLocations == ["body.eventTime"])
            #expect(try await client.get("/runs/\(Self.runID)").json["status"] == "running")
        }
    }

    @Test("An invalid event is a 422 naming the path of each bad member; nothing is stored")
    func invalidEventsNameTheirPath() async throws {
        try await withApp(.jsonl) { client, _ in
            var broken = try Self.event("complete")
            broken = broken.replacingOccurrences(of: Self.runID, with: "not-a-uuid")
            broken = broken.replacingOccurrences(of: "\"rowCount\": 34", with: "\"rowCount\": -1")
            let response = try await client.post("/api/v1/lineage", json: "[" + (try Self.event("start")) + "," + broken + "]")
            #expect(response.status == .unprocessableContent)
            #expect(
                Set(try response.json.validationLocations) == ["body.1.run.runId", "body.1.outputs.1.outputFacets.outputStatistics.rowCount"]
            )
            #expect(try await client.get("/get_pipeline_info?status=running").json["total"] == .number("0"))
            let missing = try await client.post("/api/v1/lineage", json: #"{"eventType":"START","run":{},"job":{"namespace":"n"}}"#)
            #expect(Set(try missing.json.validationLocations) == ["body.eventTime", "body.run.runId", "body.job.name"])
            #expect(try await client.post("/api/v1/lineage", json: #"{"hello":1}"#).status == .unprocessableContent)
            // An end of the calendar whose local time in some zone would not be a date.
            let late = try Self.event("start").replacingOccurrences(of: "2026-03-01T12:00:00+00:00", with: "9999-12-31T23:00:00+00:00")
            #expect(try await client.post("/api/v1/lineage", json: late).json.validationLocations == ["body.eventTime"])
        }
    }

    @Test("POST /pipelines: a running record may leave out its end; its finished record completes it (200), a different end is 409")
    func postLifecycle() async throws {
        try await withApp(.jsonl) { client, _ in
            let id = "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
            let running = try sampleJSON([
                "status": #""running""#, "run_id": "\"\(id)\"", "end_utc": nil, "end_local": nil, "elapsed_seconds": nil,
                "elapsed_human": nil, "rowcount": nil, "output_file": nil, "log_file": nil,
            ])
            let started = try await client.post("/pipelines", json: running)
            #expect(started.status == .created)
            #expect(try started.json["end_utc"] == .null)
            #expect(try await client.post("/pipelines", json: running).status == .ok)
            #expect(try await client.get("/get_pipeline_info").json["total"] == .number("0"))
            #expect(try await client.get("/get_pipeline_info?status=running").json["total"] == .number("1"))
            let finished = try sampleJSON(["status": #""success""#, "run_id": "\"\(id)\""])
            let completed = try await client.post("/pipelines", json: finished)
            #expect(completed.status == .ok)
            #expect(try completed.json["status"] == "success")
            #expect(try await client.get("/get_pipeline_info").json["total"] == .number("1"))
            #expect(try await client.post("/pipelines", json: finished).status == .ok)
            let different = try await client.post("/pipelines", json: try sampleJSON(["status": #""failed""#, "run_id": "\"\(id)\""]))
            #expect(different.status == .conflict)
            #expect(try different.json["run_id"] == .string(id))
            // A finished record may not leave out its end.
            let incomplete = try await client.post("/pipelines", json: try sampleJSON(["status": #""success""#, "end_utc": nil]))
            #expect(incomplete.status == .unprocessableContent)
            #expect(try incomplete.json.validationLocations == ["body.end_utc"])
        }
    }

    @Test("GET /runs/{run_id}: 404 for an unknown id, 422 for one that is not a UUID or with a query parameter")
    func getRunAnswers() async throws {
        try await withApp(.jsonl) { client, _ in
            #expect(try await client.get("/runs/0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d").status == .notFound)
            let bad = try await client.get("/runs/nope")
            #expect(bad.status == .unprocessableContent)
            #expect(try bad.json.validationLocations == ["path.run_id"])
            #expect(try await client.get("/runs/0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d?x=1").status == .unprocessableContent)
            #expect(try await client.get("/get_pipeline_info?run_id=nope").json.validationLocations == ["query.run_id"])
            let posted = try await client.post("/pipelines", json: sampleRecord).json
            let id = try #require(posted["run_id"]?.string)
            #expect(id == RunID.nameBased(pipelineName: "subcon_lotg_to_refdb_ingest", dateCode: "20250902_050702"))
            #expect(try await client.get("/runs/\(id)").json == posted)
        }
    }

    @Test("A run running far longer than its pipeline's p95 makes the pipeline stuck, with running_runs in /pipelines", arguments: Backend.underTest)
    func stuckHealth(backend: Backend) async throws {
        let now = UTCInstant(microsecondsSinceEpoch: 1_767_225_600_000_000)
        var configuration = ServiceConfiguration()
        configuration.clock = { now }
        try await withApp(backend, configuration: configuration) { client, fixture in
            // Ten finished runs of 60 s, hourly; then one running for 20 minutes (> 3 × 60 s).
            let finished = (1...10).map {
                TestRun.make("etl", start: TestRun.hours(Double($0), before: now), seconds: 60, code: "r\($0)", status: "success")
            }
            _ = try await fixture.repository.insert(contentsOf: finished)
            var running = TestRun.make(
                "etl",
                start: UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 20 * 60_000_000),
                code: "now",
                status: "running"
            )
            running.runID = RunID.timeOrdered(at: running.startUTC)
            _ = try await fixture.repository.insert(running.normalized)
            let summary = try #require(try await client.get("/pipelines").json["pipelines"]?[0])
            #expect(summary["health"] == "stuck")
            #expect(summary["running_runs"] == .number("1"))
            #expect(summary["total_runs"] == .number("10"))
            #expect(summary["stuck_after"] == "2025-12-31T23:43:00Z")
            let page = try await client.get("/ui").text
            #expect(page.contains("b-stuck"))
            #expect(page.contains("Running now: 1"))
            #expect(page.contains(running.runID ?? "-"))
            #expect(page.contains("20m 00s"))
        }
    }
}
