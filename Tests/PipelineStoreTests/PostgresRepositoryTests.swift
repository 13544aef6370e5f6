import Foundation
import PipelineCore
import PipelineTestSupport
import Synchronization
import Testing

@testable import PipelineStore

/// What only the PostgreSQL backend promises: named migrations applied once, even by concurrent
/// starters; several processes on one table; tables it does not own (renamed or missing columns);
/// exact timestamps; group commit under concurrency; failing fast and recovering when the
/// server goes away and comes back.
@Suite(
    "PostgreSQL repository",
    .enabled(
        if: Backend.postgresTestURL != nil || Backend.isCI,
        "PIPELINE_TEST_POSTGRES_URL is not set: start a server with scripts/postgres-test-server.sh start (scripts/test.sh does)"
    )
)
struct PostgresRepositoryTests {
    // MARK: - Migrations

    @Test("Migrations are recorded once and not applied again on restart")
    func migrationsAreIdempotentAcrossRestarts() async throws {
        try await withFixture(.postgres) { fixture in
            let table = fixture.location
            #expect(try await Self.migrations(of: table) == PostgresMigrationNames.all)
            let first = try await fixture.repository.insert(Self.run("a"))
            try await fixture.restart()
            try await fixture.restart()
            #expect(try await Self.migrations(of: table) == PostgresMigrationNames.all)
            let second = try await fixture.repository.insert(Self.run("b"))
            #expect(second.storedRun.sequence > first.storedRun.sequence)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 2)
            #expect(try await fixture.repository.summaries().first?.totalRuns == 2)
        }
    }

    @Test("Starters racing on a new table migrate it exactly once")
    func concurrentStartersMigrateOnce() async throws {
        let url = try PostgresTestDatabase.url()
        let table = PostgresTestDatabase.uniqueName("runs")
        let layout = try SQLTableLayout(table: table)
        let opened = try (0..<4).map { _ in try PostgresTestDatabase.open(url: url, layout: layout) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (repository, _) in opened { group.addTask { try await repository.prepare() } }
                try await group.waitForAll()
            }
            #expect(try await Self.migrations(of: table) == PostgresMigrationNames.all)
            _ = try await opened[0].repository.insert(Self.run("a"))
            #expect(try await opened[3].repository.runs(matching: RunQuery()).total == 1)
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        for (_, close) in opened { try await close() }
        try await PostgresTestDatabase.dropTables(ownedBy: table)
    }

    @Test("sql/postgres.sql creates exactly what the migrations create")
    func referenceDDLMatchesMigrations() async throws {
        let file = URL(fileURLWithPath: PostgresTestDatabase.repositoryRoot).appendingPathComponent("sql/postgres.sql")
        let reference = try String(contentsOf: file, encoding: .utf8)
        try await withFixture(.postgres) { fixture in
            let migrated = fixture.location
            let copy = PostgresTestDatabase.uniqueName("runs")
            let statements = reference.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
                .replacingOccurrences(of: "pipeline_runs", with: copy)
                .split(separator: ";").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            do {
                for statement in statements { try await PostgresTestDatabase.execute(statement) }
                for suffix in ["", "_summary"] {
                    #expect(try await Self.shape(of: copy + suffix, renaming: copy) == Self.shape(of: migrated + suffix, renaming: migrated))
                }
                #expect(try await Self.migrations(of: copy) == PostgresMigrationNames.all)
            } catch {
                Issue.record("\(String(reflecting: error))")
            }
            try await PostgresTestDatabase.dropTables(ownedBy: copy)
        }
    }

    // MARK: - Several processes

    @Test("Two repositories on one table see each other's writes at once")
    func twoProcessesShareOneTable() async throws {
        try await withFixture(.postgres) { fixture in
            let other = try PostgresTestDatabase.open(url: PostgresTestDatabase.url(), layout: SQLTableLayout(table: fixture.location))
            do {
                try await other.repository.prepare()
                let a = try await fixture.repository.insert(Self.run("a"))
                #expect(try await other.repository.run(dateCode: "a") == Self.run("a"))
                let b = try await other.repository.insert(Self.run("b"))
                #expect(try await fixture.repository.runs(matching: RunQuery()).runs == [b.storedRun, a.storedRun])
                #expect(try await other.repository.insert(Self.run("a")) == .existing(a.storedRun))
                var changed = Self.run("b")
                changed.rowcount += 1
                await #expect(throws: StorageError.self) { try await fixture.repository.insert(changed) }
                #expect(try await fixture.repository.summaries() == other.repository.summaries())
                #expect(try await other.repository.summaries().first?.totalRuns == 2)
            } catch {
                Issue.record("\(String(reflecting: error))")
            }
            try await other.close()
        }
    }

