import Foundation
public import Logging

/// The metadata of a log line as both formats write it: the same names in the same order.
enum LogFields {
    /// The names a line starts with; metadata cannot overwrite them.
    static let fixedKeys: Set<String> = ["time", "level", "message", "label"]

    /// The fields sorted by name, Hummingbird's `hb.request.id` written as `request_id`, and a key
    /// that would overwrite a fixed one (or another field) prefixed with `_`.
    static func ordered(_ metadata: Logger.Metadata) -> [(key: String, value: Logger.Metadata.Value)] {
        var fields: [String: Logger.Metadata.Value] = [:]
        for (key, value) in metadata {
            var name = key == LogMetadataKey.requestID ? "request_id" : key
            while fixedKeys.contains(name) || (name != key && metadata[name] != nil) { name = "_" + name }
            fields[name] = value
        }
        return fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// A swift-log handler writing one human-readable line per event:
///
/// ```
/// 2025-09-02T12:07:02.123Z info pipeline-service: write accepted api_key=anonymous date_code=20250902_050702 …
/// ```
///
/// Every value is written with its control characters escaped (`\n`, `\t`, `\u{1b}`, and `\\` for
/// a backslash): a pipeline name holding a line break cannot start a line of its own that would
/// read as another event, such as a forged audit line.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let output: LogLineOutput

    public init(label: String, output: LogLineOutput = .standardOutput, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error { merged["error"] = .string(String(describing: error)) }
        output.write(Self.line(time: Date(), level: event.level, message: event.message.description, label: label, metadata: merged))
    }

    /// One log line, newline included.
    static func line(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var line =
            JSONLogHandler.timestamp(secondsSinceEpoch: time.timeIntervalSince1970) + " \(level.rawValue) \(escaped(label)): \(escaped(message))"
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
        guard
            text.unicodeScalars.contains(where: {
                $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" || $0 == "\u{85}" || $0 == "\u{2028}" || $0 == "\u{2029}"
            })
        else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}":
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
