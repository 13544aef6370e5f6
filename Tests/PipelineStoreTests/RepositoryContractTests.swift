import Foundation
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// The contract every backend keeps: the same calls give the same answers on JSONL, SQLite and
/// PostgreSQL, and the same answers as the pure query module's in-memory evaluation (the oracle).
@Suite("Repository contract")
struct RepositoryContractTests {
    static let sample = try! PipelineInfo(jsonBytes: Array(Self.sampleJSON.utf8))
    static let sampleJSON = """
        {"start_local": "2025-09-02 05:07:02", "end_local": "2025-09-02 05:47:27",
         "start_utc": "2025-09-02T12:07:02Z", "end_utc": "2025-09-02T12:47:27Z",
         "elapsed_seconds": 2424.879, "elapsed_human": "40m 24s", "output_file": "/out/a.csv", "rowcount": 11060,
         "log_file": "/log/a.log", "archived_file": "/archive/a.csv.gz", "pid": 21788, "date_code": "20250902_050702",
         "pipeline_name": "subcon_ingest", "script_name": "get.py", "pipeline_type": "batch", "environment": "prod"}
        """

    @Test("A stored run comes back with every field", arguments: Backend.underTest)
    func storedRunComesBack(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let outcome = try await fixture.repository.insert(Self.sample)
            #expect(outcome.isCreated)
            let page = try await fixture.repository.runs(matching: RunQuery())
            #expect(page.total == 1)
            #expect(page.runs.map(\.info) == [Self.sample])
            #expect(page.runs.first?.sequence == outcome.storedRun.sequence)
            #expect(try await fixture.repository.run(dateCode: "20250902_050702") == Self.sample)
            #expect(try await fixture.repository.run(dateCode: "nope") == nil)
        }
    }

    @Test("Posting the identical run again stores nothing new", arguments: Backend.underTest)
    func identicalRunIsStoredOnce(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let first = try await fixture.repository.insert(Self.sample)
            let second = try await fixture.repository.insert(Self.sample)
            #expect(first.isCreated)
            #expect(second == .existing(first.storedRun))
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 1)
        }
    }

    @Test("The same key with different content is a conflict naming the key", arguments: Backend.underTest)
    func conflictingRunIsRefused(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            _ = try await fixture.repository.insert(Self.sample)
            var changed = Self.sample
            changed.rowcount += 1
            let error = await #expect(throws: StorageError.self) { try await fixture.repository.insert(changed) }
            #expect(error?.conflictingKey?.pipelineName == "subcon_ingest")
            #expect(error?.conflictingKey?.dateCode == "20250902_050702")
            #expect(error?.conflictingKey?.hasOwnID == false)
            let stored = try await fixture.repository.runs(matching: RunQuery())
            #expect(stored.runs.map(\.info) == [Self.sample])
        }
    }

    @Test("Runs without a pipeline name are never merged", arguments: Backend.underTest)
    func namelessRunsAreNeverMerged(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var run = Self.sample
            run.pipelineName = nil
            _ = try await fixture.repository.insert(run.reidentified)
            run.rowcount = 1
            _ = try await fixture.repository.insert(run.reidentified)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 2)
        }
    }

    @Test("A batch is stored all or nothing", arguments: Backend.underTest)
    func batchIsAtomic(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            _ = try await fixture.repository.insert(Self.sample)
            var generator = RandomRuns(seed: 7)
            var batch = generator.runs(5)
            var conflicting = Self.sample
            conflicting.rowcount = 1
            batch.append(conflicting)
            await #expect(throws: StorageError.self) { try await fixture.repository.insert(contentsOf: batch) }
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 1)

            var named = generator.next()
            named.pipelineName = "named"
            let good = generator.runs(4) + [named, Self.sample]
            let outcomes = try await fixture.repository.insert(contentsOf: good + [named])
            #expect(outcomes.filter(\.isCreated).count == 5)
            #expect(outcomes.last == .existing(outcomes[4].storedRun))
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 6)
        }
    }

    @Test("Stored runs survive a restart", arguments: Backend.underTest)
    func dataSurvivesRestart(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 11)
            let runs = generator.runs(40)
            for run in runs { _ = try await fixture.repository.insert(run) }
            let before = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            let summariesBefore = try await fixture.repository.summaries()
            try await fixture.restart()
            let after = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(after == before)
            #expect(try await fixture.repository.summaries() == summariesBefore)
            // Idempotency keys survive too.
            #expect(try await fixture.repository.insert(runs[3]) == .existing(before.runs.first { $0.info == runs[3] }!))
        }
    }

    @Test("500 concurrent inserts are all stored exactly once", arguments: Backend.underTest)
    func concurrentInsertsAreAllStored(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 500)
            let runs = generator.runs(500)
            let repository = fixture.repository
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for run in runs { group.addTask { try await repository.insert(run) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0.isCreated })
            #expect(Set(outcomes.map(\.storedRun.sequence)).count == 500)
            let stored = try await repository.runs(matching: RunQuery(paging: .all))
            #expect(stored.total == 500)
            #expect(Set(stored.runs.map(\.info.dateCode)) == Set(runs.map(\.dateCode)))
        }
    }

    @Test("Concurrent single writes of new, repeated, conflicting and unnamed runs each get their own outcome", arguments: Backend.underTest)
    func concurrentMixedWritesGetTheirOwnOutcomes(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let repository = fixture.repository
            var generator = RandomRuns(seed: 77)
            let stored = generator.runs(40).enumerated().map { index, run in
                var named = run
                named.pipelineName = "stored_\(index % 4)"
                return named
            }
            _ = try await repository.insert(contentsOf: stored)
            let fresh = generator.runs(60).enumerated().map { index, run in
                var named = run
                // Some of an existing signature's pipelines, some new ones, some without a name (never merged).
                named.pipelineName = index % 5 == 0 ? nil : (index % 2 == 0 ? "stored_\(index % 4)" : "fresh_\(index % 3)")
                named.dateCode = "fresh-\(index)"
                return named.reidentified
            }
            let conflicting = stored.prefix(10).map { run in
                var changed = run
                changed.pid += 1
                return changed
            }
            // Every fresh run twice, every stored run again, and changed copies of stored runs, all at once.
            // A run without a name gets a fresh id each time it is posted.
            let writes = fresh + fresh.map { $0.pipelineName == nil ? $0.reidentified : $0 } + stored + conflicting
            let results = await withTaskGroup(of: (Int, Result<InsertOutcome, any Error>).self) { group in
                for (index, run) in writes.enumerated() {
                    group.addTask {
                        do { return (index, .success(try await repository.insert(run))) } catch { return (index, .failure(error)) }
                    }
                }
                return await group.reduce(into: [Int: Result<InsertOutcome, any Error>]()) { $0[$1.0] = $1.1 }
            }
            let all = try await repository.runs(matching: RunQuery(paging: .all))
            #expect(all.total == stored.count + fresh.count + fresh.filter { $0.pipelineName == nil }.count)
            for (index, run) in writes.enumerated() {
                switch results[index] {
                case .success(let outcome):
                    #expect(outcome.storedRun.info == run)
                    #expect(all.runs.contains(outcome.storedRun), "write \(index) returned the run as stored")
                    if index >= 2 * fresh.count { #expect(!outcome.isCreated, "a stored run is not stored again") }
                case .failure(let error):
                    #expect(index >= 2 * fresh.count + stored.count, "only changed copies fail: \(error)")
                    #expect((error as? StorageError)?.conflictingKey == run.runKey)
                case nil:
                    Issue.record("write \(index) has no result")
                }
            }
            #expect(results.values.filter { if case .failure = $0 { true } else { false } }.count == conflicting.count)
            let created = writes.indices.filter { if case .success(let outcome) = results[$0] { outcome.isCreated } else { false } }
            #expect(created.count == fresh.count + fresh.filter { $0.pipelineName == nil }.count)
            // Totals are added in insertion order (sequence order), exactly as one insert after another.
            let inInsertionOrder = all.runs.sorted { $0.sequence < $1.sequence }.map(\.info)
            #expect(try await repository.summaries() == PipelineSummary.summarize(inInsertionOrder))
        }
    }

    @Test("Instants written with offsets filter and order as instants", arguments: Backend.underTest)
    func offsetsCompareAsInstants(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            func run(_ code: String, start: String, end: String) throws -> PipelineInfo {
                var run = Self.sample
                run.dateCode = code
                run.startUTC = try #require(UTCInstant(iso8601: start))
                run.endUTC = try #require(UTCInstant(iso8601: end))
                return run.reidentified
            }
            // 12:00+02:00 is 10:00Z, earlier than 11:00Z.
            _ = try await fixture.repository.insert(try run("a", start: "2025-01-01T12:00:00+02:00", end: "2025-01-01T12:30:00+02:00"))
            _ = try await fixture.repository.insert(try run("b", start: "2025-01-01 11:00:00", end: "2025-01-01T11:30:00Z"))
            let all = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(all.runs.map(\.info.dateCode) == ["b", "a"])
            let late = RunQuery(filter: RunFilter(startUTCFrom: UTCInstant(iso8601: "2025-01-01T10:30:00Z")), paging: .all)
            #expect(try await fixture.repository.runs(matching: late).runs.map(\.info.dateCode) == ["b"])
            let early = RunQuery(filter: RunFilter(endUTCTo: UTCInstant(iso8601: "2025-01-01T12:30:00+02:00")), paging: .all)
            #expect(try await fixture.repository.runs(matching: early).runs.map(\.info.dateCode) == ["a"])
        }
    }

    @Test("Values that look like SQL are stored verbatim", arguments: Backend.underTest)
    func hostileValuesAreStoredVerbatim(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var run = Self.sample
            run.pipelineName = "x'; DROP TABLE pipeline_runs; --"
            run.scriptName = "\"quoted\" \\ back\\slash ünïcödé 🚀"
            run.environment = "%_wildcards_%"
            _ = try await fixture.repository.insert(run)
            let query = RunQuery(filter: RunFilter(pipelineName: run.pipelineName.map(FieldCondition.equals), environment: "%_wildcards_%"))
            #expect(try await fixture.repository.runs(matching: query).runs.map(\.info) == [run])
            let like = RunQuery(filter: RunFilter(environment: "%"))
            #expect(try await fixture.repository.runs(matching: like).total == 0)
        }
    }

    /// "café" with é as one code point (NFC) and as "e" + a combining accent (NFD): one string to
    /// Swift's `==`, two to SQL, and so two to every backend.
    static let (composed, decomposed) = ("caf\u{E9}", "cafe\u{301}")

    /// A value's UTF-8 bytes, so a comparison tells the two spellings apart (`==` on strings does not).
    static func bytes(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }

    @Test("Spellings that differ only in their bytes are two pipelines, each filtered and served as posted", arguments: Backend.underTest)
    func spellingsAreToldApartByBytes(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            for spelling in [Self.composed, Self.decomposed] {
                var run = Self.sample
                (run.pipelineName, run.environment, run.dateCode) = (spelling, spelling, spelling)
                #expect(try await fixture.repository.insert(run.reidentified).isCreated)
            }
            let all = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(all.total == 2)
            for stored in all.runs.map(\.info) {
                #expect(Self.bytes(stored.environment) == Self.bytes(stored.pipelineName))
                #expect(Self.bytes(stored.dateCode) == Self.bytes(stored.pipelineName))
            }
            let summaries = try await fixture.repository.summaries()
            #expect(Set(summaries.map { Self.bytes($0.signature.pipelineName) }) == [Self.bytes(Self.composed), Self.bytes(Self.decomposed)])
            #expect(summaries.allSatisfy { Self.bytes($0.signature.environment) == Self.bytes($0.signature.pipelineName) })
            for spelling in [Self.composed, Self.decomposed] {
                let filters = [RunFilter(pipelineName: .equals(spelling)), RunFilter(environment: .equals(spelling)), RunFilter(dateCode: spelling)]
                for filter in filters {
                    let page = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .all))
                    #expect(page.runs.map { Self.bytes($0.info.pipelineName) } == [Self.bytes(spelling)], "\(filter)")
                    #expect(try await fixture.repository.count(matching: filter) == 1, "\(filter)")
                }
                #expect(Self.bytes(try await fixture.repository.run(dateCode: spelling)?.pipelineName) == Self.bytes(spelling))
            }
        }
    }

    @Test("A run posted again under its id in another spelling is a conflict, not the stored run", arguments: Backend.underTest)
    func anotherSpellingUnderTheSameIDConflicts(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var run = Self.sample
            run.runID = "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
            run.pipelineName = Self.composed
            #expect(try await fixture.repository.insert(run).isCreated)
            run.pipelineName = Self.decomposed
            await #expect(throws: StorageError.self) { try await fixture.repository.insert(run) }
            let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs
            #expect(stored.map { Self.bytes($0.info.pipelineName) } == [Self.bytes(Self.composed)])
        }
    }

    @Test("Summaries of runs started together are ordered by the bytes of their names", arguments: Backend.underTest)
    func summariesOrderNamesByBytes(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            let (composed, decomposed) = ("\u{E9}", "e\u{301}")
            for name in ["z", composed, "f", decomposed, "e"] {
                var run = Self.sample
                run.pipelineName = name
                _ = try await fixture.repository.insert(run.reidentified)
            }
            // As SQL's COLLATE "C" orders them: "e" before "e" + U+0301 (65 CC 81), which comes
            // before "f", and U+00E9 (C3 A9) after every ASCII letter.
            let expected = ["e", decomposed, "f", "z", composed].map(Self.bytes)
            #expect(try await fixture.repository.summaries().map { Self.bytes($0.signature.pipelineName) } == expected)
        }
    }

    @Test("Answers equal the in-memory oracle on random data and queries", arguments: Backend.underTest)
    func answersEqualTheOracle(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 2024)
            generator.includesRunning = true
            let runs = generator.runs(400)
            var stored: [StoredRun] = []
            for chunk in stride(from: 0, to: runs.count, by: 100) {
                let outcomes = try await fixture.repository.insert(contentsOf: Array(runs[chunk..<chunk + 100]))
                stored += outcomes.map(\.storedRun)
            }
            #expect(stored.map(\.info) == runs)
            for _ in 0..<300 {
                let query = generator.query()
                let expected = query.evaluate(over: stored)
                let actual = try await fixture.repository.runs(matching: query)
                #expect(actual == expected, "query \(query)")
                if actual != expected { break }
            }
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize(runs))
        }
    }

    @Test("Cursor pages walk every match once, in order", arguments: Backend.underTest)
    func cursorPagesWalkEveryMatch(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 99)
            let runs = generator.runs(120)
            _ = try await fixture.repository.insert(contentsOf: runs)
            for filter in [RunFilter(), RunFilter(pipelineName: "ingest_lots"), RunFilter(minRowcount: 1000)] {
                let all = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .all))
                var walked: [StoredRun] = []
                var page = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: 7, offset: 0)))
                walked += page.runs
                while let cursor = page.nextCursor {
                    #expect(cursor.filterFingerprint == filter.fingerprint)
                    page = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .after(cursor.position, limit: 7)))
                    #expect(page.total == all.total)
                    walked += page.runs
                }
                #expect(walked == all.runs)
            }
        }
    }

    @Test("A page given the known total reports it and returns the same runs and cursor", arguments: Backend.underTest)
    func knownTotalIsReportedWithoutCounting(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            var generator = RandomRuns(seed: 123)
            let runs = generator.runs(150)
            let stored = try await fixture.repository.insert(contentsOf: runs).map(\.storedRun)
            for filter in [RunFilter(), RunFilter(pipelineName: "ingest_lots"), RunFilter(minRowcount: 1000, maxRowcount: 500_000)] {
                let first = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: 9, offset: 0)))
                guard let cursor = first.nextCursor else { continue }
                let counted = RunQuery(filter: filter, paging: .after(cursor.position, limit: 9))
                var known = counted
                // Not the real count: a backend that counted again would answer something else.
                known.knownTotal = first.total + 1000
                let page = try await fixture.repository.runs(matching: known)
                #expect(page.total == first.total + 1000)
                let expected = try await fixture.repository.runs(matching: counted)
                #expect(page.runs == expected.runs && page.nextCursor == expected.nextCursor)
                #expect(page == known.evaluate(over: stored))
            }
        }
    }

    @Test("A healthy backend passes its health check", arguments: Backend.underTest)
    func healthyBackendPassesHealthCheck(backend: Backend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.repository.checkHealth()
            #expect(fixture.repository.backendName == backend.rawValue)
        }
    }
}
