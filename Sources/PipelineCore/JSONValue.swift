/// A parsed JSON value. Integers and fractions are kept apart so that `rowcount: 1.5`
/// can be told from `rowcount: 1`, and numbers keep their source text for exact checks.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, with its text as written (`12`, `1.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a repeated key keeps its last value, as Python's parser does.
    case object([String: JSONValue])
}

extension JSONValue {
    /// The member named `key` of an object; nil for anything else.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array; nil for anything else or out of range.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The elements of an array; empty for anything else.
    public var array: [JSONValue] {
        if case .array(let elements) = self { return elements }
        return []
    }

    /// The text of a string; nil for anything else.
    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
