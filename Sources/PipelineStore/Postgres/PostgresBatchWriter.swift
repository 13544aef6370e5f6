import Logging
import PipelineCore
import PostgresNIO

/// Commits the writes a `GroupCommitter` collected in ONE transaction, each write all-or-nothing
/// on its own: a write that fails (a conflict in a batch, a refused new signature) fails alone
/// and the others still commit.
///
/// On a table the service owns, an insert skips a stored key (`ON CONFLICT DO NOTHING`) and so
/// writes nothing to undo on a conflict. A run written alone is one statement (insert and totals
/// together, no explicit transaction); a group of single runs, or one batch, takes a fixed number
/// of statements whatever its size — one multi-row insert per thousand runs, then the summary rows
/// they touch are created if missing, locked, read and rewritten. A batch among
/// other writes goes in a savepoint of its own. Tables the service does not own go run by run.
struct PostgresBatchWriter: Sendable {
    let connections: PostgresConnections
    let schema: PostgresSchemaSlot
    let knownSignatures: KnownSignatures
    let limit: Int

    /// The longest a group's transaction may take, lock waits included, before it is given up
    /// (``PostgresConnections/withBoundedOperation(_:limit:_:)``): every later write waits behind it.
    static let answerLimit: Duration = .seconds(30)

    func commit(_ requests: [WriteRequest]) async -> [Result<[InsertOutcome], any Error>] {
        // Another process writing the same keys or signatures can deadlock with this transaction, or
        // (serialization failure) lose a race: the database then rolls it back, and once more is worth a try.
        var results = await commitOnce(requests)
        if results.contains(where: { if case .failure(let error) = $0 { Self.isRetryable(error) } else { false } }) {
            results = await commitOnce(requests)
        }
        let created = results.flatMap { (try? $0.get()) ?? [] }.filter(\.isWritten).map(\.storedRun.info.signature)
        knownSignatures.insert(Set(created))
        return results.map { result in result.mapError { Self.isRetryable($0) ? connections.storageError(for: $0, during: "insert") : $0 } }
    }

    /// A deadlock (40P01) or serialization failure (40001), as it comes from PostgresNIO.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    private func commitOnce(_ requests: [WriteRequest]) async -> [Result<[InsertOutcome], any Error>] {
        do {
            let schema = try schema.current()
            if !knownSignatures.isLoaded { knownSignatures.replace(with: try await storedSignatures(schema)) }
            var refusals = knownSignatures.admit(requests, limit: limit)
            if refusals.contains(where: { $0 != nil }) {
                knownSignatures.replace(with: try await storedSignatures(schema))
                refusals = knownSignatures.admit(requests, limit: limit)
            }
            // Nothing admitted: no transaction to open.
            if refusals.allSatisfy({ $0 != nil }) { return refusals.compactMap { $0.map { .failure($0) } } }
            let logger = connections.logger
            let admitted = refusals
            if requests.count == 1, refusals[0] == nil, case .one(let run) = requests[0], !run.isRunning, let summary = schema.summary {
                // A finished run written alone is one statement, its own transaction. PostgreSQL
                // refuses a double that overflows (a stored duration sum near the largest double):
                // that statement then stored nothing, and the run goes the general way, whose sums
                // Swift computes. So does a run that ends a stored running one.
                do {
                    let alone = try await connections.withBoundedOperation("insert", limit: Self.answerLimit) { connection in
                        try await Transaction(writer: self, schema: schema, connection: connection).storeAlone(run, summary: summary)
                    }
                    if let alone { return [alone] }
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "22003" {}
            }
            return try await connections.withBoundedOperation("insert", limit: Self.answerLimit) { connection in
                try await connection.inTransaction("BEGIN", logger: logger) { connection in
                    let transaction = Transaction(writer: self, schema: schema, connection: connection)
                    return try await transaction.store(requests, refusals: admitted)
                }
            }
        } catch {
            // Kept as it is for a retry decision in `commit`, which maps it.
            if Self.isRetryable(error) { return requests.map { _ in .failure(error) } }
            let failure = connections.storageError(for: error, during: "insert")
            return requests.map { _ in .failure(failure) }
        }
    }

    /// Every stored signature, of finished runs and of runs still running: what the pipeline cap counts.
    private func storedSignatures(_ schema: PostgresSchema) async throws -> [PipelineSignature] {
        let logger = connections.logger
        return try await connections.withConnection("read signatures") { try await schema.signatures(on: $0, logger: logger) }
    }
}

