/// The fields of a run by their JSON names, in the one order every encoder and decoder follows:
/// responses and exports write them in this order, SQL statements select them in this order, and
/// every decoder reads them in this order through ``PipelineInfo/init(decoding:)``.
///
/// Adding a field: a case here (with its kind, and its limits when it has any), the property in
/// ``PipelineInfo`` with its lines in `value(of:)` and `init(decoding:)`, and one migration per
/// SQL backend.
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
    case runID = "run_id"

    /// The fields that group runs into pipeline signatures, in signature order.
    public static let signatureFields: [PipelineField] = [.pipelineName, .scriptName, .pipelineType, .environment]

    /// The value type of a field.
    public enum Kind: Sendable, Hashable {
        case localDateTime
        case instant
        case number
        case text
        case optionalText
        case integer
        case optionalInteger
    }

    public var kind: Kind {
        switch self {
        case .startLocal, .endLocal: .localDateTime
        case .startUTC, .endUTC: .instant
        case .elapsedSeconds: .number
        case .elapsedHuman, .outputFile, .logFile, .dateCode: .text
        case .pipelineName, .scriptName, .pipelineType, .environment, .archivedFile, .status, .runID: .optionalText
        case .rowcount, .pid: .integer
        case .exitCode: .optionalInteger
        }
    }

    /// Whether a record may leave this field out or send `null`.
    public var isOptional: Bool { kind == .optionalText || kind == .optionalInteger }

    /// Extension fields added after the original service: an existing SQL table may lack their
    /// columns, and the service then runs without them.
    public var isExtension: Bool {
        switch self {
        case .status, .exitCode, .runID: true
        default: false
        }
    }

    /// The end of a run: a run still `running` has none, stores placeholders (its start, 0, ""),
    /// and is written with `null` in these fields.
    public static let unsetWhileRunning: Set<PipelineField> = [.endLocal, .endUTC, .elapsedSeconds, .elapsedHuman]

    /// The required fields a `running` run may leave out: its end, and what only its end knows.
    public static let awaitedWhileRunning: Set<PipelineField> = unsetWhileRunning.union([.outputFile, .rowcount, .logFile])

    /// The longest string accepted in this field, in UTF-8 bytes (string fields only).
    public var maximumLength: Int {
        switch self {
        case .outputFile, .logFile, .archivedFile: 4096
        case .pipelineName, .scriptName: 256
        case .pipelineType, .environment: 64
        case .status: 32
        case .runID: RunID.length
        case .dateCode, .elapsedHuman: 128
        default: 64
        }
    }

    /// The integers accepted from clients in an integer field (stored data is read as it is).
    public var acceptedIntegers: ClosedRange<Int64> {
        switch self {
        case .rowcount: 0...PipelineInfo.maximumRowcount
        case .pid: 0...PipelineInfo.maximumPID
        case .exitCode: PipelineInfo.exitCodeRange
        default: Int64.min...Int64.max
        }
    }
}

// MARK: - Values

/// A value of one of the model's field types. SQL statements bind these, and every encoder
/// writes them, so a field's representation is decided once. Text is equal when its bytes are
/// (``ExactText``).
public enum FieldValue: Sendable, Hashable {
    case text(String?)
    case integer(Int64?)
    case double(Double)
    case instant(UTCInstant)
    case local(LocalDateTime)

    public static func == (lhs: FieldValue, rhs: FieldValue) -> Bool {
        switch (lhs, rhs) {
        case (.text(let left), .text(let right)): ExactText.equal(left, right)
        case (.integer(let left), .integer(let right)): left == right
        case (.double(let left), .double(let right)): left == right
        case (.instant(let left), .instant(let right)): left == right
        case (.local(let left), .local(let right)): left == right
        case (.text, _), (.integer, _), (.double, _), (.instant, _), (.local, _): false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .text(let value):
            hasher.combine(0)
            ExactText.hash(value, into: &hasher)
        case .integer(let value):
            hasher.combine(1)
            hasher.combine(value)
        case .double(let value):
            hasher.combine(2)
            hasher.combine(value)
        case .instant(let value):
            hasher.combine(3)
            hasher.combine(value)
        case .local(let value):
            hasher.combine(4)
            hasher.combine(value)
        }
    }
}

