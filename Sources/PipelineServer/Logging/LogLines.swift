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

/// A text log line. Every value is written with its control characters escaped (`\n`, `\t`,
/// `\u{1b}`, and `\\` for a backslash): a pipeline name holding a line break cannot start a line
/// of its own that would read as another event, such as a forged audit line.
enum TextLogLine {
    /// One log line, newline included.
    static func render(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var line =
            LogTimestamp.text(secondsSinceEpoch: time.timeIntervalSince1970) + " \(level.rawValue) \(escaped(label)): \(escaped(message))"
        for (key, value) in LogFields.ordered(metadata) {
            line += " \(escaped(key))=\(escaped(text(value)))"
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

    /// `text` with control characters and backslashes escaped, so it stays on its line.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { escape($0) != nil }) else { return text }
        var out = ""
        TextEscaping.append(text, to: &out, replacing: escape)
        return out
    }

    /// How a scalar is written in a text log line: backslashes doubled, line breaks and every other
    /// control or line-separating character spelled out; nil for everything else.
    private static func escape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "\\": "\\\\"
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}":
            "\\u{" + String(scalar.value, radix: 16) + "}"
        default: nil
        }
    }
}
