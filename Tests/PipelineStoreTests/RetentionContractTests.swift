import Foundation
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// Retention (`countRuns(startedBefore:)`, `deleteRuns(startedBefore:limit:)`) on every backend:
/// deletion goes oldest first in batches of at most the limit, and afterwards every answer equals
/// the in-memory oracle over the runs left, as if the deleted runs had never been stored.
@Suite("Retention contract")
struct RetentionContractTests {
    /// RandomRuns start within 60 days from 2025-01-01; this cutoff leaves about half of them.
    static let cutoff = UTCInstant(microsecondsSinceEpoch: (RandomRuns.epochStart + 30 * 86_400) * 1_000_000)

    /// Stores runs in batches, in order, and returns them as stored.
    static func store(_ runs: [PipelineInfo], in repository: any PipelineRunRepository) async throws -> [StoredRun] {
        var stored: [StoredRun] = []
        for start in stride(from: 0, to: runs.count, by: 100) {
            stored += try await repository.insert(contentsOf: Array(runs[start..<min(start + 100, runs.count)])).map(\.storedRun)
        }
        return stored
    }

    /// Every run the repository holds, in result order.
    static func all(_ repository: any PipelineRunRepository) async throws -> [StoredRun] {
        try await repository.runs(matching: RunQuery(paging: .all)).runs
    }

    /// The runs in result order, as the oracle orders them.
    static func resultOrder(_ runs: [StoredRun]) -> [PipelineInfo] {
        RunQuery(paging: .all).evaluate(over: runs).runs.map(\.info)
    }

    @Test("Counts the runs before the cutoff; batches respect the limit and go oldest first", arguments: Backend.underTest)
    func batchesGoOldestFirst(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 61)
            let stored = try await Self.store(generator.runs(300), in: fixture.repository)
            let doomed = stored.filter { $0.info.startUTC < Self.cutoff }.sorted { $0.position < $1.position }
            #expect(doomed.count > 100 && doomed.count < 200)
            #expect(try await fixture.repository.countRuns(startedBefore: Self.cutoff) == doomed.count)
            #expect(try await fixture.repository.deleteRuns(startedBefore: Self.cutoff, limit: 0) == 0)

