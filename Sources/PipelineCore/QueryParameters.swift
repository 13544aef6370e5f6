/// Reads URL query parameters with the rules every endpoint shares: the last value of a repeated
/// name wins, an empty value counts as absent, and every bad value becomes a ``FieldIssue``
/// naming its parameter, so a request hears of all of them at once.
///
/// Each endpoint's query type reads its parameters through one of these, so the same parameter
/// (`pipeline_name`, `start_utc`, …) is checked the same way everywhere.
public struct QueryParameters: Sendable {
    /// The longest text value accepted, in UTF-8 bytes (the longest field a run can hold).
    public static let maximumTextLength = 4096

    private var values: [String: String] = [:]
    /// Every name given, in first-seen order, empty values included.
    private var names: [String] = []
    public private(set) var issues: [FieldIssue] = []

    public init(_ pairs: [(name: String, value: String)]) {
        var seen: Set<String> = []
        for (name, value) in pairs {
            values[name] = value.isEmpty ? nil : value
            if seen.insert(name).inserted { names.append(name) }
        }
    }

    /// The raw value of a parameter, when it is present.
    public func raw(_ name: String) -> String? { values[name] }

    /// Records a problem with a parameter.
    public mutating func fail(_ name: String, _ kind: String, _ message: String) {
        issues.append(FieldIssue(.query, name, kind: kind, message: message, input: values[name].map(JSONValue.string)))
    }

    /// Throws every issue recorded so far, if any.
    public func validate() throws(ValidationError) {
        guard issues.isEmpty else { throw ValidationError(issues) }
    }

    /// Throws every issue recorded so far and one for each name the endpoint does not read: a
    /// misspelt filter (`?statsu=failed`) would otherwise answer as if there were no filter at all.
    public func validate(reading known: [QueryParameter]) throws(ValidationError) {
        let knownNames = Set(known.map(\.rawValue))
        let unknown = names.filter { !knownNames.contains($0) }.map { name in
            FieldIssue(
                .query,
                name,
                kind: "extra_forbidden",
                message: "Unknown query parameter; this endpoint reads \(known.map(\.rawValue).joined(separator: ", "))",
                input: values[name].map(JSONValue.string)
            )
        }
        let all = issues + unknown
        guard all.isEmpty else { throw ValidationError(all) }
    }

    public mutating func instant(_ name: String) -> UTCInstant? {
        guard let text = values[name] else { return nil }
        guard let instant = UTCInstant(iso8601: text) else {
            fail(name, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. 2025-09-02T12:07:02Z")
            return nil
        }
        return instant
    }

    public mutating func integer(_ name: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let number = IntegerText.parse(text, allowIntegralFraction: false) else {
            fail(name, "int_parsing", "Input should be a valid integer, unable to parse string as an integer")
            return nil
        }
        guard number >= range.lowerBound else {
            fail(name, "greater_than_equal", "Input should be greater than or equal to \(range.lowerBound)")
            return nil
        }
        guard number <= range.upperBound else {
            fail(name, "less_than_equal", "Input should be less than or equal to \(range.upperBound)")
            return nil
        }
        return number
    }

    /// Text of at most ``maximumTextLength`` bytes without NUL characters (no stored value holds one).
    public mutating func text(_ name: String) -> String? {
        guard let text = values[name] else { return nil }
        guard text.utf8.count <= Self.maximumTextLength, !text.utf8.contains(0) else {
            fail(name, "string_invalid", "Input should be a string of at most \(Self.maximumTextLength) bytes without NUL characters")
            return nil
        }
        return text
    }

    /// `true`/`false` and the other spellings Python's parser accepts.
    /// A run id (any UUID spelling), in its canonical form.
    public mutating func runID(_ name: String) -> String? {
        guard let text = text(name) else { return nil }
        guard let id = RunID.canonical(text) else {
            fail(name, "uuid_parsing", "Input should be a valid UUID, e.g. 0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")
            return nil
        }
        return id
    }

    public mutating func flag(_ name: String) -> Bool? {
        guard let text = values[name] else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on", "t", "y": return true
        case "false", "0", "no", "off", "f", "n": return false
        default:
            fail(name, "bool_parsing", "Input should be a valid boolean, unable to interpret input")
            return nil
        }
    }

    /// One of a fixed set of words (any case).
    public mutating func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, of type: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let text = values[name] else { return nil }
        guard let choice = Choice(rawValue: text.lowercased()) else {
            fail(name, "enum", "Input should be \(Choice.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
            return nil
        }
        return choice
    }

    /// The exact-match conditions on the four signature fields (`pipeline_name`, `script_name`,
    /// `pipeline_type`, `environment`), each under its field's name.
    public mutating func signatureConditions(into filter: inout RunFilter) {
        for field in PipelineField.signatureFields {
            filter[signatureField: field] = text(field.rawValue).map(FieldCondition.equals)
        }
    }
}
