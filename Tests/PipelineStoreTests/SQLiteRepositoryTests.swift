import Foundation
import GRDB
import Logging
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// What only the SQLite backend promises: named migrations applied once, WAL mode, the reference
/// DDL, tables it does not own (renamed columns, missing columns) and summaries kept incrementally.
@Suite("SQLite repository")
struct SQLiteRepositoryTests {
    // MARK: - Migrations and files

    @Test("Migrations are recorded once and not applied again on restart")
    func migrationsAreIdempotentAcrossRestarts() async throws {
        try await withSQLiteFixture { fixture in
            let expected = [
                "pipeline_runs/v1-create-runs", "pipeline_runs/v2-create-summary", "pipeline_runs/v3-index-rowcount",
                "pipeline_runs/v4-add-status-exit-code", "pipeline_runs/v5-covering-indexes", "pipeline_runs/v6-wide-rowcount-sums",
                "pipeline_runs/v7-index-date-code",
                "pipeline_runs/v8-add-run-id", "pipeline_runs/v9-index-running-by-signature",
            ]
            #expect(try inspect(fixture) { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") } == expected)
            let first = try await fixture.repository.insert(Self.run(code: "a"))
            try await fixture.restart()
            try await fixture.restart()
            #expect(try inspect(fixture) { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") } == expected)
            let second = try await fixture.repository.insert(Self.run(code: "b"))
            #expect(second.storedRun.sequence > first.storedRun.sequence)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 2)
        }
    }