            var deletedSoFar = 0
            while deletedSoFar < doomed.count {
                let deleted = try await fixture.repository.deleteRuns(startedBefore: Self.cutoff, limit: 37)
                #expect(deleted == min(37, doomed.count - deletedSoFar))
                deletedSoFar += deleted
                let gone = Set(doomed.prefix(deletedSoFar).map(\.sequence))
                let left = stored.filter { !gone.contains($0.sequence) }
                #expect(try await Self.all(fixture.repository).map(\.info) == Self.resultOrder(left), "after \(deletedSoFar) deleted")
                #expect(try await fixture.repository.countRuns(startedBefore: Self.cutoff) == doomed.count - deletedSoFar)
                if deleted == 0 { break }
            }
            #expect(try await fixture.repository.deleteRuns(startedBefore: Self.cutoff, limit: 37) == 0)
            #expect(try await Self.all(fixture.repository).count == stored.count - doomed.count)
        }
    }

    @Test("After a prune every answer equals the oracle over the runs left, also after a restart", arguments: Backend.underTest)
    func answersAfterPruneEqualTheOracle(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 2025)
            let runs = generator.runs(400)
            let stored = try await Self.store(runs, in: fixture.repository)
            #expect(try await fixture.repository.deleteRuns(startedBefore: Self.cutoff, limit: 150) == 150)
            _ = try await fixture.repository.deleteRuns(startedBefore: Self.cutoff, limit: 10_000)
            let left = stored.filter { $0.info.startUTC >= Self.cutoff }
            let leftRuns = left.map(\.info)

            for restarted in [false, true] {
                if restarted { try await fixture.restart() }
                let repository = fixture.repository
                let all = try await Self.all(repository)
                #expect(all.map(\.info) == Self.resultOrder(left), "restarted: \(restarted)")
                // Summary sums are added in insertion order on every backend, so they compare exactly.
                #expect(try await repository.summaries() == PipelineSummary.summarize(leftRuns), "restarted: \(restarted)")
                #expect(try await repository.countRuns(startedBefore: Self.cutoff) == 0)
                for run in runs.prefix(60) {
                    let expected: PipelineInfo? = run.startUTC >= Self.cutoff ? run : nil
                    #expect(try await repository.run(dateCode: run.dateCode) == expected)
                }
                #expect(try await repository.historySamples(matching: RunFilter()) == all.map { HistorySample($0.info) })
                for signature in Set(runs.map(\.signature)).sorted().prefix(8) {
                    let expected = all.filter { $0.info.signature == signature }.prefix(5).map { RunSample($0.info) }
                    #expect(try await repository.samples(matching: RunFilter(signature: signature), limit: 5) == Array(expected))
                    var since = RunFilter(signature: signature)
                    since.startUTCFrom = UTCInstant(microsecondsSinceEpoch: Self.cutoff.microsecondsSinceEpoch - UTCInstant.microsecondsPerDay)
                    #expect(try await repository.count(matching: since) == all.count { $0.info.signature == signature })
                }
                // Queries against the runs as the repository now numbers them (JSONL numbers them again from 1).
                var queries = RandomRuns(seed: 77)
                for _ in 0..<150 {
                    let query = queries.query()
                    let expected = query.evaluate(over: all)
                    let actual = try await repository.runs(matching: query)
                    #expect(actual == expected, "query \(query), restarted: \(restarted)")
                    if actual != expected { break }
                }
            }
        }
    }

    @Test("A deleted run's key can be stored again, with other content", arguments: Backend.underTest)
    func deletedKeyCanBeStoredAgain(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let old = RepositoryContractTests.sample
            _ = try await fixture.repository.insert(old)
            var changed = old
            changed.rowcount += 1
            await #expect(throws: StorageError.self) { try await fixture.repository.insert(changed) }
            let after = UTCInstant(microsecondsSinceEpoch: old.startUTC.microsecondsSinceEpoch + 1)
            #expect(try await fixture.repository.deleteRuns(startedBefore: after, limit: 10) == 1)
            #expect(try await fixture.repository.run(dateCode: old.dateCode) == nil)
            #expect(try await fixture.repository.summaries() == [])

            #expect(try await fixture.repository.insert(changed).isCreated)
            #expect(try await Self.all(fixture.repository).map(\.info) == [changed])
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize([changed]))
        }
    }

    @Test("Nothing before the cutoff deletes nothing", arguments: Backend.underTest)
    func nothingToDelete(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 5)
            let stored = try await Self.store(generator.runs(40), in: fixture.repository)
            let summaries = try await fixture.repository.summaries()
            let early = UTCInstant(microsecondsSinceEpoch: RandomRuns.epochStart * 1_000_000)
            #expect(try await fixture.repository.countRuns(startedBefore: early) == 0)
            #expect(try await fixture.repository.deleteRuns(startedBefore: early, limit: 100) == 0)
            #expect(try await Self.all(fixture.repository) == RunQuery(paging: .all).evaluate(over: stored).runs)
            #expect(try await fixture.repository.summaries() == summaries)
        }
    }

    @Test("Writes during a prune are all kept, and survive a restart", arguments: Backend.underTest)
    func writesDuringPruneAreKept(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 88)
            let old = generator.runs(600).filter { $0.startUTC < Self.cutoff }
            _ = try await Self.store(old, in: fixture.repository)
            // New runs, all after the cutoff: none of them may be deleted or lost.
            let fresh = generator.runs(400).map { run in
                var run = run
                run.startUTC = UTCInstant(microsecondsSinceEpoch: run.startUTC.microsecondsSinceEpoch + 60 * 86_400_000_000)
                run.endUTC = UTCInstant(microsecondsSinceEpoch: run.endUTC.microsecondsSinceEpoch + 60 * 86_400_000_000)
                return run
            }
            let repository = fixture.repository
            let (created, deleted) = try await withThrowingTaskGroup(of: (created: Int, deleted: Int).self) { group in
                for run in fresh {
                    group.addTask { (try await repository.insert(run).isCreated ? 1 : 0, 0) }
                }
                group.addTask {
                    var deleted = 0
                    while true {
                        let batch = try await repository.deleteRuns(startedBefore: Self.cutoff, limit: 25)
                        deleted += batch
                        if batch == 0 { return (0, deleted) }
                        await Task.yield()
                    }
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.created, $0.1 + $1.deleted) }
            }
            #expect(created == fresh.count)
            #expect(deleted == old.count)
            for restarted in [false, true] {
                if restarted { try await fixture.restart() }
                let all = try await Self.all(fixture.repository)
                #expect(all.count == fresh.count, "restarted: \(restarted)")
                #expect(Set(all.map(\.info.dateCode)) == Set(fresh.map(\.dateCode)))
                let insertionOrder = all.sorted { $0.sequence < $1.sequence }.map(\.info)
                #expect(try await fixture.repository.summaries() == PipelineSummary.summarize(insertionOrder), "restarted: \(restarted)")
            }
        }
    }
}

