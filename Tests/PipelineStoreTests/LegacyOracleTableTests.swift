import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineStore

/// The old service's Oracle table after ora2pg (``LegacyOracleTable``): its rows read, summarised
/// and matched by re-sends; every column type it (or a DBA's variant of it) has read and written
/// exactly; its limits enforced before writing; its own constraints answered as the client's
/// doing (409, 422), never as an unavailable database.
@Suite(
    "Legacy Oracle table after ora2pg",
    .enabled(
        if: Backend.postgresTestURL != nil || Backend.isCI,
        "PIPELINE_TEST_POSTGRES_URL is not set: start a server with scripts/postgres-test-server.sh start (scripts/test.sh does)"
    )
)
struct LegacyOracleTableTests {
    /// The run the old service's sample record describes, as the old service stored it (no id).
    static let sample: PipelineInfo = {
        var run = RepositoryContractTests.sample
        run.runID = nil
        return run
    }()

    /// A second run of the same pipeline, a day later, with fractions of a second in its end.
    static let second: PipelineInfo = {
        var run = sample
        run.startLocal = LocalDateTime(iso8601: "2025-09-03 05:07:02") ?? run.startLocal
        run.endLocal = LocalDateTime(iso8601: "2025-09-03 05:29:07.571") ?? run.endLocal
        run.startUTC = UTCInstant(iso8601: "2025-09-03T12:07:02Z") ?? run.startUTC
        run.endUTC = UTCInstant(iso8601: "2025-09-03T12:29:07.571Z") ?? run.endUTC
        (run.elapsedSeconds, run.elapsedHuman, run.rowcount, run.pid) = (1325.571, "22m 5s", 0, 21790)
        (run.outputFile, run.logFile, run.archivedFile, run.dateCode) = ("/out/b.csv", "/log/b.log", nil, "20250903_050702")
        return run
    }()

    /// A run of the old service without a pipeline name.
    static let nameless: PipelineInfo = {
        var run = second
        (run.pipelineName, run.dateCode, run.rowcount) = (nil, "20250904_050702", 7)
        return run
    }()

    static let oldRows = [sample, second, nameless]

    /// The old rows as ora2pg's data export loads them (ids 1, 2, 3 given, times with +00 offsets,
    /// which a `timestamp` column drops), and, with `restartingIdentity`, the identity moved past
    /// them as ora2pg's `AUTOINCREMENT_` file does.
    static func insertingOldRows(into table: LegacyOracleTable, restartingIdentity: Bool = true) -> [String] {
        let q = { (key: String) in SQLTableLayout.quote(table.column(key)) }
        let fields = PipelineField.allCases.filter { !$0.isExtension }
        let columns = ([q(SQLTableLayout.idKey)] + fields.map { q($0.rawValue) }).joined(separator: ", ")
        func literal(_ value: FieldValue) -> String {
            switch value {
            case .text(let text?): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
            case .text(nil), .integer(nil): "NULL"
            case .integer(let integer?): String(integer)
            case .double(let double): String(double)
            case .instant(let instant): "'\(instant.description.dropLast())+00'"
            case .local(let local): "'\(local.description)+00'"
            }
        }
        let rows = oldRows.enumerated().map { index, run in
            "(" + (["\(index + 1)"] + fields.map { literal(run.value(of: $0)) }).joined(separator: ", ") + ")"
        }
        var statements = ["INSERT INTO \(SQLTableLayout.quote(table.table)) (\(columns)) VALUES \(rows.joined(separator: ", "))"]
        if restartingIdentity {
            let sequence = "pg_get_serial_sequence('\(SQLTableLayout.quote(table.table))', '\(table.column(SQLTableLayout.idKey))')"
            statements.append("SELECT setval(\(sequence), (SELECT max(\(q(SQLTableLayout.idKey))) FROM \(SQLTableLayout.quote(table.table))))")
        }
        return statements
    }

    /// Runs `body` with a repository over a fresh copy of `table` (see ``LegacyOracleTable/makeFixture(withExtensionColumns:extra:limits:)``).
    static func withTable(
        _ table: LegacyOracleTable,
        extensionColumns: Bool = false,
        extra: [String] = [],
        _ body: (RepositoryFixture) async throws -> Void
    ) async throws {
        let fixture = try await table.makeFixture(withExtensionColumns: extensionColumns, extra: extra)
        do {
            try await body(fixture)
            try await fixture.tearDown()
        } catch {
            try? await fixture.tearDown()
            throw error
        }
    }

