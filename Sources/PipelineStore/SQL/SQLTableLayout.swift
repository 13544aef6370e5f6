import Logging
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

    /// The table name, validated, without its schema.
    public let table: String
    /// The schema `PIPELINE_TABLE` names before a dot (`legacy` of `legacy.pipeline_runs`), as
    /// enterprise tables live in schemas; nil: the connection's own. PostgreSQL only: its sessions
    /// run with this schema as their search path (``PostgresRunRepository``), so the table and
    /// every name the service derives from it (summary table, indexes, migration ledger) live
    /// there, and no statement has to spell the schema.
    public private(set) var schema: String?
    /// The column of each model field, validated; unmapped fields keep their own names.
    private var columns: [PipelineField: String]
    /// The column holding the insertion sequence (the stable tie-break).
    public private(set) var idColumn: String
    /// Whether a column map was given: the table is then someone else's and is never created or altered.
    public let isMapped: Bool
    /// Extension fields (``PipelineField/isExtension``) the table has no column for: they are
    /// read as null and not written.
    public private(set) var absentFields: Set<PipelineField> = []
    /// The type of each field's column in a table the service adopted, where it matters for
    /// reading and writing the field exactly; empty for a table the service created, whose types
    /// are its own (``SQLColumnType``).
    private var columnTypes: [PipelineField: SQLColumnType] = [:]
    /// What the table's columns can hold beyond what validation accepts (``FieldLimits``), read
    /// with their types; ``FieldLimits/none`` for a table the service created.
    public private(set) var fieldLimits: FieldLimits = .none

    /// The service's own table with every column under its field's name.
    public static let standard = SQLTableLayout(table: defaultTable, columns: [:], idColumn: idKey, isMapped: false)

    private init(table: String, columns: [PipelineField: String], idColumn: String, isMapped: Bool) {
        self.table = table
        self.columns = columns
        self.idColumn = idColumn
        self.isMapped = isMapped
    }

    /// - Parameters:
    ///   - table: `PIPELINE_TABLE`.
    ///   - columnMapJSON: `PIPELINE_COLUMN_MAP`, a JSON object model field → column name; nil or empty for none.
    public init(table qualifiedName: String = SQLTableLayout.defaultTable, columnMapJSON: String? = nil) throws(ConfigurationError) {
        let parts = qualifiedName.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, parts.allSatisfy(Self.isSafeIdentifier) else {
            throw ConfigurationError(
                .table,
                "\"\(qualifiedName.prefix(200))\" is not a safe SQL identifier, nor schema.table of two (each a letter or _, then letters, digits or _, at most 63)"
            )
        }
        let table = parts[parts.count - 1]
        var columns: [PipelineField: String] = [:]
        var idColumn = Self.idKey
        var isMapped = false
        if let columnMapJSON, !columnMapJSON.trimmingASCIIWhitespace().isEmpty {
            isMapped = true
            let value: JSONValue
            do {
                value = try JSONParser.parse(columnMapJSON)
            } catch {
                throw ConfigurationError(.columnMap, "not valid JSON (\(error))")
            }
            guard case .object(let members) = value else {
                throw ConfigurationError(.columnMap, "must be a JSON object of model field → column name")
            }
            for (field, column) in members.sorted(by: { $0.key < $1.key }) {
                guard case .string(let name) = column else {
                    throw ConfigurationError(.columnMap, "the column for \(field) must be a string")
                }
                guard Self.isSafeIdentifier(name) else {
                    throw ConfigurationError(
                        .columnMap,
                        "\"\(name)\" (for \(field)) is not a safe SQL identifier (a letter or _, then letters, digits or _, at most 63)"
                    )
                }
                if field == Self.idKey {
                    idColumn = name
                } else if let modelField = PipelineField(rawValue: field) {
                    columns[modelField] = name
                } else {
                    let known = (PipelineField.allCases.map(\.rawValue) + [Self.idKey]).joined(separator: ", ")
                    throw ConfigurationError(.columnMap, "unknown field \"\(field)\" (known: \(known))")
                }
            }
        }
        self.init(table: table, columns: columns, idColumn: idColumn, isMapped: isMapped)
        schema = parts.count == 2 ? parts[0] : nil
        var seen: [String: String] = [idColumn.lowercased(): Self.idKey]
        for field in PipelineField.allCases {
            let name = column(field)
            if let other = seen[name.lowercased()] {
                // An extension field the map does not name, whose own name is another mapped
                // column's (a legacy table's numeric RUN_ID key, say), has no column of its own.
                if field.isExtension, columns[field] == nil {
                    absentFields.insert(field)
                    continue
                }
                throw ConfigurationError(.columnMap, "\(field.rawValue) and \(other) both map to column \"\(name)\"")
            }
            seen[name.lowercased()] = field.rawValue
        }
    }

    /// Whether the table has a column for this field.
    public func hasColumn(_ field: PipelineField) -> Bool { !absentFields.contains(field) }

    /// The fields the table has columns for, in ``PipelineField`` order.
    public var storedFields: [PipelineField] { PipelineField.allCases.filter(hasColumn) }

    /// The run as this table stores it: with its id (made if it has none), extension fields
    /// without a column as nil, and each value as its column keeps it (``SQLColumnType``): a
    /// duration rounded to a `numeric(p, s)` column's scale or to a `real`, text without the
    /// trailing spaces a `char(n)` column drops, a time rounded to a `timestamp(p)`. So the run an
    /// insert returns, and the one idempotency compares, is the run a read gives back.
    public func storable(_ run: PipelineInfo) -> PipelineInfo {
        var stored = run.normalized.removingValues(of: absentFields)
        for (field, type) in columnTypes {
            switch (field.kind, type) {
            case (.number, .decimal(_, let scale?)):
                stored.elapsedSeconds = DecimalText(stored.elapsedSeconds)?.rounded(toScale: scale).doubleValue ?? stored.elapsedSeconds
            case (.number, .real):
                stored.elapsedSeconds = Double(Float(stored.elapsedSeconds).description) ?? stored.elapsedSeconds
            case (.text, .text(_, blankPadded: true)), (.optionalText, .text(_, blankPadded: true)):
                stored.setText(of: field) { Self.droppingTrailingSpaces($0) }
            case (.instant, .timestamp(_, let precision)), (.localDateTime, .timestamp(_, let precision)):
                stored.setMicroseconds(of: field) { Self.rounded($0, toDigits: precision) }
            default:
                break
            }
        }
        return stored
    }

    private static func droppingTrailingSpaces(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }

    /// Microseconds rounded to `digits` digits of the second, half away from zero, as PostgreSQL
    /// rounds a value stored in a `timestamp(p)` column.
    private static func rounded(_ microseconds: Int64, toDigits digits: Int) -> Int64 {
        guard digits < 6 else { return microseconds }
        let unit = (digits..<6).reduce(Int64(1)) { unit, _ in unit * 10 }
        let (quotient, remainder) = microseconds.quotientAndRemainder(dividingBy: unit)
        let away: Int64 = remainder.magnitude * 2 >= unit.magnitude ? (microseconds < 0 ? -1 : 1) : 0
        let (rounded, overflow) = (quotient + away).multipliedReportingOverflow(by: unit)
        return overflow ? microseconds : rounded
    }

    /// The column that keys runs: `run_id`, or on a table without one the pair (`pipeline_name`,
    /// `date_code`) as before ids.
    public var keyColumns: String {
        hasColumn(.runID) ? quoted(.runID) : "\(quoted(.pipelineName)), \(quoted(.dateCode))"
    }

    /// What a condition compares for a field: its quoted column, or a typed NULL when the table
    /// lacks it. The column as it is, so that comparisons keep using its indexes (`numeric >=
    /// bigint` compares exactly).
    public func conditionExpression(_ field: PipelineField) -> String {
        guard hasColumn(field) else { return field.kind == .optionalInteger ? "CAST(NULL AS BIGINT)" : "CAST(NULL AS TEXT)" }
        return quoted(field)
    }

    /// What a SELECT lists for a field: ``conditionExpression(_:)``, read as the field's own type
    /// where the column's differs: a `numeric` as a double (the nearest one to the decimal, as
    /// `Double("2424.879")` gives) or a bigint, a `real` through its shortest decimal text (its
    /// exact binary value would read 2424.87890625), a `smallint` or `integer` as a bigint (which
    /// summaries shift by 32 bits), a `char(n)` as text without its padding.
    public func selectExpression(_ field: PipelineField) -> String {
        let column = conditionExpression(field)
        switch (field.kind, columnTypes[field]) {
        case (.number, .decimal?): return "CAST(\(column) AS DOUBLE PRECISION)"
        case (.number, .real?): return "CAST(CAST(\(column) AS TEXT) AS DOUBLE PRECISION)"
        case (_, .decimal?), (_, .integer(2)?), (_, .integer(4)?): return "CAST(\(column) AS BIGINT)"
        case (_, .text(_, blankPadded: true)?): return "CAST(\(column) AS TEXT)"
        default: return column
        }
    }

    /// The placeholder an INSERT writes a field's value with, binding it: a duration goes to a
    /// `numeric` column as its decimal text (rounded to the column's scale), which the database
    /// reads exactly, where a bound double would pass through 15 significant digits.
    func insertPlaceholder(_ field: PipelineField, of run: PipelineInfo, binds: inout SQLBinds) -> String {
        let value = run.value(of: field)
        if case .decimal(_, let scale)? = columnTypes[field], case .double(let number) = value, var decimal = DecimalText(number) {
            if let scale { decimal = decimal.rounded(toScale: scale) }
            return "CAST(\(binds.bind(.text(decimal.description))) AS NUMERIC)"
        }
        return binds.bind(value)
    }

    /// The column name for a field (unquoted).
    public func column(_ field: PipelineField) -> String { columns[field] ?? field.rawValue }

    /// The quoted column name for a field, ready to splice into SQL.
    public func quoted(_ field: PipelineField) -> String { Self.quote(column(field)) }

    /// The quoted table name.
    public var quotedTable: String { Self.quote(table) }

    /// The table as `PIPELINE_TABLE` named it, for messages: `legacy.pipeline_runs`.
    public var qualifiedName: String { schema.map { "\($0).\(table)" } ?? table }

    /// The quoted id column.
    public var quotedIDColumn: String { Self.quote(idColumn) }

    /// An identifier in double quotes. Names come from configuration checked at start-up with
    /// `isSafeIdentifier`, from the service's own constants, or from an existing table's columns
    /// matched against those; an embedded quote is still doubled, as SQL spells it, so no name
    /// can end the identifier early whatever its origin.
    public static func quote(_ identifier: String) -> String {
        "\"" + identifier.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
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

// MARK: - Adopting an existing table

/// A column of an existing table, as the database describes it.
struct SQLColumnDescription: Sendable, Hashable {
    var name: String
    /// The type name as the database reports it (`int8`, `TEXT`); empty where it is not checked.
    var type: String
    /// Whether the database fills it in when an insert leaves it out (an identity or serial column).
    var hasDefault: Bool
    /// The type, where the backend checks it (PostgreSQL); nil where it does not, or for a type no
    /// field can be stored in.
    var columnType: SQLColumnType? = nil
    /// Whether the column takes NULL; a column the service does not write must, or have a default.
    var isNullable = true
}

extension SQLTableLayout {
    /// The layout with each column's actual name, found among `actual`: an exact match, else the
    /// one column whose name differs only in ASCII case (a table created unquoted, `START_UTC`
    /// for `start_utc`). An extension field without a column is absent; any other missing
    /// column, or a column `problem` objects to, stops start-up naming `setting`.
    ///
    /// - Parameter problem: what is wrong with a found column for a key (`id` or a field's name), if anything.
    func resolved(
        against actual: [SQLColumnDescription],
        setting: Setting,
        problem: (_ key: String, _ column: SQLColumnDescription) -> String? = { _, _ in nil }
    ) throws(ConfigurationError) -> SQLTableLayout {
        func find(_ wanted: String) -> SQLColumnDescription? {
            if let exact = actual.first(where: { $0.name == wanted }) { return exact }
            let sameButCase = actual.filter { Self.asciiLowercased($0.name) == Self.asciiLowercased(wanted) }
            return sameButCase.count == 1 ? sameButCase.first : nil
        }
        var resolved = self
        var missing: [String] = []
        var problems: [String] = []
        let wanted =
            [(Self.idKey, nil as PipelineField?, idColumn)]
            + PipelineField.allCases.filter { !absentFields.contains($0) }.map { ($0.rawValue, $0, column($0)) }
        for (key, field, name) in wanted {
            guard let found = find(name) else {
                if let field, field.isExtension {
                    resolved.absentFields.insert(field)
                } else {
                    missing.append(key == name ? name : "\(name) (\(key))")
                }
                continue
            }
            if let field {
                resolved.columns[field] = found.name
                resolved.columnTypes[field] = found.columnType
            } else {
                resolved.idColumn = found.name
            }
            if let trouble = problem(key, found) { problems.append("column \"\(found.name)\" (\(key)) \(trouble)") }
        }
        guard missing.isEmpty else {
            throw ConfigurationError(setting, "table \"\(table)\" lacks columns: \(missing.joined(separator: ", "))")
        }
        // A column the service never writes must fill itself in: NOT NULL without a default would
        // refuse every insert.
        let written = Set(([resolved.idColumn] + resolved.storedFields.map(resolved.column)).map(Self.asciiLowercased))
        for column in actual where !column.isNullable && !column.hasDefault && !written.contains(Self.asciiLowercased(column.name)) {
            problems.append(
                "column \"\(column.name)\" is NOT NULL without a default, and the service does not write it: every insert would fail (give it a default, allow NULL, or map a field to it)"
            )
        }
        let nullability = Dictionary(actual.map { ($0.name, $0.isNullable) }, uniquingKeysWith: { first, _ in first })
        resolved.fieldLimits = resolved.limits(nullable: { nullability[$0] ?? true })
        guard problems.isEmpty else {
            throw ConfigurationError(setting, "table \"\(table)\": \(problems.joined(separator: "; "))")
        }
        return resolved
    }

    /// The limits of the columns' types (``FieldLimits``): lengths, integer ranges narrower than
    /// validation's, decimal digits, and optional fields in NOT NULL columns.
    private func limits(nullable: (String) -> Bool) -> FieldLimits {
        var limits: [PipelineField: [FieldLimits.ColumnLimit]] = [:]
        for field in storedFields {
            let name = column(field)
            func add(_ limit: FieldLimits.Limit, _ type: String) {
                limits[field, default: []].append(FieldLimits.ColumnLimit(limit, column: name, columnType: type))
            }
            if field.isOptional, !nullable(name) { add(.required, "NOT NULL") }
            guard let type = columnTypes[field] else { continue }
            switch (field.kind, type) {
            case (.text, .text(let length?, let blankPadded)), (.optionalText, .text(let length?, let blankPadded)):
                add(.characters(length, ignoringTrailingSpaces: blankPadded), type.description)
            case (.number, .decimal(let precision?, let scale)):
                add(.decimal(precision: precision, scale: scale ?? 0), type.description)
            case (.integer, _), (.optionalInteger, _):
                guard let range = type.integerRange else { continue }
                let accepted = field.acceptedIntegers
                if range.lowerBound > accepted.lowerBound || range.upperBound < accepted.upperBound { add(.integers(range), type.description) }
            default:
                break
            }
        }
        var fieldLimits = FieldLimits(limits)
        fieldLimits.keepsRunningRuns = hasColumn(.status)
        return fieldLimits
    }

    /// Says once, at start-up, which extension fields the table cannot store.
    func reportAbsentColumns(logger: Logger) {
        guard !absentFields.isEmpty else { return }
        let names = absentFields.map(\.rawValue).sorted()
        logger.warning(
            "Table \"\(table)\" has no column for \(names.joined(separator: ", ")): the service runs without them (they are accepted, not stored, and read as null). Add the columns, or map them in PIPELINE_COLUMN_MAP, to keep them.",
            metadata: ["table": "\(table)", "fields": "\(names.joined(separator: ","))"]
        )
    }

    private static func asciiLowercased(_ name: String) -> String {
        String(decoding: name.utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

// MARK: - Covering indexes

extension SQLTableLayout {
    /// The longest name of a run table the service creates: its index and summary-table names add
    /// suffixes of up to 12 characters (`_by_rowcount`), and every name must stay within 63.
    static let maximumOwnedTableNameLength = 63 - "_by_rowcount".utf8.count

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

extension PipelineInfo {
    /// Replaces the value of a text field.
    fileprivate mutating func setText(of field: PipelineField, _ change: (String) -> String) {
        switch field {
        case .elapsedHuman: elapsedHuman = change(elapsedHuman)
        case .outputFile: outputFile = change(outputFile)
        case .logFile: logFile = change(logFile)
        case .dateCode: dateCode = change(dateCode)
        case .pipelineName: pipelineName = pipelineName.map(change)
        case .scriptName: scriptName = scriptName.map(change)
        case .pipelineType: pipelineType = pipelineType.map(change)
        case .environment: environment = environment.map(change)
        case .archivedFile: archivedFile = archivedFile.map(change)
        case .status: status = status.map(change)
        case .runID: runID = runID.map(change)
        default: break
        }
    }

    /// Replaces the microseconds of a time field.
    fileprivate mutating func setMicroseconds(of field: PipelineField, _ change: (Int64) -> Int64) {
        switch field {
        case .startLocal: startLocal = LocalDateTime(wallMicroseconds: change(startLocal.wallMicroseconds))
        case .endLocal: endLocal = LocalDateTime(wallMicroseconds: change(endLocal.wallMicroseconds))
        case .startUTC: startUTC = UTCInstant(microsecondsSinceEpoch: change(startUTC.microsecondsSinceEpoch))
        case .endUTC: endUTC = UTCInstant(microsecondsSinceEpoch: change(endUTC.microsecondsSinceEpoch))
        default: break
        }
    }
}
