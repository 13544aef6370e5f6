/// One pipeline run, as a pipeline reports it and as every response carries it (SPEC §2.1).
public struct PipelineInfo: Sendable, Hashable {
    public var startLocal: LocalDateTime
    public var endLocal: LocalDateTime
    public var startUTC: UTCInstant
    public var endUTC: UTCInstant
    public var elapsedSeconds: Double
    public var elapsedHuman: String
    public var outputFile: String
    public var rowcount: Int64
    public var logFile: String
    public var pid: Int64
    public var dateCode: String
    public var pipelineName: String?
    public var scriptName: String?
    public var pipelineType: String?
    public var environment: String?
    public var archivedFile: String?
    /// How the run ended, as the pipeline reports it: `success`, `failed`, `running`, or another
    /// short word. Optional extension field; old clients never send it.
    public var status: String?
    /// The process exit code, when the run was reported by a wrapper that saw it. Optional extension field.
    public var exitCode: Int64?

    public init(
        startLocal: LocalDateTime,
        endLocal: LocalDateTime,
        startUTC: UTCInstant,
        endUTC: UTCInstant,
        elapsedSeconds: Double,
        elapsedHuman: String,
        outputFile: String,
        rowcount: Int64,
        logFile: String,
        pid: Int64,
        dateCode: String,
        pipelineName: String? = nil,
        scriptName: String? = nil,
        pipelineType: String? = nil,
        environment: String? = nil,
        archivedFile: String? = nil,
        status: String? = nil,
        exitCode: Int64? = nil
    ) {
        self.startLocal = startLocal
        self.endLocal = endLocal
        self.startUTC = startUTC
        self.endUTC = endUTC
        self.elapsedSeconds = elapsedSeconds
        self.elapsedHuman = elapsedHuman
        self.outputFile = outputFile
        self.rowcount = rowcount
        self.logFile = logFile
        self.pid = pid
        self.dateCode = dateCode
        self.pipelineName = pipelineName
        self.scriptName = scriptName
        self.pipelineType = pipelineType
        self.environment = environment
        self.archivedFile = archivedFile
        self.status = status
        self.exitCode = exitCode
    }

    /// Whether the run failed: its `status` is `failed`, or it has no status and a non-zero `exit_code`.
    public var isFailed: Bool { RunStatus.isFailed(status: status, exitCode: exitCode) }

    /// The grouping key of SPEC §2.2.
    public var signature: PipelineSignature {
        PipelineSignature(pipelineName: pipelineName, scriptName: scriptName, pipelineType: pipelineType, environment: environment)
    }

    /// The idempotency key: a run is the same run when its pipeline name and date code match.
    /// Runs without a pipeline name have no key and are never merged.
    public var runKey: RunKey? {
        pipelineName.map { RunKey(pipelineName: $0, dateCode: dateCode) }
    }
}

/// Identifies one run of one pipeline: (`pipeline_name`, `date_code`).
public struct RunKey: Sendable, Hashable, CustomStringConvertible {
    public var pipelineName: String
    public var dateCode: String

    public init(pipelineName: String, dateCode: String) {
        self.pipelineName = pipelineName
        self.dateCode = dateCode
    }

    public var description: String { "(pipeline_name=\(pipelineName), date_code=\(dateCode))" }
}

/// The model's fields by their JSON names, in the order responses write them.
public enum PipelineField: String, Sendable, CaseIterable, Hashable {
    case startLocal = "start_local"
    case endLocal = "end_local"
    case startUTC = "start_utc"
    case endUTC = "end_utc"
    case elapsedSeconds = "elapsed_seconds"
    case elapsedHuman = "elapsed_human"
    case outputFile = "output_file"
    case rowcount
    case logFile = "log_file"
    case pid
    case dateCode = "date_code"
    case pipelineName = "pipeline_name"
    case scriptName = "script_name"
    case pipelineType = "pipeline_type"
    case environment
    case archivedFile = "archived_file"
    case status
    case exitCode = "exit_code"

    /// Whether a record may leave this field out or send `null`.
    public var isOptional: Bool {
        switch self {
        case .pipelineName, .scriptName, .pipelineType, .environment, .archivedFile, .status, .exitCode: true
        default: false
        }
    }

    /// Extension fields added after the original service: an existing SQL table may lack their
    /// columns, and the service then runs without them.
    public var isExtension: Bool {
        switch self {
        case .status, .exitCode: true
        default: false
        }
    }

