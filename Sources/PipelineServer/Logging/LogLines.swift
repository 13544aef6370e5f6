import Foundation
import Logging
import PipelineCore

/// The `time` of a log line: `YYYY-MM-DDTHH:MM:SS.mmmZ`, in UTC, to the nearest millisecond.
public enum LogTimestamp {
    public static func text(secondsSinceEpoch seconds: Double) -> String {
        iso8601(millisecondsSinceEpoch: Int64((seconds * 1000).rounded()))
    }

    private static func iso8601(millisecondsSinceEpoch milliseconds: Int64) -> String {
        // Whole seconds through the core's calendar (floored, also before 1970), then the milliseconds.
        var seconds = milliseconds / 1000
        var remainder = milliseconds % 1000
        if remainder < 0 {
            remainder += 1000
            seconds -= 1
        }
        let whole = UTCInstant(microsecondsSinceEpoch: seconds * 1_000_000).description.dropLast()
        let digits = String(remainder)
        return whole + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }
}

/// A JSON log line: the four fixed keys, then the metadata at the top level; numbers and Booleans
/// stay JSON numbers and Booleans.
enum JSONLogLine {
    /// One log line, newline included.
    static func render(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.object { writer in
            writer.key("time")
            writer.string(LogTimestamp.text(secondsSinceEpoch: time.timeIntervalSince1970))
            writer.key("level")
            writer.string(level.rawValue)
            writer.key("message")
            writer.string(message)
            writer.key("label")
            writer.string(label)
            for (key, value) in LogFields.ordered(metadata) {
                writer.key(key)
                write(value, into: &writer)
            }
        }
        writer.endLine()
        return writer.bytes
    }

    private static func write(_ value: Logger.Metadata.Value, into writer: inout JSONWriter) {
        switch value {
        case .string(let text):
            writer.string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let flag as Bool: writer.bool(flag)
            case let number as any BinaryInteger: writer.encoded(String(describing: number).utf8)
            case let number as Double where number.isFinite: writer.double(number)
            case let number as Float where number.isFinite: writer.double(Double(number))
            default: writer.string(convertible.description)
            }
        case .array(let elements):
            writer.array(elements) { writer, element in write(element, into: &writer) }
        case .dictionary(let members):
            writer.object { writer in
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    writer.key(key)
                    write(member, into: &writer)
                }
            }
        }
    }

}

/// A text log line: the time, the level, then the label, the message and every metadata value as
/// one token each (``token(_:)``), so that no value can pass for another field of the line, and no
/// value can start a line of its own that would read as another event, such as a forged audit line.
enum TextLogLine {
    /// One log line, newline included.
    static func render(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var line = LogTimestamp.text(secondsSinceEpoch: time.timeIntervalSince1970) + " \(level.rawValue) \(token(label)): \(token(message))"
        for (key, value) in LogFields.ordered(metadata) {
            line += " \(token(key))=\(token(text(value)))"
        }
        return Array((line + "\n").utf8)
    }

    private static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let elements): "[" + elements.map(text).joined(separator: ", ") + "]"
        case .dictionary(let members): "[" + members.sorted { $0.key < $1.key }.map { "\($0.key): \(text($0.value))" }.joined(separator: ", ") + "]"
        }
    }

    /// `text` as one token of a line: as it is when it is a plain word; else in double quotes, with
    /// quotes and backslashes escaped (`\"`, `\\`) and every character that would not show as itself
    /// spelled out (`\n`, `\t`, `\u{202e}`). A value holding a space, `=` or a quote therefore cannot
    /// read as a field of its own (`pipeline_name="x api_key=admin"`), and an invisible character
    /// cannot turn the line around on screen.
    static func token(_ text: String) -> String {
        guard text.isEmpty || text.unicodeScalars.contains(where: needsQuotes) else { return text }
        var out = "\""
        TextEscaping.append(text, to: &out, replacing: escape)
        return out + "\""
    }

    /// Whether a scalar keeps a value from being written bare: white space and `=` separate
    /// fields, and a quote or a backslash would read as the start of a quoted value or an escape.
    private static func needsQuotes(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "=" || scalar.properties.isWhitespace || escape(scalar) != nil
    }

    /// How a scalar is written inside quotes: a quote or a backslash escaped; line breaks (U+2028
    /// and U+2029 too), every other control character and every invisible format character spelled
    /// out; nil for everything else. Format characters (category Cf) include the bidirectional controls
    /// (U+202A…U+202E, U+2066…U+2069), the direction marks (U+200E, U+200F, U+061C) and the
    /// zero-width characters, which change how the text around them shows without showing themselves.
    private static func escape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "\\": "\\\\"
        case "\"": "\\\""
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: "\\u{" + String(scalar.value, radix: 16) + "}"
            default: nil
            }
        }
    }
}