/// What only the JSONL backend promises about retention: the file is rewritten in place of the
/// old one, lines that are not runs survive byte for byte, and the lock stays held.
@Suite("JSONL retention")
struct JSONLRetentionTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/runs.jsonl" }

    init() throws {
        directory = try TemporaryDirectory()
    }

    private func open() throws -> JSONLRunRepository {
        try JSONLRunRepository(path: path, logger: testLogger("test.jsonl"))
    }

    private func lines() throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("Corrupt lines survive a prune byte for byte, and the file loads again to the same state")
    func corruptLinesSurvive() async throws {
        defer { directory.remove() }
        var generator = RandomRuns(seed: 404)
        let runs = generator.runs(60)
        let corrupt = ["{\"start_utc\": \"2025-01-01T00:00:00Z\", \"broken", "not json at all", "{\"date_code\": \"incomplete\"}", "   "]
        var text = ""
        for (index, run) in runs.enumerated() {
            text += String(decoding: RunExportEncoder(format: .ndjson).document([run]), as: UTF8.self)
            if index % 15 == 7 { text += corrupt[index / 15] + "\n" }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)

        var repository = try open()
        let doomed = runs.filter { $0.startUTC < RetentionContractTests.cutoff }
        #expect(try await repository.deleteRuns(startedBefore: RetentionContractTests.cutoff, limit: 1_000) == doomed.count)
        let before = try await RetentionContractTests.all(repository)
        #expect(before.map(\.info.dateCode).sorted() == runs.filter { $0.startUTC >= RetentionContractTests.cutoff }.map(\.dateCode).sorted())
        // The path now names the new file, and this process still holds its lock.
        #expect(throws: ConfigurationError.self) { try open() }
        let late = generator.next()
        _ = try await repository.insert(late)
        repository.close()

        let lines = try lines()
        #expect(lines.filter { corrupt.contains($0) } == corrupt, "corrupt lines kept, in order")
        let dateCodes = Set(doomed.map(\.dateCode))
        #expect(!lines.contains { line in dateCodes.contains { line.contains("\"\($0)\"") } })
        #expect(lines.count == runs.count - doomed.count + 1 + corrupt.count + 1)
        let after = try FileManager.default.attributesOfItem(atPath: path)
        #expect(after[.posixPermissions] as? Int == attributes[.posixPermissions] as? Int)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["runs.jsonl"], "no temporary file left")

        repository = try open()
        defer { repository.close() }
        let reloaded = try await RetentionContractTests.all(repository)
        #expect(reloaded.contains { $0.info == late })
        #expect(reloaded.filter { $0.info != late } == before)
        #expect(try await repository.summaries() == PipelineSummary.summarize(before.sorted { $0.sequence < $1.sequence }.map(\.info) + [late]))
    }

    @Test("A prune that deletes nothing leaves the file untouched")
    func emptyPruneLeavesFile() async throws {
        defer { directory.remove() }
        var generator = RandomRuns(seed: 405)
        let repository = try open()
        for run in generator.runs(10) { _ = try await repository.insert(run) }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        let early = UTCInstant(microsecondsSinceEpoch: RandomRuns.epochStart * 1_000_000)
        #expect(try await repository.deleteRuns(startedBefore: early, limit: 10) == 0)
        repository.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)
    }
}
