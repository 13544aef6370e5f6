import Logging
import PipelineCore
import PostgresNIO

/// Commits the writes a `GroupCommitter` collected in ONE transaction, each write all-or-nothing
/// on its own: a write that fails (a conflict in a batch) rolls back to its savepoint and the
/// others still commit.
///
/// A single run on a table the service owns needs no savepoint: its insert cannot fail on a
/// stored key (`ON CONFLICT DO NOTHING`), so a conflict writes nothing to undo; it is one
/// statement (insert and summary together), one round trip instead of four.
struct PostgresBatchWriter: Sendable {
    let connections: PostgresConnections
    let schema: PostgresSchemaSlot

    func commit(_ requests: [WriteRequest]) async -> [Result<[InsertOutcome], any Error>] {
        do {
            let schema = try schema.current()
            let logger = connections.logger
            return try await connections.withConnection("insert") { connection in
                try await connection.inTransaction("BEGIN", logger: logger) { connection in
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
            let failure = connections.storageError(for: error, during: "insert")
            return requests.map { _ in .failure(failure) }
        }
    }

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
