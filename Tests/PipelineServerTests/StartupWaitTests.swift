import Foundation
import PipelineTestSupport
import Testing

/// `serve` started before its PostgreSQL: it listens at once, answers `/health` 503 while it
/// tries again with backoff, and serves once the database is up; or gives up after
/// `--startup-wait` with the one-line error it would have printed at once.
@Suite("Start-up waits for PostgreSQL")
struct StartupWaitTests {
    @Test("A database that comes up after the service: /health is 503 meanwhile, then runs are stored")
    func waitsForTheDatabase() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let server = try PostgresTestDatabase.DedicatedServer.start()
        defer { try? server.stop() }
        try server.pause()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres", "--startup-wait", "120"],
            environment: ["PIPELINE_POSTGRES_URL": server.url],
            outputDirectory: directory.path
        )

        // Listening, but not ready: /health and the API answer 503 with the reason.
        let waiting = try await Self.firstAnswer(service, "/health")
        #expect(waiting.status == 503)
        let detail = String(decoding: waiting.body, as: UTF8.self)
        #expect(detail.contains("waiting for the database"), "\(detail)")
        // /health is open to anyone: the database's address stays in the log.
        #expect(!detail.contains("127.0.0.1"), "\(detail)")
        let (listStatus, _) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info")
        #expect(listStatus == 503)
        // One warning line per try, and the process is still there.
        try await Self.waitFor(timeout: .seconds(30)) { service.log.components(separatedBy: "cannot be reached yet").count > 2 }
        #expect(service.process.isRunning)

        try server.resume()
        try await service.waitUntilReady(timeout: .seconds(60))
        let run = try String(contentsOfFile: PostgresTestDatabase.repositoryRoot + "/sample_record.json", encoding: .utf8)
        let (status, body) = try await HTTP.send("POST", service.baseURL + "/pipelines", body: run)
        #expect(status == 201, "\(String(decoding: body, as: UTF8.self))")
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("SIGTERM while waiting for the database stops the service at once")
    func stopsWhileWaiting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres", "--startup-wait", "600"],
            environment: ["PIPELINE_POSTGRES_URL": "postgres://app@127.0.0.1:1/db"],
            outputDirectory: directory.path
        )
        let waiting = try await Self.firstAnswer(service, "/health")
        #expect(waiting.status == 503)
        let stopping = ContinuousClock.now
        let stopped = try await service.stop(signal: SIGTERM, timeout: .seconds(30))
        #expect(ContinuousClock.now - stopping < .seconds(15))
        #expect(stopped.exited && stopped.status == 0, "\(stopped) \(service.log)")
    }

    @Test("A database that never comes up: the service gives up after --startup-wait, naming the setting as given")
    func givesUpAfterTheWait() async throws {
        let started = ContinuousClock.now
        let result = try await ServiceProcess.runToCompletion(
            ["serve", "--host", "127.0.0.1", "--port", "0", "--backend", "postgres", "--startup-wait", "3"],
            environment: ["PIPELINE_POSTGRES_URL": "postgres://app:pw@127.0.0.1:1/db"],
            timeout: .seconds(60)
        )
        #expect(result.status == 2)
        #expect(
            result.stderr.hasPrefix("error: PIPELINE_POSTGRES_URL: cannot connect to 127.0.0.1:1/db: connection refused (still unreachable after"),
            "\(result.stderr)"
        )
        #expect(result.stdout.contains("cannot be reached yet"), "\(result.stdout)")
        // The server is shut down gracefully, not cancelled: no error line about a cancelled channel.
        #expect(!result.stdout.contains(" error "), "\(result.stdout)")
        #expect(!(result.stdout + result.stderr).contains("CancellationError"), "\(result.stdout)")
        #expect(ContinuousClock.now - started >= .seconds(3))
    }

    @Test("With --startup-wait 0 an unreachable database stops start-up at once, as does a refusal that waiting cannot cure")
    func noWaitWhereWaitingCannotHelp() async throws {
        let unreachable = try await ServiceProcess.runToCompletion(
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--backend", "postgres", "--startup-wait", "0", "--postgres-url",
                "postgres://app@127.0.0.1:1/db",
            ],
            timeout: .seconds(60)
        )
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr == "error: --postgres-url: cannot connect to 127.0.0.1:1/db: connection refused\n", "\(unreachable.stderr)")
        #expect(!unreachable.stdout.contains("cannot be reached yet"))

        guard Backend.underTest.contains(.postgres) else { return }
        let missingDatabase = try PostgresTestDatabase.url(database: "no_such_database_\(UInt32.random(in: 0...UInt32.max))")
        let started = ContinuousClock.now
        let refused = try await ServiceProcess.runToCompletion(
            ["serve", "--host", "127.0.0.1", "--port", "0", "--backend", "postgres", "--startup-wait", "600"],
            environment: ["PIPELINE_POSTGRES_URL": missingDatabase],
            timeout: .seconds(60)
        )
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("does not exist"), "\(refused.stderr)")
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// The first answer of `path` of a service that may not listen yet.
    private static func firstAnswer(_ service: ServiceProcess, _ path: String) async throws -> (status: Int, body: Data) {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard service.process.isRunning else { throw FixtureError("pipeline-service exited: \(service.log)") }
            if let (status, body) = try? await HTTP.send("GET", service.baseURL + path, timeout: 2) { return (status, body) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FixtureError("pipeline-service did not answer: \(service.log)")
    }

    private static func waitFor(timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw FixtureError("condition not met in \(timeout)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
