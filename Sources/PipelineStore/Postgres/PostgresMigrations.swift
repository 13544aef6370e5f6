import PipelineCore

/// The versioned schema of a table the service owns. Each migration runs once per table, in
/// order, in one transaction with the record of it in `pipeline_service_migrations`. A
/// migration, once released, never changes: a new need is a new migration.
struct PostgresMigration: Sendable {
    static let ledgerTable = "pipeline_service_migrations"

    let name: String
    let statements: @Sendable (SQLTableLayout) -> [String]

    static let all: [PostgresMigration] = [
        PostgresMigration(name: "1_create_runs_and_summary") { layout in
            let q = SQLTableLayout.quote
            let columns =
                [layout.quotedIDColumn + " BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
                // The first release's fields; extension fields are added by later migrations.
                + PipelineField.allCases.filter { !$0.isExtension }.map { field in
                    layout.quoted(field) + " " + columnType(field) + (field.isOptional ? "" : " NOT NULL")
                }
            let key = "\(layout.quoted(.pipelineName)), \(layout.quoted(.dateCode))"
            return [
                """
                CREATE TABLE \(layout.quotedTable) (
                    \(columns.joined(separator: ",\n    ")),
                    CONSTRAINT \(q(layout.table + "_run_key")) UNIQUE (\(key))
                )
                """,
                "CREATE INDEX \(q(layout.table + "_by_start")) ON \(layout.quotedTable) (\(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC)",
                "CREATE INDEX \(q(layout.table + "_by_pipeline")) ON \(layout.quotedTable) (\(layout.quoted(.pipelineName)), \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC)",
                """
                CREATE TABLE \(q(layout.table + "_summary")) (
                    "signature" TEXT PRIMARY KEY,
                    "pipeline_name" TEXT,
                    "script_name" TEXT,
                    "pipeline_type" TEXT,
                    "environment" TEXT,
                    "total_runs" BIGINT NOT NULL,
                    "last_run" TIMESTAMPTZ NOT NULL,
                    "duration_sum" DOUBLE PRECISION NOT NULL,
                    "duration_count" BIGINT NOT NULL,
                    "rowcount_sum" BIGINT NOT NULL,
                    "rowcount_count" BIGINT NOT NULL
                )
                """,
            ]
        },
        // Row count ranges are a query class of their own: without this index each one scans the table.
        PostgresMigration(name: "2_index_rowcount") { layout in
            [
                "CREATE INDEX \(SQLTableLayout.quote(layout.table + "_by_rowcount")) ON \(layout.quotedTable) (\(layout.quoted(.rowcount)), \(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC)"
            ]
        },
        // Run status. Runs stored before have neither, so none of them failed: 0 is exact.
        PostgresMigration(name: "3_add_status_exit_code") { layout in
            [
                "ALTER TABLE \(layout.quotedTable) ADD COLUMN \(layout.quoted(.status)) TEXT, ADD COLUMN \(layout.quoted(.exitCode)) BIGINT",
                "ALTER TABLE \(SQLTableLayout.quote(layout.table + "_summary")) ADD COLUMN \"failed_runs\" BIGINT NOT NULL DEFAULT 0",
            ]
        },
        // Covering indexes: the columns filters, counts and history samples read ride in the start and
        // pipeline indexes (INCLUDE), so those queries are index-only scans on a vacuumed table instead
        // of a heap fetch per matching run.
        PostgresMigration(name: "4_covering_indexes") { layout in
            let q = SQLTableLayout.quote
            let order = "\(layout.quoted(.startUTC)) DESC, \(layout.quotedIDColumn) DESC"
            let byStart = q(layout.table + "_by_start")
            let byPipeline = q(layout.table + "_by_pipeline")
            let startColumns = SQLTableLayout.coveredByStartIndex.map(layout.quoted).joined(separator: ", ")
            let pipelineColumns = SQLTableLayout.coveredByPipelineIndex.map(layout.quoted).joined(separator: ", ")
            return [
                "DROP INDEX \(byStart)",
                "CREATE INDEX \(byStart) ON \(layout.quotedTable) (\(order)) INCLUDE (\(startColumns))",
                "DROP INDEX \(byPipeline)",
                "CREATE INDEX \(byPipeline) ON \(layout.quotedTable) (\(layout.quoted(.pipelineName)), \(order)) INCLUDE (\(pipelineColumns))",
            ]
        },
        // Rowcount sums 128 bits wide: a signature's sum can pass Int64.max (legacy rowcounts near it,
        // or billions of large runs), and a summary must never overflow.
        PostgresMigration(name: "5_wide_rowcount_sums") { layout in
            [SQLSummaryTable(runsTable: layout.table, dialect: .postgres).addHighRowcountSum]
        },
        // Runs are looked up by date code (archived files, the date_code filter).
        PostgresMigration(name: "6_index_date_code") { layout in
            [
                "CREATE INDEX \(SQLTableLayout.quote(layout.table + "_date_code")) ON \(layout.quotedTable) (\(layout.quoted(.dateCode)), \(layout.quotedIDColumn))"
            ]
        },
        // Run ids: the one key. Stored runs get their name-based id (RunID.nameBased, spelled in SQL
        // here: SHA-256 of the length-prefixed parts, its first 16 bytes as a version 8 UUID), and the
        // (name, date code) key goes, so that runs of one pipeline in one second with ids of their
        // own can all be stored.
        PostgresMigration(name: "7_add_run_id") { layout in
            let q = SQLTableLayout.quote
            let (table, id, runID) = (layout.quotedTable, layout.quotedIDColumn, layout.quoted(.runID))
            func part(_ column: String) -> String {
                "int8send(octet_length(convert_to(\(column), 'UTF8'))::int8) || convert_to(\(column), 'UTF8')"
            }
            let (name, dateCode) = (layout.quoted(.pipelineName), layout.quoted(.dateCode))
            let input =
                "CASE WHEN \(name) IS NULL THEN decode('00', 'hex') || \(part(dateCode)) || int8send(\(id)::int8) "
                + "ELSE decode('01', 'hex') || \(part(name)) || \(part(dateCode)) END"
            let uuid = "encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 128), 8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid::text"
            let statements = SQLStatements(layout: layout, dialect: .postgres)
            let finished = statements.isFinished
            let order = "\(layout.quoted(.startUTC)) DESC, \(id) DESC"
            let (byStart, byPipeline) = (q(layout.table + "_by_start"), q(layout.table + "_by_pipeline"))
            let (byRowcount, byDateCode) = (q(layout.table + "_by_rowcount"), q(layout.table + "_date_code"))
            let startColumns = SQLTableLayout.coveredByStartIndex.map(layout.quoted).joined(separator: ", ")
            let pipelineColumns = SQLTableLayout.coveredByPipelineIndex.map(layout.quoted).joined(separator: ", ")
            return [
                "ALTER TABLE \(table) ADD COLUMN \(runID) TEXT",
                "UPDATE \(table) SET \(runID) = \(uuid) FROM (SELECT \(id) AS row_id, substring(sha256(\(input)) FROM 1 FOR 16) AS h "
                    + "FROM \(table)) AS hashed WHERE \(table).\(id) = hashed.row_id",
                "ALTER TABLE \(table) ADD CONSTRAINT \(q(layout.table + "_run_id")) UNIQUE (\(runID))",
                "ALTER TABLE \(table) DROP CONSTRAINT \(q(layout.table + "_run_key"))",
                // Runs still running are left out of every read that does not ask for them: the query
                // indexes hold finished runs only (their WHERE is the very condition those reads carry),
                // so no read checks a status row by row, and one small index holds the running ones.
                "DROP INDEX \(byStart)", "DROP INDEX \(byPipeline)", "DROP INDEX \(byRowcount)", "DROP INDEX \(byDateCode)",
                "CREATE INDEX \(byStart) ON \(table) (\(order)) INCLUDE (\(startColumns)) WHERE \(finished)",
                "CREATE INDEX \(byPipeline) ON \(table) (\(layout.quoted(.pipelineName)), \(order)) INCLUDE (\(pipelineColumns)) WHERE \(finished)",
                "CREATE INDEX \(byRowcount) ON \(table) (\(layout.quoted(.rowcount)), \(order)) WHERE \(finished)",
                "CREATE INDEX \(byDateCode) ON \(table) (\(layout.quoted(.dateCode)), \(id)) WHERE \(finished)",
                "CREATE INDEX \(q(layout.table + "_running")) ON \(table) (\(order)) WHERE \(statements.isRunning)",
            ]
        },
        // The runs still running counted by signature with the oldest start (health, the pipeline
        // cap): read from this index, in signature order, however many there are.
        PostgresMigration(name: "8_index_running_by_signature") { layout in
            let signature = PipelineField.signatureFields.map(layout.quoted).joined(separator: ", ")
            return [
                "CREATE INDEX \(SQLTableLayout.quote(layout.table + "_running_by_signature")) ON \(layout.quotedTable) "
                    + "(\(signature), \(layout.quoted(.startUTC))) WHERE \(SQLStatements(layout: layout, dialect: .postgres).isRunning)"
            ]
        },
    ]

    static func columnType(_ field: PipelineField) -> String {
        switch field.kind {
        case .localDateTime: "TIMESTAMP"
        case .instant: "TIMESTAMPTZ"
        case .number: "DOUBLE PRECISION"
        case .integer, .optionalInteger: "BIGINT"
        case .text, .optionalText: "TEXT"
        }
    }

    /// The ledger itself; created by the first starter, under the migration lock.
    static let createLedger = """
        CREATE TABLE pipeline_service_migrations (
            "table_name" TEXT NOT NULL,
            "migration" TEXT NOT NULL,
            "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY ("table_name", "migration")
        )
        """

    /// The key of the advisory lock that serializes every starter's migrations.
    static let lockKey: Int64 = 0x7069_7065_6c69_6e65  // "pipeline"
}