extension PipelineInfo {
    /// Two runs are equal when every field is, text by its bytes (``ExactText``): a run posted
    /// again in another spelling is another run, not the stored one.
    public static func == (lhs: PipelineInfo, rhs: PipelineInfo) -> Bool {
        PipelineField.allCases.allSatisfy { lhs.value(of: $0) == rhs.value(of: $0) }
    }

    public func hash(into hasher: inout Hasher) {
        for field in PipelineField.allCases { hasher.combine(value(of: field)) }
    }

    /// The value of one field.
    public func value(of field: PipelineField) -> FieldValue {
        switch field {
        case .startLocal: .local(startLocal)
        case .endLocal: .local(endLocal)
        case .startUTC: .instant(startUTC)
        case .endUTC: .instant(endUTC)
        case .elapsedSeconds: .double(elapsedSeconds)
        case .elapsedHuman: .text(elapsedHuman)
        case .outputFile: .text(outputFile)
        case .rowcount: .integer(rowcount)
        case .logFile: .text(logFile)
        case .pid: .integer(pid)
        case .dateCode: .text(dateCode)
        case .pipelineName: .text(pipelineName)
        case .scriptName: .text(scriptName)
        case .pipelineType: .text(pipelineType)
        case .environment: .text(environment)
        case .archivedFile: .text(archivedFile)
        case .status: .text(status)
        case .exitCode: .integer(exitCode)
        case .runID: .text(runID)
        }
    }
}

// MARK: - Decoding

/// Reads the fields of one run, each in its own type, in ``PipelineField`` order: every place a
/// run is read back (a JSON body, a stored line, a SQL row) is one of these, and
/// ``PipelineInfo/init(decoding:)`` is the one place that assembles a run from its fields.
///
/// A decoder over an ordered source (columns of a row) may simply take the next value on each
/// call; the field tells a keyed source (a JSON object) which member to read.
public protocol FieldDecoder {
    associatedtype Failure: Error
    mutating func localDateTime(_ field: PipelineField) throws(Failure) -> LocalDateTime
    mutating func instant(_ field: PipelineField) throws(Failure) -> UTCInstant
    mutating func number(_ field: PipelineField) throws(Failure) -> Double
    mutating func text(_ field: PipelineField) throws(Failure) -> String
    mutating func optionalText(_ field: PipelineField) throws(Failure) -> String?
    mutating func integer(_ field: PipelineField) throws(Failure) -> Int64
    mutating func optionalInteger(_ field: PipelineField) throws(Failure) -> Int64?
}

extension PipelineInfo {
    /// A run read field by field, in ``PipelineField`` order, each with the method of its kind.
    @inlinable
    public init<Decoder: FieldDecoder>(decoding decoder: inout Decoder) throws(Decoder.Failure) {
        self.init(
            startLocal: try decoder.localDateTime(.startLocal),
            endLocal: try decoder.localDateTime(.endLocal),
            startUTC: try decoder.instant(.startUTC),
            endUTC: try decoder.instant(.endUTC),
            elapsedSeconds: try decoder.number(.elapsedSeconds),
            elapsedHuman: try decoder.text(.elapsedHuman),
            outputFile: try decoder.text(.outputFile),
            rowcount: try decoder.integer(.rowcount),
            logFile: try decoder.text(.logFile),
            pid: try decoder.integer(.pid),
            dateCode: try decoder.text(.dateCode),
            pipelineName: try decoder.optionalText(.pipelineName),
            scriptName: try decoder.optionalText(.scriptName),
            pipelineType: try decoder.optionalText(.pipelineType),
            environment: try decoder.optionalText(.environment),
            archivedFile: try decoder.optionalText(.archivedFile),
            status: try decoder.optionalText(.status),
            exitCode: try decoder.optionalInteger(.exitCode),
            runID: try decoder.optionalText(.runID)
        )
    }
}

