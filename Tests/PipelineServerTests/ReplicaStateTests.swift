import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineStore

/// `/health` and `/metrics` for read URLs that are misconfigured: a server that cannot be reached
/// and one that is not a standby. Every figure shown comes from what the server answered, polled
/// many times (the state is read concurrently for every standby on every poll).
@Suite("Replica state of misconfigured read URLs")
struct ReplicaStateTests {
    @Test(
        "An unreachable read URL is down with no lag; a primary named as a read URL is not a standby, with no lag",
        .enabled(if: Backend.underTest.contains(.postgres), "needs PostgreSQL (PIPELINE_TEST_POSTGRES_URL)")
    )
    func misconfiguredReadURLs() async throws {
        let primary = try PostgresTestDatabase.url()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let unreachable = "postgres://postgres@127.0.0.1:1/pipeline_test"
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres"],
            environment: [
                "PIPELINE_POSTGRES_URL": primary, "PIPELINE_POSTGRES_READ_URL": "\(unreachable),\(primary)",
                "PIPELINE_TABLE": PostgresTestDatabase.uniqueName("replica_state"),
            ],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        for poll in 0..<40 {
            let (status, body) = try await HTTP.send("GET", service.baseURL + "/health", timeout: 10)
            #expect(status == 200)
            let replicas = try JSONParser.parse(Array(body))["replicas"]?.array ?? []
            #expect(replicas.count == 2)
            #expect(replicas.first?["status"] == "unreachable", "poll \(poll)")
            #expect(replicas.first?["lag_seconds"] == .null, "poll \(poll)")
            #expect(replicas.last?["status"] == "not a standby", "poll \(poll)")
            #expect(replicas.last?["lag_seconds"] == .null, "poll \(poll)")
            if poll % 4 == 0 {
                let (_, metrics) = try await HTTP.send("GET", service.baseURL + "/metrics", timeout: 10)
                let lines = String(decoding: metrics, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("pipeline_postgres_replica") }
                #expect(lines.contains { $0.hasPrefix("pipeline_postgres_replica_up{server=\"127.0.0.1:1/pipeline_test\"} 0") }, "\(lines)")
                #expect(!lines.contains { $0.hasPrefix("pipeline_postgres_replica_lag_seconds") }, "no lag for either: \(lines)")
            }
        }
    }

    @Test("A reading becomes a state from its own values only")
    func readingDescribesState() {
        func state(_ reading: ReplicationReading) -> ReplicaState {
            var state = ReplicaState(server: "s", isReachable: false, isStandby: false, isStreaming: false)
            reading.describe(&state)
            return state
        }
        let primary = state(ReplicationReading(isInRecovery: false, isStreaming: false, replayAgeSeconds: nil, isCaughtUp: true))
        #expect(primary == ReplicaState(server: "s", isReachable: true, isStandby: false, isStreaming: false, lagSeconds: nil))
        let streaming = state(ReplicationReading(isInRecovery: true, isStreaming: true, replayAgeSeconds: 7.35, isCaughtUp: true))
        #expect(streaming.lagSeconds == 0 && streaming.isStreaming)
        let broken = state(ReplicationReading(isInRecovery: true, isStreaming: false, replayAgeSeconds: 12.5, isCaughtUp: false))
        #expect(broken.lagSeconds == 12.5 && !broken.isStreaming)
        let nonsense = state(ReplicationReading(isInRecovery: true, isStreaming: false, replayAgeSeconds: .infinity, isCaughtUp: false))
        #expect(nonsense.lagSeconds == 0)
    }
}