// MARK: - One transaction

extension PostgresBatchWriter {
    /// The statements of one group's transaction.
    private struct Transaction {
        let writer: PostgresBatchWriter
        let schema: PostgresSchema
        let connection: PostgresConnection
        /// Signatures whose totals this transaction folds again (a finished run was replaced).
        let replaced = ReplacedSignatures()

        var logger: Logger { writer.connections.logger }

        func store(_ requests: [WriteRequest], refusals: [StorageError?]) async throws -> [Result<[InsertOutcome], any Error>] {
            guard let summary = schema.summary else { return try await storeRunByRun(requests, refusals: refusals) }
            try await connection.execute(schema.lockSummaryForWriting(summary), logger: logger)
            var results: [Result<[InsertOutcome], any Error>?] = refusals.map { $0.map { .failure($0) } }
            let admitted = requests.indices.filter { results[$0] == nil }
            if requests.count == 1, case .all(let runs) = requests[0] {
                // A batch alone: its first failure rolls back the whole transaction (a batch beside
                // refused writes goes in a savepoint, so that they keep their own answers).
                results[0] = .success(try await insertSkippingStoredKeys(runs).map { try $0.get() })
            } else if admitted.allSatisfy({ if case .one = requests[$0] { true } else { false } }) {
                // Single runs, however many: one statement, one result each.
                let outcomes = try await insertSkippingStoredKeys(admitted.map { requests[$0].runs[0] })
                for (index, outcome) in zip(admitted, outcomes) { results[index] = outcome.map { [$0] } }
            } else {
                for index in admitted {
                    let request = requests[index]
                    results[index] = try await inSavepoint {
                        // Merged runs look before they insert, to find the run they were merged from.
                        if request.isMerged { return try await insertOneByOne(request) }
                        return try await insertSkippingStoredKeys(request.runs).map { try $0.get() }
                    }
                }
            }
            let done = results.map { $0 ?? .failure(StorageError.unavailable(PostgresConnections.notCompleted)) }
            if !replaced.signatures.isEmpty {
                try await schema.refold(replaced.signatures, into: summary, on: connection, logger: logger)
            }
            try await add(replaced.added(done.flatMap { (try? $0.get()) ?? [] }.finishedRunsInIDOrder), to: summary)
            return done
        }

        /// One finished run alone on a table the service owns: inserted and added to its totals by
        /// one statement; a key already stored is looked up after it. Nil when the stored run is
        /// still running: ending it takes a transaction.
        func storeAlone(_ incoming: PipelineInfo, summary: SQLSummaryTable) async throws -> Result<[InsertOutcome], any Error>? {
            let run = schema.layout.storable(incoming)
            if let row = try await connection.rows(schema.insertAddingToSummary(run, summary: summary), logger: logger).first {
                return .success([.created(StoredRun(sequence: try row.read { try $0.integer(column: SQLTableLayout.idKey) }, info: run))])
            }
            do {
                switch try PostgresRunRepository.decision(forExisting: try await storedRun(for: run), incoming: run) {
                case .unchanged(let stored): return .success([.existing(stored)])
                case .replaces, .replacesFinished: return nil
                }
            } catch let error as StorageError where error.conflictingKey != nil {
                return .failure(error)
            }
        }

        /// Runs on a table the service owns, one multi-row insert (per thousand runs) that skips
        /// stored keys. A run not inserted was stored before (or earlier in `runs`): identical →
        /// existing, different → a conflict, that run's result alone. Any other failure throws.
        private func insertSkippingStoredKeys(_ incoming: [PipelineInfo]) async throws -> [Result<InsertOutcome, any Error>] {
            let runs = incoming.map(schema.layout.storable)
            var inserted = InsertedRunIDs()
            for start in stride(from: 0, to: runs.count, by: SQLStatements.rowsPerInsert) {
                let chunk = runs[start..<min(start + SQLStatements.rowsPerInsert, runs.count)]
                for try await row in try await connection.query(schema.statements.insertSkippingStoredKeys(chunk).postgresQuery, logger: logger) {
                    var reader = PostgresRowReader(row)
                    try inserted.record(reading: &reader)
                }
            }
            var results: [Result<InsertOutcome, any Error>] = []
            for run in runs {
                if let id = inserted.take(run) {
                    results.append(.success(.created(StoredRun(sequence: id, info: run))))
                } else {
                    do {
                        results.append(.success(try await write(run, over: try await storedRun(for: run))))
                    } catch let error as StorageError where error.conflictingKey != nil {
                        results.append(.failure(error))
                    }
                }
            }
            return results
        }

