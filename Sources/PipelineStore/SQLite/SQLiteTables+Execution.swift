import GRDB
import PipelineCore

// MARK: - Writes in a transaction

extension SQLiteTables {
    /// Stores each admitted request all or nothing — in a savepoint of its own, unless it is one
    /// run on a table the service owns, whose insert either stores it or stores nothing — then adds
    /// the created runs to the summary table. Errors other than conflicts are rethrown, failing the
    /// whole transaction.
    ///
    /// A request alone in its transaction (an import batch, a large `POST /pipelines/batch`) takes
    /// no savepoint: its conflict is rethrown, rolling back the transaction, which holds nothing
    /// else. A savepoint makes SQLite copy every page it changes to a temporary file first, to be
    /// able to roll back to it.
    ///
    /// - Parameter refusals: per request, why it is refused (too many signatures), nil to store it.
    func store(_ requests: [WriteRequest], refusals: [StorageError?], in db: Database) throws -> [Result<[InsertOutcome], any Error>] {
        var written: [InsertOutcome] = []
        let replaced = ReplacedSignatures()
        let alone = requests.count == 1
        let results: [Result<[InsertOutcome], any Error>] = try zip(requests, refusals).map { request, refusal in
            if let refusal { return .failure(refusal) }
            do {
                let outcomes = try alone ? storeEach(request, replaced, in: db) : storeAllOrNothing(request, replaced, in: db)
                written += outcomes
                return .success(outcomes)
            } catch let error as StorageError where error.conflictingKey != nil && !alone {
                return .failure(error)
            } catch let error as DatabaseError where summary == nil {
                // Someone else's table may have rules of its own: refused, that write alone (when alone, the transaction).
                guard let rule = StorageError.tableRule(error, writing: request.runs) else { throw error }
                if alone { throw rule }
                return .failure(rule)
            }
        }
        let created = replaced.added(written.finishedRunsInIDOrder)
        if let summary, !replaced.signatures.isEmpty { try refold(replaced.signatures, into: summary, in: db) }
        if let summary, let run = created.first {
            if created.count == 1 {
                var binds = SQLBinds(.sqlite)
                let sql = summary.addOne(run, binds: &binds)
                try execute(binds.statement(sql), in: db)
            } else {
                try add(created, to: summary, in: db)
            }
        }
        return results
    }

    private func storeAllOrNothing(_ request: WriteRequest, _ replaced: ReplacedSignatures, in db: Database) throws -> [InsertOutcome] {
        if summary != nil, case .one = request { return try storeEach(request, replaced, in: db) }
        var outcomes: [InsertOutcome] = []
        try db.inSavepoint {
            outcomes = try storeEach(request, replaced, in: db)
            return .commit
        }
        return outcomes
    }

    /// Stores a request's runs in their order; a failure leaves those before it stored, for the
    /// caller to roll back. Merged runs, and every run of a table the service does not own, look
    /// before they insert; other runs go in multi-row inserts that skip stored keys.
    private func storeEach(_ request: WriteRequest, _ replaced: ReplacedSignatures, in db: Database) throws -> [InsertOutcome] {
        let runs = request.runs
        guard summary == nil || request.isMerged else { return try insertSkippingStoredKeys(runs, replaced, in: db) }
        return try runs.indices.map { index in
            try store(runs[index], expecting: request.expectation(at: index, stored: statements.layout.storable), replaced, in: db)
        }
    }

    /// Runs on a table the service owns, in multi-row inserts that skip stored keys; then each run
    /// not inserted (its key stored before, or earlier in `runs`) is decided against the stored one.
    private func insertSkippingStoredKeys(_ incoming: [PipelineInfo], _ replaced: ReplacedSignatures, in db: Database) throws -> [InsertOutcome] {
        let runs = incoming.map(statements.layout.storable)
        var inserted = InsertedRunIDs()
        for start in stride(from: 0, to: runs.count, by: SQLStatements.rowsPerInsert) {
            let chunk = runs[start..<min(start + SQLStatements.rowsPerInsert, runs.count)]
            _ = try SQLiteRow.each(statements.insertSkippingStoredKeys(chunk), in: db, subject: "a new run") { try inserted.record(reading: &$0) }
        }
        return try runs.map { run in
            if let id = inserted.take(run) { return .created(StoredRun(sequence: id, info: run)) }
            guard let key = run.runKey, let stored = try storedRun(statements.runByKey(key), in: db) else {
                // Turned away by some other constraint: inserted alone, to report which.
                return .created(StoredRun(sequence: try insert(run, in: db), info: run))
            }
            return try write(run, over: stored, replaced, in: db)
        }
    }

    /// Stores one run unless its key is already stored; the stored run decides the outcome then.
    /// Someone else's table may have no unique index on the key, and a merged run must find the run
    /// it was merged from (`expectation`): look before inserting.
    private func store(
        _ incoming: PipelineInfo,
        expecting expectation: StoredExpectation?,
        _ replaced: ReplacedSignatures,
        in db: Database
    ) throws -> InsertOutcome {
        let run = statements.layout.storable(incoming)
        let stored = try run.runKey.flatMap { key in try storedRun(statements.runByKey(key), in: db) }
        try expectation?.check(stored, key: run.runKey, incoming: run)
        if let stored { return try write(run, over: stored, replaced, in: db) }
        return .created(StoredRun(sequence: try insert(run, in: db), info: run))
    }

