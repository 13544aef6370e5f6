public import Logging
public import PipelineCore

/// The table a SQL backend reads and writes, and the column behind each model field.
///
/// Names come from configuration only (`PIPELINE_TABLE`, `PIPELINE_COLUMN_MAP`), are validated
/// once here against a strict identifier pattern, and are always written quoted. No request
/// ever reaches an identifier.
public struct SQLTableLayout: Sendable, Hashable {
    /// The key of the insertion-order column in a column map (it is not a model field).
    public static let idKey = "id"
    public static let defaultTable = "pipeline_runs"

    /// The table name, validated.
    public let table: String
    /// The column of each model field, validated; unmapped fields keep their own names.
    public let columns: [PipelineField: String]
    /// The column holding the insertion sequence (the stable tie-break).
    public let idColumn: String
    /// Whether a column map was given: the table is then someone else's and is never created or altered.
    public let isMapped: Bool
    /// Extension fields (``PipelineField/isExtension``) the table has no column for: they are
    /// read as null and not written.
    public private(set) var absentFields: Set<PipelineField> = []

    /// The service's own table with every column under its field's name.
    public static let standard = SQLTableLayout(
        table: defaultTable,
        columns: Dictionary(uniqueKeysWithValues: PipelineField.allCases.map { ($0, $0.rawValue) }),
        idColumn: idKey,
        isMapped: false
    )

    private init(table: String, columns: [PipelineField: String], idColumn: String, isMapped: Bool) {
        self.table = table
        self.columns = columns
        self.idColumn = idColumn
        self.isMapped = isMapped
    }

    /// - Parameters:
    ///   - table: `PIPELINE_TABLE`.
    ///   - columnMapJSON: `PIPELINE_COLUMN_MAP`, a JSON object model field → column name; nil or empty for none.
    public init(table: String = SQLTableLayout.defaultTable, columnMapJSON: String? = nil) throws(ConfigurationError) {
        guard Self.isSafeIdentifier(table) else {
            throw ConfigurationError(
                "PIPELINE_TABLE",
                "\"\(table)\" is not a safe SQL identifier (a letter or _, then letters, digits or _, at most 63)"
            )
        }
        var columns = Dictionary(uniqueKeysWithValues: PipelineField.allCases.map { ($0, $0.rawValue) })
        var idColumn = Self.idKey
        var isMapped = false
        if let columnMapJSON, !columnMapJSON.trimmingASCIIWhitespace().isEmpty {
            isMapped = true
            let value: JSONValue
            do {
                value = try JSONParser.parse(columnMapJSON)
            } catch {
                throw ConfigurationError("PIPELINE_COLUMN_MAP", "not valid JSON (\(error))")
            }
            guard case .object(let members) = value else {
                throw ConfigurationError("PIPELINE_COLUMN_MAP", "must be a JSON object of model field → column name")
            }
            for (field, column) in members.sorted(by: { $0.key < $1.key }) {
                guard case .string(let name) = column else {
                    throw ConfigurationError("PIPELINE_COLUMN_MAP", "the column for \(field) must be a string")
                }
                guard Self.isSafeIdentifier(name) else {
                    throw ConfigurationError(
                        "PIPELINE_COLUMN_MAP",
                        "\"\(name)\" (for \(field)) is not a safe SQL identifier (a letter or _, then letters, digits or _, at most 63)"
                    )
                }
                if field == Self.idKey {
                    idColumn = name
                } else if let modelField = PipelineField(rawValue: field) {
                    columns[modelField] = name
                } else {
                    let known = (PipelineField.allCases.map(\.rawValue) + [Self.idKey]).joined(separator: ", ")
                    throw ConfigurationError("PIPELINE_COLUMN_MAP", "unknown field \"\(field)\" (known: \(known))")
                }
            }
            var seen: [String: String] = [idColumn.lowercased(): Self.idKey]
            for field in PipelineField.allCases {
                let name = columns[field]!
                if let other = seen[name.lowercased()] {
                    throw ConfigurationError("PIPELINE_COLUMN_MAP", "\(field.rawValue) and \(other) both map to column \"\(name)\"")
                }
                seen[name.lowercased()] = field.rawValue
            }
        }
        self.table = table
        self.columns = columns
        self.idColumn = idColumn
        self.isMapped = isMapped
    }