    /// The longest string accepted in this field, in UTF-8 bytes (string fields only).
    public var maximumLength: Int {
        switch self {
        case .outputFile, .logFile, .archivedFile: 4096
        case .pipelineName, .scriptName: 256
        case .pipelineType, .environment: 64
        case .status: 32
        case .dateCode, .elapsedHuman: 128
        default: 64
        }
    }
}

// MARK: - Limits

extension PipelineInfo {
    /// The largest `rowcount` accepted: a trillion rows per run keeps every sum exact.
    public static let maximumRowcount: Int64 = 1_000_000_000_000
    /// The largest `pid` accepted (a 32-bit process id).
    public static let maximumPID: Int64 = Int64(Int32.max)
    /// The smallest and largest `exit_code` accepted (a 32-bit signed status, as `waitpid` and Windows report).
    public static let exitCodeRange: ClosedRange<Int64> = Int64(Int32.min)...Int64(Int32.max)
    /// The longest `elapsed_seconds` accepted (about 317 years).
    public static let maximumElapsedSeconds: Double = 10_000_000_000
}

// MARK: - Decoding with validation

extension PipelineInfo {
    /// Builds a run from a parsed JSON body, collecting every invalid field (SPEC §2.1).
    ///
    /// Unknown members are ignored; `rowcount` and `pid` may be strings holding an integer.
    /// With `.stored`, only types and date-times are checked: data already stored (perhaps by
    /// the old service) is loaded as it is, never refused for a policy added since.
    public init(json: JSONValue, location: FieldIssue.Location = .body, policy: ValidationPolicy = .strict) throws(ValidationError) {
        guard case .object(let members) = json else {
            throw ValidationError(
                FieldIssue(location, "", kind: "model_attributes_type", message: "Input should be a JSON object with the run's fields", input: json)
            )
        }
        var reader = FieldReader(members: members, location: location, isStrict: policy == .strict)
        let startLocal = reader.localDateTime(.startLocal)
        let endLocal = reader.localDateTime(.endLocal)
        let startUTC = reader.instant(.startUTC)
        let endUTC = reader.instant(.endUTC)
        let elapsed = reader.finiteNumber(.elapsedSeconds, maximum: Self.maximumElapsedSeconds)
        let elapsedHuman = reader.string(.elapsedHuman)
        let outputFile = reader.string(.outputFile)
        let rowcount = reader.integer(.rowcount, maximum: Self.maximumRowcount)
        let logFile = reader.string(.logFile)
        let pid = reader.integer(.pid, maximum: Self.maximumPID)
        let dateCode = reader.string(.dateCode)
        let pipelineName = reader.optionalString(.pipelineName)
        let scriptName = reader.optionalString(.scriptName)
        let pipelineType = reader.optionalString(.pipelineType)
        let environment = reader.optionalString(.environment)
        let archivedFile = reader.optionalString(.archivedFile)
        let status = reader.optionalStatus()
        let exitCode = reader.optionalExitCode()
        if policy == .strict, let startUTC, let endUTC, endUTC < startUTC {
            reader.issues.append(
                FieldIssue(
                    location,
                    "end_utc",
                    kind: "end_before_start",
                    message: "end_utc must not be before start_utc (\(startUTC))",
                    input: members["end_utc"]
                )
            )
        }
        guard reader.issues.isEmpty, let startLocal, let endLocal, let startUTC, let endUTC, let elapsed, let elapsedHuman, let outputFile,
            let rowcount, let logFile, let pid, let dateCode
        else {
            throw ValidationError(reader.issues)
        }
        self.init(
            startLocal: startLocal,
            endLocal: endLocal,
            startUTC: startUTC,
            endUTC: endUTC,
            elapsedSeconds: elapsed,
            elapsedHuman: elapsedHuman,
            outputFile: outputFile,
            rowcount: rowcount,
            logFile: logFile,
            pid: pid,
            dateCode: dateCode,
            pipelineName: pipelineName,
            scriptName: scriptName,
            pipelineType: pipelineType,
            environment: environment,
            archivedFile: archivedFile,
            status: status,
            exitCode: exitCode
        )
    }

    /// Parses and validates one JSON document holding a run.
    public init(jsonBytes: some Collection<UInt8>, location: FieldIssue.Location = .body, policy: ValidationPolicy = .strict) throws(ValidationError)
    {
        let value: JSONValue
        do {
            value = try JSONParser.parse(jsonBytes)
        } catch {
            throw ValidationError(FieldIssue(location, "", kind: "json_invalid", message: "JSON decode error: \(error)"))
        }
        try self.init(json: value, location: location, policy: policy)
    }
}