    /// The outcome for a run whose key is stored: nothing to write, a conflict, or the stored
    /// record deleted and this one inserted after it (a running run's, or a finished run's whose
    /// start was not known: its signature's totals are then folded again, `replaced`).
    private func write(_ run: PipelineInfo, over stored: StoredRun, _ replaced: ReplacedSignatures, in db: Database) throws -> InsertOutcome {
        switch try SQLiteRunRepository.decision(forExisting: stored, incoming: run) {
        case .unchanged(let stored):
            return .existing(stored)
        case .replaces(let previous), .replacesFinished(let previous):
            let isFinished = !previous.info.isRunning
            try execute(isFinished ? statements.deleteFinished(id: previous.sequence) : statements.deleteRunning(id: previous.sequence), in: db)
            guard db.changesCount == 1 else { throw Self.notStored }
            if isFinished { replaced.insert(previous.info.signature) }
            return .updated(StoredRun(sequence: try insert(run, in: db), info: run))
        }
    }

    private static let notStored = StorageError.unavailable("the run could not be stored")

    /// Inserts one run and returns its id.
    private func insert(_ run: PipelineInfo, in db: Database) throws -> Int64 {
        let insert = statements.insert(CollectionOfOne(run))
        let returning = SQLStatement(sql: insert.sql + " RETURNING \(statements.layout.quotedIDColumn)", binds: insert.binds)
        guard let id = try SQLiteRow.first(returning, in: db, subject: "a new run", { try $0.integer(column: SQLTableLayout.idKey) }) else {
            throw Self.notStored
        }
        return id
    }

    /// Adds newly stored runs to their signatures' totals (``SummaryFold/Addition``).
    private func add(_ runs: [PipelineInfo], to summary: SQLSummaryTable, in db: Database) throws {
        let addition = SummaryFold.Addition(runs)
        var stored: [SignatureAggregate] = []
        for (placeholders, keys) in zip(addition.placeholderChunks, addition.keyChunks) {
            try execute(summary.createMissing(placeholders), in: db)
            stored += try aggregates(summary.select(keys: keys), split: .sixtyThree, in: db)
        }
        for totals in addition.adding(to: stored) { try execute(summary.setTotals(totals), in: db) }
    }

    func execute(_ statement: SQLStatement, in db: Database) throws {
        try statement.prepared(in: db).execute(arguments: statement.arguments)
    }
}

// MARK: - Reads

extension SQLiteTables {
    /// The page a query asks for and the number of all its matches, from the same snapshot.
    func page(_ query: RunQuery, in db: Database) throws -> RunPage {
        let assembly = SQLPageAssembly(query: query)
        var total = query.knownTotal
        var walk = false
        // The count tells how wide a row count range is, which SQLite's statistics do not; the
        // table's size comes from the summary table (a table without one keeps the planner's choice).
        if let summary, query.filter.minRowcount != nil || query.filter.maxRowcount != nil, query.paging != .all {
            let matches = try total ?? count(statements.count(query.filter, summary: summary), in: db)
            total = matches
            walk = SQLStatements.prefersWalkingResultOrder(for: query, matches: matches, tableSize: try count(summary.totalRuns, in: db))
        }
        if total == 0 { return assembly.page(fetched: [], total: 0) }
        let fetched = try SQLiteRow.each(statements.page(query, walkingResultOrder: walk), in: db, subject: "a stored run") {
            try StoredRun(reading: &$0)
        }
        let matches = try total ?? assembly.knownTotal(fetched: fetched.count) ?? count(statements.count(query.filter, summary: summary), in: db)
        return assembly.page(fetched: fetched, total: matches)
    }

    /// Every signature's totals: the summary table when the service owns the table, else one grouped scan.
    func aggregates(in db: Database) throws -> [SignatureAggregate] {
        if let summary { return try aggregates(summary.selectAll, split: .sixtyThree, in: db) }
        return try aggregates(statements.aggregatesByGroupedScan(), split: .thirtyTwo, in: db)
    }

    /// The runs still running, by signature (``SQLStatements/runningRuns()``).
    func runningRuns(in db: Database) throws -> [RunningRuns] {
        try SQLiteRow.each(statements.runningRuns(), in: db, subject: "the running runs") { try RunningRuns(reading: &$0) }
    }

    /// Every stored signature, of finished runs and of runs still running: what the pipeline cap counts.
    func signatures(in db: Database) throws -> [PipelineSignature] {
        try aggregates(in: db).map(\.signature) + runningRuns(in: db).compactMap(\.signature)
    }

    private func aggregates(_ statement: SQLStatement, split: SplitSum, in db: Database) throws -> [SignatureAggregate] {
        try SQLiteRow.each(statement, in: db, subject: "a pipeline summary") { try SignatureAggregate(reading: &$0, split: split) }
    }

    /// The first run a statement selects, if any.
    func storedRun(_ statement: SQLStatement, in db: Database) throws -> StoredRun? {
        try SQLiteRow.first(statement, in: db, subject: "a stored run") { try StoredRun(reading: &$0) }
    }

    func count(_ statement: SQLStatement, in db: Database) throws -> Int {
        Int(clamping: try SQLiteRow.first(statement, in: db, subject: "the match count") { try $0.integer(column: "count") } ?? 0)
    }
}