        /// The run stored under the key of `run`, which an insert found taken.
        private func storedRun(for run: PipelineInfo) async throws -> StoredRun {
            guard let key = run.runKey,
                let stored = try await connection.rows(schema.statements.runByKey(key), logger: logger, { try StoredRun(reading: &$0) }).first
            else { throw StorageError.unavailable(PostgresConnections.notCompleted) }
            return stored
        }

        /// The outcome for a run whose key is stored: nothing to write, a conflict, or the stored
        /// record of a running run deleted and this one inserted after it.
        private func write(_ run: PipelineInfo, over stored: StoredRun, expecting expectation: StoredExpectation? = nil) async throws -> InsertOutcome
        {
            var stored = stored
            // Another transaction may replace the same running record first: its delete then finds
            // no running row here, and the run is decided again on what that transaction stored.
            for _ in 0..<3 {
                try expectation?.check(stored, key: run.runKey, incoming: run)
                switch try PostgresRunRepository.decision(forExisting: stored, incoming: run) {
                case .unchanged(let stored):
                    return .existing(stored)
                case .replaces(let previous), .replacesFinished(let previous):
                    // A running record, or a finished run whose start was not known: the latter's
                    // signature's totals are folded again once the transaction's writes are in.
                    let isFinished = !previous.info.isRunning
                    let delete =
                        isFinished ? schema.deleteFinishedReturningID(id: previous.sequence) : schema.deleteRunningReturningID(id: previous.sequence)
                    guard try await connection.rows(delete, logger: logger).count == 1 else {
                        stored = try await storedRun(for: run)
                        continue
                    }
                    if isFinished { replaced.insert(previous.info.signature) }
                    let rows: [PostgresRow]
                    do {
                        rows = try await connection.rows(schema.insertReturningID(run), logger: logger)
                    } catch let error as PSQLError {
                        // A rule of someone else's table (another unique key, a CHECK): the client's to fix.
                        throw schema.refusal(error, of: run, at: nil, logger: logger) ?? error
                    }
                    guard let row = rows.first else { throw StorageError.unavailable(PostgresConnections.notCompleted) }
                    return .updated(StoredRun(sequence: try row.read { try $0.integer(column: SQLTableLayout.idKey) }, info: run))
                }
            }
            throw StorageError.unavailable(PostgresConnections.notCompleted)
        }

        /// Adds newly inserted runs to their signatures' totals (``SummaryFold/Addition``).
        private func add(_ runs: [PipelineInfo], to summary: SQLSummaryTable) async throws {
            guard !runs.isEmpty else { return }
            let addition = SummaryFold.Addition(runs)
            var stored: [SignatureAggregate] = []
            for (placeholders, keys) in zip(addition.placeholderChunks, addition.keyChunks) {
                try await connection.execute(summary.createMissing(placeholders).postgresQuery, logger: logger)
                stored += try await connection.rows(summary.select(keys: keys), logger: logger) {
                    try SignatureAggregate(reading: &$0, split: .sixtyThree)
                }
            }
            for totals in addition.adding(to: stored) {
                try await connection.execute(summary.setTotals(totals).postgresQuery, logger: logger)
            }
        }

        /// A table the service does not own: each write in a savepoint (unless it is alone), each
        /// run under an advisory lock on its key, looked up before it is inserted.
        private func storeRunByRun(_ requests: [WriteRequest], refusals: [StorageError?]) async throws -> [Result<[InsertOutcome], any Error>] {
            var results: [Result<[InsertOutcome], any Error>] = []
            for (request, refusal) in zip(requests, refusals) {
                if let refusal {
                    results.append(.failure(refusal))
                } else if requests.count == 1 {
                    results.append(.success(try await insertOneByOne(request)))
                } else {
                    results.append(try await inSavepoint { try await insertOneByOne(request) })
                }
            }
            return results
        }

