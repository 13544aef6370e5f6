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