    @Test("Runs, ids and summaries survive a restart")
    func dataSurvivesRestart() async throws {
        try await withSQLiteFixture { fixture in
            var generator = RandomRuns(seed: 11)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(40))
            for run in generator.runs(10) { _ = try await fixture.repository.insert(run) }
            let all = RunQuery(paging: .all)
            let before = try await fixture.repository.runs(matching: all)
            let summariesBefore = try await fixture.repository.summaries()
            try await fixture.restart()
            #expect(try await fixture.repository.runs(matching: all) == before)
            #expect(try await fixture.repository.summaries() == summariesBefore)
            let next = try await fixture.repository.insert(generator.next())
            #expect(next.storedRun.sequence > (before.runs.map(\.sequence).max() ?? 0))
        }
    }

    @Test("The database runs in WAL mode")
    func walModeIsOn() async throws {
        try await withSQLiteFixture { fixture in
            _ = try await fixture.repository.insert(Self.run(code: "a"))
            #expect(try inspect(fixture) { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
            #expect(FileManager.default.fileExists(atPath: fixture.location + "-wal"))
        }
    }

    @Test("sql/sqlite.sql is exactly the DDL the migrations create")
    func referenceDDLMatchesMigrations() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("sql/sqlite.sql")
        let reference = try String(contentsOf: url, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
            .split(separator: ";").map(Self.normalized).filter { !$0.isEmpty }
        try await withSQLiteFixture { fixture in
            let created = try inspect(fixture) {
                try String.fetchAll(
                    $0,
                    sql:
                        "SELECT sql FROM sqlite_master WHERE tbl_name IN ('pipeline_runs', 'pipeline_runs_summary') AND sql IS NOT NULL ORDER BY rowid"
                )
            }
            #expect(reference.count == 9)
            #expect(created.map(Self.normalized) == reference)
        }
    }

    @Test("Two run tables in one file each get their own migrations and summaries")
    func twoTablesInOneFileAreIndependent() async throws {
        try await withSQLiteFixture { fixture in
            let other = try SQLiteRunRepository(
                path: fixture.location,
                layout: SQLTableLayout(table: "other_runs"),
                logger: Logger(label: "test.sqlite")
            )
            defer { try? other.close() }
            try await other.prepare()
            _ = try await fixture.repository.insert(Self.run(code: "a"))
            var run = Self.run(code: "a")
            run.environment = "dev"
            #expect(try await other.insert(run).isCreated)
            #expect(try await fixture.repository.summaries().map(\.signature.environment) == ["prod"])
            #expect(try await other.summaries().map(\.signature.environment) == ["dev"])
            let identifiers = try inspect(fixture) { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
            #expect(
                identifiers == [
                    "other_runs/v1-create-runs", "other_runs/v2-create-summary", "other_runs/v3-index-rowcount",
                    "other_runs/v4-add-status-exit-code", "other_runs/v5-covering-indexes", "other_runs/v6-wide-rowcount-sums",
                    "other_runs/v7-index-date-code", "other_runs/v8-add-run-id", "other_runs/v9-index-running-by-signature",
                    "pipeline_runs/v1-create-runs", "pipeline_runs/v2-create-summary",
                    "pipeline_runs/v3-index-rowcount", "pipeline_runs/v4-add-status-exit-code", "pipeline_runs/v5-covering-indexes",
                    "pipeline_runs/v6-wide-rowcount-sums", "pipeline_runs/v7-index-date-code", "pipeline_runs/v8-add-run-id",
                    "pipeline_runs/v9-index-running-by-signature",
                ]
            )
        }
    }

    /// Every index name the migrations derive must stay a valid identifier: with the limit at 54, a
    /// 52-character name made `<table>_by_rowcount` 64 characters long and trapped in migration v3.
    @Test("A new table whose derived names would be too long is a configuration error")
    func overlongOwnedTableNameFailsPrepare() async throws {
        let name = String(repeating: "t", count: 52)
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await RepositoryFixture.sqlite(layout: try SQLTableLayout(table: name))
        }
        #expect(error?.name == "PIPELINE_TABLE")
        #expect(error?.message == "\"\(name)\" is too long for a table this service creates in SQLite (at most 51 characters)")
    }

    @Test("A file that cannot be created is a configuration error naming PIPELINE_SQLITE_PATH")
    func unopenablePathIsAConfigurationError() throws {
        let path = "/nonexistent-\(UUID().uuidString)/runs.sqlite"
        let error = #expect(throws: ConfigurationError.self) {
            try SQLiteRunRepository(path: path, logger: Logger(label: "test.sqlite"))
        }
        #expect(error?.name == "PIPELINE_SQLITE_PATH")
        #expect(error?.description.contains("\n") == false)
    }

    // MARK: - Writes

    @Test("200 concurrent inserts, each sent twice, are each stored exactly once")
    func concurrentInsertsAreStoredOnce() async throws {
        try await withSQLiteFixture { fixture in
            var generator = RandomRuns(seed: 21)
            let runs = generator.runs(200).map { run in
                var run = run
                run.pipelineName = run.pipelineName ?? "nameless"
                return run
            }
            let repository = fixture.repository
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for run in runs + runs { group.addTask { try await repository.insert(run) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let created = outcomes.filter(\.isCreated).map(\.storedRun)
            #expect(created.count == 200)
            #expect(Set(created.map(\.sequence)).count == 200)
            #expect(Set(outcomes.filter { !$0.isCreated }.map(\.storedRun)) == Set(created))
            let stored = try await repository.runs(matching: RunQuery(paging: .all))
            #expect(Set(stored.runs) == Set(created))
            // Sums were added in commit order, which is id order: bit for bit the oracle's.
            #expect(try await repository.summaries() == PipelineSummary.summarize(created.sorted { $0.sequence < $1.sequence }.map(\.info)))
        }
    }

    @Test("Two identical runs in one batch: the second is the first, stored once")
    func identicalRunsInOneBatchAreStoredOnce() async throws {
        try await withSQLiteFixture { fixture in
            let run = Self.run(code: "same")
            let outcomes = try await fixture.repository.insert(contentsOf: [run, run])
            #expect(outcomes.count == 2)
            #expect(outcomes.first?.isCreated == true)
            #expect(outcomes.last == .existing(try #require(outcomes.first).storedRun))
            #expect(try await fixture.repository.summaries().map(\.totalRuns) == [1])
        }
    }

    @Test("A refused batch leaves runs and summaries as they were")
    func refusedBatchChangesNothing() async throws {
        try await withSQLiteFixture { fixture in
            let stored = try await fixture.repository.insert(Self.run(code: "a"))
            var conflicting = Self.run(code: "a")
            conflicting.rowcount += 1
            let error = await #expect(throws: StorageError.self) {
                try await fixture.repository.insert(contentsOf: [Self.run(code: "b"), Self.run(code: "c"), conflicting])
            }
            #expect(error?.conflictingKey.map { [$0.pipelineName, $0.dateCode] } == ["etl", "a"])
            #expect(try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs == [stored.storedRun])
            #expect(try await fixture.repository.summaries() == PipelineSummary.summarize([Self.run(code: "a")]))
        }
    }

    @Test("Quotes, semicolons and SQL in values are stored and matched verbatim")
    func hostileTextIsStoredVerbatim() async throws {
        try await withSQLiteFixture { fixture in
            var run = Self.run(code: "x'); DELETE FROM pipeline_runs; --")
            run.pipelineName = "'; DROP TABLE pipeline_runs; --"
            run.scriptName = "\"quoted\" ; name"
            run.pipelineType = "a\\b%_"
            run.environment = "é✓ \t"
            run.outputFile = "/tmp/o'hara;\"x\".csv"
            run.archivedFile = "?"
            let outcome = try await fixture.repository.insert(run)
            #expect(outcome.isCreated)
            #expect(try await fixture.repository.insert(run) == .existing(outcome.storedRun))
            let page = try await fixture.repository.runs(
                matching: RunQuery(
                    filter: RunFilter(
                        pipelineName: run.pipelineName.map(FieldCondition.equals),
                        scriptName: run.scriptName.map(FieldCondition.equals),
                        pipelineType: run.pipelineType.map(FieldCondition.equals)
                    )
                )
            )
            #expect(page.runs == [outcome.storedRun])
            #expect(try await fixture.repository.run(dateCode: run.dateCode) == run)
            #expect(try await fixture.repository.summaries().map(\.signature) == [run.signature])
        }
    }

    // MARK: - Instants

    @Test("Instants written with different offsets order and filter as instants")
    func offsetsOrderAsInstants() async throws {
        try await withSQLiteFixture { fixture in
            let starts = [
                "later": "2025-09-02 11:00:00",  // no zone: UTC
                "plus-two": "2025-09-02T12:00:00+02:00",  // 10:00Z
                "micro": "2025-09-02T10:00:00.000001Z",
                "fraction": "2025-09-02T10:30:00.25Z",
                "minus-one": "2025-09-02T09:45:00-01:00",  // 10:45Z
            ]
            for (code, start) in starts.sorted(by: { $0.key < $1.key }) {
                var run = Self.run(code: code)
                run.startUTC = try #require(UTCInstant(iso8601: start))
                run.endUTC = run.startUTC
                _ = try await fixture.repository.insert(run)
            }
            let all = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(all.runs.map(\.info.dateCode) == ["later", "minus-one", "fraction", "micro", "plus-two"])
            let from = try #require(UTCInstant(iso8601: "2025-09-02T12:30:00+02:00"))
            let late = try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(startUTCFrom: from), paging: .all))
            #expect(late.runs.map(\.info.dateCode) == ["later", "minus-one", "fraction"])
            let to = try #require(UTCInstant(iso8601: "2025-09-02T05:00:00.000001-05:00"))
            let early = try await fixture.repository.runs(matching: RunQuery(filter: RunFilter(endUTCTo: to), paging: .all))
            #expect(early.runs.map(\.info.dateCode) == ["micro", "plus-two"])
            let texts = try inspect(fixture) { try String.fetchAll($0, sql: "SELECT start_utc FROM pipeline_runs ORDER BY start_utc DESC") }
            #expect(texts.first == "2025-09-02T11:00:00.000000Z")
            #expect(texts.allSatisfy { $0.utf8.count == 27 })
        }
    }

    @Test("Instants at the ends of the calendar round-trip and order correctly")
    func extremeInstantsRoundTrip() async throws {
        try await withSQLiteFixture { fixture in
            // An offset that would move the first minute of year 1 into year 0 is refused by validation;
            // the first representable instant is stored and ordered like any other.
            #expect(UTCInstant(iso8601: "0001-01-01T00:30:00+01:00") == nil)
            var yearZero = Self.run(code: "year-one")
            yearZero.startUTC = try #require(UTCInstant(iso8601: "0001-01-01T00:00:00Z"))
            var lastYear = Self.run(code: "year-9999")
            lastYear.startUTC = try #require(UTCInstant(iso8601: "9999-12-31T23:59:59.999999Z"))
            _ = try await fixture.repository.insert(contentsOf: [yearZero, lastYear, Self.run(code: "now")])
            let page = try await fixture.repository.runs(matching: RunQuery(paging: .all))
            #expect(page.runs.map(\.info) == [lastYear, Self.run(code: "now"), yearZero])
            #expect(try await fixture.repository.summaries().first?.lastRun == lastYear.startUTC)
        }
    }

    // MARK: - Tables the service does not own

    @Test("A rule of someone else's table is the client's to fix: its own unique key a 409 naming its columns, a CHECK a 422; never a 503")
    func foreignTableRulesAreRefusals() async throws {
        let table = ForeignTable.unmappedUpperCase
        let fixture = try await RepositoryFixture.sqlite(layout: try table.layout) { path in
            try Self.execute(path, table.createSQL())
            try Self.execute(path, "CREATE UNIQUE INDEX old_key ON pipeline_runs (PIPELINE_NAME, DATE_CODE)")
            try Self.execute(
                path,
                "CREATE TRIGGER no_thirteen BEFORE INSERT ON pipeline_runs WHEN NEW.ROWCOUNT = 13 BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: unlucky'); END"
            )
        }
        do {
            let repository = fixture.repository
            var first = Self.run(code: "20250902_050702")
            first.runID = RunID.timeOrdered(at: first.startUTC)
            #expect(try await repository.insert(first.normalized).isCreated)
            // Another run under the table's old key (pipeline_name, date_code): a conflict naming its columns.
            var second = first
            second.runID = RunID.timeOrdered(at: second.endUTC)
            second.rowcount = 5
            do {
                _ = try await repository.insert(second.normalized)
                Issue.record("the old key's owner was overwritten")
            } catch let error as StorageError {
                #expect(error.takenKeyColumns == ["PIPELINE_NAME", "DATE_CODE"], "\(error)")
                #expect(!error.isUnavailable)
            }
            // In a batch beside an accepted run: only that write is refused, as a whole batch.
            await #expect(throws: StorageError.self) { try await repository.insert(contentsOf: [Self.run(code: "other"), second.normalized]) }
            #expect(try await repository.count(matching: RunFilter()) == 1)
            // A rule of the table's own (here a trigger that aborts): a 422, nothing stored.
            var unlucky = Self.run(code: "20250902_050703")
            unlucky.rowcount = 13
            do {
                _ = try await repository.insert(unlucky.normalized)
                Issue.record("the table's rule was not kept")
            } catch let error as StorageError {
                #expect(error.refusal?.kind == "table_constraint", "\(error)")
            }
            #expect(try await repository.count(matching: RunFilter()) == 1)
        } catch {
            try? await fixture.tearDown()
            throw error
        }
        try await fixture.tearDown()
    }

    @Test("A table with renamed columns answers like the in-memory oracle", arguments: ForeignTable.allCases)
    func foreignTableEqualsTheOracle(table: ForeignTable) async throws {
        let fixture = try await RepositoryFixture.sqlite(layout: try table.layout) { path in
            try Self.execute(path, table.createSQL())
        }
        do {
            let repository = fixture.repository
            var generator = RandomRuns(seed: 5)
            var stored: [StoredRun] = []
            for chunk in stride(from: 0, to: 300, by: 60) {
                let outcomes = try await repository.insert(contentsOf: generator.runs(60))
                #expect(outcomes.filter(\.isCreated).count == 60, "chunk at \(chunk)")
                stored += outcomes.map(\.storedRun)
            }
            for run in generator.runs(20) { stored.append(try await repository.insert(run).storedRun) }

            // Idempotency without a unique index: the key is looked up inside the write transaction.
            let keyed = try #require(stored.first { $0.info.runKey != nil })
            #expect(try await repository.insert(keyed.info) == .existing(keyed))
            var changed = keyed.info
            changed.elapsedHuman += "!"
            let error = await #expect(throws: StorageError.self) { try await repository.insert(changed) }
            #expect(error?.conflictingKey == keyed.info.runKey)

            for _ in 0..<80 {
                let query = generator.query()
                #expect(try await repository.runs(matching: query) == query.evaluate(over: stored), "\(query)")
            }
            try await expectCursorWalk(repository, filter: RunFilter(pipelineName: "ingest_lots"), over: stored)
            expectSummariesClose(try await repository.summaries(), PipelineSummary.summarize(stored.map(\.info)))
            #expect(try await repository.run(dateCode: keyed.info.dateCode) == keyed.info)
            try await repository.checkHealth()

            // Nothing was created next to someone else's table.
            let tables = try inspect(fixture) { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master ORDER BY name") }
            #expect(tables == [table.name, "sqlite_sequence"])
            try await fixture.tearDown()
        } catch {
            try? await fixture.tearDown()
            throw error
        }
    }

    @Test("A schema-qualified table name is refused on SQLite, naming PIPELINE_TABLE")
    func schemaQualifiedTableIsRefused() throws {
        let layout = try SQLTableLayout(table: "legacy.pipeline_runs")
        let error = #expect(throws: ConfigurationError.self) {
            _ = try SQLiteRunRepository(path: "/nonexistent/never-opened.sqlite", layout: layout, logger: Logger(label: "test"))
        }
        #expect(error?.name == "PIPELINE_TABLE")
        #expect(error?.message == "\"legacy.pipeline_runs\" names a schema, which SQLite does not have: name the table alone")
    }

    @Test("A mapped table missing columns fails prepare, listing every missing column")
    func mappedTableMissingColumnsFailsPrepare() async throws {
        let table = ForeignTable.mappedUpperCase
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await RepositoryFixture.sqlite(layout: try table.layout) { path in
                try Self.execute(path, table.createSQL(omitting: [.rowcount, .logFile, .environment]))
            }
        }
        #expect(error?.name == "PIPELINE_COLUMN_MAP")
        #expect(error?.message == "table \"LEGACY_RUNS\" lacks columns: ROW_COUNT (rowcount), LOG_FILE (log_file), ENVIRONMENT (environment)")
    }

    @Test("An existing table the migrations did not create is checked, not altered")
    func foreignTableMissingColumnsFailsPrepare() async throws {
        let table = ForeignTable.unmappedUpperCase
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await RepositoryFixture.sqlite { path in
                try Self.execute(path, table.createSQL(omitting: [.archivedFile, .pid]))
            }
        }
        #expect(error?.name == "PIPELINE_TABLE")
        #expect(error?.message == "table \"pipeline_runs\" lacks columns: pid, archived_file")
    }

    @Test("A table without the status columns works without them: accepted, not stored, read as null", arguments: ForeignTable.allCases)
    func foreignTableWithoutStatusColumns(table: ForeignTable) async throws {
        let fixture = try await RepositoryFixture.sqlite(layout: try table.layout) { path in
            try Self.execute(path, table.createSQL(omitting: [.status, .exitCode]))
        }
        do {
            var failed = Self.run(code: "failed")
            failed.status = "failed"
            failed.exitCode = 3
            let created = try await fixture.repository.insert(failed)
            #expect(created.isCreated)
            #expect(created.storedRun.info.status == nil && created.storedRun.info.exitCode == nil)
            // Resending it is the same run: what the table cannot hold is not compared.
            #expect(try await fixture.repository.insert(failed) == .existing(created.storedRun))
            #expect(try await fixture.repository.runs(matching: RunQuery()).runs == [created.storedRun])
            #expect(try await fixture.repository.summaries().map(\.failedRuns) == [0])
            #expect(try await fixture.repository.samples(matching: RunFilter(signature: failed.signature), limit: 5).map(\.status) == [nil])
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        try await fixture.tearDown()
    }

    @Test("A mapped table that does not exist is a configuration error")
    func missingMappedTableFailsPrepare() async throws {
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await RepositoryFixture.sqlite(layout: try ForeignTable.mappedUpperCase.layout)
        }
        #expect(error?.name == "PIPELINE_TABLE")
        #expect(error?.message == "table \"LEGACY_RUNS\" does not exist")
    }

    @Test("A row that cannot be read back is reported as corrupt, without internals")
    func unreadableRowIsCorrupt() async throws {
        let table = ForeignTable.unmappedUpperCase
        let setUp: (String) throws -> Void = { path in
            try Self.execute(path, table.createSQL())
            try Self.execute(
                path,
                """
                INSERT INTO pipeline_runs (START_LOCAL, END_LOCAL, START_UTC, END_UTC, ELAPSED_SECONDS, ELAPSED_HUMAN, OUTPUT_FILE, ROWCOUNT,
                LOG_FILE, PID, DATE_CODE) VALUES ('2025-01-01 00:00:00', '2025-01-01 00:00:01', 'yesterday', '2025-01-01T00:00:01Z', 1, '1s',
                '/o', 1, '/l', 1, 'bad')
                """
            )
        }
        try await withSQLiteFixture(setUp: setUp) { fixture in
            let error = await #expect(throws: StorageError.self) { try await fixture.repository.runs(matching: RunQuery()) }
            #expect(error?.isUnavailable == true)
            #expect(error?.description == "Stored data is unreadable: run 1 has an unreadable start_utc")
        }
    }

    // MARK: - Helpers

    /// A table someone else created, with every column named in upper case.
    enum ForeignTable: String, CaseIterable, Sendable, CustomStringConvertible {
        /// `LEGACY_RUNS` with `PIPELINE_COLUMN_MAP` naming every column.
        case mappedUpperCase
        /// `pipeline_runs` without a column map: the columns are found case-insensitively.
        case unmappedUpperCase

        var description: String { rawValue }

        var name: String { self == .mappedUpperCase ? "LEGACY_RUNS" : SQLTableLayout.defaultTable }
        var idColumn: String { self == .mappedUpperCase ? "RUN_ID" : "ID" }

        /// Without a map only the case may differ; a map can rename (`rowcount` → `ROW_COUNT`).
        /// With a map, run_id is RUN_UUID: the table's numeric key has the name RUN_ID.
        func column(_ field: PipelineField) -> String {
            guard self == .mappedUpperCase else { return field.rawValue.uppercased() }
            return switch field {
            case .rowcount: "ROW_COUNT"
            case .runID: "RUN_UUID"
            default: field.rawValue.uppercased()
            }
        }

        var layout: SQLTableLayout {
            get throws {
                guard self == .mappedUpperCase else { return try SQLTableLayout() }
                let members = [#""id":"\#(idColumn)""#] + PipelineField.allCases.map { #""\#($0.rawValue)":"\#(column($0))""# }
                return try SQLTableLayout(table: name, columnMapJSON: "{" + members.joined(separator: ",") + "}")
            }
        }

        func createSQL(omitting omitted: Set<PipelineField> = []) -> String {
            let columns = PipelineField.allCases.filter { !omitted.contains($0) }.map { field in
                let type =
                    switch field {
                    case .elapsedSeconds: "REAL"
                    case .rowcount, .pid, .exitCode: "INTEGER"
                    default: "TEXT"
                    }
                return "\(column(field)) \(type)\(field.isOptional ? "" : " NOT NULL")"
            }
            return "CREATE TABLE \(name) (\(idColumn) INTEGER PRIMARY KEY AUTOINCREMENT, \(columns.joined(separator: ", ")))"
        }
    }

    static func run(code: String) -> PipelineInfo {
        PipelineInfo(
            startLocal: LocalDateTime(wallMicroseconds: 1_756_789_622_000_000),
            endLocal: LocalDateTime(wallMicroseconds: 1_756_792_047_500_000),
            startUTC: UTCInstant(microsecondsSinceEpoch: 1_756_814_822_000_000),
            endUTC: UTCInstant(microsecondsSinceEpoch: 1_756_817_247_500_000),
            elapsedSeconds: 2424.879,
            elapsedHuman: "40m 24s",
            outputFile: "/out/\(code).csv",
            rowcount: 11060,
            logFile: "/log/\(code).log",
            pid: 21788,
            dateCode: code,
            pipelineName: "etl",
            scriptName: "etl.py",
            pipelineType: "batch",
            environment: "prod"
        ).normalized
    }

    static func normalized(_ sql: some StringProtocol) -> String {
        sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func execute(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }
}

/// Runs `body` on a fresh SQLite fixture, tearing it down afterwards, even on failure.
private func withSQLiteFixture(
    setUp: (String) throws -> Void = { _ in },
    _ body: (RepositoryFixture) async throws -> Void
) async throws {
    let fixture = try await RepositoryFixture.sqlite(setUp: setUp)
    do {
        try await body(fixture)
        try await fixture.tearDown()
    } catch {
        try? await fixture.tearDown()
        throw error
    }
}

/// Reads the fixture's database file through a connection of its own.
private func inspect<T>(_ fixture: RepositoryFixture, _ body: (Database) throws -> T) throws -> T {
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: fixture.location, configuration: configuration)
    defer { try? queue.close() }
    return try queue.read(body)
}

