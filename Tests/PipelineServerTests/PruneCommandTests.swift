import Foundation
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// `pipeline-service prune`, run as the built executable.
@Suite("pipeline-service prune")
struct PruneCommandTests {
    /// Runs the executable to completion; the exit status, stdout and stderr.
    static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ServiceProcess.runToCompletion(arguments)
    }

    /// Random runs that started `5 + 10·i` days ago (never close to a 90-day cutoff), in random order.
    static func runs(_ count: Int, seed: UInt64) -> [PipelineInfo] {
        var generator = RandomRuns(seed: seed)
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        return (0..<count).map { index in
            var run = generator.next()
            let elapsed = run.endUTC.microsecondsSinceEpoch - run.startUTC.microsecondsSinceEpoch
            run.startUTC = UTCInstant(microsecondsSinceEpoch: now - Int64(5 + 10 * index) * 86_400_000_000)
            run.endUTC = UTCInstant(microsecondsSinceEpoch: run.startUTC.microsecondsSinceEpoch + elapsed)
            return run
        }.shuffled(using: &generator.generator)
    }

    static func isOld(_ run: PipelineInfo) -> Bool {
        run.startUTC.microsecondsSinceEpoch < (Int64(Date().timeIntervalSince1970) - 90 * 86_400) * 1_000_000
    }

    @Test("--dry-run counts and deletes nothing; prune deletes the old runs in batches and keeps the rest")
    func dryRunThenPrune() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runs = Self.runs(30, seed: 90)
        let old = runs.filter(Self.isOld)
        #expect(old.count == 21)
        let path = directory.path + "/runs.jsonl"
        try Data(RunExportEncoder(format: .ndjson).document(runs)).write(to: URL(fileURLWithPath: path))
        let original = try Data(contentsOf: URL(fileURLWithPath: path))

        let dryRun = try await Self.run(["prune", "--older-than", "90d", "--dry-run", "--jsonl-path", path])
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.hasPrefix("prune --dry-run: 21 runs started before "))
        #expect(dryRun.stdout.contains("(older than 90d); nothing was deleted"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)

        let prune = try await Self.run(["prune", "--older-than", "90d", "--batch-size", "4", "--jsonl-path", path, "--log-level", "warning"])
        #expect(prune.status == 0)
        #expect(prune.stdout.hasPrefix("prune: deleted 21 runs that started before "))
        // Off a terminal, progress is plain lines (the first, then at most one per 5 s, then the last).
        #expect(prune.stderr.contains("4 of 21 runs deleted\n"))
        #expect(prune.stderr.contains("21 of 21 runs deleted\n"))
        #expect(!prune.stderr.contains("\r"))

        let repository = try JSONLRunRepository(path: path, logger: testLogger("test.prune"))
        let left = try await repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info)
        repository.close()
        #expect(Set(left.map(\.dateCode)) == Set(runs.filter { !Self.isOld($0) }.map(\.dateCode)))

        let again = try await Self.run(["prune", "--older-than", "2w", "--jsonl-path", path])
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("prune: deleted 8 runs "))
    }

    @Test("prune works on the SQL backends through the same settings as the other commands")
    func pruneSQLite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runs = Self.runs(40, seed: 91)
        let input = directory.path + "/input.ndjson"
        try Data(RunExportEncoder(format: .ndjson).document(runs)).write(to: URL(fileURLWithPath: input))
        let database = directory.path + "/runs.sqlite"
        let storage = ["--backend", "sqlite", "--sqlite-path", database, "--log-level", "warning"]
        await #expect(try Self.run(["import", input] + storage).status == 0)

        let prune = try await Self.run(["prune", "--older-than", "12w"] + storage)
        #expect(prune.status == 0)
        let kept = runs.filter { $0.startUTC.microsecondsSinceEpoch >= (Int64(Date().timeIntervalSince1970) - 84 * 86_400) * 1_000_000 }
        #expect(prune.stdout.hasPrefix("prune: deleted \(runs.count - kept.count) runs "))

        let repository = try SQLiteRunRepository(path: database, logger: testLogger("test.prune"))
        try await repository.prepare()
        let left = try await repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info)
        #expect(Set(left.map(\.dateCode)) == Set(kept.map(\.dateCode)))
        // Imported in file order, so the totals are those of the kept runs in that order.
        #expect(try await repository.summaries() == PipelineSummary.summarize(kept))
        try repository.close()
    }

    @Test(
        "A bad period or batch size is a usage error, and nothing is opened",
        arguments: [
            ["--older-than", "0d"], ["--older-than", "-3d"], ["--older-than", "90"], ["--older-than", "3 days"],
            ["--older-than", "90d", "--batch-size", "0"], [],
        ]
    )
    func usageErrors(arguments: [String]) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/runs.jsonl"
        let result = try await Self.run(["prune"] + arguments + ["--jsonl-path", path])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
