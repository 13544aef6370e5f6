import Foundation
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

/// What only the JSONL backend promises: its file format, crash repair, locking, group commit.
@Suite("JSONL backend")
struct JSONLRepositoryTests {
    let directory: TemporaryDirectory
    var path: String { directory.path + "/runs.jsonl" }

    init() throws {
        directory = try TemporaryDirectory()
    }

    private func open(onBatch: @escaping @Sendable (Int) -> Void = { _ in }) throws -> JSONLRunRepository {
        try JSONLRunRepository(path: path, logger: testLogger("test.jsonl"), onBatch: onBatch)
    }

    private func lines() throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("The file holds one JSON object per line with the spec's field names")
    func fileIsOneObjectPerLine() async throws {
        defer { directory.remove() }
        let repository = try open()
        var generator = RandomRuns(seed: 1)
        let runs = generator.runs(20)
        for run in runs { _ = try await repository.insert(run) }
        repository.close()
        let lines = try lines()
        #expect(lines.last == "")
        #expect(lines.count == 21)
        for (line, run) in zip(lines, runs) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == Set(PipelineField.allCases.map(\.rawValue)))
            #expect(try PipelineInfo(jsonBytes: Array(line.utf8)) == run)
        }
    }

    @Test("A file written by the old service loads unchanged")
    func oldServiceFileLoads() async throws {
        defer { directory.remove() }
        // Python's str(datetime) forms, a missing optional, an extra field, an int-valued float.
        let old = """
            {"start_local": "2025-09-02 05:07:02", "end_local": "2025-09-02 05:47:27", "start_utc": "2025-09-02 12:07:02+00:00", "end_utc": "2025-09-02 12:47:27+00:00", "elapsed_seconds": 2424.879, "elapsed_human": "40m 24s", "output_file": "/o", "rowcount": 11060, "log_file": "/l", "pid": 21788, "date_code": "20250902_050702", "pipeline_name": "p", "script_name": null, "pipeline_type": "batch", "environment": "prod", "archived_file": null}
            {"start_local": "2025-09-03T05:07:02.250000", "end_local": "2025-09-03T05:08:02", "start_utc": "2025-09-03T12:07:02.250000", "end_utc": "2025-09-03T12:08:02", "elapsed_seconds": 60, "elapsed_human": "1m", "output_file": "/o", "rowcount": 0, "log_file": "/l", "pid": 1, "date_code": "20250903_050702", "pipeline_name": "p", "extra": {"ignored": true}}

            """
        try old.write(toFile: path, atomically: true, encoding: .utf8)
        let repository = try open()
        defer { repository.close() }
        let page = try await repository.runs(matching: RunQuery())
        #expect(page.total == 2)
        #expect(page.runs.map(\.info.dateCode) == ["20250903_050702", "20250902_050702"])
        #expect(page.runs[0].info.startUTC.description == "2025-09-03T12:07:02.250000Z")
        #expect(page.runs[1].info.startUTC.description == "2025-09-02T12:07:02Z")
        #expect(try lines().count == 3, "loading never rewrites the file")
    }

    @Test("Lines without run_id get the name-based id (nameless: of date code and place), the same after a restart and a prune")
    func legacyLinesGetStableIDs() async throws {
        defer { directory.remove() }
        let start = UTCInstant(microsecondsSinceEpoch: 1_767_225_600_000_000)
        let runs = [
            TestRun.make("etl", start: TestRun.hours(72, before: start), code: "old"),
            TestRun.make(nil, start: start, code: "x"), TestRun.make(nil, start: start, code: "x"), TestRun.make("etl", start: start, code: "a"),
        ].map { $0.removingValues(of: [.runID]) }
        try runs.map { String(decoding: $0.jsonBytes, as: UTF8.self) + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        func ids(_ repository: JSONLRunRepository) async throws -> [String?] {
            try await repository.runs(matching: RunQuery(paging: .all)).runs.sorted { $0.sequence < $1.sequence }.map(\.info.runID)
        }
        var repository = try open()
        let expected = [
            RunID.nameBased(pipelineName: "etl", dateCode: "old"), RunID.nameBased(pipelineName: nil, dateCode: "x", sequence: 2),
            RunID.nameBased(pipelineName: nil, dateCode: "x", sequence: 3), RunID.nameBased(pipelineName: "etl", dateCode: "a"),
        ]
        #expect(try await ids(repository) == expected)
        #expect(try await repository.insert(runs[3].normalized).isCreated == false, "the old key holds through the name-based id")
        repository.close()
        repository = try open()
        #expect(try await ids(repository) == expected)
        #expect(try await repository.deleteRuns(startedBefore: TestRun.hours(24, before: start), limit: 10) == 1)
        repository.close()
        repository = try open()
        defer { repository.close() }
        #expect(try await ids(repository) == Array(expected.dropFirst()))
        #expect(try lines().allSatisfy { $0.isEmpty || $0.contains("\"run_id\":\"") }, "a rewrite writes every id")
    }

    @Test("A torn last line is cut from the file and saved aside; earlier runs are kept")
    func tornLastLineIsRepaired() async throws {
        defer { directory.remove() }
        var generator = RandomRuns(seed: 2)
        let runs = generator.runs(3)
        var repository = try open()
        for run in runs { _ = try await repository.insert(run) }
        repository.close()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"start_local\": \"2025-09-02 05:07:02\", \"end_lo".utf8))
        try handle.close()

        repository = try open()
        #expect(try await repository.runs(matching: RunQuery()).total == 3)
        _ = try await repository.insert(generator.next())
        repository.close()
        let lines = try lines()
        #expect(lines.count == 5)
        for line in lines.dropLast() { #expect(throws: Never.self) { try PipelineInfo(jsonBytes: Array(line.utf8)) } }
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("runs.jsonl.torn-") }
        #expect(sidecars.count == 1)
    }

    @Test("A valid last line without its newline is completed, not dropped")
    func lastLineWithoutNewlineIsCompleted() async throws {
        defer { directory.remove() }
        var generator = RandomRuns(seed: 3)
        let run = generator.next()
        try String(decoding: run.jsonBytes, as: UTF8.self).write(toFile: path, atomically: true, encoding: .utf8)
        let repository = try open()
        _ = try await repository.insert(generator.next())
        repository.close()
        #expect(try lines().count == 3)
        #expect(try lines()[0] == String(decoding: run.jsonBytes, as: UTF8.self))
    }

    @Test("Corrupt lines are skipped, reported and left in the file")
    func corruptLinesAreKept() async throws {
        defer { directory.remove() }
        var generator = RandomRuns(seed: 4)
        let good = generator.runs(2).map { String(decoding: $0.jsonBytes, as: UTF8.self) }
        try [good[0], "not json", "{\"rowcount\": 1}", good[1], ""].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let repository = try open()
        #expect(try await repository.runs(matching: RunQuery()).total == 2)
        repository.close()
        #expect(try lines()[1] == "not json")
    }

    @Test("A second process on the same file is refused at start-up")
    func secondOpenIsRefused() throws {
        defer { directory.remove() }
        let first = try open()
        defer { first.close() }
        let error = #expect(throws: ConfigurationError.self) { _ = try open() }
        #expect(error?.name == "PIPELINE_JSONL_PATH")
        #expect(error?.message.contains("in use by another") == true)
    }

    @Test("Concurrent writes share fsyncs (group commit)")
    func concurrentWritesAreGroupCommitted() async throws {
        defer { directory.remove() }
        let batches = Mutex<[Int]>([])
        let repository = try open { size in batches.withLock { $0.append(size) } }
        var generator = RandomRuns(seed: 5)
        let runs = generator.runs(300)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in runs { group.addTask { _ = try await repository.insert(run) } }
            try await group.waitForAll()
        }
        repository.close()
        let sizes = batches.withLock { $0 }
        #expect(sizes.reduce(0, +) == 300)
        #expect(sizes.count < 300, "300 concurrent writes took \(sizes.count) commits")
        #expect(try lines().count == 301)
    }

    @Test("An unwritable location stops start-up naming the setting")
    func unwritableLocationIsAConfigurationError() {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try JSONLRunRepository(path: "/proc/no/such/dir/runs.jsonl", logger: testLogger("test"))
        }
        #expect(error?.name == "PIPELINE_JSONL_PATH")
    }
}