/// How strictly a run is checked.
public enum ValidationPolicy: Sendable, Hashable {
    /// Everything: types, date-times, bounds, lengths, `end_utc` not before `start_utc` (new input).
    case strict
    /// Types and date-times only (runs read back from storage).
    case stored
}

/// Reads typed fields out of a JSON object, recording an issue for each bad one.
private struct FieldReader {
    let members: [String: JSONValue]
    let location: FieldIssue.Location
    let isStrict: Bool
    var issues: [FieldIssue] = []

    private mutating func fail(_ field: PipelineField, _ kind: String, _ message: String, _ input: JSONValue?) {
        issues.append(FieldIssue(location, field.rawValue, kind: kind, message: message, input: input))
    }

    private mutating func present(_ field: PipelineField) -> JSONValue? {
        guard let value = members[field.rawValue], value != .null || field.isOptional else {
            fail(field, "missing", "Field required", nil)
            return nil
        }
        return value
    }

    mutating func string(_ field: PipelineField) -> String? {
        guard let value = present(field) else { return nil }
        guard case .string(let text) = value else {
            fail(field, "string_type", "Input should be a valid string", value)
            return nil
        }
        guard !isStrict || text.utf8.count <= field.maximumLength else {
            fail(field, "string_too_long", "String should have at most \(field.maximumLength) bytes", value)
            return nil
        }
        guard !text.utf8.contains(0) else {
            fail(field, "string_nul", "String must not contain NUL characters", value)
            return nil
        }
        return text
    }

    mutating func optionalString(_ field: PipelineField) -> String? {
        guard let value = members[field.rawValue], value != .null else { return nil }
        return string(field)
    }

    /// `status`: a short, non-blank string without control characters (`success`, `failed`, `running`, …).
    mutating func optionalStatus() -> String? {
        guard let text = optionalString(.status) else { return nil }
        guard !isStrict || (!text.trimmingASCIIWhitespace().isEmpty && !text.utf8.contains(where: RunStatus.isControlByte)) else {
            fail(.status, "string_pattern_mismatch", "String should be a short status such as success, failed or running", .string(text))
            return nil
        }
        return text
    }

    /// `exit_code`: an integer in the 32-bit signed range, negative values included.
    mutating func optionalExitCode() -> Int64? {
        guard let value = members[PipelineField.exitCode.rawValue], value != .null else { return nil }
        let parsed: Int64?
        switch value {
        case .number(let text): parsed = IntegerText.parse(text, allowIntegralFraction: true)
        case .string(let text): parsed = IntegerText.parse(text, allowIntegralFraction: false)
        default:
            fail(.exitCode, "int_type", "Input should be a valid integer", value)
            return nil
        }
        guard let parsed else {
            fail(.exitCode, "int_parsing", "Input should be a valid integer, without a fractional part", value)
            return nil
        }
        guard !isStrict || PipelineInfo.exitCodeRange.contains(parsed) else {
            let range = PipelineInfo.exitCodeRange
            fail(.exitCode, "int_range", "Input should be between \(range.lowerBound) and \(range.upperBound)", value)
            return nil
        }
        return parsed
    }

    mutating func instant(_ field: PipelineField) -> UTCInstant? {
        guard let text = string(field) else { return nil }
        guard let instant = UTCInstant(iso8601: text) else {
            fail(field, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. 2025-09-02T12:07:02Z", .string(text))
            return nil
        }
        return instant
    }

    mutating func localDateTime(_ field: PipelineField) -> LocalDateTime? {
        guard let text = string(field) else { return nil }
        guard let local = LocalDateTime(iso8601: text) else {
            fail(field, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. 2025-09-02 05:07:02", .string(text))
            return nil
        }
        return local
    }

    mutating func integer(_ field: PipelineField, maximum: Int64) -> Int64? {
        guard let value = present(field) else { return nil }
        let parsed: Int64?
        switch value {
        case .number(let text): parsed = IntegerText.parse(text, allowIntegralFraction: true)
        case .string(let text): parsed = IntegerText.parse(text, allowIntegralFraction: false)
        default:
            fail(field, "int_type", "Input should be a valid integer", value)
            return nil
        }
        guard let parsed else {
            fail(field, "int_parsing", "Input should be a valid integer, without a fractional part", value)
            return nil
        }
        guard isStrict else { return parsed }
        guard parsed >= 0 else {
            fail(field, "greater_than_equal", "Input should be greater than or equal to 0", value)
            return nil
        }
        guard parsed <= maximum else {
            fail(field, "less_than_equal", "Input should be less than or equal to \(maximum)", value)
            return nil
        }
        return parsed
    }

    mutating func finiteNumber(_ field: PipelineField, maximum: Double) -> Double? {
        guard let value = present(field) else { return nil }
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string): text = string.trimmingASCIIWhitespace()
        default:
            fail(field, "float_type", "Input should be a valid number", value)
            return nil
        }
        guard IntegerText.isJSONNumber(text), let number = Double(text), number.isFinite else {
            fail(field, "finite_number", "Input should be a finite number", value)
            return nil
        }
        guard isStrict else { return number }
        guard number >= 0 else {
            fail(field, "greater_than_equal", "Input should be greater than or equal to 0", value)
            return nil
        }
        guard number <= maximum else {
            fail(field, "less_than_equal", "Input should be less than or equal to \(Int64(maximum))", value)
            return nil
        }
        return number
    }
}

