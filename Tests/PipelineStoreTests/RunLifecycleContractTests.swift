import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// Run ids and the running → finished lifecycle, the same on every backend.
@Suite("Run lifecycle contract")
struct RunLifecycleContractTests {
    static let start = UTCInstant(microsecondsSinceEpoch: 1_767_225_600_000_000)  // 2026-01-01T00:00:00Z
    static let id = "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"

    /// A run with its own id, still running (`end` nil) or finished with `status`.
    static func run(_ id: String = id, name: String = "etl", code: String = "20260101_000000", status: String, seconds: Double = 90) -> PipelineInfo {
        var run = TestRun.make(name, start: start, seconds: seconds, code: code, status: status)
        run.runID = id
        return run.normalized
    }

    @Test(
        "A running run is stored apart: hidden from answers that do not ask, listed with status=running or its run_id",
        arguments: Backend.underTest
    )
    func runningRunsAreListedOnlyWhenAskedFor(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let finished = TestRun.make("etl", start: TestRun.hours(5, before: Self.start), code: "old", status: "success")
            _ = try await repository.insert(finished)
            let running = Self.run(status: RunStatus.running)
            #expect(try await repository.insert(running).isCreated)
            #expect(running.endUTC == running.startUTC && running.elapsedSeconds == 0, "a running run stores its start as its end")
            #expect(try await repository.runs(matching: RunQuery()).runs.map(\.info) == [finished])
            #expect(try await repository.count(matching: RunFilter()) == 1)
            #expect(try await repository.runs(matching: RunQuery(filter: RunFilter(status: .equals("running")))).runs.map(\.info) == [running])
            #expect(try await repository.runs(matching: RunQuery(filter: RunFilter(runID: Self.id))).runs.map(\.info) == [running])
            #expect(try await repository.samples(matching: RunFilter(), limit: 10).count == 1)
            #expect(try await repository.historySamples(matching: RunFilter()).count == 1)
            #expect(try await repository.summaries() == PipelineSummary.summarize([finished]))
            try await fixture.restart()
            #expect(try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(runID: Self.id))).runs.map(\.info) == [running])
            #expect(try await fixture.repository.count(matching: RunFilter()) == 1)
        }
    }

    @Test("A running run is replaced by newer records of it and completed by its end; a finished run is final", arguments: Backend.underTest)
    func runningRunIsCompletedOnce(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let running = Self.run(status: RunStatus.running)
            #expect(try await repository.insert(running).isCreated)
            // The same running record again changes nothing.
            let stored = try await repository.runs(matching: RunQuery(filter: RunFilter(runID: Self.id))).runs
            #expect(try await repository.insert(running) == .existing(try #require(stored.first)))
            // A newer running record (rows so far) replaces it.
            var progress = running
            progress.rowcount = 500
            guard case .updated = try await repository.insert(progress) else {
                Issue.record("a newer running record replaces the stored one")
                return
            }
            // Its end completes it: counted once, in every answer.
            let finished = Self.run(status: RunStatus.success)
            guard case .updated(let completed) = try await repository.insert(finished) else {
                Issue.record("the finished record completes the running run")
                return
            }
            #expect(completed.info == finished)
            #expect(try await repository.runs(matching: RunQuery()).runs == [completed])
            #expect(try await repository.runs(matching: RunQuery(filter: RunFilter(status: .equals("running")))).total == 0)
            #expect(try await repository.summaries() == PipelineSummary.summarize([finished]))
            // Finished is final: the same end again is a duplicate, and so is a late start of this run
            // (a data file holding both records, imported again); another end is a conflict, as is a
            // running record that is not this run's (another start).
            #expect(try await repository.insert(finished) == .existing(completed))
            #expect(try await repository.insert(running) == .existing(completed))
            let failedInstead = Self.run(status: RunStatus.failed)
            await #expect(throws: StorageError.self) { try await repository.insert(failedInstead) }
            var otherStart = running
            otherStart.startUTC = UTCInstant(microsecondsSinceEpoch: running.startUTC.microsecondsSinceEpoch + 1_000_000)
            await #expect(throws: StorageError.self) { try await repository.insert(otherStart) }
            // Both records of the run, loaded again as a data file holds them: nothing new, no conflict.
            let counts = try await repository.insertCounting([running, finished])
            #expect(counts.existing == 2 && counts.created == 0 && counts.updated == 0 && counts.conflicts == 0, "\(counts)")
            try await fixture.restart()
            #expect(try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info) == [finished])
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize([finished]))
        }
    }

    /// 0.1 + 0.2 + 0.3 is 0.6000000000000001 added in that order, 0.6 as 0.2 + 0.3 + 0.1: the
    /// totals must add a batch's runs in the order of their ids, as a refold after a prune does,
    /// though the run that ends a stored running one is stored after the rest of its batch.
    @Test("A batch that ends a running run adds its runs to the totals in id order", arguments: Backend.underTest)
    func batchEndingARunningRunAddsInIDOrder(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            #expect(try await repository.insert(Self.run(status: RunStatus.running)).isCreated)
            let batch = [
                Self.run(status: RunStatus.success, seconds: 0.1),
                Self.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e", code: "20260101_000001", status: RunStatus.success, seconds: 0.2),
                Self.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6f", code: "20260101_000002", status: RunStatus.success, seconds: 0.3),
            ]
            _ = try await repository.insert(contentsOf: batch)
            let stored = try await repository.runs(matching: RunQuery(paging: .all)).runs.sorted { $0.sequence < $1.sequence }
            #expect(stored.count == 3)
            #expect(try await repository.summaries() == PipelineSummary.summarize(stored.map(\.info)))
        }
    }

    @Test("Runs of one pipeline in one second with their own ids are all stored; without ids the old key still holds", arguments: Backend.underTest)
    func sameSecondFanOut(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let ids = (0..<20).map { _ in RunID.timeOrdered(at: Self.start) }
            #expect(Set(ids).count == 20)
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for id in ids { group.addTask { try await repository.insert(Self.run(id, status: RunStatus.success)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0.isCreated })
            #expect(try await repository.count(matching: RunFilter(dateCode: "20260101_000000")) == 20)
            #expect(Set(try await repository.runs(matching: RunQuery(paging: .all)).runs.compactMap(\.info.runID)) == Set(ids))
            // An old client's post (no id) is keyed by name and date code: the same again is a duplicate,
            // a different one a conflict naming the pair, as before ids.
            var old = TestRun.make("etl", start: Self.start, code: "20260101_000000", status: "success")
            #expect(old.runID == RunID.nameBased(pipelineName: "etl", dateCode: "20260101_000000"))
            #expect(try await repository.insert(old).isCreated)
            #expect(try await repository.insert(old).isCreated == false)
            old.rowcount += 1
            let error = await #expect(throws: StorageError.self) { try await repository.insert(old) }
            #expect(error?.description.contains("(pipeline_name=etl, date_code=20260101_000000)") == true)
            #expect(error?.conflictingKey?.hasOwnID == false)
            #expect(try await repository.summaries().first?.totalRuns == 21)
        }
    }

    @Test("Retention deletes runs still running that started before the cutoff", arguments: Backend.underTest)
    func retentionDeletesOldRunningRuns(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let finished = TestRun.make("etl", start: Self.start, code: "kept", status: "success")
            _ = try await repository.insert(finished)
            _ = try await repository.insert(Self.run(status: RunStatus.running))
            let cutoff = UTCInstant(microsecondsSinceEpoch: Self.start.microsecondsSinceEpoch + 1)
            #expect(try await repository.countRuns(startedBefore: cutoff) == 2)
            #expect(try await repository.deleteRuns(startedBefore: cutoff, limit: 10) == 2)
            #expect(try await repository.runs(matching: RunQuery(filter: RunFilter(runID: Self.id))).total == 0)
            try await fixture.restart()
            #expect(try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(status: .equals("running")))).total == 0)
            #expect(try await fixture.repository.summaries().isEmpty)
        }
    }

    @Test("Retention keeps a running run's latest record and drops the records it replaced", arguments: Backend.underTest)
    func retentionKeepsLatestRunningRecord(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            let old = TestRun.make("etl", start: TestRun.hours(48, before: Self.start), code: "old", status: "success")
            _ = try await repository.insert(old)
            var running = Self.run(status: RunStatus.running)
            _ = try await repository.insert(running)
            running.rowcount = 7
            _ = try await repository.insert(running)
            let other = Self.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e", code: "b", status: RunStatus.running)
            _ = try await repository.insert(other)
            _ = try await repository.insert(Self.run("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e", code: "b", status: RunStatus.success))
            #expect(try await repository.deleteRuns(startedBefore: TestRun.hours(24, before: Self.start), limit: 10) == 1)
            try await fixture.restart()
            let open = try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(status: .equals("running")))).runs.map(\.info)
            #expect(open == [running])
            #expect(try await fixture.repository.runs(matching: RunQuery()).runs.map(\.info.dateCode) == ["b"])
        }
    }
}

