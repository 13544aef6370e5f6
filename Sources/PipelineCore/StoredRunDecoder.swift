/// A fast decoder for the common shape of a stored run: one flat JSON object whose keys and
/// strings need no escapes. It exists because start-up reads every stored run once, and a
/// million runs must load in seconds.
///
/// It never decides differently from the general path: anything it does not recognise
/// (escapes, nested values, strings for numbers, unusual numbers) makes it return nil, and the
/// caller falls back to `PipelineInfo(jsonBytes:policy: .stored)`. A test checks the two agree.
public enum StoredRunDecoder {
    /// The run in `line`, or nil when the line needs the general parser.
    public static func decode(_ line: UnsafeBufferPointer<UInt8>) -> PipelineInfo? {
        var scanner = Scanner(bytes: line)
        var found = [Slice](repeating: Slice(kind: .absent, start: 0, end: 0), count: fieldNames.count)
        guard scanner.skipWhitespace(), scanner.consume(UInt8(ascii: "{")), scanner.skipWhitespace() else { return nil }
        if scanner.peek == UInt8(ascii: "}") { return nil }
        while true {
            guard scanner.skipWhitespace(), let key = scanner.plainString(), scanner.skipWhitespace(),
                scanner.consume(UInt8(ascii: ":")), scanner.skipWhitespace(), let value = scanner.scalarValue()
            else { return nil }
            // An unknown key is ignored by the general path, which still checks its value: leave it to that path.
            guard let field = fieldIndex(line, key) else { return nil }
            found[field] = value
            guard scanner.skipWhitespace() else { return nil }
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: "}")), scanner.skipWhitespace(), scanner.isAtEnd else { return nil }
            break
        }

        var fields = SliceReader(line: line, slices: found)
        return try? PipelineInfo(decoding: &fields)
    }

    /// Reads the found values in field order: each call takes the next field's slice.
    private struct SliceReader: FieldDecoder {
        /// The value is absent where it is required, or not in the plain form this path reads.
        struct NotPlain: Error {}

        let line: UnsafeBufferPointer<UInt8>
        let slices: [Slice]
        var next = 0

        private mutating func take() -> (kind: Slice.Kind, bytes: UnsafeBufferPointer<UInt8>) {
            let slice = slices[next]
            next += 1
            return (slice.kind, UnsafeBufferPointer(rebasing: line[slice.start..<slice.end]))
        }

        mutating func localDateTime(_ field: PipelineField) throws(NotPlain) -> LocalDateTime {
            let value = take()
            guard value.kind == .string, let local = LocalDateTime(iso8601Bytes: value.bytes) else { throw NotPlain() }
            return local
        }

        mutating func instant(_ field: PipelineField) throws(NotPlain) -> UTCInstant {
            let value = take()
            guard value.kind == .string, let instant = UTCInstant(iso8601Bytes: value.bytes) else { throw NotPlain() }
            return instant
        }

        mutating func number(_ field: PipelineField) throws(NotPlain) -> Double {
            let value = take()
            guard value.kind == .number, let number = StoredRunDecoder.plainDouble(value.bytes) else { throw NotPlain() }
            return number
        }

        mutating func text(_ field: PipelineField) throws(NotPlain) -> String {
            let value = take()
            guard value.kind == .string, let text = StoredRunDecoder.text(value.bytes) else { throw NotPlain() }
            return text
        }

        mutating func optionalText(_ field: PipelineField) throws(NotPlain) -> String? {
            let value = take()
            switch value.kind {
            case .absent, .null: return nil
            case .string:
                guard let text = StoredRunDecoder.text(value.bytes) else { throw NotPlain() }
                // A run id is read in its canonical form, as the general path reads it.
                return field == .runID ? RunID.canonical(text) ?? text : text
            case .number: throw NotPlain()
            }
        }

        mutating func integer(_ field: PipelineField) throws(NotPlain) -> Int64 {
            let value = take()
            guard value.kind == .number, let number = StoredRunDecoder.plainInteger(value.bytes) else { throw NotPlain() }
            return number
        }

        mutating func optionalInteger(_ field: PipelineField) throws(NotPlain) -> Int64? {
            let value = take()
            switch value.kind {
            case .absent, .null: return nil
            case .number:
                guard let number = StoredRunDecoder.plainInteger(value.bytes) else { throw NotPlain() }
                return number
            case .string: throw NotPlain()
            }
        }
    }

    // MARK: - Pieces

    struct Slice {
        enum Kind { case absent, null, string, number }
        var kind: Kind
        var start: Int
        var end: Int
    }

    private static let fieldNames: [[UInt8]] = PipelineField.allCases.map { Array($0.rawValue.utf8) }

    /// The ordinal of the field a key names; nil for an unknown key.
    private static func fieldIndex(_ line: UnsafeBufferPointer<UInt8>, _ key: Slice) -> Int? {
        let length = key.end - key.start
        for (ordinal, name) in fieldNames.enumerated() where name.count == length {
            var isEqual = true
            for offset in 0..<length where line[key.start + offset] != name[offset] {
                isEqual = false
                break
            }
            if isEqual { return ordinal }
        }
        return nil
    }

    /// The string of valid UTF-8 bytes; nil when they are not valid. ASCII (nearly every stored
    /// string) is copied as it is, without the generic validating initializer.
    fileprivate static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return String(validating: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count) { buffer in
            _ = buffer.initialize(fromContentsOf: bytes)
            return bytes.count
        }
    }

    /// `-?[0-9]+` within Int64, else nil.
    fileprivate static func plainInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var isNegative = false
        if bytes.first == UInt8(ascii: "-") {
            isNegative = true
            index = 1
        }
        guard index < bytes.count, bytes.count - index <= 18 else { return nil }
        // JSON has no leading zeros.
        if bytes[index] == UInt8(ascii: "0"), bytes.count - index > 1 { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
            index += 1
        }
        return isNegative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// `-?[0-9]+(\.[0-9]+)?` with at most 15 significant digits: exact by Clinger's fast path
    /// (mantissa and power of ten are both exact doubles, so one division rounds correctly),
    /// which is what `Double(String)` returns. Anything else: nil.
    fileprivate static func plainDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        var isNegative = false
        if bytes.first == UInt8(ascii: "-") {
            isNegative = true
            index = 1
        }
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] != UInt8(ascii: ".") { return nil }
        var mantissa: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var sawPoint = false
        var sawDigit = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard !sawPoint, sawDigit else { return nil }
                sawPoint = true
            } else {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                sawDigit = true
                mantissa = mantissa * 10 + Int64(digit)
                if mantissa != 0 { digits += 1 }
                if sawPoint { fractionDigits += 1 }
                guard digits <= 15, fractionDigits <= 22 else { return nil }
            }
            index += 1
        }
        guard sawDigit, bytes.last != UInt8(ascii: ".") else { return nil }
        let value = Double(mantissa) / powersOfTen[fractionDigits]
        return isNegative ? -value : value
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var isAtEnd: Bool { index == bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        /// Always true, so it chains in a `guard`.
        mutating func skipWhitespace() -> Bool {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A {
                index += 1
            }
            return true
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string with no escapes and no control characters; nil otherwise.
        mutating func plainString() -> Slice? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return Slice(kind: .string, start: start, end: index - 1)
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        /// A plain string, `null`, or a number's text; nil for anything else.
        mutating func scalarValue() -> Slice? {
            guard let byte = peek else { return nil }
            if byte == UInt8(ascii: "\"") { return plainString() }
            if byte == UInt8(ascii: "n") {
                guard index + 4 <= bytes.count, bytes[index + 1] == UInt8(ascii: "u"), bytes[index + 2] == UInt8(ascii: "l"),
                    bytes[index + 3] == UInt8(ascii: "l")
                else { return nil }
                index += 4
                return Slice(kind: .null, start: index - 4, end: index)
            }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): index += 1
                default: return index > start ? Slice(kind: .number, start: start, end: index) : nil
                }
            }
            return index > start ? Slice(kind: .number, start: start, end: index) : nil
        }
    }
}
