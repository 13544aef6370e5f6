public import PipelineCore

/// A storage failure, safe to show to clients: messages never carry SQL, file paths or secrets.
///
/// A struct around a private code, so cases can be added without breaking callers
/// (the style of PostgresNIO's `PSQLError`).
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case conflict(RunKey)
        case changed(RunKey)
        case keyTaken(RunKey, columns: [String], constraint: String)
        case refused(FieldIssue)
        case tooManySignatures(Int)
        case unavailable(String)
        case storageFull
        case readOnly
        case corrupt(String)
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// A different run is already stored under this (`pipeline_name`, `date_code`).
    public static func conflict(_ key: RunKey) -> StorageError { StorageError(.conflict(key)) }
    /// The run stored under this key is no longer the one a merged write started from (another
    /// write of the same run came between the read and the write); nothing was stored. The writer
    /// reads the run again and merges anew; a client that sees it (409) sends its write again.
    public static func changed(_ key: RunKey) -> StorageError { StorageError(.changed(key)) }
    /// A different run already holds the values of one of the table's other unique keys (a
    /// `UNIQUE (pipeline_name, date_code)` a DBA added, a unique index on some column): the
    /// write is refused as a conflict on its key, naming the unique key's columns and constraint.
    public static func keyTaken(_ key: RunKey, columns: [String], constraint: String) -> StorageError {
        StorageError(.keyTaken(key, columns: columns, constraint: constraint))
    }
    /// The table refused the run for a rule of its own (a NOT NULL or CHECK constraint, a value
    /// its column cannot hold): the client's to change, answered as a validation issue (422)
    /// naming the field (and, in a batch, the run's index) where the table says which it is.
    public static func refused(_ issue: FieldIssue) -> StorageError { StorageError(.refused(issue)) }
    /// The run would add a pipeline signature beyond the most the repository keeps; nothing was stored.
    public static func tooManySignatures(limit: Int) -> StorageError { StorageError(.tooManySignatures(limit)) }
    /// The backend cannot be reached or used right now; `reason` is for clients (no internals).
    public static func unavailable(_ reason: String) -> StorageError { StorageError(.unavailable(reason)) }
    /// The disk is full: nothing was stored.
    public static let storageFull = StorageError(.storageFull)
    /// The storage refuses writes (read-only file or database).
    public static let readOnly = StorageError(.readOnly)
    /// Stored data could not be read back as a valid run.
    public static func corrupt(_ reason: String) -> StorageError { StorageError(.corrupt(reason)) }

    /// The key of a conflict, if this is one: a different run stored under it, or a merged write's
    /// run changed since it was read. Either way only that write is refused.
    public var conflictingKey: RunKey? {
        switch code {
        case .conflict(let key), .changed(let key), .keyTaken(let key, _, _): key
        default: nil
        }
    }

    /// Whether this is ``changed(_:)``: worth merging again on what is stored now.
    public var isChangedSinceRead: Bool {
        if case .changed = code { return true }
        return false
    }

    /// The columns of the unique key a different run holds, when this is ``keyTaken(_:columns:constraint:)``.
    public var takenKeyColumns: [String]? {
        if case .keyTaken(_, let columns, _) = code { return columns }
        return nil
    }

    /// Why the table refused the run, when this is ``refused(_:)``.
    public var refusal: FieldIssue? {
        if case .refused(let issue) = code { return issue }
        return nil
    }

    /// The limit a refused new signature ran into, if this is such a refusal.
    public var signatureLimit: Int? {
        if case .tooManySignatures(let limit) = code { return limit }
        return nil
    }

    /// Whether the failure is the backend's state, not the request's (answer 503 and retry later).
    public var isUnavailable: Bool {
        switch code {
        case .conflict, .changed, .keyTaken, .refused, .tooManySignatures: false
        case .unavailable, .storageFull, .readOnly, .corrupt: true
        }
    }

    public var description: String {
        switch code {
        case .conflict(let key):
            "A different run is already stored for \(key); resend it unchanged or use a new \(key.hasOwnID ? "run_id" : "date_code")"
        case .keyTaken(_, let columns, let constraint) where columns.isEmpty:
            "A different run already holds the table's unique key \(constraint); resend it unchanged or change the values that key covers"
        case .keyTaken(_, let columns, let constraint):
            "A different run is already stored with the same \(columns.joined(separator: ", ")) (unique key \(constraint) of the table); resend it unchanged or change \(columns.count == 1 ? "it" : "them")"
        case .refused(let issue):
            "The table refused the run: \(issue.message)"
        case .changed(let key):
            "The run \(key) changed while this write was applied; nothing was stored: send it again"
        case .tooManySignatures(let limit):
            "This run would add a new pipeline (pipeline_name, script_name, pipeline_type, environment) beyond the \(limit) this service keeps (\(Setting.maxPipelines.environmentName)); nothing was stored"
        case .unavailable(let reason):
            "Storage is unavailable: \(reason)"
        case .storageFull:
            "Storage is full: the run was not stored; retry when space has been freed"
        case .readOnly:
            "Storage is read-only: the run was not stored"
        case .corrupt(let reason):
            "Stored data is unreadable: \(reason)"
        }
    }
}

/// The storage cannot be reached yet, though its settings may well be right: the database refuses
/// connections, does not answer, or is still starting up. Containers start in any order, so
/// start-up may wait and try again; ``error`` is what to report if the storage never answers.
public struct StorageUnreachable: Error, Sendable, CustomStringConvertible {
    /// The failure as a setting error, naming the setting and the reason (never a password).
    public let error: ConfigurationError

    public init(_ error: ConfigurationError) {
        self.error = error
    }

    public var description: String { error.description }
}
