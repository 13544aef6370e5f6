import Logging
import PipelineCore
import PostgresNIO

/// Commits the writes a `GroupCommitter` collected in ONE transaction, each write all-or-nothing
/// on its own: a write that fails (a conflict in a batch) rolls back to its savepoint and the
/// others still commit.
///
/// On a table the service owns nothing needs a savepoint, since an insert skips a stored key
/// (`ON CONFLICT DO NOTHING`) and so writes nothing to undo on a conflict:
/// - one run alone is one statement (insert and summary together);
/// - a group of single runs, or one batch, takes a fixed number of statements whatever its size
///   (`insertGroup`): a multi-row insert, then the summary rows it touches are created if missing,
///   locked and read, and rewritten.
/// Other groups (batches among other writes, tables the service does not own) go write by write.
struct PostgresBatchWriter: Sendable {
    let connections: PostgresConnections
    let schema: PostgresSchemaSlot

    func commit(_ requests: [WriteRequest]) async -> [Result<[InsertOutcome], any Error>] {
        // Another process writing the same keys or signatures can deadlock with this transaction, or
        // (serialization failure) lose a race: the database then rolls it back, and once more is worth a try.
        var results = await commitOnce(requests)
        if results.contains(where: { if case .failure(let error) = $0 { Self.isRetryable(error) } else { false } }) {
            results = await commitOnce(requests)
        }
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
            let logger = connections.logger
            return try await connections.withBoundedLease { connection in
                try await connection.inTransaction("BEGIN", logger: logger) { connection in
                    if let summary = schema.summary {
                        if requests.count == 1, case .all(let runs) = requests[0] {
                            // A batch alone: its first failure rolls back the whole transaction.
                            let results = try await insertGroup(runs, schema: schema, summary: summary, on: connection)
                            return [.success(try results.map { try $0.get() })]
                        }
                        if requests.count > 1, let runs = Self.singleRuns(requests) {
                            return try await insertGroup(runs, schema: schema, summary: summary, on: connection).map { $0.map { [$0] } }
                        }
                    }
                    // One write alone needs no savepoint: its failure rolls back the whole transaction.
                    if requests.count == 1 {
                        return [.success(try await insert(requests[0].runs, schema: schema, on: connection))]
                    }
                    var results: [Result<[InsertOutcome], any Error>] = []
                    for request in requests {
                        if schema.summary != nil, case .one(let run) = request {
                            do {
                                results.append(.success([try await insert(run, schema: schema, on: connection)]))
                            } catch let error as StorageError where error.conflictingKey != nil {
                                results.append(.failure(error))
                            }
                        } else {
                            results.append(try await inSavepoint(on: connection) { try await insert(request.runs, schema: schema, on: connection) })
                        }
                    }
                    return results
                }
            }
        } catch {
            // Kept as it is for a retry decision in `commit`, which maps it.
            if Self.isRetryable(error) { return requests.map { _ in .failure(error) } }
            let failure = connections.storageError(for: error, during: "insert")
            return requests.map { _ in .failure(failure) }
        }
    }

    /// The runs of a group made only of single-run writes, in order; nil when a batch is among them.
    static func singleRuns(_ requests: [WriteRequest]) -> [PipelineInfo]? {
        var runs: [PipelineInfo] = []
        runs.reserveCapacity(requests.count)
        for request in requests {
            guard case .one(let run) = request else { return nil }
            runs.append(run)
        }
        return runs
    }

    /// Runs per multi-row insert: 19 binds each stays far below PostgreSQL's 65,535.
    static let rowsPerInsert = 1000

    /// Runs on a table the service owns, with a fixed number of round trips per group instead of
    /// one per run: one multi-row insert (per thousand runs) that skips stored keys, then the
    /// totals of the touched signatures (`addToTotals`). Totals are added one run at a time in
    /// Swift, in the order of `runs`, so they stay bit for bit what one insert after another gives.
    ///
    /// A run not inserted was stored before (or earlier in `runs`): identical → existing,
    /// different → a conflict, that run's result alone. Any other failure throws.
    private func insertGroup(
        _ incoming: [PipelineInfo],
        schema: PostgresSchema,
        summary: PostgresSummaryTable,
        on connection: PostgresConnection
    ) async throws -> [Result<InsertOutcome, any Error>] {
        let logger = connections.logger
        let runs = incoming.map(schema.layout.storable)
        // The lock the totals' update will need, taken before any row lock: a prune holds the table
        // in a mode that excludes it, so taking it only at the update, after locking rows the prune
        // is about to update, would deadlock.
        try await connection.execute(summary.lockForWriting, logger: logger)
        var keyedIDs: [StoredKey: Int64] = [:]
        var unkeyedIDs: [Int64] = []
        var start = 0
        while start < runs.count {
            let end = min(start + Self.rowsPerInsert, runs.count)
            for try await row in try await connection.query(schema.insertSkippingStoredKeys(runs[start..<end]), logger: logger) {
                var cells = Cells(row: row)
                let id = try cells.next(Int64.self)
                let pipelineName = try cells.next(String?.self)
                let dateCode = try cells.next(String.self)
                try cells.end()
                if let pipelineName {
                    keyedIDs[StoredKey(pipelineName: pipelineName, dateCode: dateCode)] = id
                } else {
                    unkeyedIDs.append(id)
                }
            }
            start = end
        }
        // Runs without a name are never skipped; their ids follow their order.
        unkeyedIDs.sort()
        var nextUnkeyed = unkeyedIDs.makeIterator()
        var results: [Result<InsertOutcome, any Error>?] = Array(repeating: nil, count: runs.count)
        var inserted: [PipelineInfo] = []
        var skipped: [Int] = []
        for (index, run) in runs.enumerated() {
            let id: Int64?
            if let name = run.pipelineName {
                id = keyedIDs.removeValue(forKey: StoredKey(pipelineName: name, dateCode: run.dateCode))
            } else {
                id = nextUnkeyed.next()
            }
            if let id {
                results[index] = .success(.created(StoredRun(sequence: id, info: run)))
                inserted.append(run)
            } else {
                skipped.append(index)
            }
        }
        try await addToTotals(inserted, summary: summary, on: connection)
        for index in skipped {
            let run = runs[index]
            guard let key = run.runKey, let stored = try await storedRun(schema.statements.runByKey(key), on: connection) else {
                throw StorageError.unavailable(PostgresConnections.notCompleted)
            }
            do {
                results[index] = .success(try PostgresRunRepository.outcome(forExisting: stored, incoming: run))
            } catch {
                results[index] = .failure(error)
            }
        }
        return results.map { $0 ?? .failure(StorageError.unavailable(PostgresConnections.notCompleted)) }
    }

    /// Adds newly inserted runs to their signatures' totals, in the order of `runs`.
    ///
    /// Every touched signature gets a row first (zero totals, `ON CONFLICT DO NOTHING`), then all of
    /// them are locked and read, and their new totals written: so totals are always added to the
    /// stored ones one run at a time, even when another process created a signature's row meanwhile.
    /// Both steps go in the byte order of the signature keys (`COLLATE "C"`), so two writers cannot
    /// lock each other's rows in opposite orders. Signatures are told apart by their bytes, as the
    /// primary key does (Swift's `==` would merge canonically equivalent spellings).
    private func addToTotals(_ runs: [PipelineInfo], summary: PostgresSummaryTable, on connection: PostgresConnection) async throws {
        guard !runs.isEmpty else { return }
        let logger = connections.logger
        let runKeys = runs.map { Array(PostgresSummaryTable.key($0.signature).utf8) }
        // First the placeholder of each missing row: zero totals, and as last run the earliest start
        // among the runs about to be added, which adding them then leaves at the latest.
        var totals: [[UInt8]: SignatureAggregate] = [:]
        for (run, key) in zip(runs, runKeys) {
            if let placeholder = totals[key] {
                totals[key]?.lastRun = min(placeholder.lastRun, run.startUTC)
            } else {
                var placeholder = SignatureAggregate(empty: run.signature)
                placeholder.lastRun = run.startUTC
                totals[key] = placeholder
            }
        }
        let keys = totals.keys.sorted { $0.lexicographicallyPrecedes($1) }
        for start in stride(from: 0, to: keys.count, by: Self.signaturesPerStatement) {
            let chunk = Array(keys[start..<min(start + Self.signaturesPerStatement, keys.count)])
            try await connection.execute(summary.createMissing(chunk.compactMap { totals[$0] }), logger: logger)
            for try await row in try await connection.query(summary.lockTotals(of: chunk.map { String(decoding: $0, as: UTF8.self) }), logger: logger)
            {
                let stored = try SignatureAggregate(row: row)
                totals[Array(PostgresSummaryTable.key(stored.signature).utf8)] = stored
            }
        }
        for (run, key) in zip(runs, runKeys) {
            totals[key]?.add(run)
        }
        for start in stride(from: 0, to: keys.count, by: Self.signaturesPerStatement) {
            let chunk = keys[start..<min(start + Self.signaturesPerStatement, keys.count)]
            try await connection.execute(summary.setTotals(chunk.compactMap { totals[$0] }), logger: logger)
        }
    }

    /// Signatures per summary statement: 12 binds each stays far below PostgreSQL's 65,535.
    static let signaturesPerStatement = 1000

    /// Runs one write inside a savepoint; its failure is its own result, unless rolling back
    /// fails too (the connection is gone), which fails the whole batch.
    private func inSavepoint(
        on connection: PostgresConnection,
        _ body: () async throws -> [InsertOutcome]
    ) async throws -> Result<[InsertOutcome], any Error> {
        let logger = connections.logger
        try await connection.execute("SAVEPOINT write", logger: logger)
        do {
            let outcomes = try await body()
            try await connection.execute("RELEASE SAVEPOINT write", logger: logger)
            return .success(outcomes)
        } catch {
            try await connection.execute("ROLLBACK TO SAVEPOINT write", logger: logger)
            try await connection.execute("RELEASE SAVEPOINT write", logger: logger)
            return .failure(connections.storageError(for: error, during: "insert"))
        }
    }

    private func insert(_ runs: [PipelineInfo], schema: PostgresSchema, on connection: PostgresConnection) async throws -> [InsertOutcome] {
        var outcomes: [InsertOutcome] = []
        outcomes.reserveCapacity(runs.count)
        for run in runs {
            outcomes.append(try await insert(run, schema: schema, on: connection))
        }
        return outcomes
    }

    /// Stores one run unless its key is already stored; the same key with other content is a conflict.
    private func insert(_ incoming: PipelineInfo, schema: PostgresSchema, on connection: PostgresConnection) async throws -> InsertOutcome {
        let logger = connections.logger
        let run = schema.layout.storable(incoming)
        if schema.summary == nil, let key = run.runKey {
            // A foreign table has no unique key to rely on: hold the key's lock until commit, then look.
            try await connection.execute(schema.lockRunKey(key), logger: logger)
            if let stored = try await storedRun(schema.statements.runByKey(key), on: connection) {
                return try PostgresRunRepository.outcome(forExisting: stored, incoming: run)
            }
        }
        if let query = schema.insertWithSummary(run) {
            if let row = try await connection.rows(query, logger: logger).first {
                return .created(StoredRun(sequence: try row.decode(Int64.self), info: run))
            }
        } else if let row = try await connection.rows(schema.insertReturningID(run), logger: logger).first {
            return .created(StoredRun(sequence: try row.decode(Int64.self), info: run))
        }
        // Nothing was inserted (owned table): a run with this key was committed before the insert ran.
        guard let key = run.runKey, let stored = try await storedRun(schema.statements.runByKey(key), on: connection) else {
            throw StorageError.unavailable(PostgresConnections.notCompleted)
        }
        return try PostgresRunRepository.outcome(forExisting: stored, incoming: run)
    }

    private func storedRun(_ statement: SQLStatement, on connection: PostgresConnection) async throws -> StoredRun? {
        try await connection.rows(statement.postgresQuery, logger: connections.logger).first.map(StoredRun.init(row:))
    }
}

/// A run key as the unique constraint compares it: by bytes.
private struct StoredKey: Hashable {
    let pipelineName: [UInt8]
    let dateCode: [UInt8]

    init(pipelineName: String, dateCode: String) {
        self.pipelineName = Array(pipelineName.utf8)
        self.dateCode = Array(dateCode.utf8)
    }
}
