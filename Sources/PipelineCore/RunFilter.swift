/// A condition on one signature field: exactly this value (the same bytes, ``ExactText``), or no
/// value at all.
public enum FieldCondition: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    case equals(String)
    /// The field is absent (`null`): a signature's missing value is a value of its own.
    case isNull

    public init(stringLiteral value: String) {
        self = .equals(value)
    }

    /// Exactly `value`, where a missing value asks for a missing field.
    public init(exactly value: String?) {
        self = value.map(FieldCondition.equals) ?? .isNull
    }

    @inlinable
    public func matches(_ value: String?) -> Bool {
        switch self {
        case .equals(let wanted): value.map { ExactText.equal($0, wanted) } ?? false
        case .isNull: value == nil
        }
    }

    public static func == (lhs: FieldCondition, rhs: FieldCondition) -> Bool {
        switch (lhs, rhs) {
        case (.equals(let left), .equals(let right)): ExactText.equal(left, right)
        case (.isNull, .isNull): true
        case (.equals, .isNull), (.isNull, .equals): false
        }
    }

    public func hash(into hasher: inout Hasher) {
        ExactText.hash(value, into: &hasher)
    }

    /// The value asked for; nil for `.isNull`.
    public var value: String? {
        if case .equals(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .equals(let value): value
        case .isNull: "null"
        }
    }
}

/// Which runs a query wants. Every condition is optional; all given ones must hold.
public struct RunFilter: Sendable, Hashable, SignatureFields {
    /// Runs with `start_utc >= startUTCFrom`.
    public var startUTCFrom: UTCInstant?
    /// Runs with `end_utc <= endUTCTo` (and so, since a run ends after it starts, `start_utc <= endUTCTo`:
    /// that is checked too, so a stored run whose end precedes its start cannot slip into a window it starts after).
    public var endUTCTo: UTCInstant?
    /// Inclusive lower bound on `rowcount`.
    public var minRowcount: Int64?
    /// Inclusive upper bound on `rowcount`.
    public var maxRowcount: Int64?
    public var pipelineName: FieldCondition?
    public var scriptName: FieldCondition?
    public var pipelineType: FieldCondition?
    public var environment: FieldCondition?
    /// Runs with exactly this `date_code`.
    public var dateCode: String?
    /// Runs whose `status` is exactly this (or, for `.isNull`, that have none).
    ///
    /// Without it, runs still `running` are left out (unless `runID` names one): every answer
    /// an old client reads holds finished runs only, as it always did.
    public var status: FieldCondition?
    /// The run with this id (canonical, ``RunID``).
    public var runID: String?

    public init(
        startUTCFrom: UTCInstant? = nil,
        endUTCTo: UTCInstant? = nil,
        minRowcount: Int64? = nil,
        maxRowcount: Int64? = nil,
        pipelineName: FieldCondition? = nil,
        scriptName: FieldCondition? = nil,
        pipelineType: FieldCondition? = nil,
        environment: FieldCondition? = nil,
        dateCode: String? = nil,
        status: FieldCondition? = nil,
        runID: String? = nil
    ) {
        (self.startUTCFrom, self.endUTCTo, self.minRowcount, self.maxRowcount) = (startUTCFrom, endUTCTo, minRowcount, maxRowcount)
        (self.pipelineName, self.scriptName, self.pipelineType, self.environment) = (pipelineName, scriptName, pipelineType, environment)
        (self.dateCode, self.status, self.runID) = (dateCode, status, runID)
    }

    /// The runs of exactly this signature: each field equal to its value, or null where it has none.
    public init(signature: PipelineSignature) {
        self.init()
        restrict(to: signature)
    }

    /// Adds the conditions that select exactly this signature, replacing any on its fields.
    public mutating func restrict(to signature: PipelineSignature) {
        for field in PipelineField.signatureFields {
            self[signatureField: field] = FieldCondition(exactly: signature[field])
        }
    }

    /// The condition on one of the ``PipelineField/signatureFields`` (always nil for other fields).
    @inlinable
    public subscript(signatureField field: PipelineField) -> FieldCondition? {
        get { self[held: field] ?? nil }
        set { self[held: field] = .some(newValue) }
    }

    /// The conditions on signature fields, in signature order.
    public var signatureConditions: [(field: PipelineField, condition: FieldCondition)] {
        PipelineField.signatureFields.compactMap { field in self[signatureField: field].map { (field, $0) } }
    }

    /// Whether the filter has no condition but on signature fields (a summary can count its matches).
    public var isSignatureOnly: Bool {
        startUTCFrom == nil && endUTCTo == nil && minRowcount == nil && maxRowcount == nil && dateCode == nil && status == nil && runID == nil
    }

    /// Whether runs still `running` can match: the filter asks for that status, or names a run.
    @inlinable
    public var includesRunning: Bool {
        runID != nil || status == .equals(RunStatus.running)
    }

    /// Whether only runs still `running` can match (they are kept apart by some backends).
    public var selectsOnlyRunning: Bool { status == .equals(RunStatus.running) }

    /// Whether the run satisfies every condition.
    @inlinable
    public func matches(_ run: PipelineInfo) -> Bool {
        if let startUTCFrom, run.startUTC < startUTCFrom { return false }
        if let endUTCTo, run.endUTC > endUTCTo || run.startUTC > endUTCTo { return false }
        if let minRowcount, run.rowcount < minRowcount { return false }
        if let maxRowcount, run.rowcount > maxRowcount { return false }
        if let pipelineName, !pipelineName.matches(run.pipelineName) { return false }
        if let scriptName, !scriptName.matches(run.scriptName) { return false }
        if let pipelineType, !pipelineType.matches(run.pipelineType) { return false }
        if let environment, !environment.matches(run.environment) { return false }
        if let dateCode, !ExactText.equal(run.dateCode, dateCode) { return false }
        if let status, !status.matches(run.status) { return false }
        if let runID, !ExactText.equal(run.runID, runID) { return false }
        if !includesRunning, run.isRunning { return false }
        return true
    }

    /// A stable hash of the filter set, so a cursor can prove it belongs to these filters.
    public var fingerprint: UInt64 {
        func condition(_ condition: FieldCondition?) -> String {
            switch condition {
            case nil: "-"
            // Length-prefixed, so no value can imitate a separator.
            case .equals(let value): "=\(value.utf8.count):" + value
            case .isNull: "0"
            }
        }
        var parts: [String] = [
            startUTCFrom.map { String($0.microsecondsSinceEpoch) } ?? "-",
            endUTCTo.map { String($0.microsecondsSinceEpoch) } ?? "-",
            minRowcount.map { String($0) } ?? "-",
            maxRowcount.map { String($0) } ?? "-",
        ]
        parts += PipelineField.signatureFields.map { condition(self[signatureField: $0]) }
        // Added after the others, and only when set: cursors of filters without it keep their fingerprint.
        if let dateCode { parts.append("=\(dateCode.utf8.count):" + dateCode) }
        if let status { parts.append("status" + condition(status)) }
        if let runID { parts.append("run_id=" + runID) }
        return FNV1a.hash(parts.joined(separator: "\u{1F}").utf8)
    }
}
