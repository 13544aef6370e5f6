import PipelineCore

// MARK: - Many runs in one statement

extension SQLStatements {
    /// The most runs one multi-row insert carries: 1,000 runs of 19 fields bind 19,000 values,
    /// within both SQLite's limit (32,766) and PostgreSQL's (65,535).
    static let rowsPerInsert = 1000

    /// On a table the service owns: inserts runs in their order in one statement, skipping each
    /// whose key is already stored or appears earlier among `runs`. Returns one row per inserted
    /// run: its new id and `run_id` (``InsertedRunIDs`` reads them). Ids follow the order of `runs`.
    ///
    /// One statement instead of one per run: the statement is parsed, planned and bound once. On
    /// SQLite it is `INSERT OR IGNORE`, which skips a stored key as `ON CONFLICT DO NOTHING` does
    /// (`run_id` is the only unique key) but, with no constraint left that could abort the
    /// statement halfway, spares SQLite the statement journal: the first copy of every page the
    /// statement changes, written to a temporary file. With it, a 200,000-run import wrote 1.3
    /// million pages there. A run some other constraint turned away is not returned either; its
    /// caller, finding no stored run under its key, inserts it alone with a plain `INSERT` to
    /// report that constraint's error.
    func insertSkippingStoredKeys(_ runs: some Collection<PipelineInfo>) -> SQLStatement {
        let key = layout.keyColumns
        let (insert, conflict) =
            switch dialect {
            case .sqlite: (insert(runs, verb: "INSERT OR IGNORE"), "")
            case .postgres: (insert(runs), " ON CONFLICT (\(key)) DO NOTHING")
            }
        // Full chunks share one text; the last, shorter one has a text of its own.
        return SQLStatement(
            sql: "\(insert.sql)\(conflict) RETURNING \(layout.quotedIDColumn), \(key)",
            binds: insert.binds,
            recurs: runs.count == 1 || runs.count == Self.rowsPerInsert
        )
    }
}

extension [InsertOutcome] {
    /// The runs these outcomes created or updated that are finished, in id order: the order they
    /// are added to their signatures' totals, as a refold after a deletion adds them again (a
    /// double sum depends on its order). A run that replaces a stored running record is inserted
    /// after the runs of its batch, and so comes after them here too.
    var finishedRunsInIDOrder: [PipelineInfo] {
        compactMap { outcome in outcome.finishedRun.map { (outcome.storedRun.sequence, $0) } }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// The runs ``SQLStatements/insertSkippingStoredKeys(_:)`` stored, by `run_id`: every run on a
/// table the service owns has one, compared by bytes (``ExactText``) as the unique constraint compares it.
struct InsertedRunIDs {
    private var ids: [ExactText: Int64] = [:]

    /// Notes one returned row: the new id, then `run_id`.
    mutating func record(reading row: inout some SQLRowReader) throws {
        let id = try row.integer(column: SQLTableLayout.idKey)
        ids[ExactText(try row.optionalText(.runID) ?? "")] = id
    }

    /// The new id of `run` when the insert stored it. Nil when its key was taken: stored before,
    /// or by an earlier run of the same insert (asked in the runs' order, the first one takes it).
    mutating func take(_ run: PipelineInfo) -> Int64? {
        ids.removeValue(forKey: ExactText(run.runID ?? ""))
    }
}