/// The meaning of a run's `status` and `exit_code` for health and failure counts.
public enum RunStatus {
    public static let success = "success"
    public static let failed = "failed"
    public static let running = "running"

    /// A run failed when its `status` says `failed`, or when it has no status and a non-zero
    /// `exit_code`. Any other status (`success`, `running`, `skipped`, …) is not a failure.
    public static func isFailed(status: String?, exitCode: Int64?) -> Bool {
        if let status { return status == failed }
        if let exitCode { return exitCode != 0 }
        return false
    }

    /// The status a wrapper reports for a finished command with this exit code.
    public static func forExitCode(_ exitCode: Int64) -> String { exitCode == 0 ? success : failed }

    static func isControlByte(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }
}

/// Integer parsing shared by bodies and query strings.
public enum IntegerText {
    /// `"12"`, `" 12 "`, `"-3"`; with `allowIntegralFraction`, also `12.0` and `1.2e3`
    /// (JSON numbers with no fractional part, as Python accepts them). Nil when out of range.
    public static func parse(_ raw: String, allowIntegralFraction: Bool) -> Int64? {
        let text = raw.trimmingASCIIWhitespace()
        // Int64("…") accepts one sign; a leading "+" is dropped first only when a digit follows.
        let unsigned = text.hasPrefix("+") && text.dropFirst().first?.isASCIIDigit == true ? String(text.dropFirst()) : text
        if let exact = Int64(unsigned) { return exact }
        guard allowIntegralFraction, isJSONNumber(text), let number = Double(text), number.isFinite,
            number == number.rounded(), abs(number) < 9.2e18
        else { return nil }
        return Int64(number)
    }

    /// Whether `text` has the grammar of a JSON number (so `nan`, `inf`, `0x10` are not numbers).
    public static func isJSONNumber(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        var sawDigit = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "0"..."9": sawDigit = true
            case "-", "+", ".", "e", "E": continue
            default: return false
            }
        }
        return sawDigit
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks (`\r\n` included).
    public func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

// MARK: - Encoding

extension PipelineInfo {
    /// Writes the run as one JSON object with every field, `null` for absent optional ones.
    public func write(to writer: inout JSONWriter) {
        writer.raw("{\"start_local\":")
        writer.local(startLocal)
        writer.raw(",\"end_local\":")
        writer.local(endLocal)
        writer.raw(",\"start_utc\":")
        writer.instant(startUTC)
        writer.raw(",\"end_utc\":")
        writer.instant(endUTC)
        writer.raw(",\"elapsed_seconds\":")
        writer.double(elapsedSeconds)
        writer.raw(",\"elapsed_human\":")
        writer.string(elapsedHuman)
        writer.raw(",\"output_file\":")
        writer.string(outputFile)
        writer.raw(",\"rowcount\":")
        writer.integer(rowcount)
        writer.raw(",\"log_file\":")
        writer.string(logFile)
        writer.raw(",\"pid\":")
        writer.integer(pid)
        writer.raw(",\"date_code\":")
        writer.string(dateCode)
        writer.raw(",\"pipeline_name\":")
        writer.optionalString(pipelineName)
        writer.raw(",\"script_name\":")
        writer.optionalString(scriptName)
        writer.raw(",\"pipeline_type\":")
        writer.optionalString(pipelineType)
        writer.raw(",\"environment\":")
        writer.optionalString(environment)
        writer.raw(",\"archived_file\":")
        writer.optionalString(archivedFile)
        writer.raw(",\"status\":")
        writer.optionalString(status)
        writer.raw(",\"exit_code\":")
        writer.optionalInteger(exitCode)
        writer.raw("}")
    }

    /// The run as one compact JSON object.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 640)
        write(to: &writer)
        return writer.bytes
    }
}
