import Foundation
import GRDB
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// Stored values no client may send but the old service's files and shared tables can hold —
/// rowcounts near Int64.max, durations near the largest double, totals at their edges — never
/// trap, never fail a read, and give the summaries' exact numbers on every backend.
@Suite("Legacy values in storage")
struct LegacyDataTests {
    static let start = UTCInstant(microsecondsSinceEpoch: 1_700_000_000_000_000)

    static func run(_ name: String, rowcount: Int64 = 1, seconds: Double = 1, code: String) -> PipelineInfo {
        TestRun.make(name, start: start, seconds: seconds, rowcount: rowcount, code: code)
    }

    @Test("A JSONL file with rowcounts of 5e18 and durations of 1e308 loads, and its summaries hold")
    func jsonlFileWithHugeValuesLoads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/runs.jsonl"
        let lines = [
            Self.run("rows", rowcount: 5_000_000_000_000_000_000, code: "r1"), Self.run("rows", rowcount: 5_000_000_000_000_000_000, code: "r2"),
            Self.run("slow", seconds: 1e308, code: "s1"), Self.run("slow", seconds: 1e308, code: "s2"),
        ].map { String(decoding: $0.jsonBytes, as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let repository = try JSONLRunRepository(path: path, logger: testLogger("test.legacy"))
        defer { repository.close() }
        let summaries = try await repository.summaries()
        #expect(summaries.first { $0.signature.pipelineName == "rows" }?.avgRowcount == 5e18)
        #expect(summaries.first { $0.signature.pipelineName == "slow" }?.avgDuration == .infinity)
        #expect(try await repository.runs(matching: RunQuery()).total == 4)
    }

    /// Sets the totals of the summary table's only row directly, as a table kept for years (or
    /// written by hand) may hold them.
    private static func setTotals(rowcountSum: Int64, durationSum: Double, in fixture: RepositoryFixture, backend: Backend) async throws {
        let statement = "UPDATE %@ SET \"rowcount_sum\" = \(rowcountSum), \"duration_sum\" = \(durationSum)"
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: fixture.location)
            try await queue.write { try $0.execute(sql: statement.replacingOccurrences(of: "%@", with: "\"pipeline_runs_summary\"")) }
            try queue.close()
        case .postgres:
            try await PostgresTestDatabase.execute(statement.replacingOccurrences(of: "%@", with: "\"\(fixture.location)_summary\""))
        case .jsonl:
            break
        }
    }

    @Test(
        "Totals at the edge of 64 bits keep adding exactly, and a duration sum past the largest double reads as no average",
        arguments: Backend.underTest.filter { $0 != .jsonl }
    )
    func summaryTotalsPastSixtyFourBits(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            _ = try await repository.insert(Self.run("edge", rowcount: 1_000_000_000_000, seconds: 10, code: "a"))
            try await Self.setTotals(rowcountSum: 9_223_372_036_854_775_000, durationSum: 1.7e308, in: fixture, backend: backend)
            _ = try await repository.insert(Self.run("edge", rowcount: 1_000_000_000_000, seconds: 1e308, code: "b"))
            let summary = try #require(try await repository.summaries().first)
            #expect(summary.totalRuns == 2)
            #expect(summary.avgRowcount == Double(Int128(9_223_372_036_854_775_000) + 1_000_000_000_000) / 2)
            #expect(summary.avgDuration == .infinity)
            // A batch and a restart read the same totals back.
            _ = try await repository.insert(contentsOf: [Self.run("edge", rowcount: 7, seconds: 1, code: "c")])
            try await fixture.restart()
            let again = try #require(try await fixture.repository.summaries().first)
            #expect(again.avgRowcount == Double(Int128(9_223_372_036_854_775_000) + 1_000_000_000_007) / 3)
            // A prune folds the totals again from the runs left, exactly.
            let cutoff = UTCInstant(microsecondsSinceEpoch: Self.start.microsecondsSinceEpoch + 1)
            #expect(try await fixture.repository.deleteRuns(startedBefore: cutoff, limit: 1) == 1)
            let refolded = try #require(try await fixture.repository.summaries().first)
            #expect(refolded.totalRuns == 2)
            #expect(refolded.avgRowcount == Double(1_000_000_000_007) / 2)
        }
    }

    @Test(
        "A table the service does not own sums rowcounts near Int64.max exactly, and survives durations of 1e308",
        arguments: Backend.underTest.filter { $0 != .jsonl }
    )
    func foreignTableWithHugeValues(backend: Backend) async throws {
        let columns = """
            "start_local" %TS% NOT NULL, "end_local" %TS% NOT NULL, "start_utc" %TSZ% NOT NULL, "end_utc" %TSZ% NOT NULL,
            "elapsed_seconds" %F% NOT NULL, "elapsed_human" TEXT NOT NULL, "output_file" TEXT NOT NULL, "rowcount" %I% NOT NULL,
            "log_file" TEXT NOT NULL, "pid" %I% NOT NULL, "date_code" TEXT NOT NULL, "pipeline_name" TEXT, "script_name" TEXT,
            "pipeline_type" TEXT, "environment" TEXT, "archived_file" TEXT, "status" TEXT, "exit_code" %I%
            """
        func rows(_ table: String) -> String {
            let values = [("rows", "5000000000000000000", "1"), ("rows", "5000000000000000000", "1"), ("slow", "1", "1e308"), ("slow", "1", "1e308")]
            return values.enumerated().map { index, value in
                """
                INSERT INTO \(table) ("start_local", "end_local", "start_utc", "end_utc", "elapsed_seconds", "elapsed_human", "output_file",
                "rowcount", "log_file", "pid", "date_code", "pipeline_name") VALUES ('2025-01-01 00:00:00', '2025-01-01 00:00:01',
                '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', \(value.2), '1s', '/o', \(value.1), '/l', 1, 'd\(index)', '\(value.0)')
                """
            }.joined(separator: ";\n")
        }
        let check: @Sendable (any PipelineRunRepository) async throws -> Void = { repository in
            let summaries = try await repository.summaries()
            #expect(summaries.first { $0.signature.pipelineName == "rows" }?.avgRowcount == 5e18)
            #expect(summaries.first { $0.signature.pipelineName == "slow" }?.avgDuration == .infinity)
            // A run of a new signature is admitted against the signatures the scan found.
            #expect(try await repository.insert(Self.run("new", code: "n1")).isCreated)
        }
        switch backend {
        case .sqlite:
            let fixture = try await RepositoryFixture.sqlite { path in
                let ddl = columns.replacingOccurrences(of: "%TS%", with: "TEXT").replacingOccurrences(of: "%TSZ%", with: "TEXT")
                    .replacingOccurrences(of: "%F%", with: "REAL").replacingOccurrences(of: "%I%", with: "INTEGER")
                let queue = try DatabaseQueue(path: path)
                try queue.write { db in
                    try db.execute(sql: "CREATE TABLE \"pipeline_runs\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \(ddl))")
                    try db.execute(sql: rows("\"pipeline_runs\""))
                }
                try queue.close()
            }
            do {
                try await check(fixture.repository)
                try await fixture.tearDown()
            } catch {
                try? await fixture.tearDown()
                throw error
            }
        case .postgres:
            let table = PostgresTestDatabase.uniqueName("legacy")
            let ddl = columns.replacingOccurrences(of: "%TSZ%", with: "TIMESTAMPTZ").replacingOccurrences(of: "%TS%", with: "TIMESTAMP")
                .replacingOccurrences(of: "%F%", with: "DOUBLE PRECISION").replacingOccurrences(of: "%I%", with: "BIGINT")
            try await PostgresTestDatabase.execute("CREATE TABLE \"\(table)\" (\"id\" BIGSERIAL PRIMARY KEY, \(ddl))")
            for statement in rows("\"\(table)\"").split(separator: ";\n") { try await PostgresTestDatabase.execute(String(statement)) }
            let opened = try PostgresTestDatabase.open(url: try PostgresTestDatabase.url(), layout: try SQLTableLayout(table: table))
            do {
                try await opened.repository.prepare()
                try await check(opened.repository)
                try await opened.close()
            } catch {
                try? await opened.close()
                try? await PostgresTestDatabase.execute("DROP TABLE \"\(table)\"")
                throw error
            }
            try await PostgresTestDatabase.execute("DROP TABLE \"\(table)\"")
        case .jsonl:
            break
        }
    }

    // MARK: - Bounded signatures

    @Test("No write adds a signature beyond the limit; runs of known signatures are always stored", arguments: Backend.underTest)
    func signaturesAreCapped(backend: Backend) async throws {
        try await withFixture(backend, limits: RepositoryLimits(maximumSignatures: 3)) { fixture in
            let repository = fixture.repository
            for name in ["a", "b", "c"] { #expect(try await repository.insert(Self.run(name, code: "\(name)1")).isCreated) }
            let refused = await #expect(throws: StorageError.self) { try await repository.insert(Self.run("d", code: "d1")) }
            #expect(refused?.signatureLimit == 3)
            #expect(refused?.isUnavailable == false)
            // A batch with one new signature is refused whole.
            await #expect(throws: StorageError.self) {
                try await repository.insert(contentsOf: [Self.run("a", code: "a2"), Self.run("e", code: "e1")])
            }
            #expect(try await repository.runs(matching: RunQuery()).total == 3)
            // Known signatures keep their runs coming, concurrently too, and after a restart.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask { _ = try await repository.insert(Self.run(["a", "b", "c"][index % 3], code: "k\(index)")) }
                }
                try await group.waitForAll()
            }
            try await fixture.restart()
            #expect(try await fixture.repository.insert(Self.run("b", code: "b9")).isCreated)
            await #expect(throws: StorageError.self) { try await fixture.repository.insert(Self.run("f", code: "f1")) }
            #expect(try await fixture.repository.summaries().count == 3)
            // Once a prune removes every run of a signature, there is room again.
            #expect(
                try await fixture.repository.deleteRuns(
                    startedBefore: UTCInstant(microsecondsSinceEpoch: UTCInstant.supportedMicroseconds.upperBound),
                    limit: 1_000
                ) == 24
            )
            #expect(try await fixture.repository.insert(Self.run("f", code: "f1")).isCreated)
        }
    }

    @Test("Quoting an identifier cannot trap, and a quote inside one cannot end it")
    func identifierQuotingIsTotal() {
        #expect(SQLTableLayout.quote("pipeline_runs") == "\"pipeline_runs\"")
        #expect(SQLTableLayout.quote("odd\"name") == "\"odd\"\"name\"")
        #expect(SQLTableLayout.quote("") == "\"\"")
    }
}