/// Follows `nextCursor` from the first page to the last; every page must equal the oracle's and
/// together they must be every match once, in order.
private func expectCursorWalk(_ repository: any PipelineRunRepository, filter: RunFilter, over stored: [StoredRun]) async throws {
    var query = RunQuery(filter: filter, paging: .window(limit: 7, offset: 0))
    var page = try await repository.runs(matching: query)
    var walked = page.runs
    #expect(page == query.evaluate(over: stored))
    var pages = 1
    while let cursor = page.nextCursor, pages < 1000 {
        query = RunQuery(filter: filter, paging: .after(cursor.position, limit: 7))
        page = try await repository.runs(matching: query)
        #expect(page == query.evaluate(over: stored))
        walked += page.runs
        pages += 1
    }
    #expect(pages > 1)
    #expect(walked == RunQuery(filter: filter, paging: .all).evaluate(over: stored).runs)
}

/// Summaries of a table the service does not own come from SQL `SUM`, which may round the
/// duration sum differently from adding in insertion order; everything else is exact.
private func expectSummariesClose(_ actual: [PipelineSummary], _ expected: [PipelineSummary]) {
    #expect(actual.count == expected.count)
    for (got, want) in zip(actual, expected) {
        #expect(got.signature == want.signature)
        #expect(got.totalRuns == want.totalRuns)
        #expect(got.lastRun == want.lastRun)
        #expect(got.avgRowcount == want.avgRowcount)
        switch (got.avgDuration, want.avgDuration) {
        case (nil, nil): break
        case (let got?, let want?): #expect(abs(got - want) <= 1e-9 * abs(want), "\(got) vs \(want)")
        default: Issue.record("avg_duration \(String(describing: got.avgDuration)) vs \(String(describing: want.avgDuration))")
        }
    }
}

