import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// A table without a `status` column (the old service's, as ora2pg moved it) holds finished runs
/// only: a running record is refused with a 422 saying so, `/health` says so, OpenLineage keeps a
/// START in memory until its end, and `report` stores the finished run with its real start.
@Suite("A table that holds finished runs only", .enabled(if: Backend.underTest.contains(.postgres), "needs PostgreSQL (PIPELINE_TEST_POSTGRES_URL)"))
struct FinishedOnlyTableTests {
    static let table = LegacyOracleTable.ora2pgDefault

    /// The app over a fresh copy of the old table, as ora2pg's default translation made it.
    static func withApp(_ body: @escaping @Sendable (any TestClientProtocol, RepositoryFixture) async throws -> Void) async throws {
        try await LegacyOracleHTTPTests.withApp(table, body)
    }

    @Test("A running record is a 422 naming status, nothing is stored, and /health says the table keeps finished runs only")
    func runningRecordIsRefused() async throws {
        try await Self.withApp { client, fixture in
            let start = UTCInstant(microsecondsSinceEpoch: 1_767_225_600_000_000)  // 2026-01-01T00:00:00Z
            var running = TestRun.make("legacy_post", start: start, code: "20260101_000000", status: RunStatus.running)
            running.clearEnd()
            let refused = try await client.post("/pipelines", json: String(decoding: running.jsonBytes, as: UTF8.self))
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.json["detail"]?[0]?["type"] == .string(FieldLimits.runningNotStored))
            #expect(try refused.json["detail"]?[0]?["loc"] == .array(["body", "status"]))
            #expect(try await fixture.repository.count(matching: RunFilter()) == 0)
            #expect(try await fixture.repository.count(matching: RunFilter(status: .equals(RunStatus.running))) == 0)
            let health = try await client.get("/health").json
            #expect(health["stores_running_runs"] == .bool(false))
            // The finished run is stored, with its real start and duration.
            var finished = running
            finished.status = RunStatus.success
            finished.endUTC = UTCInstant(microsecondsSinceEpoch: running.startUTC.microsecondsSinceEpoch + 90_000_000)
            finished.endLocal = LocalDateTime(wallMicroseconds: running.startLocal.wallMicroseconds + 90_000_000)
            finished.elapsedSeconds = 90
            #expect(try await client.post("/pipelines", json: String(decoding: finished.jsonBytes, as: UTF8.self)).status == .created)
            let stored = try await client.get("/get_pipeline_info").json["results"]?[0]
            #expect(stored?["start_utc"] == .string(running.startUTC.description))
            #expect(stored?["elapsed_seconds"] == .number("90.0"))
        }
    }

    @Test("OpenLineage: a START is kept until its COMPLETE, which is stored with the START's start")
    func lineageStartIsKeptUntilItsEnd() async throws {
        try await Self.withApp { client, _ in
            let started = try await client.post("/api/v1/lineage", json: try LineageHTTPTests.event("start"))
            #expect(started.status == .created)
            #expect(try started.json["events"]?[0]?["outcome"] == "not_stored")
            #expect(try await client.get("/get_pipeline_info?status=running").json["total"] == .number("0"))
            let completed = try await client.post("/api/v1/lineage", json: try LineageHTTPTests.event("complete"))
            #expect(try completed.json["events"]?[0]?["outcome"] == "created")
            let run = try await client.get("/get_pipeline_info?pipeline_name=etl.complete").json["results"]?[0]
            #expect(run?["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(run?["end_utc"] == "2026-03-01T12:01:30.500000Z")
            #expect(run?["elapsed_seconds"] == .number("90.5"))
        }
    }

    @Test("report stores only the finished run, with its real start, end and exit code, and exits as its command did")
    func reportStoresTheFinishedRun() async throws {
        let url = try PostgresTestDatabase.url()
        let schema = try await Self.table.create()
        defer { Task { try? await PostgresTestDatabase.execute("DROP SCHEMA \"\(schema)\" CASCADE") } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres"],
            environment: ["PIPELINE_POSTGRES_URL": url, "PIPELINE_TABLE": "\(schema).\(Self.table.table)"],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        let result = try await ServiceProcess.runToCompletion(
            ["report", "--url", service.baseURL, "--pipeline-name", "legacy_job", "--", "/bin/sh", "-c", "sleep 1; exit 3"]
        )
        #expect(result.status == 3)
        let said = result.stderr
        #expect(said.contains("finished runs only"), "\(said)")
        let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?pipeline_name=legacy_job")
        let runs = try JSONParser.parse(Array(body))["results"]?.array ?? []
        #expect(runs.count == 1)
        guard case .number(let elapsed) = runs.first?["elapsed_seconds"], let seconds = Double(elapsed) else {
            Issue.record("no elapsed_seconds: \(runs)")
            return
        }
        #expect(seconds >= 1, "the run lasted its real time: \(runs)")
    }
}