extension PipelineInfo {
    /// This run with `fields` absent: each optional one becomes `null`; a required one keeps its
    /// value. What a table without columns for some optional fields gives back.
    public func removingValues(of fields: Set<PipelineField>) -> PipelineInfo {
        guard !fields.isEmpty else { return self }
        var copier = FieldCopier(run: self, absent: fields)
        return PipelineInfo(decoding: &copier)
    }
}

/// Reads a run's own values back through ``PipelineInfo/value(of:)``, the absent optional ones as nil.
private struct FieldCopier: FieldDecoder {
    typealias Failure = Never

    let run: PipelineInfo
    let absent: Set<PipelineField>

    func localDateTime(_ field: PipelineField) -> LocalDateTime {
        if case .local(let value) = run.value(of: field) { return value }
        return LocalDateTime(wallMicroseconds: 0)
    }

    func instant(_ field: PipelineField) -> UTCInstant {
        if case .instant(let value) = run.value(of: field) { return value }
        return UTCInstant(microsecondsSinceEpoch: 0)
    }

    func number(_ field: PipelineField) -> Double {
        if case .double(let value) = run.value(of: field) { return value }
        return 0
    }

    func text(_ field: PipelineField) -> String {
        if case .text(let value?) = run.value(of: field) { return value }
        return ""
    }

    func optionalText(_ field: PipelineField) -> String? {
        guard !absent.contains(field), case .text(let value) = run.value(of: field) else { return nil }
        return value
    }

    func integer(_ field: PipelineField) -> Int64 {
        if case .integer(let value?) = run.value(of: field) { return value }
        return 0
    }

    func optionalInteger(_ field: PipelineField) -> Int64? {
        guard !absent.contains(field), case .integer(let value) = run.value(of: field) else { return nil }
        return value
    }
}

// MARK: - Signatures

/// A type holding one value per signature field, under the fields' own names: a signature holds
/// the values, a filter the conditions on them.
public protocol SignatureFields {
    associatedtype Value
    var pipelineName: Value { get set }
    var scriptName: Value { get set }
    var pipelineType: Value { get set }
    var environment: Value { get set }
}

extension SignatureFields {
    /// The value held for one of the ``PipelineField/signatureFields``; nil for any other field
    /// (and setting nil changes nothing). The one place a signature field is mapped to the
    /// property that keeps it. A plain switch, not key paths: a key path formed in a generic
    /// context is instantiated at run time on every use, which costs more than the lookup.
    @inlinable
    public subscript(held field: PipelineField) -> Value? {
        get {
            switch field {
            case .pipelineName: pipelineName
            case .scriptName: scriptName
            case .pipelineType: pipelineType
            case .environment: environment
            default: nil
            }
        }
        set {
            guard let newValue else { return }
            switch field {
            case .pipelineName: pipelineName = newValue
            case .scriptName: scriptName = newValue
            case .pipelineType: pipelineType = newValue
            case .environment: environment = newValue
            default: break
            }
        }
    }
}

extension PipelineSignature: SignatureFields {
    /// The value of one of the ``PipelineField/signatureFields`` (nil for any other field).
    @inlinable
    public subscript(field: PipelineField) -> String? {
        self[held: field] ?? nil
    }

    /// A signature read field by field, in ``PipelineField/signatureFields`` order.
    public init<Failure: Error>(reading value: (PipelineField) throws(Failure) -> String?) throws(Failure) {
        self.init(pipelineName: nil, scriptName: nil, pipelineType: nil, environment: nil)
        for field in PipelineField.signatureFields {
            self[held: field] = .some(try value(field))
        }
    }

    /// The four values in ``PipelineField/signatureFields`` order.
    public var values: [String?] { PipelineField.signatureFields.map { self[$0] } }
}
