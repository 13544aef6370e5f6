// MARK: - Decoding with validation

extension PipelineInfo {
    /// Builds a run from a parsed JSON body, collecting every invalid field.
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
        reader.isRunning = members[PipelineField.status.rawValue] == .string(RunStatus.running)
        var run = PipelineInfo(decoding: &reader)
        if reader.isRunning { run.clearEnd() }
        // Fields that failed were read as placeholders: the run is only used when none did.
        if policy == .strict, !reader.failed.contains(.startUTC), !reader.failed.contains(.endUTC), run.endUTC < run.startUTC {
            reader.issues.append(
                FieldIssue(
                    location,
                    PipelineField.endUTC.rawValue,
                    kind: "end_before_start",
                    message: "end_utc must not be before start_utc (\(run.startUTC))",
                    input: members[PipelineField.endUTC.rawValue]
                )
            )
        }
        guard reader.issues.isEmpty else { throw ValidationError(reader.issues) }
        self = policy == .strict ? run.normalized : run
    }

    /// Sets the end of a running run to its placeholders: what it stores until it ends, so that
    /// the same running record posted twice is the same run.
    public mutating func clearEnd() {
        (endLocal, endUTC, elapsedSeconds, elapsedHuman) = (startLocal, startUTC, 0, "")
    }

    /// Whether this finished run was stored from its end alone, not knowing its start (it starts
    /// where it ends: 0 s, as an OpenLineage COMPLETE that came before its START is stored), and
    /// `later` is the same run with that start: every other value equal, starting before it.
    /// Such a run is not final for its start: `later` replaces it.
    public func isCompleted(startBy later: PipelineInfo) -> Bool {
        guard !isRunning, !later.isRunning, startUTC == endUTC, elapsedSeconds == 0, later.startUTC < startUTC else { return false }
        var sameStart = later
        (sameStart.startUTC, sameStart.startLocal, sameStart.dateCode) = (startUTC, startLocal, dateCode)
        (sameStart.elapsedSeconds, sameStart.elapsedHuman) = (elapsedSeconds, elapsedHuman)
        return sameStart == self
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

/// Reads typed fields out of a JSON object, recording an issue for each bad one and going on
/// with a placeholder, so that one request hears of every bad field at once.
private struct FieldReader: FieldDecoder {
    let members: [String: JSONValue]
    let location: FieldIssue.Location
    let isStrict: Bool
    /// A `running` run may leave out ``PipelineField/awaitedWhileRunning``.
    var isRunning = false
    var issues: [FieldIssue] = []
    /// The fields read as placeholders.
    var failed: Set<PipelineField> = []

    private mutating func fail(_ field: PipelineField, _ kind: String, _ message: String, _ input: JSONValue?) {
        issues.append(FieldIssue(location, field.rawValue, kind: kind, message: message, input: input))
        failed.insert(field)
    }

    private mutating func present(_ field: PipelineField) -> JSONValue? {
        guard let value = members[field.rawValue], value != .null || field.isOptional else {
            if isRunning, PipelineField.awaitedWhileRunning.contains(field) { return nil }
            fail(field, "missing", "Field required", nil)
            return nil
        }
        return value
    }

    private mutating func checkedString(_ field: PipelineField) -> String? {
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
        // `status` is a short word for people and dashboards: something visible, on one line.
        if isStrict, field == .status, text.trimmingASCIIWhitespace().isEmpty || text.utf8.contains(where: RunStatus.isControlByte) {
            fail(field, "string_pattern_mismatch", "String should be a short status such as success, failed or running", value)
            return nil
        }
        if field == .runID {
            guard let id = RunID.canonical(text) else {
                // Stored data keeps what it holds; a client's id must be one.
                if !isStrict { return text }
                fail(field, "uuid_parsing", "Input should be a valid UUID, e.g. 0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", value)
                return nil
            }
            return id
        }
        return text
    }

    mutating func text(_ field: PipelineField) -> String {
        checkedString(field) ?? ""
    }

    mutating func optionalText(_ field: PipelineField) -> String? {
        guard let value = members[field.rawValue], value != .null else { return nil }
        return checkedString(field)
    }

    mutating func instant(_ field: PipelineField) -> UTCInstant {
        dateTime(field, example: "2025-09-02T12:07:02Z", UTCInstant.init(iso8601:)) ?? UTCInstant(microsecondsSinceEpoch: 0)
    }

    mutating func localDateTime(_ field: PipelineField) -> LocalDateTime {
        dateTime(field, example: "2025-09-02 05:07:02", LocalDateTime.init(iso8601:)) ?? LocalDateTime(wallMicroseconds: 0)
    }

    private mutating func dateTime<Value>(_ field: PipelineField, example: String, _ parse: (String) -> Value?) -> Value? {
        guard let text = checkedString(field) else { return nil }
        guard let value = parse(text) else {
            fail(field, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. \(example)", .string(text))
            return nil
        }
        return value
    }

    mutating func integer(_ field: PipelineField) -> Int64 {
        checkedInteger(field) ?? 0
    }

    mutating func optionalInteger(_ field: PipelineField) -> Int64? {
        guard let value = members[field.rawValue], value != .null else { return nil }
        return checkedInteger(field)
    }

    private mutating func checkedInteger(_ field: PipelineField) -> Int64? {
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
        let range = field.acceptedIntegers
        guard parsed >= range.lowerBound else {
            fail(field, "greater_than_equal", "Input should be greater than or equal to \(range.lowerBound)", value)
            return nil
        }
        guard parsed <= range.upperBound else {
            fail(field, "less_than_equal", "Input should be less than or equal to \(range.upperBound)", value)
            return nil
        }
        return parsed
    }

    mutating func number(_ field: PipelineField) -> Double {
        guard let value = present(field) else { return 0 }
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string): text = string.trimmingASCIIWhitespace()
        default:
            fail(field, "float_type", "Input should be a valid number", value)
            return 0
        }
        guard IntegerText.isJSONNumber(text), let number = Double(text), number.isFinite else {
            fail(field, "finite_number", "Input should be a finite number", value)
            return 0
        }
        guard isStrict else { return number }
        guard number >= 0 else {
            fail(field, "greater_than_equal", "Input should be greater than or equal to 0", value)
            return 0
        }
        guard number <= PipelineInfo.maximumElapsedSeconds else {
            fail(field, "less_than_equal", "Input should be less than or equal to \(Int64(PipelineInfo.maximumElapsedSeconds))", value)
            return 0
        }
        return number
    }
}

/// The meaning of a run's `status` and `exit_code` for health and failure counts.
public enum RunStatus {
    public static let success = "success"
    public static let failed = "failed"
    public static let running = "running"
    public static let aborted = "aborted"

    /// The statuses that end a run. A run may also end with another short word (`skipped`…);
    /// only `running` keeps it open.
    public static let terminal: [String] = [success, failed, aborted]

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