@Suite("Run lifecycle: review findings")
struct RunLifecycleReviewTests {
    @Test("Retention finds old finished and running runs through their indexes, oldest first across both", arguments: Backend.underTest)
    func retentionOrdersFinishedAndRunningTogether(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let start = RunLifecycleContractTests.start
            let finishedOld = TestRun.make("etl", start: TestRun.hours(30, before: start), code: "old", status: "success")
            var running = TestRun.make("etl", start: TestRun.hours(40, before: start), code: "older", status: "running")
            running.runID = RunID.timeOrdered(at: running.startUTC)
            _ = try await fixture.repository.insert(finishedOld)
            _ = try await fixture.repository.insert(running.normalized)
            let cutoff = TestRun.hours(1, before: start)
            #expect(try await fixture.repository.countRuns(startedBefore: cutoff) == 2)
            // A limit of one takes the oldest: the running run.
            #expect(try await fixture.repository.deleteRuns(startedBefore: cutoff, limit: 1) == 1)
            #expect(try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(status: .equals("running")))).total == 0)
            #expect(try await fixture.repository.runs(matching: RunQuery()).runs.map(\.info) == [finishedOld])
        }
    }

    @Test("The fast line decoder reads an upper-case run_id as the general path does")
    func fastDecoderCanonicalisesRunID() throws {
        var run = TestRun.make("etl", start: RunLifecycleContractTests.start, code: "a")
        run.runID = "0191D3C4-5E6F-7A8B-9C0D-1E2F3A4B5C6D"
        let line = run.jsonBytes
        let fast = line.withUnsafeBufferPointer { StoredRunDecoder.decode($0) }
        let general = try PipelineInfo(jsonBytes: line, policy: .stored)
        #expect(fast?.runID == "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")
        #expect(fast == general)
    }
}