    @Test("Two repositories writing groups of new signatures at once lose no run from the totals")
    func twoProcessesKeepEveryTotal() async throws {
        try await withFixture(.postgres) { fixture in
            let other = try PostgresTestDatabase.open(url: PostgresTestDatabase.url(), layout: SQLTableLayout(table: fixture.location))
            do {
                try await other.repository.prepare()
                var generator = RandomRuns(seed: 31)
                // Forty signatures, none stored yet, each written by both repositories at once.
                let runs = generator.runs(400).enumerated().map { index, run in
                    var named = run
                    named.pipelineName = "shared_\(index % 40)"
                    named.dateCode = "both-\(index)"
                    return named
                }
                let repositories = [fixture.repository, other.repository]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, run) in runs.enumerated() {
                        let repository = repositories[index % 2]
                        group.addTask { _ = try await repository.insert(run) }
                    }
                    try await group.waitForAll()
                }
                let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all))
                #expect(stored.total == runs.count)
                let expected = PipelineSummary.summarize(stored.runs.sorted { $0.sequence < $1.sequence }.map(\.info))
                let actual = try await other.repository.summaries()
                #expect(actual.map(\.signature) == expected.map(\.signature))
                for (mine, theirs) in zip(actual, expected) {
                    // Counts and integer sums are exact; across two processes, durations may be added in another order.
                    #expect(mine.totalRuns == theirs.totalRuns && mine.lastRun == theirs.lastRun && mine.avgRowcount == theirs.avgRowcount)
                    #expect(abs((mine.avgDuration ?? 0) - (theirs.avgDuration ?? 0)) <= 1e-9 * max(1, abs(theirs.avgDuration ?? 0)))
                }
            } catch {
                Issue.record("\(String(reflecting: error))")
            }
            try await other.close()
        }
    }

    // MARK: - Tables the service does not own

    @Test("A table with every column renamed (upper case, quoted) agrees with the in-memory oracle")
    func renamedColumnsMatchTheOracle() async throws {
        let table = PostgresTestDatabase.uniqueName("LEGACY_RUNS")
        try await PostgresTestDatabase.execute(Self.legacyTableDDL(table, quoted: true))
        let opened = try PostgresTestDatabase.open(
            url: PostgresTestDatabase.url(),
            layout: SQLTableLayout(table: table, columnMapJSON: Self.legacyColumnMap)
        )
        do {
            let repository = opened.repository
            try await repository.prepare()
            #expect(try await PostgresTestDatabase.query("SELECT to_regclass('\"\(table)_summary\"')::text") == [[nil]])
            #expect(try await Self.migrations(of: table) == [])

            var generator = RandomRuns(seed: 42)
            let runs = generator.runs(240)
            var stored: [StoredRun] = []
            for run in runs.prefix(40) { stored.append(try await repository.insert(run).storedRun) }
            for start in stride(from: 40, to: runs.count, by: 50) {
                stored += try await repository.insert(contentsOf: Array(runs[start..<min(runs.count, start + 50)])).map(\.storedRun)
            }
            #expect(Set(stored.map(\.sequence)).count == runs.count)

            for _ in 0..<60 {
                let query = generator.query()
                #expect(try await repository.runs(matching: query) == query.evaluate(over: stored), "\(query)")
            }
            let first = RunQuery(paging: .window(limit: 25, offset: 0))
            let page = try await repository.runs(matching: first)
            let cursor = try #require(page.nextCursor)
            let next = RunQuery(paging: .after(cursor.position, limit: 25))
            #expect(try await repository.runs(matching: next) == next.evaluate(over: stored))
            // The legacy table has no status columns: runs are stored (and summarized) without them.
            #expect(stored.allSatisfy { $0.info.status == nil && $0.info.exitCode == nil })
            #expect(try await repository.summaries() == PipelineSummary.summarize(stored.map(\.info)))

            let named = try #require(stored.first { $0.info.pipelineName != nil })
            #expect(try await repository.insert(named.info) == .existing(named))
            var changed = named.info
            changed.environment = "elsewhere"
            let error = await #expect(throws: StorageError.self) { try await repository.insert(changed) }
            #expect(error?.conflictingKey == named.info.runKey)
            #expect(try await repository.runs(matching: RunQuery()).total == runs.count)
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP TABLE \"\(table)\"")
    }

    @Test("Mapped names match columns created unquoted (lower case) when only the case differs")
    func caseInsensitiveColumnMatch() async throws {
        let table = PostgresTestDatabase.uniqueName("legacy_runs")
        try await PostgresTestDatabase.execute(Self.legacyTableDDL(table, quoted: false))
        let opened = try PostgresTestDatabase.open(
            url: PostgresTestDatabase.url(),
            layout: SQLTableLayout(table: table, columnMapJSON: Self.legacyColumnMap)
        )
        do {
            try await opened.repository.prepare()
            let outcome = try await opened.repository.insert(Self.run("a"))
            #expect(try await opened.repository.runs(matching: RunQuery()).runs == [outcome.storedRun])
            // The legacy table has no run_id column: the id is not kept and reads as null.
            #expect(try await opened.repository.run(dateCode: "a") == Self.run("a").removingValues(of: [.runID]))
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP TABLE \"\(table)\"")
    }

    @Test("A mapped table missing columns fails prepare() listing every missing column")
    func missingColumnsAreAllListed() async throws {
        let table = PostgresTestDatabase.uniqueName("LEGACY_RUNS")
        try await PostgresTestDatabase.execute(
            #"CREATE TABLE "\#(table)" ("RUN_ID" BIGSERIAL PRIMARY KEY, "START_UTC" TIMESTAMPTZ, "END_UTC" TIMESTAMPTZ, "DATE_CODE" TEXT)"#
        )
        let opened = try PostgresTestDatabase.open(
            url: PostgresTestDatabase.url(),
            layout: SQLTableLayout(table: table, columnMapJSON: Self.legacyColumnMap)
        )
        let error = await #expect(throws: ConfigurationError.self) { try await opened.repository.prepare() }
        #expect(error?.name == "PIPELINE_COLUMN_MAP")
        // Each column with the field it stands for, as both SQL backends name a missing column.
        let expectedMissing = [
            "START_LOCAL (start_local)", "END_LOCAL (end_local)", "ELAPSED (elapsed_seconds)", "ELAPSED_HUMAN (elapsed_human)",
            "OUTPUT_FILE (output_file)", "ROW_COUNT (rowcount)", "LOG_FILE (log_file)", "PROCESS_ID (pid)",
            "PIPELINE_NAME (pipeline_name)", "SCRIPT_NAME (script_name)", "PIPELINE_TYPE (pipeline_type)", "ENVIRONMENT (environment)",
            "ARCHIVED_FILE (archived_file)",
        ]
        #expect(error?.message == "table \"\(table)\" lacks columns: \(expectedMissing.joined(separator: ", "))")
        #expect(try await PostgresTestDatabase.query("SELECT count(*)::text FROM \"\(table)\"") == [["0"]])
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP TABLE \"\(table)\"")
    }

    /// Runs `body` on a table created as another system would (every field under its own name, a
    /// serial `id`), opened and prepared; the table is dropped afterwards, and a thrown error is
    /// recorded as the test's issue.
    private static func withForeignTable(_ body: (_ table: String, _ repository: any PipelineRunRepository) async throws -> Void) async throws {
        let table = PostgresTestDatabase.uniqueName("runs")
        let columns = PipelineField.allCases.map { "\($0.rawValue) \(Self.sqlType($0))" }.joined(separator: ", ")
        try await PostgresTestDatabase.execute("CREATE TABLE \(table) (id BIGSERIAL PRIMARY KEY, \(columns))")
        let opened = try PostgresTestDatabase.open(url: PostgresTestDatabase.url(), layout: SQLTableLayout(table: table))
        do {
            try await opened.repository.prepare()
            try await body(table, opened.repository)
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP TABLE \(table)")
    }

    @Test("A table someone else created is used as it is, without migrations or a summary table")
    func foreignTableIsNotMigrated() async throws {
        try await Self.withForeignTable { table, repository in
            #expect(try await Self.migrations(of: table) == [])
            #expect(try await PostgresTestDatabase.query("SELECT to_regclass('\(table)_summary')::text") == [[nil]])
            var generator = RandomRuns(seed: 3)
            let runs = generator.runs(30).map { run in
                var named = run
                named.pipelineName = named.pipelineName ?? "unnamed"
                return named
            }
            let outcomes = try await repository.insert(contentsOf: runs + runs.prefix(5))
            #expect(outcomes.filter(\.isCreated).count == runs.count)
            #expect(try await repository.summaries() == PipelineSummary.summarize(runs))
        }
    }

    /// Adding doubles depends on their order: 2⁵³ + 1 + 1 is 2⁵³ one at a time, but 1 + 1 + 2⁵³
    /// is 2⁵³ + 2. A grouped scan adds rows in the order they sit on disk, which an update (or
    /// writers racing) changes; the average must still be the one insertion order gives.
    @Test("A table someone else owns sums durations in insertion order, wherever its rows sit on disk")
    func foreignTableSumsInInsertionOrder() async throws {
        try await Self.withForeignTable { table, repository in
            var generator = RandomRuns(seed: 11)
            let template = generator.runs(1)[0]
            let runs = [9_007_199_254_740_992, 1, 1].enumerated().map { index, seconds in
                var run = template
                run.pipelineName = "sums"
                run.status = nil
                run.runID = nil
                run.dateCode = "run-\(index)"
                run.elapsedSeconds = seconds
                return run
            }
            for run in runs { _ = try await repository.insert(run) }
            // Rewrites the first run's row, which puts its new version after the others.
            try await PostgresTestDatabase.execute("UPDATE \(table) SET elapsed_seconds = elapsed_seconds WHERE id = (SELECT MIN(id) FROM \(table))")
            #expect(try await PostgresTestDatabase.query("SELECT id::text FROM \(table)").first == ["2"])
            let summaries = try await repository.summaries()
            #expect(summaries == PipelineSummary.summarize(runs))
            #expect(summaries.first?.avgDuration == 9_007_199_254_740_992.0 / 3)
        }
    }

    // MARK: - Values

    @Test("Timestamps round-trip to the microsecond, before 1970, around 2000 and up to year 9999")
    func microsecondTimestampsRoundTrip() async throws {
        let instants: [Int64] = [
            -62_135_596_800_000_000,  // 0001-01-01T00:00:00Z
            -1,  // 1969-12-31T23:59:59.999999Z
            1,
            946_684_799_999_999,  // the last microsecond before PostgreSQL's epoch
            946_684_800_000_000,
            946_684_800_000_001,
            1_756_814_822_123_457,
            253_402_300_799_999_999,  // 9999-12-31T23:59:59.999999Z
        ]
        try await withFixture(.postgres) { fixture in
            var runs: [PipelineInfo] = []
            for (index, micros) in instants.enumerated() {
                var run = Self.run("t\(index)")
                run.startUTC = UTCInstant(microsecondsSinceEpoch: micros)
                run.endUTC = run.startUTC
                run.startLocal = LocalDateTime(wallMicroseconds: micros)
                run.endLocal = LocalDateTime(wallMicroseconds: micros == instants.last! ? micros : micros + 1)
                runs.append(run)
                _ = try await fixture.repository.insert(run)
            }
            for run in runs {
                #expect(try await fixture.repository.run(dateCode: run.dateCode) == run)
                #expect(try await fixture.repository.insert(run).isCreated == false)
            }
            let page = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(page.runs.map(\.info) == runs.sorted { $0.startUTC > $1.startUTC })
            let boundary = UTCInstant(microsecondsSinceEpoch: 946_684_800_000_000)
            let from = RunQuery(filter: RunFilter(startUTCFrom: boundary), paging: .all)
            #expect(try await fixture.repository.runs(matching: from).total == 4)
            #expect(try await fixture.repository.summaries().first?.lastRun == UTCInstant(microsecondsSinceEpoch: instants.last!))
        }
    }

    // MARK: - Concurrency

    @Test("200 concurrent inserts, each sent twice, are all stored exactly once, sharing transactions")
    func concurrentInsertsAreStoredOnce() async throws {
        var generator = RandomRuns(seed: 200)
        let runs = generator.runs(200).enumerated().map { index, run in
            var named = run
            named.pipelineName = named.pipelineName ?? "pipeline_\(index % 3)"
            return named
        }
        try await withFixture(.postgres) { fixture in
            let batches = BatchSizes()
            let counted = try PostgresTestDatabase.open(
                url: PostgresTestDatabase.url(),
                layout: SQLTableLayout(table: fixture.location),
                onBatch: { batches.record($0) }
            )
            try await counted.repository.prepare()
            let repository = counted.repository
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for run in runs + runs {
                    group.addTask { try await repository.insert(run) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await counted.close()
            #expect(batches.sizes.reduce(0, +) == 2 * runs.count)
            #expect(batches.sizes.count < 2 * runs.count, "some group commits carried several inserts")
            #expect(outcomes.filter(\.isCreated).count == runs.count)
            let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(stored.total == runs.count)
            #expect(Set(stored.runs.map(\.info)) == Set(runs))
            #expect(Set(outcomes.map(\.storedRun)) == Set(stored.runs))
            // Summary sums are added in insertion order, which is id order: bit-for-bit equal.
            let inInsertionOrder = stored.runs.sorted { $0.sequence < $1.sequence }.map(\.info)
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize(inInsertionOrder))
        }
    }

    @Test("In one group commit, a conflicting batch rolls back alone and the other writes are stored")
    func conflictingBatchFailsAlone() async throws {
        try await withFixture(.postgres) { fixture in
            let repository = fixture.repository
            let existing = try await repository.insert(Self.run("a"))
            var changed = Self.run("a")
            changed.pid += 1
            let batch = [Self.run("batch-1"), changed, Self.run("batch-2")]
            let conflictingKey = existing.storedRun.info.runKey
            let singles = (0..<30).map { Self.run("single-\($0)") }
            let batchFailed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for run in singles {
                    group.addTask {
                        _ = try await repository.insert(run)
                        return false
                    }
                }
                group.addTask {
                    do {
                        _ = try await repository.insert(contentsOf: batch)
                        return false
                    } catch let error as StorageError {
                        return error.conflictingKey == conflictingKey
                    }
                }
                return try await group.contains(true)
            }
            #expect(batchFailed)
            #expect(try await repository.run(dateCode: "batch-1") == nil)
            #expect(try await repository.run(dateCode: "batch-2") == nil)
            #expect(try await repository.runs(matching: RunQuery()).total == 1 + singles.count)
            #expect(try await repository.summaries() == PipelineSummary.summarize([Self.run("a")] + singles))

            let twice = try await repository.insert(contentsOf: [Self.run("c"), Self.run("c")])
            #expect(twice.count == 2)
            #expect(twice[0].isCreated)
            #expect(twice[1] == .existing(twice[0].storedRun))
        }
    }

    // MARK: - Faults

    @Test("With the server down, calls fail fast with StorageError, and work again once it is back")
    func outageFailsFastAndRecovers() async throws {
        let server = try PostgresTestDatabase.DedicatedServer.start()
        do {
            let opened = try PostgresTestDatabase.open(url: server.url, layout: .standard, timeout: .seconds(2))
            do {
                let repository = opened.repository
                let clock = ContinuousClock()
                // The short timeout is for the outage below; a just-started server on a busy machine
                // (the whole suite runs in parallel) may take longer than that to accept the first connection.
                let ready = clock.now.advanced(by: .seconds(60))
                while true {
                    do {
                        try await repository.prepare()
                        break
                    } catch is StorageUnreachable where clock.now < ready {
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
                _ = try await repository.insert(Self.run("before"))

                try server.pause()
                let health = await clock.measure {
                    let error = await #expect(throws: StorageError.self) { try await repository.checkHealth() }
                    #expect(error?.isUnavailable == true)
                    #expect(error?.description.contains("127.0.0.1") == false)
                }
                #expect(health < .seconds(6))
                let insert = await clock.measure {
                    await #expect(throws: StorageError.self) { try await repository.insert(Self.run("during")) }
                }
                #expect(insert < .seconds(6))
                await #expect(throws: StorageError.self) { try await repository.runs(matching: RunQuery()) }

                try server.resume()
                let deadline = clock.now.advanced(by: .seconds(90))
                var isHealthy = false
                while !isHealthy, clock.now < deadline {
                    do {
                        try await repository.checkHealth()
                        isHealthy = true
                    } catch {
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
                #expect(isHealthy)
                #expect(try await repository.insert(Self.run("after")).isCreated)
                #expect(try await repository.runs(matching: RunQuery()).runs.map(\.info.dateCode) == ["after", "before"])
            } catch {
                Issue.record("\(String(reflecting: error))")
            }
            try await opened.close()
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try server.stop()
    }

    @Test("A read-only database refuses inserts with StorageError.readOnly")
    func readOnlyDatabaseIsReported() async throws {
        let database = PostgresTestDatabase.uniqueName("readonly")
        try await PostgresTestDatabase.execute("CREATE DATABASE \(database)")
        do {
            let url = try PostgresTestDatabase.url(database: database)
            let writable = try PostgresTestDatabase.open(url: url, layout: .standard)
            try await writable.repository.prepare()
            _ = try await writable.repository.insert(Self.run("a"))
            try await writable.close()

            try await PostgresTestDatabase.execute("ALTER DATABASE \(database) SET default_transaction_read_only = on")
            let readOnly = try PostgresTestDatabase.open(url: url, layout: .standard)
            do {
                try await readOnly.repository.prepare()
                await #expect(throws: StorageError.readOnly) { try await readOnly.repository.insert(Self.run("b")) }
                #expect(try await readOnly.repository.runs(matching: RunQuery()).total == 1)
                try await readOnly.repository.checkHealth()
            } catch {
                Issue.record("\(String(reflecting: error))")
            }
            try await readOnly.close()
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await PostgresTestDatabase.execute("DROP DATABASE \(database) WITH (FORCE)")
    }

    @Test("An unknown database is a configuration error naming PIPELINE_POSTGRES_URL and the reason")
    func unknownDatabaseIsAConfigurationError() async throws {
        let url = try PostgresTestDatabase.url(database: "no_such_database")
        let opened = try PostgresTestDatabase.open(url: url, layout: .standard)
        let error = await #expect(throws: ConfigurationError.self) { try await opened.repository.prepare() }
        #expect(error?.name == "PIPELINE_POSTGRES_URL")
        #expect(error?.message.contains("/no_such_database") == true)
        #expect(error?.message.contains("database \"no_such_database\" does not exist") == true)
        try await opened.close()
    }

    // MARK: - Helpers

    static func run(_ dateCode: String) -> PipelineInfo {
        PipelineInfo(
            startLocal: LocalDateTime(iso8601: "2025-09-02 05:07:02")!,
            endLocal: LocalDateTime(iso8601: "2025-09-02 05:47:27")!,
            startUTC: UTCInstant(iso8601: "2025-09-02T12:07:02.5Z")!,
            endUTC: UTCInstant(iso8601: "2025-09-02T12:47:27Z")!,
            elapsedSeconds: 2424.879,
            elapsedHuman: "40m 24s",
            outputFile: "/out/\(dateCode).csv",
            rowcount: 11060,
            logFile: "/log/\(dateCode).log",
            pid: 21788,
            dateCode: dateCode,
            pipelineName: "ingest",
            scriptName: "ingest.py",
            pipelineType: "batch",
            environment: "prod"
        ).normalized
    }

    /// The migrations recorded for a table.
    static func migrations(of table: String) async throws -> [String] {
        // On a fresh database no test may have created the ledger yet: then nothing is migrated.
        guard try await PostgresTestDatabase.query("SELECT to_regclass('pipeline_service_migrations')::text") != [[nil]] else { return [] }
        return try await PostgresTestDatabase.query(
            "SELECT migration FROM pipeline_service_migrations WHERE table_name = '\(table)' ORDER BY migration"
        ).map { $0[0] ?? "" }
    }

    /// A table's columns, constraints and indexes as text, with the table's name replaced.
    static func shape(of table: String, renaming name: String) async throws -> [String] {
        let columns = try await PostgresTestDatabase.query(
            """
            SELECT concat_ws(' ', column_name, data_type, is_nullable, is_identity, identity_generation, column_default)
            FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '\(table)' ORDER BY ordinal_position
            """
        )
        let indexes = try await PostgresTestDatabase.query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '\(table)' ORDER BY indexname"
        )
        return (columns + indexes).map { ($0[0] ?? "").replacingOccurrences(of: name, with: "T") }
    }

    static let legacyColumns: [(field: String, column: String)] = [
        ("id", "RUN_ID"), ("start_local", "START_LOCAL"), ("end_local", "END_LOCAL"), ("start_utc", "START_UTC"), ("end_utc", "END_UTC"),
        ("elapsed_seconds", "ELAPSED"), ("elapsed_human", "ELAPSED_HUMAN"), ("output_file", "OUTPUT_FILE"), ("rowcount", "ROW_COUNT"),
        ("log_file", "LOG_FILE"), ("pid", "PROCESS_ID"), ("date_code", "DATE_CODE"), ("pipeline_name", "PIPELINE_NAME"),
        ("script_name", "SCRIPT_NAME"), ("pipeline_type", "PIPELINE_TYPE"), ("environment", "ENVIRONMENT"), ("archived_file", "ARCHIVED_FILE"),
    ]

    static let legacyColumnMap = "{" + legacyColumns.map { "\"\($0.field)\": \"\($0.column)\"" }.joined(separator: ", ") + "}"

    /// A table as another system might have made it: upper-case names (quoted, or unquoted and
    /// so folded to lower case), `timestamp` for every time, `varchar` text, no unique key.
    static func legacyTableDDL(_ table: String, quoted: Bool) -> String {
        let name = { (column: String) in quoted ? "\"\(column)\"" : column }
        let columns = legacyColumns.map { field, column in
            let type =
                switch field {
                case "id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                case "start_local", "end_local", "start_utc", "end_utc": "TIMESTAMP NOT NULL"
                case "elapsed_seconds": "DOUBLE PRECISION NOT NULL"
                case "rowcount", "pid": "BIGINT NOT NULL"
                case "pipeline_name", "script_name", "pipeline_type", "environment", "archived_file": "VARCHAR(4096)"
                default: "VARCHAR(4096) NOT NULL"
                }
            return "\(name(column)) \(type)"
        }
        return "CREATE TABLE \"\(table)\" (\(columns.joined(separator: ", ")))"
    }

    static func sqlType(_ field: PipelineField) -> String {
        switch field {
        case .startLocal, .endLocal: "timestamp"
        case .startUTC, .endUTC: "timestamptz"
        case .elapsedSeconds: "double precision"
        case .rowcount, .pid, .exitCode: "bigint"
        default: "text"
        }
    }
}

/// The sizes of the group commits a repository made.
final class BatchSizes: Sendable {
    private let recorded = Mutex<[Int]>([])

    func record(_ size: Int) { recorded.withLock { $0.append(size) } }
    var sizes: [Int] { recorded.withLock { $0 } }
}

/// What needs no server: parsing `PIPELINE_POSTGRES_URL`, and failing at start-up when nothing listens.
@Suite("PostgreSQL configuration")
struct PostgresConfigurationTests {
    static let logger = PostgresTestDatabase.logger

    @Test(
        "A malformed URL is a configuration error that never repeats the password",
        arguments: [
            "mysql://app:s3cret@db.example:5432/pipeline",
            "postgres//app:s3cret@db.example/pipeline",
            "postgres://:s3cret@db.example/pipeline",
            "postgres://app:s3cret@/pipeline",
            "postgres://app:s3cret@db.example:0/pipeline",
            "postgres://app:s3cret@db.example:http/pipeline",
            "postgres://app:s3cr%ZZet@db.example/pipeline",
            "postgres://app:s3cret@db.example/pipeline?sslmode=sometimes",
            "postgres://app:s3cret@db.example/pipeline?connect_timeout=0",
            "postgres://app:s3cret@db.example/pipeline?sslmode=require&sslrootcert=/etc/ssl/ca.pem",
            "postgres://app:s3cret@db.example/pipeline?options=-x%20y",
            "postgres://app:s3cret@db.example/pipeline?options=-csearch_path",
            "postgres://app:s3cret@db.example/pipeline?target_session_attrs=any",
            "postgres://app:s3cret@[::1/pipeline",
            "db.example:5432",
        ]
    )
    func malformedURLIsRejected(url: String) {
        let error = #expect(throws: ConfigurationError.self) { try PostgresRunRepository(url: url, logger: Self.logger) }
        #expect(error?.name == "PIPELINE_POSTGRES_URL")
        #expect(error?.description.contains("s3cr") == false)
    }

    @Test(
        "Well-formed URLs are accepted",
        arguments: [
            "postgres://app:s3cret@db.example:5432/pipeline",
            "postgresql://app@db.example/pipeline",
            "POSTGRES://app:p%40ss%2Fword@db.example/pipeline?sslmode=require",
            "postgres://app:pa@ss:word@[::1]:5433/pipe%20line?sslmode=disable",
            "postgres://app:s3cret@db.example",
            "postgres://app@db.example/pipeline?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&application_name=etl%20cron",
            "postgres://app@db.example/pipeline?sslmode=verify-ca&sslrootcert=/etc/ssl/ca.pem&connect_timeout=5",
            "postgres://app@db.example/pipeline?options=-csearch_path%3Dlegacy%20-c%20statement_timeout%3D5000",
        ]
    )
    func wellFormedURLIsAccepted(url: String) throws {
        let repository = try PostgresRunRepository(url: url, logger: Self.logger)
        #expect(repository.backendName == "postgres")
    }

    @Test(
        "The password the parser reads is the text every redaction hides, whatever characters it holds",
        arguments: ["p/ss", "p?ss", "p#ss", "p ss", "p@ss", "p:ss", "p%2Fss"]
    )
    func parserAndRedactionAgreeOnThePassword(password: String) throws {
        let url = "postgres://app:\(password)@db.example:5433/pipeline?sslmode=disable"
        let parsed = try PostgresURL(url)
        #expect(parsed.username == "app")
        #expect(parsed.password == password.replacingOccurrences(of: "%2F", with: "/"))
        #expect(parsed.description == "db.example:5433/pipeline")
        let hidden = "postgres://app:***@db.example:5433/pipeline?sslmode=disable"
        #expect(Redaction.credentials(in: url) == hidden)
        #expect(try BackendConfiguration(spec: url, argument: "--to").redactedDescription == hidden)
        #expect(try BackendConfiguration(spec: "postgres:" + url, argument: "--to").redactedDescription == hidden)
    }

    @Test("A mistyped backend quotes the spec without its password, however the password is written")
    func mistypedSchemeHidesThePassword() {
        let error = #expect(throws: ConfigurationError.self) { try BackendConfiguration(spec: "postgress://u:se/cret@h/db", argument: "--to") }
        #expect(error?.description.contains("postgress://u:***@h/db") == true, "\(String(describing: error))")
        #expect(error?.description.contains("cret") == false)
    }

    @Test("A server that does not answer fails prepare() quickly as unreachable, naming the address but not the password")
    func unreachableServerIsAConfigurationError() async throws {
        let opened = try PostgresTestDatabase.open(url: "postgres://app:s3cret@127.0.0.1:1/pipeline", layout: .standard, timeout: .seconds(2))
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            let unreachable = await #expect(throws: StorageUnreachable.self) { try await opened.repository.prepare() }
            let error = unreachable?.error
            #expect(error?.name == "PIPELINE_POSTGRES_URL")
            #expect(error?.message == "cannot connect to 127.0.0.1:1/pipeline: connection refused")
            #expect(error?.description.contains("s3cret") == false)
        }
        // Bounded, not hanging: a generous limit keeps this about behaviour on a loaded machine.
        #expect(elapsed < .seconds(30))
        try await opened.close()
    }

    @Test("options=-csearch_path=… serves a table in another schema; application_name names the sessions")
    func libpqParametersReachTheSession() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let schema = PostgresTestDatabase.uniqueName("legacy")
        try await PostgresTestDatabase.execute("CREATE SCHEMA \(schema)")
        let base = try PostgresTestDatabase.url()
        let separator = base.contains("?") ? "&" : "?"
        let url = base + separator + "options=-csearch_path%3D\(schema)&application_name=pipeline-service-test&connect_timeout=5"
        let opened = try PostgresTestDatabase.open(url: url, layout: .standard)
        do {
            try await opened.repository.prepare()
            _ = try await opened.repository.insert(TestRun.make("etl", start: UTCInstant(microsecondsSinceEpoch: 0), code: "a"))
            let rows = try await PostgresTestDatabase.query("SELECT count(*)::text FROM \(schema).pipeline_runs")
            #expect(rows == [["1"]])
            let sessions = try await PostgresTestDatabase.query(
                "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'pipeline-service-test'"
            )
            #expect(sessions.first?.first.flatMap { $0.flatMap { Int($0) } }.map { $0 > 0 } == true)
        } catch {
            Issue.record("\(error)")
        }
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP SCHEMA \(schema) CASCADE")
    }

    @Test("PIPELINE_TABLE=schema.table: the service creates and migrates its tables in that schema, beside a same-named one elsewhere")
    func schemaQualifiedOwnedTable() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let schema = PostgresTestDatabase.uniqueName("app")
        let table = PostgresTestDatabase.uniqueName("runs")
        try await PostgresTestDatabase.execute("CREATE SCHEMA \(schema)")
        // The URL's own search_path gives way to the table's schema.
        let base = try PostgresTestDatabase.url()
        let url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3Dpublic"
        let opened = try PostgresTestDatabase.open(url: url, layout: SQLTableLayout(table: "\(schema).\(table)"))
        do {
            try await opened.repository.prepare()
            let run = TestRun.make("etl", start: UTCInstant(microsecondsSinceEpoch: 0), code: "a")
            #expect(try await opened.repository.insert(run).isCreated)
            #expect(try await PostgresTestDatabase.query("SELECT count(*)::text FROM \(schema).\(table)") == [["1"]])
            #expect(try await PostgresTestDatabase.query("SELECT count(*)::text FROM \(schema).\(table)_summary") == [["1"]])
            let ledger = try await PostgresTestDatabase.query(
                "SELECT count(*)::text FROM \(schema).pipeline_service_migrations WHERE table_name = '\(table)'"
            )
            #expect(ledger == [["\(PostgresMigrationNames.all.count)"]])
            #expect(try await PostgresTestDatabase.query("SELECT to_regclass('public.\(table)')::text") == [[nil]])
            #expect(try await opened.repository.summaries().map(\.totalRuns) == [1])
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await opened.close()
        try await PostgresTestDatabase.execute("DROP SCHEMA \(schema) CASCADE")
    }

    @Test("legacy.runs, and runs with search_path=legacy, are one table: they take the same advisory locks")
    func schemaSpellingsShareLocks() async throws {
        guard Backend.underTest.contains(.postgres) else { return }
        let schema = PostgresTestDatabase.uniqueName("legacy")
        let table = PostgresTestDatabase.uniqueName("runs")
        try await PostgresTestDatabase.execute("CREATE SCHEMA \(schema)")
        let base = try PostgresTestDatabase.url()
        let qualified = try PostgresTestDatabase.open(url: base, layout: SQLTableLayout(table: "\(schema).\(table)"))
        let searched = try PostgresTestDatabase.open(
            url: base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)",
            layout: SQLTableLayout(table: table)
        )
        let plain = try PostgresTestDatabase.open(url: base, layout: SQLTableLayout(table: table))
        do {
            for opened in [qualified, searched, plain] { try await opened.repository.prepare() }
            func schemaOf(_ opened: RepositoryFixture.Opened) throws -> PostgresSchema {
                try #require(opened.repository as? PostgresRunRepository).schema.current()
            }
            let (a, b, c) = (try schemaOf(qualified), try schemaOf(searched), try schemaOf(plain))
            #expect(a.retentionLockKey == b.retentionLockKey)
            let key = RunKey(pipelineName: "p", dateCode: "d", runID: "x")
            #expect(a.lockKey(of: key) == b.lockKey(of: key))
            // A table of that name in public is another table, with locks of its own.
            #expect(a.retentionLockKey != c.retentionLockKey)
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        for opened in [qualified, searched, plain] { try await opened.close() }
        try await PostgresTestDatabase.dropTables(ownedBy: table)
        try await PostgresTestDatabase.execute("DROP SCHEMA \(schema) CASCADE")
    }

    @Test("A schema that does not exist, and a name of three parts, are refused naming PIPELINE_TABLE")
    func badSchemaQualifiedNames() async throws {
        for name in ["a.b.c", "legacy.", ".runs", "legacy.runs;drop"] {
            let error = #expect(throws: ConfigurationError.self) { try SQLTableLayout(table: name) }
            #expect(error?.name == "PIPELINE_TABLE", "\(name)")
        }
        let layout = try SQLTableLayout(table: "APP.PIPELINE_RUNS")
        #expect(layout.schema == "APP" && layout.table == "PIPELINE_RUNS" && layout.qualifiedName == "APP.PIPELINE_RUNS")
        guard Backend.underTest.contains(.postgres) else { return }
        let opened = try PostgresTestDatabase.open(url: PostgresTestDatabase.url(), layout: SQLTableLayout(table: "no_such_schema_x.runs"))
        let error = await #expect(throws: ConfigurationError.self) { try await opened.repository.prepare() }
        #expect(error?.name == "PIPELINE_TABLE")
        #expect(error?.message == "schema \"no_such_schema_x\" does not exist (or this user may not use it)")
        try await opened.close()
    }

    @Test("Before prepare() the repository answers unavailable instead of guessing the table")
    func unpreparedRepositoryIsUnavailable() async throws {
        let repository = try PostgresRunRepository(url: "postgres://app@127.0.0.1:1/pipeline", logger: Self.logger)
        let error = await #expect(throws: StorageError.self) { try await repository.runs(matching: RunQuery()) }
        #expect(error?.isUnavailable == true)
    }
}

/// The migrations a table the service owns has after `prepare()`, in order.
enum PostgresMigrationNames {
    static let all = [
        "1_create_runs_and_summary", "2_index_rowcount", "3_add_status_exit_code", "4_covering_indexes", "5_wide_rowcount_sums",
        "6_index_date_code",
        "7_add_run_id", "8_index_running_by_signature",
    ]
}

extension PostgresRepositoryTests {
    @Test("7_add_run_id gives runs stored before ids the same name-based id in SQL as RunID.nameBased in Swift")
    func runIDMigrationMatchesSwift() async throws {
        try await withFixture(.postgres) { fixture in
            let table = fixture.location
            var named = Self.run("20250902_050702")
            named.pipelineName = "ünïcode \u{1F680} name"
            let runs = [named.reidentified, Self.run("a"), Self.run("b").removingValues(of: [.pipelineName]).reidentified]
            _ = try await fixture.repository.insert(contentsOf: runs)
            for statement in [
                #"ALTER TABLE "\#(table)" DROP CONSTRAINT "\#(table)_run_id""#,
                #"DROP INDEX "\#(table)_running""#,
                #"ALTER TABLE "\#(table)" DROP COLUMN "run_id""#,
                #"ALTER TABLE "\#(table)" ADD CONSTRAINT "\#(table)_run_key" UNIQUE ("pipeline_name", "date_code")"#,
                #"DELETE FROM pipeline_service_migrations WHERE "table_name" = '\#(table)' AND "migration" = '7_add_run_id'"#,
            ] {
                try await PostgresTestDatabase.execute(statement)
            }
            try await fixture.restart()
            let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs
            #expect(stored.count == 3)
            for run in stored {
                #expect(run.info.runID == RunID.nameBased(pipelineName: run.info.pipelineName, dateCode: run.info.dateCode, sequence: run.sequence))
            }
            #expect(try await fixture.repository.insert(runs[1]).isCreated == false)
        }
    }
}
