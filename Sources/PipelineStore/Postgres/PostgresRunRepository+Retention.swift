import Logging
public import PipelineCore
import PostgresNIO

// MARK: - Retention

extension PostgresSchema {
    /// Every stored signature, of finished runs and of runs still running: what the pipeline cap counts.
    func signatures(on connection: PostgresConnection, logger: Logger) async throws -> [PipelineSignature] {
        let finished = try await aggregates(on: connection, logger: logger).map(\.signature)
        let running = try await connection.rows(statements.runningRuns(), logger: logger) { try RunningRuns(reading: &$0) }
        return finished + running.compactMap(\.signature)
    }

    /// Folds these signatures' totals again from their stored runs (``SummaryFold/Refold``), after
    /// runs of theirs were deleted or replaced.
    func refold(
        _ signatures: some Sequence<PipelineSignature>,
        into summary: SQLSummaryTable,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var refold = SummaryFold.Refold(deleted: signatures)
        for chunk in refold.chunks {
            let remaining = try await connection.rows(statements.summaryInputs(of: chunk), logger: logger) { row in
                (try PipelineSignature(reading: &row), try RunSample(reading: &row))
            }
            for (signature, sample) in remaining { refold.add(signature, sample) }
        }
        let (totals, emptied) = refold.result
        for chunk in totals { try await connection.execute(summary.setTotals(chunk).postgresQuery, logger: logger) }
        for chunk in SummaryFold.Addition.chunks(emptied) {
            try await connection.execute(summary.delete(chunk).postgresQuery, logger: logger)
        }
    }
}

extension PostgresRunRepository {
    public func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("count old runs") { connection in
            let counts = try await connection.rows(schema.statements.countRuns(startedBefore: cutoff), logger: logger) {
                try $0.integer(column: "count")
            }
            return Int(counts.first ?? 0)
        }
    }

    /// One transaction: the delete, and on a table the service owns the summary rows of every
    /// signature it touched, folded again from the runs left (``SummaryFold/Refold``).
    ///
    /// The summary table is locked against writers first: inserts already under way finish before
    /// the delete starts, and later ones wait at their summary update until this commits, so no
    /// insert's totals are lost to the refold (also across replicas).
    ///
    /// Replicas each run their own retention job; a transaction-scoped advisory lock of the table
    /// (``PostgresSchema/lockRetention()``) makes their batches take turns, so one batch at a time
    /// deletes, whichever process runs it, on a mapped table without a summary table too.
    public func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let schema = try schema.current()
        let logger = connections.logger
        let deleted = try await connections.withConnection("delete old runs") { connection in
            try await connection.inTransaction("BEGIN", logger: logger) { connection in
                try await connection.execute(schema.lockRetention(), logger: logger)
                if let summary = schema.summary {
                    try await connection.execute(schema.lockSummaryAgainstWriters(summary), logger: logger)
                }
                let deleted = try await connection.rows(schema.statements.deleteOldestRuns(startedBefore: cutoff, limit: limit), logger: logger) {
                    try PipelineSignature(reading: &$0)
                }
                guard let summary = schema.summary, !deleted.isEmpty else { return deleted.count }
                try await schema.refold(deleted, into: summary, on: connection, logger: logger)
                return deleted.count
            }
        }
        if deleted > 0 { runningRunsCache.invalidate() }
        if deleted > 0, knownSignatures.isLoaded {
            knownSignatures.replace(
                with: try await connections.withConnection("read signatures") { try await schema.signatures(on: $0, logger: logger) }
            )
        }
        return deleted
    }
}
