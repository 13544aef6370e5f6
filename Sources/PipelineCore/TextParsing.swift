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
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        // Almost every value has nothing to trim: no copy then.
        if let first = utf8.first, let last = utf8.last, !isSpace(first), !isSpace(last) { return self }
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

/// Hexadecimal digits, as URLs, JSON escapes and key digests spell bytes.
public enum HexDigit {
    /// The value of one hexadecimal digit, either case; nil for any other byte.
    public static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The digits `0`…`9`, `a`…`f`, by value.
    public static let lowercase: [UInt8] = Array("0123456789abcdef".utf8)
    /// The digits `0`…`9`, `A`…`F`, by value.
    public static let uppercase: [UInt8] = Array("0123456789ABCDEF".utf8)
}

/// Escaping text for where it is written (HTML, a log line): one walk over its scalars, each
/// either kept or replaced by the spelling the destination needs.
public enum TextEscaping {
    /// Appends `text` to `out`, each scalar `replacement` spells differently replaced by that spelling.
    public static func append(_ text: some StringProtocol, to out: inout String, replacing replacement: (Unicode.Scalar) -> String?) {
        out.reserveCapacity(out.utf8.count + text.utf8.count)
        for scalar in text.unicodeScalars {
            if let spelled = replacement(scalar) { out += spelled } else { out.unicodeScalars.append(scalar) }
        }
    }
}
