import Foundation
import PipelineCore
import PipelineServer
import PipelineTestSupport
import Testing

/// The real `openlineage-python` client (pinned in `scripts/openlineage/requirements.txt`, set up in
/// a throwaway venv by `scripts/openlineage/setup-venv.sh`) drives runs through its own
/// `HttpTransport` against the real executable, on every backend.
@Suite("OpenLineage client", .serialized)
struct OpenLineageClientTests {
    /// The venv's python; nil (with the reason) when it could not be set up. In CI that fails the
    /// tests; elsewhere (no PyPI) they are reported and skipped.
    static let python: Result<String, OpenLineageSetupError> = {
        let root = PostgresTestDatabase.repositoryRoot
        let requirements = (try? Data(contentsOf: URL(fileURLWithPath: root + "/scripts/openlineage/requirements.txt"))) ?? Data()
        let directory = NSTemporaryDirectory() + "pipeline-service-openlineage-\(String(FNV1a.hash(requirements), radix: 16))"
        guard let result = try? ChildProcess.run("/bin/bash", [root + "/scripts/openlineage/setup-venv.sh", directory]) else {
            return .failure(OpenLineageSetupError(message: "cannot run setup-venv.sh"))
        }
        let out = String(decoding: result.output, as: UTF8.self)
        guard result.status == 0, let python = out.split(separator: "\n").last.map(String.init) else {
            return .failure(OpenLineageSetupError(message: "setup-venv.sh failed: \(result.errors)"))
        }
        return .success(python)
    }()

    /// The venv's python, or nil after recording why there is none (an issue in CI).
    static func requirePython() -> String? {
        switch python {
        case .success(let path): return path
        case .failure(let error):
            if Backend.isCI { Issue.record("The OpenLineage client could not be set up: \(error.message)") }
            print("OpenLineage client tests skipped: \(error.message)")
            return nil
        }
    }

    /// What `driver.py` printed about the run it drove.
    struct Driven {
        let runID: String?
        let start: String
        let end: String?
    }

    /// Runs one scenario of `driver.py` through the client's own transport.
    static func drive(
        _ scenario: String,
        python: String,
        url: String,
        job: String,
        extra: [String] = []
    ) throws -> Driven {
        let arguments =
            [PostgresTestDatabase.repositoryRoot + "/scripts/openlineage/driver.py", "--url", url, "--scenario", scenario]
            + ["--namespace", "prod", "--job", job, "--base-time", "2026-03-01T12:00:00Z"] + extra
        let result = try ChildProcess.run(python, arguments)
        guard result.status == 0 else { throw OpenLineageSetupError(message: "driver.py \(scenario) failed: \(result.errors)") }
        let line = try JSONParser.parse(Array(result.output))
        return Driven(runID: line["run_id"]?.string, start: line["start"]?.string ?? "", end: line["end"]?.string)
    }

    static func run(_ id: String?, at baseURL: String) async throws -> JSONValue {
        let (status, body) = try await HTTP.send("GET", baseURL + "/runs/" + (id ?? "none"))
        #expect(status == 200, "GET /runs/\(id ?? "none")")
        return try JSONParser.parse(Array(body))
    }