@Suite("SQLite run ids")
struct SQLiteRunIDMigrationTests {
    @Test("v8 gives runs stored before ids their name-based id (without a name: of date code and row id), computed by the Swift function")
    func runIDMigrationBackfills() async throws {
        try await withSQLiteFixture { fixture in
            let named = TestRun.make("etl", start: TestRun.hours(2, before: RunLifecycleContractTests.start), code: "a", status: "success")
            let nameless = (0..<2).map { _ in TestRun.make(nil, start: RunLifecycleContractTests.start, code: "x\u{e9}") }
            _ = try await fixture.repository.insert(contentsOf: [named] + nameless)
            // Back to v7: no run_id column, and the (pipeline_name, date_code) key.
            let queue = try DatabaseQueue(path: fixture.location)
            try await queue.write { db in
                try db.execute(sql: #"DROP INDEX "pipeline_runs_run_id""#)
                try db.execute(sql: #"DROP INDEX "pipeline_runs_running""#)
                try db.execute(sql: #"ALTER TABLE "pipeline_runs" DROP COLUMN "run_id""#)
                try db.execute(sql: #"CREATE UNIQUE INDEX "pipeline_runs_key" ON "pipeline_runs" ("pipeline_name", "date_code")"#)
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'pipeline_runs/v8-add-run-id'")
            }
            try queue.close()
            try await fixture.restart()
            let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs
            #expect(stored.count == 3)
            for run in stored {
                let expected = RunID.nameBased(pipelineName: run.info.pipelineName, dateCode: run.info.dateCode, sequence: run.sequence)
                #expect(run.info.runID == expected)
            }
            // The old key holds through the name-based id.
            #expect(try await fixture.repository.insert(named).isCreated == false)
        }
    }
}