        /// Each run of `request` under an advisory lock on its key, looked up before it is inserted
        /// (and, for a merged run, checked to be the run it was merged from).
        private func insertOneByOne(_ request: WriteRequest) async throws -> [InsertOutcome] {
            var outcomes: [InsertOutcome] = []
            for (index, incoming) in request.runs.enumerated() {
                let run = schema.layout.storable(incoming)
                let expectation = request.expectation(at: index, stored: schema.layout.storable)
                if let key = run.runKey {
                    try await connection.execute(schema.lockRunKey(key), logger: logger)
                    let stored = try await connection.rows(schema.statements.runByKey(key), logger: logger, { try StoredRun(reading: &$0) }).first
                    try expectation?.check(stored, key: key, incoming: run)
                    if let stored {
                        outcomes.append(try await write(run, over: stored, expecting: expectation))
                        continue
                    }
                } else {
                    try expectation?.check(nil, key: nil, incoming: run)
                }
                if schema.summary != nil, let key = run.runKey {
                    // A table the service owns has a unique key, which a write not taking this
                    // lock (a plain POST) may have taken since the look: skip it rather than fail.
                    let statement = schema.statements.insertSkippingStoredKeys(CollectionOfOne(run))
                    guard let id = try await connection.rows(statement, logger: logger, { try $0.integer(column: SQLTableLayout.idKey) }).first else {
                        throw StorageError.changed(key)
                    }
                    outcomes.append(.created(StoredRun(sequence: id, info: run)))
                    continue
                }
                let isBatch = if case .one = request { false } else { true }
                outcomes.append(try await insertAdopted(run, at: isBatch ? index : nil))
            }
            return outcomes
        }

        /// Inserts a run into a table the service does not own, whose own rules may refuse it:
        /// another run holding one of its unique keys is looked up and decided as a run's own key
        /// is (identical: existing; else a conflict naming that key's columns); any other refusal
        /// is the client's to fix (``PostgresSchema/refusal(_:of:at:logger:)``). Where a unique
        /// key can be looked up, the insert goes in a savepoint of its own, to read on after it.
        private func insertAdopted(_ run: PipelineInfo, at index: Int?) async throws -> InsertOutcome {
            let canLookUp = schema.uniqueKeys.values.contains { $0.fields != nil }
            if canLookUp { try await connection.execute("SAVEPOINT insert_run", logger: logger) }
            do {
                guard let row = try await connection.rows(schema.insertReturningID(run), logger: logger).first else {
                    throw StorageError.unavailable(PostgresConnections.notCompleted)
                }
                if canLookUp { try await connection.execute("RELEASE SAVEPOINT insert_run", logger: logger) }
                return .created(StoredRun(sequence: try row.read { try $0.integer(column: SQLTableLayout.idKey) }, info: run))
            } catch let error as PSQLError {
                guard let refusal = schema.refusal(error, of: run, at: index, logger: logger) else { throw error }
                guard canLookUp else { throw refusal }
                try await connection.execute("ROLLBACK TO SAVEPOINT insert_run", logger: logger)
                try await connection.execute("RELEASE SAVEPOINT insert_run", logger: logger)
                guard let fields = error.serverInfo?[.constraintName].flatMap({ schema.uniqueKeys[$0]?.fields }) else { throw refusal }
                let lookup = schema.statements.runByUniqueKey(fields, of: run)
                let stored = try await connection.rows(lookup, logger: logger) { try StoredRun(reading: &$0) }.first
                guard let stored, Self.isSameRun(stored: stored.info, run) else { throw refusal }
                return .existing(stored)
            }
        }

        /// Whether `stored` is `run`: identical, or identical but for the id, when it was stored
        /// without one (a row from before the table had a `run_id` column).
        private static func isSameRun(stored: PipelineInfo, _ run: PipelineInfo) -> Bool {
            var withoutID = run
            withoutID.runID = nil
            return stored == run || (stored.runID == nil && stored == withoutID)
        }

        /// Runs one write inside a savepoint; its failure is its own result, unless rolling back
        /// fails too (the connection is gone), which fails the whole group.
        private func inSavepoint(_ body: () async throws -> [InsertOutcome]) async throws -> Result<[InsertOutcome], any Error> {
            try await connection.execute("SAVEPOINT write", logger: logger)
            do {
                let outcomes = try await body()
                try await connection.execute("RELEASE SAVEPOINT write", logger: logger)
                return .success(outcomes)
            } catch {
                try await connection.execute("ROLLBACK TO SAVEPOINT write", logger: logger)
                try await connection.execute("RELEASE SAVEPOINT write", logger: logger)
                if PostgresBatchWriter.isRetryable(error) { throw error }
                return .failure(writer.connections.storageError(for: error, during: "insert"))
            }
        }
    }
}
