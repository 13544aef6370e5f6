/// Splits a URL query string the way Python's `urllib.parse.parse_qsl` (and so the old
/// FastAPI service) does: `&`-separated pairs, `+` as a space, percent-decoding, invalid
/// UTF-8 replaced rather than refused, blank values kept.
public enum QueryString {
    public static func parse(_ query: some StringProtocol) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(pieces[0])
            let value = pieces.count > 1 ? decode(pieces[1]) : ""
            pairs.append((name, value))
        }
        return pairs
    }

    /// Percent-encodes every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`), with uppercase
    /// hex digits: safe in a query component, a path segment and an RFC 5987 `filename*`.
    public static func encode(_ text: some StringProtocol) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(HexDigit.uppercase[Int(byte >> 4)])
                out.append(HexDigit.uppercase[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes one component, with `+` as a space.
    public static func decode(_ component: some StringProtocol) -> String {
        let bytes = Array(component.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = HexDigit.value(bytes[index + 1]),
                let low = HexDigit.value(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
