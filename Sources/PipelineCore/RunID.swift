import Crypto

/// Run ids: UUIDs in their canonical text form (36 characters, lowercase, hyphenated).
///
/// A client may name its run with any UUID; the service makes one for a run posted without:
///
/// - a run with a `pipeline_name` gets a name-based id (version 8: SHA-256 of its pipeline name
///   and date code). Posting the same run again names the same id, so an old client's
///   (`pipeline_name`, `date_code`) key keeps its meaning with the id as the only stored key;
/// - a run without a name was never merged with another, so it gets a fresh version 7 id (the
///   run's start in Unix milliseconds, then random bits): ids made here sort by start time.
///
/// Runs stored before ids existed get the name-based id; one without a name, the id of its date
/// code and place in storage (its sequence), which SQL migrations compute in SQL the same way.
public enum RunID {
    /// The length of the canonical form.
    public static let length = 36

    /// The canonical form of a UUID written with hyphens in either case; nil for anything else.
    public static func canonical(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == length else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(length)
        for (offset, byte) in bytes.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                out.append(byte)
            } else {
                guard let value = HexDigit.value(byte) else { return nil }
                out.append(HexDigit.lowercase[Int(value)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A version 7 id for a run starting at `start`, with random bits from `generator`.
    public static func timeOrdered(at start: UTCInstant, using generator: inout some RandomNumberGenerator) -> String {
        let milliseconds = UInt64(clamping: max(0, start.microsecondsSinceEpoch / 1000)) & 0xFFFF_FFFF_FFFF
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        for index in 6..<16 {
            let word = index < 11 ? random.0 : random.1
            bytes[index] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(index % 8)))
        }
        return format(bytes, version: 7)
    }

    /// A version 7 id for a run starting at `start`.
    public static func timeOrdered(at start: UTCInstant) -> String {
        var generator = SystemRandomNumberGenerator()
        return timeOrdered(at: start, using: &generator)
    }

    /// The name-based id of (`pipeline_name`, `date_code`); for a run without a name, of its date
    /// code and `sequence` (its place in storage). The hashed bytes are each part's UTF-8 length
    /// as 8 big-endian bytes, then its bytes, after a 1 (a name) or 0 (no name) byte, and for no
    /// name the sequence as 8 big-endian bytes.
    public static func nameBased(pipelineName: String?, dateCode: String, sequence: Int64 = 0) -> String {
        var input: [UInt8] = []
        func append(_ text: String) {
            input += bigEndian(UInt64(text.utf8.count))
            input += text.utf8
        }
        if let pipelineName {
            input.append(1)
            append(pipelineName)
            append(dateCode)
        } else {
            input.append(0)
            append(dateCode)
            input += bigEndian(UInt64(bitPattern: sequence))
        }
        return format(Array(SHA256.hash(data: input).prefix(16)), version: 8)
    }

    /// The id a run posted without one gets (see the type's summary).
    public static func assigned(to run: PipelineInfo) -> String {
        run.pipelineName == nil ? timeOrdered(at: run.startUTC) : nameBased(pipelineName: run.pipelineName, dateCode: run.dateCode)
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - UInt64($0)))) }
    }

    /// Sixteen bytes as a UUID of `version`, with the RFC 9562 variant bits.
    private static func format(_ raw: [UInt8], version: UInt8) -> String {
        var bytes = raw
        bytes[6] = (bytes[6] & 0x0F) | (version << 4)
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        var out = [UInt8]()
        out.reserveCapacity(length)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(HexDigit.lowercase[Int(byte >> 4)])
            out.append(HexDigit.lowercase[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension PipelineInfo {
    /// The run as every store keeps it: with its id, made (``RunID/assigned(to:)``) when it has
    /// none, and while it is running, with its end cleared (``clearEnd()``).
    public var normalized: PipelineInfo {
        guard runID == nil || isRunning else { return self }
        var run = self
        if run.runID == nil { run.runID = RunID.assigned(to: run) }
        if run.isRunning { run.clearEnd() }
        return run
    }
}