    // MARK: - Old rows

    @Test(
        "Old rows are read exactly, summarised, and matched by re-sends: unchanged stores nothing, changed is a conflict",
        arguments: LegacyOracleTable.allCases
    )
    func oldRowsAreServed(table: LegacyOracleTable) async throws {
        try await Self.withTable(table, extra: Self.insertingOldRows(into: table)) { fixture in
            let repository = fixture.repository
            let stored = try await repository.runs(matching: RunQuery(paging: .all)).runs.sorted { $0.sequence < $1.sequence }
            #expect(stored.map(\.sequence) == [1, 2, 3])
            #expect(stored.map(\.info) == Self.oldRows)
            #expect(try await repository.summaries() == PipelineSummary.summarize(Self.oldRows))
            #expect(
                try await repository.historySamples(matching: RunFilter(pipelineName: "subcon_ingest")).map(\.elapsedSeconds) == [1325.571, 2424.879]
            )

            // As the old client sends them again (validated: with their name-based ids, which the table does not keep).
            let resent = try PipelineInfo(jsonBytes: Array(RepositoryContractTests.sampleJSON.utf8))
            #expect(try await repository.insert(resent) == .existing(stored[0]))
            #expect(try await repository.insert(Self.second) == .existing(stored[1]))
            var changed = resent
            changed.rowcount += 1
            let error = await #expect(throws: StorageError.self) { try await repository.insert(changed) }
            #expect(error?.conflictingKey?.dateCode == Self.sample.dateCode)
            // A run without a name has no key, here as everywhere: sent again, it is stored again.
            #expect(try await repository.insert(Self.nameless).isCreated)
            #expect(try await repository.count(matching: RunFilter()) == 4)
        }
    }

    @Test("With a DBA's UNIQUE (pipeline_name, date_code) on the old table, old rows are matched as before")
    func oldUniqueKeyKeepsMatching() async throws {
        let table = LegacyOracleTable.ora2pgDefault
        let key = "CREATE UNIQUE INDEX uq_name_date ON pipeline_runs (pipeline_name, date_code)"
        try await Self.withTable(table, extra: [key] + Self.insertingOldRows(into: table)) { fixture in
            let repository = fixture.repository
            let stored = try await repository.runs(matching: RunQuery(paging: .all)).runs.sorted { $0.sequence < $1.sequence }
            #expect(try await repository.insert(Self.sample) == .existing(stored[0]))
            var changed = Self.second
            changed.pid += 1
            let error = await #expect(throws: StorageError.self) { try await repository.insert(changed) }
            #expect(error?.conflictingKey?.dateCode == Self.second.dateCode)
            var fresh = Self.second
            fresh.dateCode = "20250905_050702"
            #expect(try await repository.insert(fresh).isCreated)
            // A batch holding a changed old run is refused whole.
            fresh.dateCode = "20250906_050702"
            await #expect(throws: StorageError.self) { try await repository.insert(contentsOf: [fresh, changed]) }
            #expect(try await repository.count(matching: RunFilter()) == 4)
        }
    }

    // MARK: - Other unique keys and the table's own rules

    @Test("A unique key other than the run's own: the stored run when identical (200), else a conflict naming its columns (409)")
    func otherUniqueKeyIsDecidedLikeTheRunKey() async throws {
        let table = LegacyOracleTable.ora2pgDefault
        let key = "CREATE UNIQUE INDEX uq_name_date ON pipeline_runs (pipeline_name, date_code)"
        // The old rows stay without ids: the run_id column came after them.
        try await Self.withTable(table, extensionColumns: true, extra: [key] + Self.insertingOldRows(into: table)) { fixture in
            let repository = fixture.repository
            let stored = try await repository.runs(matching: RunQuery(paging: .all)).runs.sorted { $0.sequence < $1.sequence }
            #expect(stored.first?.info == Self.sample)
            // Sent again by the old client: its name-based id is new to the table, its name and date code are not.
            let resent = try PipelineInfo(jsonBytes: Array(RepositoryContractTests.sampleJSON.utf8))
            #expect(resent.runID != nil)
            #expect(try await repository.insert(resent) == .existing(stored[0]))
            var changed = resent
            changed.rowcount += 1
            let error = await #expect(throws: StorageError.self) { try await repository.insert(changed) }
            #expect(error?.takenKeyColumns == ["pipeline_name", "date_code"])
            #expect(error?.conflictingKey == changed.runKey)
            #expect(error?.isUnavailable == false)
            // Two runs with ids of their own under one name and date code: the second is refused.
            var first = Self.second
            (first.dateCode, first.runID) = ("20250910_000000", "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")
            #expect(try await repository.insert(first).isCreated)
            var other = first
            (other.runID, other.pid) = ("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e", 1)
            let taken = await #expect(throws: StorageError.self) { try await repository.insert(other) }
            #expect(taken?.takenKeyColumns == ["pipeline_name", "date_code"])
            #expect(taken?.conflictingKey?.runID == other.runID)
            // In a batch beside other writes, and in a batch of its own: refused, nothing of it stored.
            var unsent = Self.second
            (unsent.dateCode, unsent.runID) = ("20250911_000000", nil)
            let (fresh, taker) = (unsent.normalized, other)
            async let alone = try? repository.insert(fresh)
            async let batch: [InsertOutcome]? = try? repository.insert(contentsOf: [fresh, taker])
            let (storedAlone, storedBatch) = await (alone, batch)
            #expect(storedAlone?.storedRun.info == fresh)
            #expect(storedBatch == nil)
            #expect(try await repository.count(matching: RunFilter()) == 5)
        }
    }

    @Test("The end of a running run that takes another run's unique key of the table is a conflict naming it, not a 503")
    func endingARunningRunOnATakenKey() async throws {
        let table = LegacyOracleTable.ora2pgDefault
        let key = "CREATE UNIQUE INDEX uq_name_date ON pipeline_runs (pipeline_name, date_code)"
        try await Self.withTable(table, extensionColumns: true, extra: [key]) { fixture in
            let repository = fixture.repository
            var finished = Self.second
            (finished.dateCode, finished.runID) = ("20250912_000000", "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c70")
            let created = try await repository.insert(finished)
            #expect(created.isCreated)
            var running = Self.second
            (running.dateCode, running.runID, running.status) = ("20250913_000000", "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c71", RunStatus.running)
            running.clearEnd()
            let started = try await repository.insert(running)
            #expect(started.isCreated)
            // Its end names the date code the finished run holds: the table's key refuses it.
            var ended = Self.second
            (ended.dateCode, ended.runID, ended.status) = ("20250912_000000", running.runID, RunStatus.success)
            let error = await #expect(throws: StorageError.self) { try await repository.insert(ended) }
            #expect(error?.takenKeyColumns == ["pipeline_name", "date_code"], "\(String(describing: error))")
            #expect(error?.isUnavailable == false)
            let stillRunning = try await repository.count(matching: RunFilter(status: .equals(RunStatus.running)))
            #expect(stillRunning == 1)
        }
    }

    @Test("A run the table's own rules refuse is a 422 naming the field, never a 503; nothing is stored")
    func tableRulesAreTheClientsToFix() async throws {
        let table = LegacyOracleTable.ora2pgDefault
        try await Self.withTable(table, extra: ["ALTER TABLE pipeline_runs ADD CONSTRAINT ck_rows CHECK (rowcount < 5000)"]) { fixture in
            let repository = fixture.repository
            var run = Self.sample
            run.rowcount = 6000
            let check = await #expect(throws: StorageError.self) { try await repository.insert(run) }
            #expect(check?.refusal?.field == "rowcount")
            #expect(check?.refusal?.kind == "table_constraint")
            #expect(check?.refusal?.message == "The table's check constraint ck_rows on rowcount refuses this run")
            #expect(check?.isUnavailable == false)
            // In a batch: the run's index, and the whole batch refused.
            let batch = await #expect(throws: StorageError.self) { try await repository.insert(contentsOf: [Self.second, run]) }
            #expect(batch?.refusal?.field == "1.rowcount")

            // Rules added after start-up, which the limits read then do not know.
            let schema = String(fixture.location.prefix { $0 != "." })
            try await PostgresTestDatabase.execute(#"ALTER TABLE "\#(schema)".pipeline_runs ALTER COLUMN environment SET NOT NULL"#)
            try await PostgresTestDatabase.execute(#"ALTER TABLE "\#(schema)".pipeline_runs ALTER COLUMN script_name TYPE varchar(3)"#)
            var unnamed = Self.second
            (unnamed.environment, unnamed.scriptName) = (nil, "g")
            let notNull = await #expect(throws: StorageError.self) { try await repository.insert(unnamed) }
            #expect(notNull?.refusal?.field == "environment")
            #expect(notNull?.refusal?.message == "The table requires a value here (column environment is NOT NULL)")
            let tooLong = await #expect(throws: StorageError.self) { try await repository.insert(Self.second) }
            #expect(tooLong?.refusal?.message == "A value does not fit the table's columns")
            #expect(try await repository.count(matching: RunFilter()) == 0)
        }
    }

    @Test("An identity behind the loaded ids is a conflict on the id (409), not a 503, until it is restarted")
    func identityBehindLoadedRowsIsAConflict() async throws {
        let table = LegacyOracleTable.ora2pgExact
        try await Self.withTable(table, extra: Self.insertingOldRows(into: table, restartingIdentity: false)) { fixture in
            var fresh = Self.second
            fresh.dateCode = "20250905_050702"
            let error = await #expect(throws: StorageError.self) { try await fixture.repository.insert(fresh) }
            #expect(error?.takenKeyColumns == ["ID"])
            #expect(error?.description.contains("PIPELINE_RUNS_pkey") == true)
            let schema = String(fixture.location.prefix { $0 != "." })
            try await PostgresTestDatabase.execute(
                #"SELECT setval(pg_get_serial_sequence('"\#(schema)"."PIPELINE_RUNS"', 'ID'), (SELECT max("ID") FROM "\#(schema)"."PIPELINE_RUNS"))"#
            )
            #expect(try await fixture.repository.insert(fresh).storedRun.sequence == 4)
        }
    }

    // MARK: - Limits

    @Test("Values past a column's limit are refused before writing, naming field, limit and column: singles, batches, merged runs")
    func limitsAreEnforcedBeforeWriting() async throws {
        try await Self.withTable(.ora2pgExact, extensionColumns: true) { fixture in
            let repository = fixture.repository
            let limits = try repository.fieldLimits()
            // numeric(10) holds every pid validation accepts: no limit of its own.
            #expect(limits.limits[.pid] == nil)
            #expect(limits.limits[.exitCode] == nil)
            let base = try PipelineInfo(jsonBytes: Array(RepositoryContractTests.sampleJSON.utf8))
            func refusal(_ change: (inout PipelineInfo) -> Void) async -> FieldIssue? {
                var run = base
                change(&run)
                let error = await #expect(throws: ValidationError.self) { try await repository.insert(run) }
                return error?.issues.first
            }
            let environment = await refusal { $0.environment = String(repeating: "e", count: 51) }
            #expect(environment?.field == "environment")
            #expect(environment?.kind == "string_too_long")
            #expect(environment?.message == "String should have at most 50 characters (column ENVIRONMENT is varchar(50))")
            let rowcount = await refusal { $0.rowcount = PipelineInfo.maximumRowcount }
            #expect(rowcount?.message == "Input should be less than or equal to 999999999999 (column ROWCOUNT is numeric(12))")
            let elapsed = await refusal { $0.elapsedSeconds = 999_999_999.9995 }
            #expect(elapsed?.message == "Input should be less than or equal to 999999999.999 (column ELAPSED_SECONDS is numeric(12,3))")
            // The largest values the columns hold are stored.
            var largest = base
            (largest.environment, largest.rowcount, largest.elapsedSeconds) = (
                String(repeating: "é", count: 25) + String(repeating: "e", count: 25), 999_999_999_999, 999_999_999.999
            )
            (largest.pid, largest.dateCode) = (PipelineInfo.maximumPID, "largest")
            let stored = try await repository.insert(largest.reidentified)
            #expect(try await repository.runs(matching: RunQuery()).runs == [stored.storedRun])

            var tooLong = base
            (tooLong.dateCode, tooLong.pipelineName) = ("batch-1", String(repeating: "p", count: 256))
            let batch = await #expect(throws: ValidationError.self) {
                try await repository.insert(contentsOf: [base, tooLong.reidentified])
            }
            #expect(batch?.issues.map(\.field) == ["1.pipeline_name"])
            let merged = await #expect(throws: ValidationError.self) {
                try await repository.insert(merged: [MergedRun(tooLong.reidentified, basis: nil)])
            }
            #expect(merged?.issues.map(\.field) == ["0.pipeline_name"])
            #expect(try await repository.count(matching: RunFilter()) == 1)
        }
    }

    @Test("An integer column narrower than validation (numeric(4), smallint) limits its field")
    func narrowIntegerColumnsLimit() async throws {
        let narrow = #"ALTER TABLE "PIPELINE_RUNS" ALTER COLUMN "PID" TYPE numeric(4), ALTER COLUMN "EXIT_CODE" TYPE smallint"#
        try await Self.withTable(.ora2pgExact, extensionColumns: true, extra: [narrow]) { fixture in
            var run = Self.sample
            (run.pid, run.exitCode) = (10_000, -40_000)
            let error = await #expect(throws: ValidationError.self) { try await fixture.repository.insert(run) }
            #expect(
                error?.issues.map(\.message) == [
                    "Input should be less than or equal to 9999 (column PID is numeric(4))",
                    "Input should be greater than or equal to -32768 (column EXIT_CODE is smallint)",
                ]
            )
            (run.pid, run.exitCode) = (9999, -32768)
            let stored = try await fixture.repository.insert(run).storedRun
            #expect(stored.info == run.normalized)
        }
    }

    @Test("import refuses a line past the table's limits with its number and reason, and stores the others")
    func importRefusesLinesPastLimits() async throws {
        try await Self.withTable(.ora2pgExact) { fixture in
            var long = Self.second
            long.environment = String(repeating: "e", count: 60)
            let lines = [Self.sample, long, Self.nameless].map { String(decoding: $0.jsonBytes, as: UTF8.self) }
            let path = NSTemporaryDirectory() + "legacy-import-\(UInt32.random(in: 0...UInt32.max)).ndjson"
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let report = try await RunImporter().importLines(of: RunImporter.Input(path: path), into: fixture.repository)
            #expect(report.created == 2 && report.invalid == 1, "\(report)")
            #expect(report.invalidLines == [2])
            #expect(report.refusals.first?.reason == "body.environment: String should have at most 50 characters (column ENVIRONMENT is varchar(50))")
        }
    }

    // MARK: - Column types

    /// Variants of the translated tables a DBA may have made, one per column type a field can be
    /// stored in: every run written is read back as the write answered it, matched when sent
    /// again, and summarised as the in-memory oracle does.
    static let typeVariants: [(LegacyOracleTable, [String])] = [
        (.ora2pgDefault, []),
        (.ora2pgExact, []),
        (
            .ora2pgDefault,
            [
                """
                ALTER TABLE pipeline_runs ALTER COLUMN elapsed_seconds TYPE real, ALTER COLUMN pid TYPE integer, \
                ALTER COLUMN rowcount TYPE integer, ALTER COLUMN date_code TYPE char(24), ALTER COLUMN elapsed_human TYPE text, \
                ALTER COLUMN exit_code TYPE smallint, ALTER COLUMN end_local TYPE timestamp(3), ALTER COLUMN end_utc TYPE timestamptz(0), \
                ALTER COLUMN status TYPE char(12)
                """
            ]
        ),
        (
            .ora2pgExact,
            [
                #"ALTER TABLE "PIPELINE_RUNS" ALTER COLUMN "ELAPSED_SECONDS" TYPE numeric, ALTER COLUMN "ROWCOUNT" TYPE numeric, ALTER COLUMN "PID" TYPE bigint, ALTER COLUMN "SCRIPT_NAME" TYPE text"#
            ]
        ),
    ]

    @Test("Every column type is read and written exactly", arguments: typeVariants.indices)
    func everyColumnTypeRoundTrips(variant: Int) async throws {
        let (table, alterations) = Self.typeVariants[variant]
        try await Self.withTable(table, extensionColumns: true, extra: alterations) { fixture in
            let repository = fixture.repository
            var generator = RandomRuns(seed: 22)
            let runs = generator.runs(150)
            var outcomes: [InsertOutcome] = []
            for run in runs.prefix(30) { outcomes.append(try await repository.insert(run)) }
            outcomes += try await repository.insert(contentsOf: Array(runs.dropFirst(30)))
            #expect(outcomes.allSatisfy { $0.isCreated })
            let stored = outcomes.map(\.storedRun)
            // What each write answered is what a read gives back, and what a re-send is matched against.
            #expect(try await repository.runs(matching: RunQuery(paging: .all)) == RunQuery(paging: .all).evaluate(over: stored))
            #expect(try await repository.insert(contentsOf: runs) == stored.map(InsertOutcome.existing))
            for _ in 0..<40 {
                let query = generator.query()
                #expect(try await repository.runs(matching: query) == query.evaluate(over: stored), "\(query)")
            }
            #expect(try await repository.summaries() == PipelineSummary.summarize(stored.map(\.info)))
        }
    }

    @Test("A value is answered as its column keeps it: numeric(12,3) and real durations, char(n) text, timestamp(p) times")
    func valuesAreAnsweredAsStored() async throws {
        let (table, alterations) = Self.typeVariants[2]
        try await Self.withTable(table, extensionColumns: true, extra: alterations) { real in
            var run = Self.sample
            run.elapsedSeconds = 2424.879
            run.dateCode = "20250902_050702  "
            run.endLocal = LocalDateTime(wallMicroseconds: run.endLocal.wallMicroseconds + 123_500)
            run.endUTC = UTCInstant(microsecondsSinceEpoch: run.endUTC.microsecondsSinceEpoch + 500_000)
            let stored = try await real.repository.insert(run).storedRun
            // A float keeps 2424.879 as 2424.87890625; read through its shortest decimal, it is 2424.879 again.
            #expect(stored.info.elapsedSeconds == 2424.879)
            #expect(stored.info.dateCode == "20250902_050702")
            #expect(stored.info.endLocal.wallMicroseconds == Self.sample.endLocal.wallMicroseconds + 124_000)
            #expect(stored.info.endUTC.microsecondsSinceEpoch == Self.sample.endUTC.microsecondsSinceEpoch + 1_000_000)
            #expect(try await real.repository.runs(matching: RunQuery()).runs == [stored])
            #expect(try await real.repository.insert(run) == .existing(stored))
        }
        try await Self.withTable(.ora2pgExact) { exact in
            var run = Self.sample
            run.elapsedSeconds = 0.5005
            let stored = try await exact.repository.insert(run).storedRun
            #expect(stored.info.elapsedSeconds == 0.501)
            #expect(try await exact.repository.runs(matching: RunQuery()).runs == [stored])
            let schema = String(exact.location.prefix { $0 != "." })
            #expect(try await PostgresTestDatabase.query(#"SELECT "ELAPSED_SECONDS"::text FROM "\#(schema)"."PIPELINE_RUNS""#) == [["0.501"]])
            #expect(try await exact.repository.insert(run) == .existing(stored))
        }
    }

    @Test("A table the service cannot store runs in exactly stops start-up naming the column")
    func unusableColumnsStopStartUp() async throws {
        let cases = [
            (
                #"ALTER TABLE "PIPELINE_RUNS" ALTER COLUMN "ROWCOUNT" TYPE numeric(12,2)"#,
                #"column "ROWCOUNT" (rowcount) is numeric(12,2), which holds fractions"#
            ),
            (#"ALTER TABLE "PIPELINE_RUNS" ADD COLUMN "OWNER" varchar(10) NOT NULL"#, #"column "OWNER" is NOT NULL without a default"#),
            (#"ALTER TABLE "PIPELINE_RUNS" ALTER COLUMN "PID" TYPE varchar(10)"#, #"column "PID" (pid) is varchar(10), expected bigint"#),
        ]
        for (alteration, expected) in cases {
            let error = await #expect(throws: ConfigurationError.self) {
                try await LegacyOracleTable.ora2pgExact.makeFixture(withExtensionColumns: false, extra: [alteration]).tearDown()
            }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
        }
    }

    // MARK: - The translations

    @Test(
        "regenerate.sh reproduces the committed ora2pg translations byte for byte",
        .enabled(if: LegacyOracleTableTests.hasOra2pg, "ora2pg is not on the PATH (Debian package ora2pg; scripts/test.sh installs it)")
    )
    func translationsAreReproducible() throws {
        let output = NSTemporaryDirectory() + "ora2pg-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try ChildProcess.run(LegacyOracleTable.directory + "/regenerate.sh", [output])
        #expect(result.status == 0, "\(result.errors)")
        for table in LegacyOracleTable.allCases {
            let made = FileManager.default.contents(atPath: output + "/\(table.rawValue).sql")
            #expect(made != nil && made == FileManager.default.contents(atPath: table.file), "\(table)")
        }
    }

    static let hasOra2pg: Bool = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/ora2pg") }
    }()
}