/// The start-up fast path decides exactly like the general parser, or defers to it.
@Suite("Stored run decoding")
struct StoredRunDecoderTests {
    private func general(_ line: String) -> PipelineInfo? {
        try? PipelineInfo(jsonBytes: Array(line.utf8), policy: .stored)
    }

    private func fast(_ line: String) -> PipelineInfo? {
        Array(line.utf8).withUnsafeBufferPointer { StoredRunDecoder.decode($0) }
    }

    @Test("Lines the service writes decode on the fast path to the same run")
    func writtenLinesDecodeFast() {
        var generator = RandomRuns(seed: 77)
        for run in generator.runs(500) {
            let line = String(decoding: run.jsonBytes, as: UTF8.self)
            #expect(fast(line) == run)
            #expect(general(line) == run)
        }
    }

    @Test(
        "Unusual lines either decode like the general parser or are left to it",
        arguments: [
            #"{"rowcount": 007}"#, #"{"elapsed_seconds": 01.5}"#, "{}", "not json", #"{"a":"\u0041"}"#,
        ]
    )
    func unusualFragmentsNeverDisagree(fragment: String) {
        #expect(fast(fragment) == nil || fast(fragment) == general(fragment))
    }

    @Test("Mutated lines never decode differently on the fast path")
    func mutatedLinesNeverDisagree() {
        var generator = RandomRuns(seed: 78)
        var random = SeededGenerator(seed: 79)
        let alphabet = Array("0123456789.-+eE\"\\{}[],: nulltrufa\u{0}\u{7F}é".utf8)
        for run in generator.runs(300) {
            var bytes = run.jsonBytes
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = alphabet.randomElement(using: &random)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
                }
            }
            let fastResult = bytes.withUnsafeBufferPointer { StoredRunDecoder.decode($0) }
            let generalResult = try? PipelineInfo(jsonBytes: bytes, policy: .stored)
            if let fastResult {
                #expect(fastResult == generalResult, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }
}
