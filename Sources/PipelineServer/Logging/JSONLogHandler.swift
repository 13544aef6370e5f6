import Foundation
public import Logging
import PipelineCore
import Synchronization

/// How the server writes its log lines (`--log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's human-readable lines.
    case text
    /// One JSON object per line, for log pipelines (``JSONLogHandler``).
    case json
}

/// A swift-log handler writing one JSON object per line:
///
/// ```
/// {"time":"2025-09-02T12:07:02.123Z","level":"info","message":"request","label":"pipeline-service",
///  "request_id":"…","method":"GET","route":"/pipelines","path":"/pipelines","status":200,"duration_ms":1.234}
/// ```
///
/// `time` is ISO 8601 in UTC with milliseconds. Every metadata value follows at the top level
/// (named as ``LogFields`` says); numbers and Booleans stay JSON numbers and Booleans.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let output: LogLineOutput

    /// A handler writing to `output` (standard output by default).
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
        let line = Self.line(
            time: Date(),
            level: event.level,
            message: event.message.description,
            label: label,
            metadata: merged
        )
        output.write(line)
    }

    // MARK: - Rendering

    /// One log line, newline included.
    static func line(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.object { writer in
            writer.key("time")
            writer.string(timestamp(secondsSinceEpoch: time.timeIntervalSince1970))
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

    /// The `time` of a line: `YYYY-MM-DDTHH:MM:SS.mmmZ`, in UTC, to the nearest millisecond.
    public static func timestamp(secondsSinceEpoch seconds: Double) -> String {
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
        outputLock.withLock { _ in writeAllBytes(line, to: STDOUT_FILENO) }
    }

    /// Standard error, for commands whose standard output carries data.
    public static let standardError = LogLineOutput { line in
        outputLock.withLock { _ in writeAllBytes(line, to: STDERR_FILENO) }
    }

    private static let outputLock = Mutex(())
}

/// Writes all of `bytes` to a file descriptor, retrying on partial writes and interruptions.
private func writeAllBytes(_ bytes: [UInt8], to descriptor: Int32) {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
