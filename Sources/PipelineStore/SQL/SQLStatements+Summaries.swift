public import PipelineCore

// MARK: - Summaries of a table the service does not own

extension SQLStatements {
    /// Per-signature totals computed by one grouped scan, for tables the service does not own
    /// (owned tables keep them in their summary table), in the row shape ``SignatureAggregate``
    /// reads with `.splitThirtyTwo`: the four signature fields, total runs, last start,
    /// positive-duration sum and count, the positive-rowcount sum as the sums of its high and low
    /// 32 bits (each fits in 64 bits for any table, so no database can overflow adding them),
    /// positive-rowcount count, failed runs.
    ///
    /// Durations are summed as doubles, as ``SignatureAggregate`` adds them: one at a time in
    /// insertion order, since a double sum depends on its order (2⁵³ + 1 + 1 is 2⁵³, 1 + 1 + 2⁵³
    /// is 2⁵³ + 2).
    /// - PostgreSQL would add rows in the order they sit on disk, which updates and racing writers
    ///   change, or split the scan across parallel workers: its sum is ordered by id. That rules
    ///   out hashing and parallel workers: the table is sorted by signature and id, about 3.4 times
    ///   the plain scan (1M runs: 0.95 s instead of 0.28 s).
    /// - SQLite's own `SUM` compensates rounding from 3.43 on, so it adds with
    ///   ``sequentialSumFunction`` instead, in the order of its scan: rowid order, which its
    ///   grouping keeps within a group.
    ///
    /// PostgreSQL refuses a double sum that overflows (stored durations near the largest double):
    /// with `exactDurations` they are summed as NUMERIC instead, and a sum beyond the largest
    /// double reads back as infinity. NaN, which PostgreSQL orders above every number, is left out
    /// as everywhere else.
    public func aggregatesByGroupedScan(exactDurations: Bool = false) -> SQLStatement {
        // Each as a run reads it: a numeric duration as a double, a numeric row count as a bigint.
        let elapsed = layout.selectExpression(.elapsedSeconds)
        let rows = layout.selectExpression(.rowcount)
        let positive = dialect == .postgres ? "\(elapsed) > 0 AND \(elapsed) <> 'NaN'" : "\(elapsed) > 0"
        let durations = "CASE WHEN \(positive) THEN \(elapsed) ELSE 0 END"
        let durationSum =
            switch (dialect, exactDurations) {
            case (.postgres, true): "CAST(SUM(CASE WHEN \(positive) THEN CAST(\(elapsed) AS NUMERIC) ELSE 0 END) AS TEXT)"
            case (.postgres, false): "SUM(\(durations) ORDER BY \(layout.quotedIDColumn))"
            case (.sqlite, _): "\(Self.sequentialSumFunction)(\(durations))"
            }
        let sql = """
            SELECT \(signatureColumns), COUNT(*), MAX(\(layout.quoted(.startUTC))), \(durationSum), \
            CAST(SUM(CASE WHEN \(elapsed) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN \(rows) >> 32 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN \(rows) & 4294967295 ELSE 0 END) AS BIGINT), \
            CAST(SUM(CASE WHEN \(rows) > 0 THEN 1 ELSE 0 END) AS BIGINT), \
            CAST(SUM(\(failedRunIndicator)) AS BIGINT) \
            FROM \(layout.quotedTable) WHERE \(isFinished) GROUP BY \(signatureColumns)
            """
        return SQLStatement(sql: sql, binds: [])
    }

    /// The runs still running, by signature: the signature, their number and the oldest start
    /// (read by ``RunningRuns/init(reading:)``). The running runs have a small partial index of their
    /// own; a table without a status column has none.
    public func runningRuns() -> SQLStatement {
        SQLStatement(
            sql:
                "SELECT \(signatureColumns), COUNT(*), MIN(\(layout.quoted(.startUTC))) FROM \(layout.quotedTable) WHERE \(isRunning) GROUP BY \(signatureColumns)",
            binds: []
        )
    }

    /// The SQLite aggregate function that adds doubles one at a time, in the order given, as
    /// Swift's `+` does; the SQLite backend registers it on every connection.
    static let sequentialSumFunction = "pipeline_sequential_sum"

    /// The number of runs matching a filter, read from the summary table kept beside a table the
    /// service owns, when the filter has only conditions on signature fields (or none): then the
    /// answer is a sum over a few summary rows instead of a count over every matching run.
    /// Nil for any other filter.
    func countFromSummary(_ filter: RunFilter, in summary: SQLSummaryTable) -> SQLStatement? {
        guard filter.isSignatureOnly else { return nil }
        var binds = SQLBinds(dialect)
        // The summary table's columns carry the model's own names, whatever the run table's map says.
        let conditions = filter.signatureConditions.map { Self.condition(SQLTableLayout.quote($0.field.rawValue), $0.condition, binds: &binds) }
        return binds.statement("SELECT CAST(COALESCE(SUM(\"total_runs\"), 0) AS BIGINT) FROM \(summary.quotedName)\(whereClause(conditions))")
    }
}

// MARK: - Retention

extension SQLStatements {
    /// The number of runs that started before `cutoff`: the finished and the running ones counted
    /// apart, each through its own (partial) index.
    public func countRuns(startedBefore cutoff: UTCInstant) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let (table, start) = (layout.quotedTable, layout.quoted(.startUTC))
        let counts = [isFinished, isRunning].map { condition in
            "(SELECT COUNT(*) FROM \(table) WHERE \(start) < \(binds.bind(.instant(cutoff))) AND \(condition))"
        }
        return binds.statement("SELECT \(counts.joined(separator: " + ")) AS \"count\"")
    }

    /// Deletes the `limit` oldest runs (`start_utc`, then id) that started before `cutoff`, and
    /// returns the signature fields of each. The oldest finished and the oldest running runs are
    /// each found through their own partial index, then merged.
    public func deleteOldestRuns(startedBefore cutoff: UTCInstant, limit: Int) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let (table, id, start) = (layout.quotedTable, layout.quotedIDColumn, layout.quoted(.startUTC))
        let branches = [isFinished, isRunning].enumerated().map { index, condition in
            "SELECT \(id), \(start) FROM (SELECT \(id), \(start) FROM \(table) WHERE \(start) < \(binds.bind(.instant(cutoff))) AND \(condition) "
                + "ORDER BY \(start), \(id) LIMIT \(binds.bind(.integer(Int64(limit))))) AS oldest_\(index)"
        }
        let sql = """
            DELETE FROM \(table) WHERE \(id) IN (SELECT \(id) FROM (\(branches.joined(separator: " UNION ALL "))) AS oldest \
            ORDER BY \(start), \(id) LIMIT \(binds.bind(.integer(Int64(limit))))) RETURNING \(signatureColumns)
            """
        return binds.statement(sql)
    }

    /// The runs of these signatures in insertion order, as the signature fields followed by the
    /// columns of ``sampleSelectList``: what a summary is folded from, one run at a time.
    public func summaryInputs(of signatures: some Sequence<PipelineSignature>) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let matches = signatures.map { signature in
            "("
                + RunFilter(signature: signature).signatureConditions.map { Self.condition(layout.quoted($0.field), $0.condition, binds: &binds) }
                .joined(separator: " AND ") + ")"
        }
        return binds.oneOffStatement(
            "SELECT \(signatureColumns), \(sampleSelectList) FROM \(layout.quotedTable) WHERE (\(matches.joined(separator: " OR "))) AND \(isFinished) ORDER BY \(layout.quotedIDColumn)"
        )
    }
}
