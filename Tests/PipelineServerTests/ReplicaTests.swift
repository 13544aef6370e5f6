import Foundation
import PipelineTestSupport
import Synchronization
import Testing

/// Several service processes over one PostgreSQL, as replicas behind a load balancer: writers
/// spread over them while one is SIGKILLed and the database restarts. Every acknowledged run must
/// be stored exactly once, and the survivors must answer alike.
@Suite("Replicas over one PostgreSQL")
struct ReplicaTests {
    /// What the writers saw: the run ids acknowledged (201 or 200), and every run id attempted.
    final class Ledger: Sendable {
        private let state = Mutex<(acknowledged: Set<String>, attempted: Set<String>, refusals: Int)>(([], [], 0))
        private let stopped = Mutex(false)
        func stop() { stopped.withLock { $0 = true } }
        var isRunning: Bool { stopped.withLock { !$0 } }
        func attempt(_ id: String) { state.withLock { _ = $0.attempted.insert(id) } }
        func acknowledge(_ id: String) { state.withLock { _ = $0.acknowledged.insert(id) } }
        func refuse() { state.withLock { $0.refusals += 1 } }
        var acknowledged: Set<String> { state.withLock { $0.acknowledged } }
        var attempted: Set<String> { state.withLock { $0.attempted } }
        var refusals: Int { state.withLock { $0.refusals } }
    }

    @Test("3 processes, 12 writers, one SIGKILL and a database restart: no acknowledged run lost or doubled, survivors agree")
    func replicasSurviveKillAndRestart() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let server = try PostgresTestDatabase.DedicatedServer.start()
        defer { try? server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let replicas = try (0..<3).map { _ in
            try ServiceProcess(
                arguments: ["--backend", "postgres"],
                environment: ["PIPELINE_POSTGRES_URL": server.url],
                outputDirectory: directory.path
            )
        }
        for replica in replicas { try await replica.waitUntilReady() }
        let template = try Data(contentsOf: URL(fileURLWithPath: PostgresTestDatabase.repositoryRoot + "/sample_record.json"))
        let ledger = Ledger()
        let urls = replicas.map(\.baseURL)

        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<12 {
                    group.addTask {
                        var sequence = 0
                        while ledger.isRunning {
                            sequence += 1
                            let id = UUID().uuidString.lowercased()
                            let body = try Self.run(from: template, id: id, writer: writer, sequence: sequence)
                            ledger.attempt(id)
                            // Each run goes to the writer's own replica first, then to the others in
                            // turn, as a load balancer retries: a replica that is gone, or a 503 while
                            // the database restarts, sends it on; the run id makes a resend idempotent.
                            for attempt in 0..<6 where ledger.isRunning || attempt == 0 {
                                let url = urls[(writer + attempt) % urls.count]
                                if let (status, _) = try? await HTTP.send("POST", url + "/pipelines", body: body, timeout: 5) {
                                    if status == 201 || status == 200 {
                                        ledger.acknowledge(id)
                                        break
                                    }
                                    ledger.refuse()
                                }
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        try await Task.sleep(for: .seconds(2))
        _ = try await replicas[2].stop(signal: SIGKILL)
        try await Task.sleep(for: .seconds(1))
        try server.pause()
        try await Task.sleep(for: .seconds(1))
        try server.resume()
        try await Task.sleep(for: .seconds(3))
        ledger.stop()
        try await writers.value

        let acknowledged = ledger.acknowledged
        // Enough to mean anything: run alone this acknowledges hundreds, inside the whole suite on
        // two cores (every test at once) 60 to 80.
        #expect(acknowledged.count > 40, "too few runs were acknowledged to mean anything: \(acknowledged.count)")
        let stored = try await PostgresTestDatabase.query(
            "SELECT run_id::text, count(*)::text FROM pipeline_runs GROUP BY run_id",
            url: server.url
        )
        var counts: [String: Int] = [:]
        for row in stored {
            if let id = row.first ?? nil { counts[id] = Int(row.last.flatMap { $0 } ?? "0") ?? 0 }
        }
        #expect(counts.values.allSatisfy { $0 == 1 }, "doubled: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(5))")
        let lost = acknowledged.subtracting(counts.keys)
        #expect(lost.isEmpty, "acknowledged but not stored: \(lost.sorted().prefix(5))")
        let invented = Set(counts.keys).subtracting(ledger.attempted)
        #expect(invented.isEmpty)
        print("replicas: \(acknowledged.count) runs acknowledged, \(counts.count) stored, \(ledger.refusals) answers 503 or other refusals")

        // The survivors answer alike: the same runs, in the same order, and the same totals.
        let survivors = replicas.prefix(2)
        var answers: [Data] = []
        var totals: [Data] = []
        for survivor in survivors {
            try await survivor.waitUntilReady()
            let (status, body) = try await HTTP.send("GET", survivor.baseURL + "/get_pipeline_info?all_data=true", timeout: 30)
            #expect(status == 200)
            answers.append(body)
            let (summaryStatus, summaries) = try await HTTP.send(
                "GET",
                survivor.baseURL + "/pipelines/history?pipeline_name=replica_writer_0&bucket=hour",
                timeout: 30
            )
            #expect(summaryStatus == 200)
            totals.append(summaries)
        }
        #expect(answers[0] == answers[1])
        #expect(totals[0] == totals[1])
        let listed = try JSONSerialization.jsonObject(with: answers[0]) as? [String: Any]
        #expect(listed?["total"] as? Int == counts.count)
        // Every survivor still takes writes after the restart (a stuck writer once stopped them all
        // while reads and /health still answered), and stops cleanly.
        for (index, survivor) in survivors.enumerated() {
            let id = UUID().uuidString.lowercased()
            let body = try Self.run(from: template, id: id, writer: 100 + index, sequence: 1)
            var status = 0
            let deadline = ContinuousClock.now + .seconds(120)
            while status != 201, ContinuousClock.now < deadline {
                status = (try? await HTTP.send("POST", survivor.baseURL + "/pipelines", body: body, timeout: 90))?.0 ?? 0
                if status != 201 { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(status == 201, "replica \(index) takes no writes after the database restart")
            _ = try await survivor.stop(signal: SIGTERM)
        }
    }

    /// The sample run under a new id, pipeline and date code, so every run is distinct.
    static func run(from template: Data, id: String, writer: Int, sequence: Int) throws -> String {
        guard var run = try JSONSerialization.jsonObject(with: template) as? [String: Any] else { throw FixtureError("sample_record.json") }
        run["run_id"] = id
        run["pipeline_name"] = "replica_writer_\(writer)"
        run["date_code"] = "w\(writer)_\(sequence)"
        run["rowcount"] = sequence
        let data = (try? JSONSerialization.data(withJSONObject: run)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
