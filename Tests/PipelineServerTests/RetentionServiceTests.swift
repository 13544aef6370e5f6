import Foundation
import HummingbirdTesting
import Logging
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

/// `PIPELINE_RETENTION_DAYS`: the setting, and the background job it turns on.
@Suite("Retention job")
struct RetentionServiceTests {
    /// 2025-02-15T00:00:00Z: RandomRuns start within 60 days from 2025-01-01.
    static let now = UTCInstant(microsecondsSinceEpoch: (RandomRuns.epochStart + 45 * 86_400) * 1_000_000)
    /// `now` minus 20 days.
    static let cutoff = UTCInstant(microsecondsSinceEpoch: (RandomRuns.epochStart + 25 * 86_400) * 1_000_000)

    @Test("PIPELINE_RETENTION_DAYS is off by default, a whole number of days in 1…36500, and a flag wins")
    func settingIsValidated() throws {
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: [:]).retentionDays == nil)
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: [:]).retentionPeriod == nil)
        let configured = try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_RETENTION_DAYS": "90"])
        #expect(configured.retentionDays == 90)
        #expect(configured.retentionPeriod == (try RetentionPeriod(parsing: "90d")))
        #expect(try ServiceConfiguration.resolve(flags: [.retentionDays: "7"], environment: ["PIPELINE_RETENTION_DAYS": "90"]).retentionDays == 7)
        for bad in ["0", "-1", "36501", "90d", "ten", "1.5"] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_RETENTION_DAYS": bad])
            }
            #expect(error?.name == "PIPELINE_RETENTION_DAYS", "\(bad)")
        }
        let flagError = #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [.retentionDays: "0"], environment: [:]) }
        #expect(flagError?.name == "--retention-days")
    }

    @Test("The job deletes runs older than the period once the storage is ready, and again at each pass", arguments: Backend.underTest)
    func jobDeletesOldRuns(backend: Backend) async throws {
        var configuration = ServiceConfiguration()
        configuration.retentionDays = 20
        configuration.retentionInterval = .milliseconds(100)
        configuration.clock = { Self.now }
        var generator = RandomRuns(seed: 33)
        let first = generator.runs(150)
        let second = generator.runs(150)
        try await withApp(backend, configuration: configuration) { client, fixture in
            // Stored before the first pass, or while it runs: either way a pass deletes the old ones.
            _ = try await fixture.repository.insert(contentsOf: first)
            try await Self.waitUntil { try await fixture.repository.countRuns(startedBefore: Self.cutoff) == 0 }
            // Later runs are deleted by a later pass.
            _ = try await fixture.repository.insert(contentsOf: second)
            try await Self.waitUntil { try await fixture.repository.countRuns(startedBefore: Self.cutoff) == 0 }

            let kept = (first + second).filter { $0.startUTC >= Self.cutoff }
            #expect(!kept.isEmpty && kept.count < 300)
            let response = try await client.get("/get_pipeline_info?all_data=true")
            #expect(try response.json["total"]?.int == kept.count)
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize(kept))
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains("operation=\"delete_runs\""))
        }
    }

    @Test("Without PIPELINE_RETENTION_DAYS nothing is deleted")
    func offByDefault() async throws {
        var configuration = ServiceConfiguration()
        configuration.retentionInterval = .milliseconds(20)
        var generator = RandomRuns(seed: 34)
        let runs = generator.runs(50)
        try await withApp(.jsonl, configuration: configuration) { client, fixture in
            _ = try await fixture.repository.insert(contentsOf: runs)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == runs.count)
        }
    }

    @Test("Graceful shutdown ends the wait between passes at once")
    func shutdownIsPrompt() async throws {
        var configuration = ServiceConfiguration()
        configuration.retentionDays = 20
        configuration.retentionInterval = .seconds(3_600)
        configuration.clock = { Self.now }
        let bodyEnded = Mutex<ContinuousClock.Instant?>(nil)
        try await withFixture(.sqlite) { fixture in
            var generator = RandomRuns(seed: 35)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(20))
            let app = buildApplication(repository: fixture.repository, configuration: configuration, logger: testLogger("test"))
            try await app.test(.router) { _ in
                // The first pass, as soon as the storage is ready.
                try await Self.waitUntil { try await fixture.repository.countRuns(startedBefore: Self.cutoff) == 0 }
                bodyEnded.withLock { $0 = ContinuousClock.now }
            }
        }
        // The job now sleeps for an hour; shutting down must not wait for it (a generous bound for a loaded machine).
        let ended = try #require(bodyEnded.withLock { $0 })
        #expect(ContinuousClock.now - ended < .seconds(60))
    }

    @Test("A failing pass is logged and tried again at the next one; the job keeps running")
    func failuresAreRetried() async throws {
        try await withFixture(.jsonl) { fixture in
            var generator = RandomRuns(seed: 36)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(100))
            let flaky = FailingDeletes(base: fixture.repository, failures: 2)
            let service = RetentionService(
                repository: flaky,
                period: try RetentionPeriod(parsing: "20d"),
                interval: .milliseconds(20),
                clock: { Self.now },
                logger: testLogger("test.retention")
            )
            #expect(await service.pass() == nil)
            service.storageIsReady()
            let running = Task { await service.run() }
            try await Self.waitUntil { try await fixture.repository.countRuns(startedBefore: Self.cutoff) == 0 }
            #expect(flaky.calls >= 3)
            running.cancel()
            await running.value
            #expect(await service.pass() == 0)
        }
    }

    /// Polls `condition` until it holds, failing after 15 seconds.
    static func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met in time")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A repository whose first `failures` deletes fail as a backend that is down fails them.
private final class FailingDeletes: ForwardingRepository {
    let base: any PipelineRunRepository
    private let state: Mutex<(failures: Int, calls: Int)>

    init(base: any PipelineRunRepository, failures: Int) {
        self.base = base
        self.state = Mutex((failures, 0))
    }

    var calls: Int { state.withLock { $0.calls } }

    func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        let fails = state.withLock { state in
            state.calls += 1
            state.failures -= 1
            return state.failures >= 0
        }
        if fails { throw StorageError.unavailable("database not answering") }
        return try await base.deleteRuns(startedBefore: cutoff, limit: limit)
    }
}
