import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Metrics: `/metrics` in the Prometheus text format, scraped and parsed line by line.
@Suite("Metrics")
struct MetricsTests {
    @Test("/metrics is Prometheus text whose every line parses")
    func scrapeIsPrometheusText() async throws {
        try await withObservedApp { client, _ in
            _ = try await client.get("/health")
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = parseExposition(response.text)
            #expect(!samples.isEmpty)
            let types = response.text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            #expect(Set(types).count == types.count, "one TYPE line per metric")
        }
    }

    @Test("Requests are counted and timed by method, route template and status; in-flight counts the scrape")
    func requestsAreCountedByRouteAndStatus() async throws {
        try await withObservedApp { client, _ in
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .created)
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .ok)
            #expect(try await client.post("/pipelines", json: "{}").status == .unprocessableContent)
            _ = try await client.get("/pipelines/archived/one")
            _ = try await client.get("/pipelines/archived/two")
            _ = try await client.get("/nowhere/at/all")
            _ = try await client.send(HTTPRequest.Method("BREW")!, "/pipelines")
            let samples = parseExposition(try await client.get("/metrics").text)
            let created = ["method": "POST", "route": "/pipelines", "status": "201"]
            #expect(samples.value("http_requests_total", created) == 1)
            #expect(samples.value("http_requests_total", ["method": "POST", "route": "/pipelines", "status": "200"]) == 1)
            #expect(samples.value("http_requests_total", ["method": "POST", "route": "/pipelines", "status": "422"]) == 1)
            #expect(samples.value("http_requests_total", ["route": "/pipelines/archived/{date_code}", "status": "404"]) == 2)
            #expect(samples.value("http_requests_total", ["method": "GET", "route": "NotFound", "status": "404"]) == 1)
            #expect(samples.value("http_requests_total", ["method": "other", "route": "NotFound"]) == 1, "unknown methods share one label")
            #expect(samples.value("http_request_duration_seconds_count", created) == 1)
            #expect(samples.value("http_request_duration_seconds_bucket", created.merging(["le": "+Inf"]) { $1 }) == 1)
            #expect(samples.value("http_requests_in_flight") == 1, "the scrape itself")
            #expect(!samples.contains { $0.labels["route"]?.contains("one") == true }, "never a raw path as a label")
        }
    }

    @Test("Storage calls are timed by operation and outcome")
    func storageLatencyIsRecorded() async throws {
        try await withObservedApp { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            _ = try await client.get("/get_pipeline_info")
            _ = try await client.get("/health")
            let samples = parseExposition(try await client.get("/metrics").text)
            let name = "pipeline_storage_operation_duration_seconds_count"
            #expect(samples.value(name, ["operation": "insert", "outcome": "ok"]) == 1)
            #expect(samples.value(name, ["operation": "health", "outcome": "ok"]) == 1)
            #expect((samples.value(name, ["operation": "runs", "outcome": "ok"]) ?? 0) >= 1)
        }
    }

    @Test("Pipeline gauges show each pipeline's last run, per name and environment, from storage")
    func pipelineGaugesComeFromStorage() async throws {
        try await withObservedApp { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let later = try sampleJSON([
                "date_code": "\"20250903_050702\"", "start_utc": "\"2025-09-03T12:07:02Z\"", "end_utc": "\"2025-09-03T12:10:02Z\"",
                "elapsed_seconds": "180.5", "rowcount": "7",
            ])
            _ = try await client.post("/pipelines", json: later)
            _ = try await client.post("/pipelines", json: try sampleJSON(["date_code": "\"dev1\"", "environment": "null", "rowcount": "3"]))
            _ = try await client.post("/pipelines", json: try sampleJSON(["date_code": "\"anon\"", "pipeline_name": "null"]))
            let samples = parseExposition(try await client.get("/metrics").text)
            let prod = ["pipeline_name": "subcon_lotg_to_refdb_ingest", "environment": "prod"]
            #expect(samples.value("pipeline_last_run_start_timestamp_seconds", prod) == 1_756_901_222)
            #expect(samples.value("pipeline_last_run_duration_seconds", prod) == 180.5)
            #expect(samples.value("pipeline_last_run_rowcount", prod) == 7)
            #expect(samples.value("pipeline_runs", prod) == 2)
            let nullEnvironment = ["pipeline_name": "subcon_lotg_to_refdb_ingest", "environment": ""]
            #expect(samples.value("pipeline_runs", nullEnvironment) == 1)
            #expect(samples.value("pipeline_last_run_rowcount", nullEnvironment) == 3)
            #expect(samples.filter { $0.name == "pipeline_runs" }.count == 2, "a run without a name has no series")
        }
    }

    @Test("Each pipeline's health, failed runs, running runs and last success are gauges, as /pipelines gives them")
    func healthGauges() async throws {
        try await withObservedApp { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let failed = try sampleJSON([
                "date_code": "\"f1\"", "start_utc": "\"2025-09-03T12:07:02Z\"", "end_utc": "\"2025-09-03T12:10:02Z\"", "status": "\"failed\"",
            ])
            _ = try await client.post("/pipelines", json: failed)
            let running = try sampleJSON([
                "date_code": "\"r1\"", "status": "\"running\"", "run_id": "\"0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\"", "end_utc": nil,
            ])
            #expect(try await client.post("/pipelines", json: running).status == .created)
            let samples = parseExposition(try await client.get("/metrics").text)
            let prod = ["pipeline_name": "subcon_lotg_to_refdb_ingest", "environment": "prod"]
            var failedHealth = prod
            failedHealth["health"] = "failed"
            #expect(samples.value("pipeline_health", failedHealth) == 1)
            for health in PipelineHealth.allCases where health != .failed {
                var labels = prod
                labels["health"] = health.rawValue
                #expect(samples.value("pipeline_health", labels) == 0, "\(health)")
            }
            #expect(samples.value("pipeline_failed_runs", prod) == 1)
            #expect(samples.value("pipeline_running_runs", prod) == 1)
            #expect(samples.value("pipeline_runs", prod) == 2)
            #expect(samples.value("pipeline_last_success_start_timestamp_seconds", prod) == 1_756_814_822)
            #expect(samples.value("pipeline_service_build_info", ["backend": "jsonl"]) == 1)
            #expect((samples.value("process_resident_memory_bytes", [:]) ?? 0) > 0)
            #expect((samples.value("process_open_fds", [:]) ?? 0) > 0)
            #expect(samples.value("process_cpu_seconds_total", [:]) != nil)
        }
    }

    @Test("deploy/prometheus/alerts.yml names only metrics and label values the service exposes")
    func alertRulesNameExposedMetrics() async throws {
        let rules = try String(contentsOfFile: PostgresTestDatabase.repositoryRoot + "/deploy/prometheus/alerts.yml", encoding: .utf8)
        let expressions = rules.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            return trimmed.hasPrefix("expr:") ? String(trimmed.dropFirst(5).drop { $0 == " " }) : nil
        }
        #expect(expressions.count >= 5)
        try await withObservedApp { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let exposed = Set(parseExposition(try await client.get("/metrics").text).map(\.name))
            for expression in expressions {
                // The service's metric names in an expression (Prometheus's own `up` and `time()` aside).
                let names = expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
                    .filter { $0.hasPrefix("pipeline_") || $0.hasPrefix("process_") || $0.hasPrefix("http_") }.map(String.init)
                for name in names { #expect(exposed.contains(name), "\(name) in \(expression)") }
            }
            for health in ["failed", "stuck", "overdue"] {
                #expect(PipelineHealth(rawValue: health) != nil)
                #expect(rules.contains("health=\"\(health)\""))
            }
        }
    }

    @Test("The group-commit histogram is shown only by the JSONL backend")
    func commitHistogramOnlyOnJSONL() async throws {
        try await withApp(.sqlite) { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            #expect(!(try await client.get("/metrics").text.contains("pipeline_storage_commit_batch_size")))
        }
    }

    @Test("A new run moves the gauges at the next scrape")
    func gaugesFollowNewRuns() async throws {
        try await withObservedApp { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            let before = parseExposition(try await client.get("/metrics").text)
            #expect(before.value("pipeline_runs", ["environment": "prod"]) == 1)
            let newer = try sampleJSON([
                "date_code": "\"x2\"", "rowcount": "5", "start_utc": "\"2026-01-01T00:00:00Z\"", "end_utc": "\"2026-01-01T00:01:00Z\"",
            ])
            #expect(try await client.post("/pipelines", json: newer).status == .created)
            let after = parseExposition(try await client.get("/metrics").text)
            #expect(after.value("pipeline_runs", ["environment": "prod"]) == 2)
            #expect(after.value("pipeline_last_run_rowcount", ["environment": "prod"]) == 5)
            #expect(after.value("pipeline_last_run_start_timestamp_seconds", ["environment": "prod"]) == 1_767_225_600)
        }
    }

    @Test("Group-commit batch sizes from the JSONL repository's hook are a histogram")
    func commitBatchSizesAreRecorded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let metrics = ServiceMetrics()
        let repository = try JSONLRunRepository(
            path: directory.path + "/runs.jsonl",
            logger: testLogger("test"),
            onBatch: metrics.commitBatchObserver
        )
        defer { repository.close() }
        let app = buildApplication(repository: repository, configuration: ServiceConfiguration(), logger: testLogger("test"), metrics: metrics)
        try await app.test(.router) { client in
            for index in 0..<3 {
                _ = try await client.post("/pipelines", json: try sampleJSON(["date_code": "\"batch\(index)\""]))
            }
            let samples = parseExposition(try await client.get("/metrics").text)
            #expect(samples.value("pipeline_storage_commit_batch_size_sum") == 3)
            let batches = try #require(samples.value("pipeline_storage_commit_batch_size_count"))
            #expect((1...3).contains(batches))
            #expect(samples.value("pipeline_storage_commit_batch_size_bucket", ["le": "+Inf"]) == batches)
        }
    }

    @Test("The application serve builds wires the JSONL commit histogram, and only on JSONL")
    func servedApplicationRecordsCommitBatches() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for backend in [
            BackendConfiguration.jsonl(path: directory.path + "/runs.jsonl"), .sqlite(path: directory.path + "/runs.sqlite", layout: .standard),
        ] {
            let app = try await buildApplication(configuration: ServiceConfiguration(backend: backend), logger: testLogger("test"))
            try await app.test(.router) { client in
                #expect(try await client.post("/pipelines", json: try sampleJSON([:])).status == .created)
                let samples = parseExposition(try await client.get("/metrics").text)
                let isJSONL = if case .jsonl = backend { true } else { false }
                #expect((samples.value("pipeline_storage_commit_batch_size_sum") == 1) == isJSONL, "\(backend)")
            }
        }
    }

    @Test("Each application counts only its own requests")
    func registriesArePerApplication() async throws {
        try await withObservedApp { client, _ in
            for _ in 0..<3 { _ = try await client.get("/health") }
        }
        try await withObservedApp { client, _ in
            _ = try await client.get("/health")
            let samples = parseExposition(try await client.get("/metrics").text)
            #expect(samples.value("http_requests_total", ["route": "/health", "status": "200"]) == 1)
        }
    }
}
