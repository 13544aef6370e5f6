import GRDB
import PipelineCore

// MARK: - Writes in a transaction

extension SQLiteTables {
    /// Stores each admitted request all or nothing — in a savepoint of its own, unless it is one
    /// run on a table the service owns, whose insert either stores it or stores nothing — then adds
    /// the created runs to the summary table. Errors other than conflicts are rethrown, failing the
    /// whole transaction.
    ///
    /// - Parameter refusals: per request, why it is refused (too many signatures), nil to store it.
    func store(_ requests: [WriteRequest], refusals: [StorageError?], in db: Database) throws -> [Result<[InsertOutcome], any Error>] {
        var created: [PipelineInfo] = []
        let results: [Result<[InsertOutcome], any Error>] = try zip(requests, refusals).map { request, refusal in
            if let refusal { return .failure(refusal) }
            do {
                let outcomes = try storeAllOrNothing(request.runs, in: db)
                created += outcomes.compactMap(\.finishedRun)
                return .success(outcomes)
            } catch let error as StorageError where error.conflictingKey != nil {
                return .failure(error)
            }
        }
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

    private func storeAllOrNothing(_ runs: [PipelineInfo], in db: Database) throws -> [InsertOutcome] {
        if summary != nil, runs.count == 1 { return [try store(runs[0], in: db)] }
        var outcomes: [InsertOutcome] = []
        try db.inSavepoint {
            outcomes = try runs.map { try store($0, in: db) }
            return .commit
        }
        return outcomes
    }

    /// Stores one run unless its key is already stored; the stored run decides the outcome then.
    private func store(_ incoming: PipelineInfo, in db: Database) throws -> InsertOutcome {
        let run = statements.layout.storable(incoming)
        // Someone else's table may have no unique index on the key: look before inserting.
        if summary == nil, let key = run.runKey, let stored = try storedRun(statements.runByKey(key), in: db) {
            return try write(run, over: stored, in: db)
        }
        // On an owned table the unique index on the key decides; a run it turns away returns no row.
        if let id = try insert(run, skippingStoredKey: summary != nil, in: db) { return .created(StoredRun(sequence: id, info: run)) }
        guard let key = run.runKey, let stored = try storedRun(statements.runByKey(key), in: db) else {
            throw StorageError.unavailable("the run could not be stored")
        }
        return try write(run, over: stored, in: db)
    }

    /// The outcome for a run whose key is stored: nothing to write, a conflict, or the stored
    /// record of a running run deleted and this one inserted after it.
    private func write(_ run: PipelineInfo, over stored: StoredRun, in db: Database) throws -> InsertOutcome {
        switch try SQLiteRunRepository.decision(forExisting: stored, incoming: run) {
        case .unchanged(let stored):
            return .existing(stored)
        case .replaces(let stored):
            try execute(statements.deleteRunning(id: stored.sequence), in: db)
            guard db.changesCount == 1, let id = try insert(run, skippingStoredKey: false, in: db) else {
                throw StorageError.unavailable("the run could not be stored")
            }
            return .updated(StoredRun(sequence: id, info: run))
        }
    }

    /// Inserts one run and returns its id; nil when `skippingStoredKey` and its key is stored.
    private func insert(_ run: PipelineInfo, skippingStoredKey: Bool, in db: Database) throws -> Int64? {
        let insert = statements.insert(CollectionOfOne(run))
        let sql = insert.sql + (skippingStoredKey ? " ON CONFLICT DO NOTHING" : "") + " RETURNING \(statements.layout.quotedIDColumn)"
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: insert.arguments) else { return nil }
        var reader = SQLiteRow(row, subject: "a new run")
        return try reader.integer(column: SQLTableLayout.idKey)
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
