import Logging
import PipelineCore
import PostgresNIO

// MARK: - The constraints of a table the service does not own

extension PostgresSchema {
    /// A unique key of an adopted table: its columns, and the fields stored in them when every one
    /// is a field's column (nil for a key on the id, on an expression, on a column no field is
    /// stored in, or a partial one, which a run's values alone do not decide).
    struct UniqueKey: Sendable, Hashable {
        var columns: [String]
        var fields: [PipelineField]?
    }

    /// Reads the table's unique keys and check constraints, so that a write they refuse is
    /// answered for what it is (``refusal(_:of:at:)``), never as an unavailable database.
    mutating func readConstraints(on connection: PostgresConnection, logger: Logger) async throws {
        let table = layout.table
        let keys = try await connection.rows(
            """
            SELECT ic.relname::text, i.indpred IS NOT NULL, array_agg(COALESCE(a.attname::text, '') ORDER BY k.ord) \
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
            WHERE i.indrelid = (SELECT oid FROM pg_class WHERE relname = \(table) AND relnamespace = current_schema()::regnamespace) \
            AND i.indisunique AND k.ord <= i.indnkeyatts GROUP BY ic.relname, i.indpred IS NOT NULL
            """,
            logger: logger
        )
        for row in keys {
            let (name, isPartial, columns) = try row.decode((String, Bool, [String]).self)
            let fields = columns.map(layout.field(forColumn:))
            uniqueKeys[name] = UniqueKey(
                columns: columns.map { $0.isEmpty ? "(an expression)" : $0 },
                fields: isPartial || fields.contains(nil) ? nil : fields.compactMap { $0 }
            )
        }
        let checks = try await connection.rows(
            """
            SELECT c.conname::text, array_agg(a.attname::text ORDER BY a.attnum) FROM pg_constraint c \
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
            WHERE c.conrelid = (SELECT oid FROM pg_class WHERE relname = \(table) AND relnamespace = current_schema()::regnamespace) \
            AND c.contype = 'c' GROUP BY c.conname
            """,
            logger: logger
        )
        for row in checks {
            let (name, columns) = try row.decode((String, [String]).self)
            checkConstraints[name] = columns
        }
    }

    /// Logs, once at start-up, an id sequence that would hand out ids already stored: a table
    /// loaded with its rows (ora2pg's data export) whose identity was not restarted past them.
    /// Every insert would then fail on the primary key; it is answered as a conflict on the id
    /// (409), and this says how to fix the table. Nothing here stops start-up.
    func checkIdentity(on connection: PostgresConnection, logger: Logger) async {
        let (quotedName, idColumn, id) = (SQLTableLayout.quote(layout.table), layout.idColumn, layout.quotedIDColumn)
        let query: PostgresQuery = """
            SELECT s.seqstart, pg_sequence_last_value(s.seqrelid), s.seqincrement, (SELECT max(\(unescaped: id))::int8 FROM \(unescaped: layout.quotedTable)) \
            FROM pg_sequence s WHERE s.seqrelid = to_regclass(pg_get_serial_sequence(\(quotedName), \(idColumn)))
            """
        guard let row = try? await connection.rows(query, logger: logger).first,
            let (start, last, increment, largest) = try? row.decode((Int64, Int64?, Int64, Int64?).self),
            let largest, increment > 0
        else { return }
        let next = last.map { $0.addingReportingOverflow(increment).partialValue } ?? start
        guard next <= largest else { return }
        logger.error(
            "The id sequence of table \(layout.qualifiedName) would hand out ids already stored (next \(next), largest stored \(largest)): every insert will be refused as a conflict on \(idColumn) until it is restarted past them, e.g. SELECT setval(pg_get_serial_sequence('\(quotedName)', '\(idColumn)'), (SELECT max(\(id)) FROM \(layout.quotedTable)))",
            metadata: ["table": "\(layout.qualifiedName)"]
        )
    }

    /// What a write answers when the table refused its insert of `run` (the `index`th run of a
    /// batch, nil for a single run) for a rule of its own: another run holding one of its unique
    /// keys (409), a NOT NULL or CHECK constraint or a value its columns cannot hold (422, naming
    /// the field where the table says which). Nil for any other failure: the database's state,
    /// answered as unavailable. Only writes ask: a read that fails is never the client's doing.
    func refusal(_ error: PSQLError, of run: PipelineInfo, at index: Int?, logger: Logger) -> StorageError? {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return nil }
        let constraint = error.serverInfo?[.constraintName]
        func refused(_ field: PipelineField?, _ message: String) -> StorageError {
            var issue = FieldIssue(.body, "", kind: "table_constraint", message: message)
            issue.path = (index.map { [.index($0)] } ?? []) + (field.map { [.name($0.rawValue)] } ?? [])
            return .refused(issue)
        }
        switch state {
        case "23505":
            let key = constraint.flatMap { uniqueKeys[$0] }
            return .keyTaken(
                run.runKey ?? RunKey(pipelineName: run.pipelineName, dateCode: run.dateCode, runID: run.runID),
                columns: key?.columns ?? [],
                constraint: constraint ?? "unknown"
            )
        case "23502":
            let column = error.serverInfo?[.columnName]
            let field = column.flatMap(layout.field(forColumn:))
            return refused(field, "The table requires a value here (column \(column ?? "unknown") is NOT NULL)")
        case "23514":
            let columns = constraint.flatMap { checkConstraints[$0] } ?? []
            let fields = columns.compactMap(layout.field(forColumn:))
            let named = columns.isEmpty ? "" : " on \(columns.joined(separator: ", "))"
            return refused(fields.count == 1 ? fields[0] : nil, "The table's check constraint \(constraint ?? "unknown")\(named) refuses this run")
        case let state where state.hasPrefix("23"):
            return refused(nil, "The table's constraint \(constraint ?? "unknown") refuses this run")
        case "22001", "22003", "22007", "22008":
            // The limits read at start-up keep these out (``FieldLimits``); a table changed since
            // may still let one through.
            logger.error(
                "PostgreSQL refused a value the table's limits let through; was the table altered since start-up?",
                metadata: ["table": "\(layout.qualifiedName)", "error": "\(String(reflecting: error))"]
            )
            return refused(nil, "A value does not fit the table's columns")
        default:
            return nil
        }
    }
}
