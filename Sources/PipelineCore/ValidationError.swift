/// One reason a request was refused, in the shape FastAPI callers already parse:
/// `{"type": "missing", "loc": ["body", "rowcount"], "msg": "Field required", "input": …}`.
public struct FieldIssue: Sendable, Hashable, CustomStringConvertible {
    /// Where the bad value came from.
    public enum Location: String, Sendable, Hashable {
        case body
        case query
        case path
        case header
    }

    public var location: Location
    /// The field or parameter name; for a batch, the index of the run comes first.
    public var path: [PathElement]
    /// A stable machine-readable kind (`missing`, `int_parsing`, `less_than_equal`, …).
    public var kind: String
    /// A sentence for a person.
    public var message: String
    /// The value that was refused, when there is one worth echoing (cut to 200 characters).
    public var input: JSONValue?

    public enum PathElement: Sendable, Hashable, CustomStringConvertible {
        case name(String)
        case index(Int)

        public var description: String {
            switch self {
            case .name(let name): name
            case .index(let index): String(index)
            }
        }
    }

    public init(_ location: Location, _ field: String, kind: String, message: String, input: JSONValue? = nil) {
        self.location = location
        self.path = field.isEmpty ? [] : [.name(field)]
        self.kind = kind
        self.message = message
        self.input = input.map(Self.trimmed)
    }

    /// The field name as a dotted path (`rowcount`, `3.start_utc`).
    public var field: String { path.map(\.description).joined(separator: ".") }

    public var description: String { (field.isEmpty ? location.rawValue : "\(location.rawValue).\(field)") + ": " + message }

    private static func trimmed(_ value: JSONValue) -> JSONValue {
        if case .string(let text) = value, text.count > 200 {
            return .string(String(text.prefix(200)) + "…")
        }
        if case .object = value { return .string("{…}") }
        if case .array = value { return .string("[…]") }
        return value
    }
}

/// A request that names what was wrong with it: every bad field at once, not only the first.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var issues: [FieldIssue]

    public init(_ issues: [FieldIssue]) {
        self.issues = issues
    }

    public init(_ issue: FieldIssue) {
        self.issues = [issue]
    }

    public var description: String { issues.map(\.description).joined(separator: "; ") }

    /// The same issues, each placed under one element of a batch (`[index, field]`).
    public func nested(atIndex index: Int) -> ValidationError {
        ValidationError(
            issues.map { issue in
                var issue = issue
                issue.path.insert(.index(index), at: 0)
                return issue
            }
        )
    }
}