    @Test(
        "START → COMPLETE, START → FAIL, ABORT, replays, out-of-order and late events through the client's HttpTransport",
        arguments: Backend.underTest
    )
    func clientDrivesRuns(backend: Backend) async throws {
        guard let python = Self.requirePython() else { return }
        try await withStorage(backend) { storage in
            let service = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await service.waitUntilReady()
            let url = service.baseURL

            // START → COMPLETE: the five required mappings.
            let complete = try Self.drive("complete", python: python, url: url, job: "ol_complete")
            let finished = try await Self.run(complete.runID, at: url)
            #expect(finished["pipeline_name"] == "ol_complete")
            #expect(finished["run_id"]?.string == complete.runID)
            #expect(finished["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(finished["end_utc"] == "2026-03-01T12:01:30.500000Z")
            #expect(finished["elapsed_seconds"] == .number("90.5"))
            #expect(finished["rowcount"] == .number("1234"))
            #expect(finished["status"] == "success")
            #expect(finished["environment"] == "prod")
            #expect(finished["pipeline_type"] == "BATCH")
            #expect(finished["output_file"] == "/data/out/part-1.parquet")
            #expect(finished["pid"] == .number("0"))
            #expect(finished["date_code"] == "20260301_120000")

            // START → FAIL and START → ABORT.
            let failed = try Self.drive("fail", python: python, url: url, job: "ol_fail")
            #expect(try await Self.run(failed.runID, at: url)["status"] == "failed")
            let aborted = try Self.drive("abort", python: python, url: url, job: "ol_abort")
            #expect(try await Self.run(aborted.runID, at: url)["status"] == "aborted")

            // The same events twice store one run.
            let replayed = try Self.drive("replay", python: python, url: url, job: "ol_replay")
            #expect(try await Self.run(replayed.runID, at: url)["status"] == "success")

            // COMPLETE before its START still ends complete; a late START never reopens it.
            let outOfOrder = try Self.drive("out-of-order", python: python, url: url, job: "ol_out_of_order")
            let ended = try await Self.run(outOfOrder.runID, at: url)
            #expect(ended["status"] == "success")
            #expect(ended["end_utc"] == "2026-03-01T12:01:30.500000Z")
            let late = try Self.drive("late-start", python: python, url: url, job: "ol_late_start")
            let notReopened = try await Self.run(late.runID, at: url)
            #expect(notReopened["status"] == "success")
            #expect(notReopened["start_utc"] == "2026-03-01T12:00:00Z")

            // A START alone leaves the run running: listed only when asked for.
            let open = try Self.drive("running", python: python, url: url, job: "ol_running", extra: ["--gzip"])
            #expect(try await Self.run(open.runID, at: url)["status"] == "running")
            let (_, defaultList) = try await HTTP.send("GET", url + "/get_pipeline_info?pipeline_name=ol_running")
            #expect(try JSONParser.parse(Array(defaultList))["total"] == .number("0"))
            let (_, runningList) = try await HTTP.send("GET", url + "/get_pipeline_info?pipeline_name=ol_running&status=running")
            #expect(try JSONParser.parse(Array(runningList))["total"] == .number("1"))

            // Job and dataset events are accepted and counted, not stored.
            _ = try Self.drive("job-event", python: python, url: url, job: "ol_job_event")
            _ = try Self.drive("dataset-event", python: python, url: url, job: "ol_dataset_event")
            let (_, metrics) = try await HTTP.send("GET", url + "/metrics")
            let exposition = String(decoding: metrics, as: UTF8.self)
            #expect(exposition.contains(#"pipeline_lineage_events_total{kind="JobEvent",outcome="not_stored"} 1"#))
            #expect(exposition.contains(#"pipeline_lineage_events_total{kind="DatasetEvent",outcome="not_stored"} 1"#))
            let (_, all) = try await HTTP.send("GET", url + "/get_pipeline_info?all_data=true")
            #expect(try JSONParser.parse(Array(all))["total"] == .number("6"))

            // Everything survives a restart.
            _ = try await service.stop(signal: SIGTERM)
            let again = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await again.waitUntilReady()
            #expect(try await Self.run(complete.runID, at: again.baseURL) == finished)
            #expect(try await Self.run(open.runID, at: again.baseURL)["status"] == "running")
            _ = try await again.stop(signal: SIGTERM)
        }
    }

    @Test("With API keys the client's api_key auth (Authorization: Bearer) is required for events")
    func apiKeysApply() async throws {
        guard let python = Self.requirePython() else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = "openlineage-test-key-0123456789"
        let keys = directory.path + "/keys"
        try (APIKey.keysFileLine(forKey: key, label: "lineage") + "\n").write(toFile: keys, atomically: true, encoding: .utf8)
        let service = try ServiceProcess(
            arguments: ["--jsonl-path", directory.path + "/runs.jsonl", "--api-keys-file", keys],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        #expect(throws: OpenLineageSetupError.self) { try Self.drive("complete", python: python, url: service.baseURL, job: "no_key") }
        let driven = try Self.drive("complete", python: python, url: service.baseURL, job: "with_key", extra: ["--api-key", key])
        #expect(try await Self.run(driven.runID, at: service.baseURL)["status"] == "success")
        _ = try await service.stop(signal: SIGTERM)
    }
}

struct OpenLineageSetupError: Error {
    let message: String
}
