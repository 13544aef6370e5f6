import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// `pipeline-service migrate`: every run arrives once, in the source's order, and the copy verifies.
@Suite("Migrating between backends")
struct RunMigratorTests {
    static var destinations: [Backend] { Backend.underTest.filter { $0 != .jsonl } + [.jsonl] }

    @Test("A copy keeps every run and the result order, verifies, and can be run again", arguments: destinations)
    func copyIsCompleteOrderedAndResumable(destination: Backend) async throws {
        try await withFixture(.jsonl) { source in
            try await withFixture(destination) { target in
                var generator = RandomRuns(seed: 404)
                // Some runs still running: they are copied too.
                generator.includesRunning = true
                // Many ties in start_utc (a coarse grid), so the insertion order of ties matters.
                let runs = generator.runs(450)
                _ = try await source.repository.insert(contentsOf: runs)
                let migrator = RunMigrator(batchSize: 40)
                let first = try await migrator.migrate(from: source.repository, to: target.repository)
                #expect(first.isVerified, "\(first)")
                #expect(first.copied == 450)
                let expected = try await source.repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info)
                let copied = try await target.repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info)
                #expect(copied == expected)
                let running = RunQuery(filter: RunFilter(status: .equals(RunStatus.running)), paging: .all)
                let expectedRunning = try await source.repository.runs(matching: running).runs.map(\.info)
                #expect(!expectedRunning.isEmpty)
                #expect(try await target.repository.runs(matching: running).runs.map(\.info) == expectedRunning)
                // Same groups and counts; the averages may differ in the last bits, because the copy
                // inserts in start order and floating-point sums depend on the order of additions.
                let copiedSummaries = try await target.repository.summaries()
                let sourceSummaries = try await source.repository.summaries()
                #expect(copiedSummaries.map(\.signature) == sourceSummaries.map(\.signature))
                #expect(copiedSummaries.map(\.totalRuns) == sourceSummaries.map(\.totalRuns))
                for (copy, original) in zip(copiedSummaries, sourceSummaries) {
                    #expect(abs((copy.avgDuration ?? 0) - (original.avgDuration ?? 0)) <= 1e-9 * max(1, original.avgDuration ?? 0))
                    #expect(copy.avgRowcount == original.avgRowcount)
                }

                let again = try await migrator.migrate(from: source.repository, to: target.repository)
                #expect(again.isVerified)
                #expect(again.copied == 0 && again.alreadyPresent == 450)
            }
        }
    }

    @Test("A destination that already holds other runs does not verify")
    func extraRunsFailVerification() async throws {
        try await withFixture(.jsonl) { source in
            try await withFixture(.jsonl) { target in
                var generator = RandomRuns(seed: 405)
                _ = try await source.repository.insert(contentsOf: generator.runs(30))
                _ = try await target.repository.insert(generator.next())
                let report = try await RunMigrator().migrate(from: source.repository, to: target.repository)
                #expect(!report.isVerified)
                #expect(report.destinationRuns == 31)
            }
        }
    }
}
