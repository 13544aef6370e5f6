import Logging
public import PipelineCore
import PostgresNIO

// MARK: - Retention

extension PostgresRunRepository {
    /// Signatures per statement that reads totals back: at most 4 binds each, far below PostgreSQL's 65535.
    private static let signaturesPerRead = 1_000

    public func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int {
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("count old runs") { connection in
            guard let row = try await connection.rows(schema.statements.countRuns(startedBefore: cutoff).postgresQuery, logger: logger).first
            else { return 0 }
            return Int(try row.decode(Int64.self))
        }
    }

    /// One transaction: the delete, and on a table the service owns the summary rows of every
    /// signature it touched, computed again from the runs left.
    ///
    /// The summary table is locked against writers first: inserts already under way finish before
    /// the delete starts, and later ones wait at their summary update until this commits, so no
    /// insert's totals are lost to the recomputation (also across replicas).
    public func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let schema = try schema.current()
        let logger = connections.logger
        return try await connections.withConnection("delete old runs") { connection in
            try await connection.inTransaction("BEGIN", logger: logger) { connection in
                if let summary = schema.summary {
                    try await connection.execute(summary.lockAgainstWriters, logger: logger)
                }
                let delete = schema.statements.deleteOldestRuns(startedBefore: cutoff, limit: limit)
                let deleted = try await connection.rows(delete.postgresQuery, logger: logger)
                guard let summary = schema.summary, !deleted.isEmpty else { return deleted.count }
                var touched: Set<PipelineSignature> = []
                for row in deleted {
                    let (name, script, type, environment) = try row.decode((String?, String?, String?, String?).self)
                    touched.insert(PipelineSignature(pipelineName: name, scriptName: script, pipelineType: type, environment: environment))
                }
                let signatures = touched.sorted()
                var totals: [PipelineSignature: SignatureAggregate] = [:]
                for start in stride(from: 0, to: signatures.count, by: Self.signaturesPerRead) {
                    let chunk = Array(signatures[start..<min(start + Self.signaturesPerRead, signatures.count)])
                    let read = schema.statements.aggregatesInInsertionOrder(of: chunk)
                    for row in try await connection.rows(read.postgresQuery, logger: logger) {
                        let aggregate = try SignatureAggregate(row: row)
                        totals[aggregate.signature] = aggregate
                    }
                }
                for signature in signatures {
                    try await connection.execute(summary.replace(signature, with: totals[signature]), logger: logger)
                }
                return deleted.count
            }
        }
    }
}

extension PostgresSummaryTable {
    /// Blocks inserts' summary updates, and waits for those under way, until the transaction ends.
    var lockAgainstWriters: PostgresQuery {
        PostgresQuery(unsafeSQL: "LOCK TABLE \(SQLTableLayout.quote(name)) IN SHARE ROW EXCLUSIVE MODE")
    }

    /// Sets a signature's row to these totals, or removes it when the signature has no runs left.
    func replace(_ signature: PipelineSignature, with totals: SignatureAggregate?) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 12)
        guard let totals else {
            binds.append(Self.key(signature))
            return PostgresQuery(unsafeSQL: "DELETE FROM \(SQLTableLayout.quote(name)) WHERE \"signature\" = $1", binds: binds)
        }
        Self.appendSignature(signature, to: &binds)
        Self.appendTotals(of: totals, to: &binds)
        let sql = """
            INSERT INTO \(SQLTableLayout.quote(name)) (\(Self.columns)) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
            ON CONFLICT ("signature") DO UPDATE SET \
            "total_runs" = EXCLUDED."total_runs", "last_run" = EXCLUDED."last_run", \
            "duration_sum" = EXCLUDED."duration_sum", "duration_count" = EXCLUDED."duration_count", \
            "rowcount_sum" = EXCLUDED."rowcount_sum", "rowcount_count" = EXCLUDED."rowcount_count", \
            "failed_runs" = EXCLUDED."failed_runs"
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
