import PipelineCore

/// A piece of HTML markup, built so that text can only enter it escaped.
///
/// A string literal written in the source is markup as it stands (`"<td class=\"num\">"`), and
/// inside such a literal every interpolated `String`, `Substring` or other `CustomStringConvertible`
/// value (numbers, ``PipelineCore/UTCInstant``, raw values) is escaped; only another `HTML` value
/// is inserted unchanged. So a renderer that returns `HTML` cannot put a pipeline name, a path or
/// a query value into a page unescaped: the plain `String` it holds has no way in except through
/// escaping. ``init(unsafeRaw:)`` is the one door around that, used for the page's constant CSS
/// and script, whose quotes must stay quotes. It is internal, so code outside this module cannot
/// insert unescaped text either (short of calling the literal initializers by hand, which the
/// literal protocols force to be public).
///
/// Why this instead of a template engine such as swift-mustache: it adds no dependency to the
/// package; the compiler checks every insertion (a `String` where markup is expected is escaped,
/// never pasted, and there is no template-side switch between escaped and raw output to get
/// wrong); and the markup stays next to the Swift code that fills it, with the same types, instead
/// of in template files whose variables are looked up by name at run time.
public struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The markup, ready to be sent.
    public private(set) var markup: String

    /// A literal from the source code: trusted markup.
    public init(stringLiteral literal: String) {
        markup = literal
    }

    public init(stringInterpolation: StringInterpolation) {
        markup = stringInterpolation.markup
    }

    /// `markup` exactly as given, unescaped. Only for constant blocks written in this module (the
    /// page's CSS and script); never for stored or requested values.
    init(unsafeRaw markup: String) {
        self.markup = markup
    }

    /// Markup that shows `text` as it is.
    init(text: some StringProtocol) {
        markup = ""
        Self.append(escaping: text, to: &markup)
    }

    static let empty: HTML = ""

    var isEmpty: Bool { markup.isEmpty }

    static func + (lhs: HTML, rhs: HTML) -> HTML {
        var sum = lhs
        sum += rhs
        return sum
    }

    static func += (lhs: inout HTML, rhs: HTML) {
        lhs.markup += rhs.markup
    }

    /// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` replaced by character references,
    /// so it is safe in element content and in quoted attribute values alike.
    static func append(escaping text: some StringProtocol, to out: inout String) {
        TextEscaping.append(text, to: &out) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            default: nil
            }
        }
    }

    /// The interpolation of an `HTML` literal: literal segments are markup, values are escaped
    /// unless they already are `HTML`.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var markup: String

        public init(literalCapacity: Int, interpolationCount: Int) {
            markup = ""
            markup.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            markup += literal
        }

        /// Markup, inserted as it is.
        public mutating func appendInterpolation(_ html: HTML) {
            markup += html.markup
        }

        /// Text, escaped.
        public mutating func appendInterpolation(_ text: some StringProtocol) {
            HTML.append(escaping: text, to: &markup)
        }

        /// A number, an instant or any other value, written as its description and escaped.
        public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            HTML.append(escaping: value.description, to: &markup)
        }
    }
}

extension Sequence where Element == HTML {
    /// The pieces one after the other, with `separator` between them.
    func joined(separator: HTML = .empty) -> HTML {
        var out = HTML.empty
        for (index, piece) in enumerated() {
            if index > 0 { out += separator }
            out += piece
        }
        return out
    }
}