    /// The same layout without columns for these extension fields (an existing table that predates them).
    public func withoutColumns(for fields: Set<PipelineField>) -> SQLTableLayout {
        precondition(fields.allSatisfy(\.isExtension), "only extension fields may be absent")
        var layout = self
        layout.absentFields.formUnion(fields)
        return layout
    }

    /// Says once, at start-up, which extension fields an existing table cannot store.
    public static func reportAbsentColumns(_ fields: Set<PipelineField>, table: String, logger: Logger) {
        guard !fields.isEmpty else { return }
        let names = fields.map(\.rawValue).sorted()
        logger.warning(
            "Table \"\(table)\" has no column for \(names.joined(separator: ", ")): the service runs without them (they are accepted, not stored, and read as null). Add the columns, or map them in PIPELINE_COLUMN_MAP, to keep them.",
            metadata: ["table": "\(table)", "fields": "\(names.joined(separator: ","))"]
        )
    }

    /// The run as this table stores it: extension fields without a column become nil, so the run an
    /// insert returns, and the one idempotency compares, is the run a read gives back.
    public func storable(_ run: PipelineInfo) -> PipelineInfo {
        guard !absentFields.isEmpty else { return run }
        var run = run
        if absentFields.contains(.status) { run.status = nil }
        if absentFields.contains(.exitCode) { run.exitCode = nil }
        return run
    }

    /// Whether the table has a column for this field.
    public func hasColumn(_ field: PipelineField) -> Bool { !absentFields.contains(field) }

    /// The fields the table has columns for, in `PipelineField.allCases` order.
    public var storedFields: [PipelineField] { PipelineField.allCases.filter(hasColumn) }

    /// What a SELECT lists for a field: its quoted column, or a typed NULL when the table lacks it.
    public func selectExpression(_ field: PipelineField) -> String {
        guard hasColumn(field) else { return field == .exitCode ? "CAST(NULL AS BIGINT)" : "CAST(NULL AS TEXT)" }
        return quoted(field)
    }

    /// The column name for a field (unquoted).
    public func column(_ field: PipelineField) -> String { columns[field]! }

    /// The quoted column name for a field, ready to splice into SQL.
    public func quoted(_ field: PipelineField) -> String { Self.quote(columns[field]!) }

    /// The quoted table name.
    public var quotedTable: String { Self.quote(table) }

    /// The quoted id column.
    public var quotedIDColumn: String { Self.quote(idColumn) }

    /// A validated identifier in double quotes. Only ever called with names that passed `isSafeIdentifier`.
    public static func quote(_ identifier: String) -> String {
        precondition(isSafeIdentifier(identifier), "unvalidated identifier")
        return "\"" + identifier + "\""
    }

    /// `[A-Za-z_][A-Za-z0-9_]{0,62}`: nothing that needs escaping, within PostgreSQL's 63-byte limit.
    public static func isSafeIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func isLetter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
        return isLetter(first) && bytes.allSatisfy { isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

// MARK: - Covering indexes

extension SQLTableLayout {
    /// What the start index carries after its result-order columns (`start_utc`, id), as created by
    /// SQLite's `v5-covering-indexes` and PostgreSQL's `4_covering_indexes`: what a time window or a
    /// row count range tests. Part of those migrations: a change needs a new migration.
    static let coveredByStartIndex: [PipelineField] = [.endUTC, .rowcount]

    /// What the pipeline index carries after `pipeline_name` and result order, as created by the same
    /// migrations: every column the other filters, counts and history samples of one pipeline read.
    static let coveredByPipelineIndex: [PipelineField] = [
        .environment, .scriptName, .pipelineType, .rowcount, .elapsedSeconds, .endUTC, .status, .exitCode,
    ]
}
