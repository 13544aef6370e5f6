import Foundation
public import Logging
import PipelineCore
import PipelineStore
import Synchronization

/// How the service writes its log lines (`--log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// One human-readable line per event; a message or value that is not a plain word is quoted,
    /// with its quotes, backslashes, control and invisible format characters escaped.
    case text
    /// One JSON object per line, for log pipelines.
    case json

    /// One line of this format, newline included.
    func line(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        switch self {
        case .text: TextLogLine.render(time: time, level: level, message: message, label: label, metadata: metadata)
        case .json: JSONLogLine.render(time: time, level: level, message: message, label: label, metadata: metadata)
        }
    }
}

/// The swift-log handler of the service: one line per event in its ``LogFormat``, written whole
/// to its ``LogLineOutput``.
///
/// Text:
/// ```
/// 2025-09-02T12:07:02.123Z info pipeline-service: "write accepted" api_key=anonymous date_code=20250902_050702 …
/// ```
/// JSON:
/// ```
/// {"time":"2025-09-02T12:07:02.123Z","level":"info","message":"request","label":"pipeline-service",
///  "request_id":"…","method":"GET","route":"/pipelines","path":"/pipelines","status":200,"duration_ms":1.234}
/// ```
/// `time` is ISO 8601 in UTC with milliseconds. Every metadata value follows, named as
/// ``LogFields`` says, in both formats alike.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let format: LogFormat
    private let output: LogLineOutput

    public init(label: String, format: LogFormat, output: LogLineOutput = .standardOutput, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.format = format
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
        output.write(format.line(time: Date(), level: event.level, message: event.message.description, label: label, metadata: merged))
    }
}

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

/// Where JSON log lines go: standard output, or any closure (tests collect them).
public struct LogLineOutput: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void

    public init(_ writeLine: @escaping @Sendable ([UInt8]) -> Void) {
        self.writeLine = writeLine
    }

    func write(_ line: [UInt8]) {
        writeLine(line)
    }

    /// Standard output. Each line is written whole under a lock, so lines from concurrent requests
    /// never interleave.
    public static let standardOutput = LogLineOutput { line in
        outputLock.withLock { _ in _ = writeAll(line, to: STDOUT_FILENO) }
    }

    /// Standard error, for commands whose standard output carries data.
    public static let standardError = LogLineOutput { line in
        outputLock.withLock { _ in _ = writeAll(line, to: STDERR_FILENO) }
    }

    private static let outputLock = Mutex(())
}
