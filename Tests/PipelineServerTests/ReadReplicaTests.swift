import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// `PIPELINE_POSTGRES_READ_URL` against a real streaming standby (`pg_basebackup -R` on loopback):
/// reads keep answering from it while the primary is down, writes answer 503 with Retry-After
/// and resume when the primary is back, and the standby's lag shows in `/health` and `/metrics`.
@Suite("Read replicas")
struct ReadReplicaTests {
    @Test("With the primary stopped, history, summaries, /ui and export answer from the standby; writes 503, then resume")
    func standbyServesReadsWhilePrimaryIsDown() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let primary = try PostgresTestDatabase.DedicatedServer.start()
        defer { try? primary.stop() }
        let standby = try primary.startStandby()
        defer { try? standby.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres", "--startup-wait", "60"],
            environment: ["PIPELINE_POSTGRES_URL": primary.url, "PIPELINE_POSTGRES_READ_URL": standby.url],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        let template = try Data(contentsOf: URL(fileURLWithPath: PostgresTestDatabase.repositoryRoot + "/sample_record.json"))
        let first = try ReplicaTests.run(from: template, id: UUID().uuidString.lowercased(), writer: 1, sequence: 1)
        let (created, _) = try await HTTP.send("POST", service.baseURL + "/pipelines", body: first)
        #expect(created == 201)

        // The standby has it once it has replayed the write: within its lag.
        try await Self.eventually("the standby replays the write") {
            let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?limit=1")
            return try JSONParser.parse(Array(body))["total"] == .number("1")
        }
        let (healthStatus, healthBody) = try await HTTP.send("GET", service.baseURL + "/health")
        #expect(healthStatus == 200)
        let health = try JSONParser.parse(Array(healthBody))
        #expect(health["status"] == "healthy")
        let replica = health["replicas"]?.array.first
        #expect(replica?["status"] == "ok")
        if case .number = replica?["lag_seconds"] {} else { Issue.record("no lag: \(String(describing: replica))") }
        let (_, metrics) = try await HTTP.send("GET", service.baseURL + "/metrics")
        let exposition = String(decoding: metrics, as: UTF8.self)
        #expect(exposition.contains("pipeline_postgres_replica_up{server=\""), "\(exposition.prefix(2000))")
        #expect(exposition.contains("pipeline_postgres_replica_lag_seconds{server=\""))

        try primary.pause()
        for path in ["/get_pipeline_info", "/pipelines", "/pipelines/history?pipeline_name=replica_writer_1", "/ui", "/export?format=ndjson"] {
            let (status, _) = try await HTTP.send("GET", service.baseURL + path, timeout: 30)
            #expect(status == 200, "\(path) with the primary down")
        }
        let (degradedStatus, degradedBody) = try await HTTP.send("GET", service.baseURL + "/health")
        #expect(degradedStatus == 200)
        #expect(try JSONParser.parse(Array(degradedBody))["status"] == "degraded")
        let second = try ReplicaTests.run(from: template, id: UUID().uuidString.lowercased(), writer: 1, sequence: 2)
        let refused = try await HTTP.sendWithHeaders("POST", service.baseURL + "/pipelines", body: second)
        #expect(refused.status == 503)
        #expect(refused.headers["Retry-After"] != nil)

        // A service started while the primary is down does not wait for it: it reads the table's
        // schema from the standby and answers reads at once; its writes wait for the primary.
        let restartedDirectory = directory.path + "/restarted"
        try FileManager.default.createDirectory(atPath: restartedDirectory, withIntermediateDirectories: true)
        let restarted = try ServiceProcess(
            arguments: ["--backend", "postgres", "--startup-wait", "120"],
            environment: ["PIPELINE_POSTGRES_URL": primary.url, "PIPELINE_POSTGRES_READ_URL": standby.url],
            outputDirectory: restartedDirectory
        )
        try await restarted.waitUntilReady(timeout: .seconds(90))
        let (restartedStatus, restartedBody) = try await HTTP.send("GET", restarted.baseURL + "/get_pipeline_info", timeout: 30)
        #expect(restartedStatus == 200)
        #expect(try JSONParser.parse(Array(restartedBody))["total"] == .number("1"))
        let (restartedHealth, _) = try await HTTP.send("GET", restarted.baseURL + "/health", timeout: 30)
        #expect(restartedHealth == 200)
        let third = try ReplicaTests.run(from: template, id: UUID().uuidString.lowercased(), writer: 1, sequence: 3)
        #expect(try await HTTP.sendWithHeaders("POST", restarted.baseURL + "/pipelines", body: third, timeout: 30).status == 503)

        try primary.resume()
        try await Self.eventually("writes resume once the primary is back") {
            let (status, _) = try await HTTP.send("POST", service.baseURL + "/pipelines", body: second)
            return status == 201
        }
        try await Self.eventually("the service started without the primary writes once it is back") {
            let (status, _) = try await HTTP.send("POST", restarted.baseURL + "/pipelines", body: third)
            return status == 201
        }
        _ = try await restarted.stop(signal: SIGTERM)

        // A standby that is down is skipped: the primary answers the reads.
        try standby.pause()
        let (fallback, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info", timeout: 30)
        #expect(fallback == 200)
        #expect(try JSONParser.parse(Array(body))["total"] == .number("3"))
        let (_, afterBody) = try await HTTP.send("GET", service.baseURL + "/health")
        #expect(try JSONParser.parse(Array(afterBody))["replicas"]?.array.first?["status"] == "unreachable")
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("Reads come from the read URL, while what a write merges into comes from the primary (OpenLineage START then COMPLETE)")
    func writesReadThePrimary() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        // A stand-in replica that never receives the primary's writes: another database holding
        // the same, empty, table.
        let database = PostgresTestDatabase.uniqueName("replica")
        try await PostgresTestDatabase.execute("CREATE DATABASE \(database)")
        let table = PostgresTestDatabase.uniqueName("runs")
        let replicaURL = try PostgresTestDatabase.url(database: database)
        let stand = try PostgresTestDatabase.open(url: replicaURL, layout: SQLTableLayout(table: table))
        try await stand.repository.prepare()
        try await stand.close()
        let opened = try PostgresTestDatabase.open(url: PostgresTestDatabase.url(), readURLs: [replicaURL], layout: SQLTableLayout(table: table))
        do {
            try await opened.repository.prepare()
            let app = buildApplication(repository: opened.repository, configuration: ServiceConfiguration(), logger: testLogger("test"))
            try await app.test(.router) { client in
                #expect(try await client.post("/api/v1/lineage", json: try LineageHTTPTests.event("start")).status == .created)
                let completed = try await client.post("/api/v1/lineage", json: try LineageHTTPTests.event("complete"))
                #expect(try completed.json["events"]?[0]?["outcome"] == "updated")
                // Reads go to the stand-in, which never got the run.
                #expect(try await client.get("/runs/\(LineageHTTPTests.runID)").status == .notFound)
                #expect(try await client.get("/health").json["replicas"]?[0]?["status"] == "not a standby")
            }
            // The COMPLETE was merged into the START the primary holds: its start, its 90.5 s.
            let run = try #require(try await opened.repository.latestRun(withID: LineageHTTPTests.runID))
            #expect(run.info.elapsedSeconds == 90.5)
            #expect(run.info.pipelineName == "etl.complete")
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await opened.close()
        try await PostgresTestDatabase.dropTables(ownedBy: table)
        try await PostgresTestDatabase.execute("DROP DATABASE \(database) WITH (FORCE)")
    }

    private static func eventually(_ what: String, within limit: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw FixtureError("\(what): not within \(limit)")
    }
}
