import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// Merged writes (``PipelineRunRepository/insert(merged:)``) store only over the run they were
/// merged from, all or none; runs still running count against the pipeline cap and are counted
/// by signature. The same on every backend.
@Suite("Merged writes and running runs contract")
struct MergedWriteContractTests {
    static let running = RunLifecycleContractTests.run(status: RunStatus.running)
    static let finished = RunLifecycleContractTests.run(status: RunStatus.success)

    @Test("A merged write over a run that changed since it was read stores nothing and says so", arguments: Backend.underTest)
    func mergedWriteChecksItsBasis(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            #expect(try await repository.insert(Self.running).isCreated)
            // Merged as if nothing were stored: the START stored meanwhile is not overwritten.
            await #expect(throws: StorageError.changed(try #require(Self.finished.runKey))) {
                try await repository.insert(merged: [MergedRun(Self.finished, basis: nil)])
            }
            let stored = try await repository.runs(matching: RunQuery(filter: RunFilter(runID: RunLifecycleContractTests.id))).runs
            #expect(stored.map(\.info) == [Self.running])
            // Merged from what is stored: stored.
            let outcomes = try await repository.insert(merged: [MergedRun(Self.finished, basis: Self.running)])
            guard case .updated = outcomes.first else {
                Issue.record("the end replaces the running record: \(outcomes)")
                return
            }
            #expect(try await repository.summaries() == PipelineSummary.summarize([Self.finished]))
        }
    }

    @Test("Merged writes are stored all or none", arguments: Backend.underTest)
    func mergedWritesAreAtomic(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let other = RunLifecycleContractTests.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e", code: "20260101_000001", status: RunStatus.success)
            #expect(try await repository.insert(Self.running).isCreated)
            // The second member expects nothing stored, but the START is: neither member is stored.
            await #expect(throws: StorageError.self) {
                try await repository.insert(merged: [MergedRun(other, basis: nil), MergedRun(Self.finished, basis: nil)])
            }
            #expect(try await repository.count(matching: RunFilter()) == 0)
            #expect(try await repository.summaries().isEmpty)
            // START and its end in one request: the end is merged from the START before it.
            let again = RunLifecycleContractTests.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6f", code: "20260101_000002", status: RunStatus.running)
            var ended = again
            ended.status = RunStatus.success
            ended.endUTC = UTCInstant(microsecondsSinceEpoch: again.startUTC.microsecondsSinceEpoch + 90_000_000)
            ended.elapsedSeconds = 90
            let outcomes = try await repository.insert(merged: [MergedRun(again, basis: nil), MergedRun(ended.normalized, basis: again)])
            #expect(outcomes.map(\.label) == ["created", "updated"])
        }
    }

    @Test("Runs still running count against the pipeline cap, also after a restart", arguments: Backend.underTest)
    func runningRunsObeyTheCap(backend: Backend) async throws {
        try await withFixture(backend, limits: RepositoryLimits(maximumSignatures: 3)) { fixture in
            for index in 0..<3 {
                let run = RunLifecycleContractTests.run(
                    RunID.timeOrdered(at: RunLifecycleContractTests.start),
                    name: "open_\(index)",
                    code: "2026010\(index)_000000",
                    status: RunStatus.running
                )
                #expect(try await fixture.repository.insert(run).isCreated)
            }
            let fourth = RunLifecycleContractTests.run(
                RunID.timeOrdered(at: RunLifecycleContractTests.start),
                name: "open_3",
                code: "20260104_000000",
                status: RunStatus.running
            )
            await #expect(throws: StorageError.tooManySignatures(limit: 3)) { try await fixture.repository.insert(fourth) }
            try await fixture.restart()
            await #expect(throws: StorageError.tooManySignatures(limit: 3)) { try await fixture.repository.insert(fourth) }
            // A known signature is always accepted, running or finished.
            let more = RunLifecycleContractTests.run(
                RunID.timeOrdered(at: RunLifecycleContractTests.start),
                name: "open_1",
                code: "20260105_000000",
                status: RunStatus.running
            )
            #expect(try await fixture.repository.insert(more).isCreated)
            // A prune reads the stored signatures again: those only running runs have still count.
            var old = more
            (old.runID, old.dateCode, old.status) = (nil, "old", RunStatus.success)
            old.startUTC = TestRun.hours(48, before: RunLifecycleContractTests.start)
            old.endUTC = TestRun.hours(47, before: RunLifecycleContractTests.start)
            old.elapsedSeconds = 3600
            #expect(try await fixture.repository.insert(old.normalized).isCreated)
            #expect(
                try await fixture.repository.deleteRuns(startedBefore: TestRun.hours(24, before: RunLifecycleContractTests.start), limit: 10) == 1
            )
            await #expect(throws: StorageError.tooManySignatures(limit: 3)) { try await fixture.repository.insert(fourth) }
        }
    }

    @Test("Runs still running are counted by signature with their oldest start", arguments: Backend.underTest)
    func runningRunsAreCountedBySignature(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            #expect(try await repository.runningRuns().isEmpty)
            var starts: [UTCInstant] = []
            for index in 0..<5 {
                var run = RunLifecycleContractTests.run(
                    RunID.timeOrdered(at: RunLifecycleContractTests.start),
                    code: "2026010\(index)_000000",
                    status: RunStatus.running
                )
                run.startUTC = UTCInstant(microsecondsSinceEpoch: run.startUTC.microsecondsSinceEpoch - Int64(index) * 60_000_000)
                run.endUTC = run.startUTC
                starts.append(run.startUTC)
                _ = try await repository.insert(run.normalized)
            }
            _ = try await repository.insert(TestRun.make("other", start: RunLifecycleContractTests.start, code: "x", status: RunStatus.success))
            let running = try await repository.runningRuns()
            #expect(running.count == 1)
            #expect(running.first?.count == 5)
            #expect(running.first?.oldestStart == starts.min())
            #expect(running.first?.signature == Self.running.signature)
        }
    }
    @Test(
        "A finished run stored without its start (0 s) is replaced by the same run with its start, in every answer and after a restart",
        arguments: Backend.underTest
    )
    func runStoredFromItsEndGetsItsStart(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let earlier = TestRun.make("etl", start: TestRun.hours(1, before: RunLifecycleContractTests.start), code: "before", status: "success")
            _ = try await repository.insert(earlier)
            // Its end alone: it starts where it ends.
            var endOnly = RunLifecycleContractTests.run(status: RunStatus.success, seconds: 0)
            endOnly.startUTC = endOnly.endUTC
            endOnly.startLocal = endOnly.endLocal
            endOnly = endOnly.normalized
            #expect(try await repository.insert(endOnly).isCreated)
            // The same run with the start it did not know.
            var whole = endOnly
            whole.startUTC = UTCInstant(microsecondsSinceEpoch: endOnly.endUTC.microsecondsSinceEpoch - 600_000_000)
            whole.startLocal = LocalDateTime(wallMicroseconds: endOnly.endLocal.wallMicroseconds - 600_000_000)
            whole.elapsedSeconds = 600
            whole = whole.normalized
            #expect(endOnly.isCompleted(startBy: whole))
            guard case .updated = try await repository.insert(whole) else {
                Issue.record("the run with its start replaces the one stored from its end")
                return
            }
            // Sent again: unchanged; the end alone again: a conflict (the run is further along).
            #expect(try await repository.insert(whole).isWritten == false)
            await #expect(throws: StorageError.self) { try await repository.insert(endOnly) }
            for repository in [fixture.repository] {
                #expect(try await repository.runs(matching: RunQuery()).runs.map(\.info) == [whole, earlier])
                #expect(try await repository.count(matching: RunFilter()) == 2)
                #expect(try await repository.summaries() == PipelineSummary.summarize([earlier, whole]))
            }
            try await fixture.restart()
            #expect(try await fixture.repository.runs(matching: RunQuery()).runs.map(\.info) == [whole, earlier])
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize([earlier, whole]))
            #expect(try await fixture.repository.countRuns(startedBefore: UTCInstant(microsecondsSinceEpoch: Int64.max)) == 2)
            // Retention counts and deletes the run once.
            #expect(try await fixture.repository.deleteRuns(startedBefore: UTCInstant(microsecondsSinceEpoch: Int64.max), limit: 10) == 2)
            #expect(try await fixture.repository.summaries().isEmpty)
        }
    }
}
