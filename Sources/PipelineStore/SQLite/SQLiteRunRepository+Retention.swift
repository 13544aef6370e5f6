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
            return try await pool.write { db in try tables.deleteOldestRuns(startedBefore: cutoff, limit: limit, in: db) }
        } catch {
            throw StorageError.fromSQLite(error, during: .write, logger: logger)
        }
    }
}

extension SQLiteTables {
    /// Signatures per statement that reads runs back: at most 4 binds each, far below SQLite's 32766.
    private static let signaturesPerRead = 1_000

    /// Deletes the oldest runs that started before `cutoff` and brings the summary table up to date.
    ///
    /// A touched signature's totals are folded again from its remaining runs in insertion order,
    /// as inserts built them, so the sums stay equal bit for bit to `SignatureAggregate.add`'s
    /// (SQLite's own `SUM` adds in no promised order).
    func deleteOldestRuns(startedBefore cutoff: UTCInstant, limit: Int, in db: Database) throws -> Int {
        let delete = statements.deleteOldestRuns(startedBefore: cutoff, limit: limit)
        let deleted = try Row.fetchAll(db.cachedStatement(sql: delete.sql), arguments: delete.arguments)
        guard let summary, !deleted.isEmpty else { return deleted.count }
        var touched: Set<PipelineSignature> = []
        for row in deleted {
            touched.insert(try PipelineSignature(StoredValues(row, subject: "a deleted run")))
        }
        let signatures = touched.sorted()
        var totals: [PipelineSignature: SignatureAggregate] = [:]
        for start in stride(from: 0, to: signatures.count, by: Self.signaturesPerRead) {
            let read = statements.summaryInputs(of: Array(signatures[start..<min(start + Self.signaturesPerRead, signatures.count)]))
            let rows = try Row.fetchCursor(db.makeStatement(sql: read.sql), arguments: read.arguments)
            while let row = try rows.next() {
                let values = StoredValues(row, subject: "a run sample")
                let signature = try PipelineSignature(values)
                let sample = RunSample(
                    startUTC: try values.instant(4, "start_utc"),
                    elapsedSeconds: try values.double(5, "elapsed_seconds"),
                    rowcount: try values.integer(6, "rowcount"),
                    status: try values.optionalText(7, "status"),
                    exitCode: try values.optionalInteger(8, "exit_code"),
                    dateCode: try values.text(9, "date_code")
                )
                totals[signature, default: SignatureAggregate(empty: signature)].add(sample)
            }
        }
        for signature in signatures {
            try summary.replace(signature, with: totals[signature], in: db)
        }
        return deleted.count
    }
}

extension SQLiteSummaryTable {
    /// Sets a signature's row to these totals, or removes it when the signature has no runs left.
    func replace(_ signature: PipelineSignature, with totals: SignatureAggregate?, in db: Database) throws {
        let table = SQLTableLayout.quote(self.table)
        guard let totals else {
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \"signature\" = ?").execute(arguments: [Self.key(signature)])
            return
        }
        let columns = (["signature"] + Self.signatureColumns + Self.totalColumns).map(SQLTableLayout.quote)
        let binds: [SQLBind] = [
            .text(Self.key(signature)),
            .optionalText(signature.pipelineName), .optionalText(signature.scriptName),
            .optionalText(signature.pipelineType), .optionalText(signature.environment),
            .integer(totals.totalRuns), .instant(totals.lastRun),
            .double(totals.positiveDurationSum), .integer(totals.positiveDurationCount),
            .integer(totals.positiveRowcountSum), .integer(totals.positiveRowcountCount),
            .integer(totals.failedRuns),
        ]
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let sql = "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(binds.map(\.databaseValue)))
    }
}

extension PipelineSignature {
    /// The signature in the first four columns of a row.
    fileprivate init(_ values: StoredValues) throws(StorageError) {
        self.init(
            pipelineName: try values.optionalText(0, "pipeline_name"),
            scriptName: try values.optionalText(1, "script_name"),
            pipelineType: try values.optionalText(2, "pipeline_type"),
            environment: try values.optionalText(3, "environment")
        )
    }
}
