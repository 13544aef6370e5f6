/// Appends JSON text to a byte array: fast, allocation-light, and with members in the order
/// they are written.
///
/// The writer places the commas itself: every value and every key written inside an object or
/// an array is separated from the one before it, so a response is written as a list of members
/// (`key("total"); integer(n)`) and cannot come out with a missing or doubled comma. A streamed
/// answer hands its bytes over chunk by chunk with ``takeBytes()`` and keeps its place.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// Whether the next key or value continues a container that already holds one (needs a comma).
    private var continuesContainer = false

    public init(reservingCapacity capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Hands over the bytes written so far and starts an empty buffer at the same place in the
    /// document (the next member still gets its comma).
    public mutating func takeBytes() -> [UInt8] {
        let taken = bytes
        bytes.removeAll(keepingCapacity: true)
        return taken
    }

    // MARK: - Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        continuesContainer = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        continuesContainer = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        continuesContainer = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        continuesContainer = true
    }

    /// An object whose members `body` writes.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        beginObject()
        body(&self)
        endObject()
    }

    /// An array of `elements`, each written by `body`.
    public mutating func array<Elements: Sequence>(_ elements: Elements, _ body: (inout JSONWriter, Elements.Element) -> Void) {
        beginArray()
        for element in elements { body(&self, element) }
        endArray()
    }

    /// The name of the next member: `"name":`. Names written here are the service's own constants.
    public mutating func key(_ name: StaticString) {
        if continuesContainer { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        continuesContainer = false
    }

    /// The name of the next member, escaped as any string.
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        continuesContainer = false
    }

    /// Ends a top-level value with a line break: the next value starts a line of its own (NDJSON).
    public mutating func endLine() {
        bytes.append(UInt8(ascii: "\n"))
        continuesContainer = false
    }

    /// A value already encoded as JSON (a run's bytes cached elsewhere), written as it is.
    public mutating func encoded(_ json: some Sequence<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        continuesContainer = true
    }

    private mutating func separate() {
        if continuesContainer { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func literal(_ text: StaticString) {
        separate()
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        continuesContainer = true
    }

    // MARK: - Values

    public mutating func null() {
        literal("null")
    }

    public mutating func bool(_ flag: Bool) {
        literal(flag ? "true" : "false")
    }

    public mutating func string(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        // Most values (paths, names, codes) need no escaping: scan the stored bytes and copy them in one go.
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied != true {
            for byte in text.utf8 { appendEscaped(byte) }
        }
        bytes.append(UInt8(ascii: "\""))
        continuesContainer = true
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x00..<0x20:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(HexDigit.lowercase[Int(byte >> 4)])
            bytes.append(HexDigit.lowercase[Int(byte & 0xF)])
        default: bytes.append(byte)
        }
    }

    public mutating func optionalString(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    public mutating func integer(_ value: Int64) {
        separate()
        // Digits straight into the buffer, without a String per number.
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt64, Int) = (0, 0)
        repeat {
            digits.0 = digits.0 &* 10 &+ magnitude % 10
            digits.1 += 1
            magnitude /= 10
        } while magnitude > 0 && digits.1 < 18
        if magnitude > 0 {
            // Over 18 digits: rare enough for the general path.
            bytes.removeLast(value < 0 ? 1 : 0)
            bytes.append(contentsOf: String(value).utf8)
        } else {
            var reversed = digits.0
            for _ in 0..<digits.1 {
                bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: reversed % 10))
                reversed /= 10
            }
        }
        continuesContainer = true
    }

    public mutating func integer(_ value: Int) {
        integer(Int64(value))
    }

    public mutating func optionalInteger(_ value: Int64?) {
        if let value { integer(value) } else { null() }
    }

    /// A double in its shortest round-trip form (`2424.879`, `5.0`), as Python writes it; `null`
    /// for NaN and the infinities, which JSON cannot carry (a sum of huge stored durations, say).
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
        continuesContainer = true
    }

    public mutating func optionalDouble(_ value: Double?) {
        if let value { double(value) } else { null() }
    }

    /// An instant as a JSON string, `"YYYY-MM-DDTHH:MM:SS[.ffffff]Z"`.
    public mutating func instant(_ instant: UTCInstant) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        CivilTime.write(microseconds: instant.microsecondsSinceEpoch, into: &bytes)
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
        continuesContainer = true
    }

    public mutating func optionalInstant(_ instant: UTCInstant?) {
        if let instant { self.instant(instant) } else { null() }
    }

    /// A wall-clock time as a JSON string, `"YYYY-MM-DDTHH:MM:SS[.ffffff]"`.
    public mutating func local(_ local: LocalDateTime) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        CivilTime.write(microseconds: local.wallMicroseconds, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
        continuesContainer = true
    }

    /// A field value in its JSON form.
    public mutating func field(_ value: FieldValue) {
        switch value {
        case .text(let text): optionalString(text)
        case .integer(let number): optionalInteger(number)
        case .double(let number): double(number)
        case .instant(let instant): self.instant(instant)
        case .local(let local): self.local(local)
        }
    }

    /// Any parsed value, objects with their members sorted by name.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let text):
            separate()
            bytes.append(contentsOf: text.utf8)
            continuesContainer = true
        case .string(let text): string(text)
        case .array(let elements): array(elements) { writer, element in writer.value(element) }
        case .object(let members):
            object { writer in
                for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                    writer.key(name)
                    writer.value(member)
                }
            }
        }
    }
}
