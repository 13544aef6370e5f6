import GRDB
public import PipelineCore

// MARK: - Retention

extension SQLiteRunRepository {
    public func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int {
        try await read { tables, db in try tables.count(tables.statements.countRuns(startedBefore: cutoff), in: db) }
    }

    /// One write transaction: the delete, and on a table the service owns the summary rows of
    /// every signature it touched, folded again from the runs left.
    public func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        do {
            let tables = try tables.prepared()
            let known = knownSignatures
            let deleted = try await pool.write { db in
                let deleted = try tables.deleteOldestRuns(startedBefore: cutoff, limit: limit, in: db)
                if deleted > 0, known.isLoaded { known.replace(with: try tables.signatures(in: db)) }
                return deleted
            }
            if deleted > 0 { runningRunsCache.invalidate() }
            return deleted
        } catch {
            throw StorageError.fromSQLite(error, during: .write, logger: logger)
        }
    }
}

extension SQLiteTables {
    /// Deletes the oldest runs that started before `cutoff` and brings the summary table up to
    /// date (``SummaryFold/Refold``).
    func deleteOldestRuns(startedBefore cutoff: UTCInstant, limit: Int, in db: Database) throws -> Int {
        let deleted = try SQLiteRow.each(statements.deleteOldestRuns(startedBefore: cutoff, limit: limit), in: db, subject: "a deleted run") {
            try PipelineSignature(reading: &$0)
        }
        guard let summary, !deleted.isEmpty else { return deleted.count }
        try refold(deleted, into: summary, in: db)
        return deleted.count
    }

    /// Folds these signatures' totals again from their stored runs (``SummaryFold/Refold``), after
    /// runs of theirs were deleted or replaced.
    func refold(_ signatures: some Sequence<PipelineSignature>, into summary: SQLSummaryTable, in db: Database) throws {
        var refold = SummaryFold.Refold(deleted: signatures)
        for chunk in refold.chunks {
            let remaining = try SQLiteRow.each(statements.summaryInputs(of: chunk), in: db, subject: "a run sample") { row in
                (try PipelineSignature(reading: &row), try RunSample(reading: &row))
            }
            for (signature, sample) in remaining { refold.add(signature, sample) }
        }
        let (totals, emptied) = refold.result
        for chunk in totals { try execute(summary.setTotals(chunk), in: db) }
        for chunk in SummaryFold.Addition.chunks(emptied) { try execute(summary.delete(chunk), in: db) }
    }
}
