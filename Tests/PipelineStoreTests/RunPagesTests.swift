import PipelineCore
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

/// Reading pages ahead (`RunPages.readingAhead`): every page once and in order, and a consumer
/// that stops (a client gone) leaves the read under way to finish rather than cancelling it,
/// which would report a storage failure that never happened.
@Suite("Run pages")
struct RunPagesTests {
    /// Reads that take a while, counting the ones cancelled before they finished.
    struct SlowReads: ForwardingRepository {
        final class Counts: Sendable {
            let reads = Mutex(0)
            let cancelled = Mutex(0)
        }

        let base: any PipelineRunRepository
        let counts = Counts()

        func runs(matching query: RunQuery) async throws -> RunPage {
            counts.reads.withLock { $0 += 1 }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                counts.cancelled.withLock { $0 += 1 }
                throw error
            }
            return try await base.runs(matching: query)
        }
    }

    struct Stop: Error {}

    @Test("Every page comes once, in result order, whatever the page size")
    func everyPageOnceInOrder() async throws {
        try await withFixture(.jsonl) { fixture in
            var generator = RandomRuns(seed: 3)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(95))
            let all = try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs
            for size in [1, 10, 94, 95, 200] {
                var seen: [StoredRun] = []
                try await RunPages(of: fixture.repository, matching: RunFilter(), pageSize: size).readingAhead { seen += $0.runs }
                #expect(seen == all, "pages of \(size)")
            }
        }
    }

    @Test("When the consumer stops, the page read ahead finishes uncancelled and only the consumer's error is thrown")
    func readAheadFinishesWhenTheConsumerStops() async throws {
        try await withFixture(.jsonl) { fixture in
            var generator = RandomRuns(seed: 4)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(30))
            let slow = SlowReads(base: fixture.repository)
            var handled = 0
            do {
                try await RunPages(of: slow, matching: RunFilter(), pageSize: 10).readingAhead { _ in
                    handled += 1
                    throw Stop()
                }
                Issue.record("the consumer's error was not thrown")
            } catch is Stop {}
            #expect(handled == 1)
            #expect(slow.counts.reads.withLock { $0 } == 2)
            #expect(slow.counts.cancelled.withLock { $0 } == 0)
        }
    }
}
