import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

/// Collects an application's log lines, written by the log handler in `format` (JSON unless
/// told), so tests can read them back.
final class LogRecorder: Sendable {
    private let lines = Mutex<[[UInt8]]>([])
    private let format: LogFormat

    init(format: LogFormat = .json) {
        self.format = format
    }

    /// A logger at `trace` whose every line lands here.
    var logger: Logger {
        var logger = Logger(label: "pipeline-service") { label in
            var handler = LineLogHandler(label: label, format: self.format, output: LogLineOutput { line in self.lines.withLock { $0.append(line) } })
            handler.logLevel = .trace
            return handler
        }
        logger.logLevel = .trace
        return logger
    }

    /// The raw lines, newline included.
    var rawLines: [[UInt8]] { lines.withLock { $0 } }

    /// Every line parsed as JSON (a line that is not JSON fails the test).
    func entries() throws -> [JSONValue] {
        try rawLines.map { try JSONParser.parse($0) }
    }

    /// The lines whose `message` is `message`.
    func entries(withMessage message: String) throws -> [JSONValue] {
        try entries().filter { $0["message"]?.string == message }
    }

    /// Every line read back as a text line (a line that does not follow the text format fails the test).
    func textLines() throws -> [TextLine] {
        try rawLines.map { raw in try #require(TextLine(String(decoding: raw, as: UTF8.self)), "not a text log line: \(raw)") }
    }
}

/// A text log line read back the way a reader of the log would split it: `time level label: message`,
/// then `key=value` fields, each of label, message, key and value either a bare word or a quoted,
/// escaped string.
struct TextLine: Equatable {
    var level: String
    var label: String
    var message: String
    var fields: [Field]

    struct Field: Equatable {
        var key: String
        var value: String
    }

    /// The values of the fields named `key`, in the order of the line.
    func values(_ key: String) -> [String] {
        fields.filter { $0.key == key }.map(\.value)
    }

    /// Reads one line (its final line break included); nil when it does not follow the format.
    init?(_ line: String) {
        guard line.hasSuffix("\n") else { return nil }
        var rest = Substring(line.dropLast()).unicodeScalars[...]
        func word(until separator: Unicode.Scalar) -> String? {
            guard let end = rest.firstIndex(of: separator) else { return nil }
            defer { rest = rest[rest.index(after: end)...] }
            return String(String.UnicodeScalarView(rest[..<end]))
        }
        /// A quoted token, or a bare one: a plain word, ending at `stop`, white space or the end of
        /// the line (a quote, backslash or `=` in it fails, since the writer would have quoted it).
        func token(stoppingAt stop: Unicode.Scalar = " ") -> String? {
            guard rest.first == "\"" else {
                let end =
                    rest.firstIndex { $0 == stop || $0 == "\"" || $0 == "\\" || $0 == "=" || $0.properties.isWhitespace } ?? rest.endIndex
                guard end > rest.startIndex else { return nil }
                defer { rest = rest[end...] }
                return String(String.UnicodeScalarView(rest[..<end]))
            }
            rest = rest.dropFirst()
            var out = String.UnicodeScalarView()
            while let scalar = rest.popFirst() {
                switch scalar {
                case "\"":
                    return String(out)
                case "\\":
                    switch rest.popFirst() {
                    case "\\": out.append("\\")
                    case "\"": out.append("\"")
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "u":
                        guard rest.popFirst() == "{", let end = rest.firstIndex(of: "}"),
                            let value = UInt32(String(String.UnicodeScalarView(rest[..<end])), radix: 16), let escaped = Unicode.Scalar(value)
                        else { return nil }
                        out.append(escaped)
                        rest = rest[rest.index(after: end)...]
                    default: return nil
                    }
                default:
                    out.append(scalar)
                }
            }
            return nil
        }
        guard word(until: " ") != nil, let level = word(until: " "), let label = token(stoppingAt: ":"), rest.popFirst() == ":",
            rest.popFirst() == " ", let message = token()
        else { return nil }
        var fields: [Field] = []
        while !rest.isEmpty {
            guard rest.popFirst() == " ", let key = token(stoppingAt: "="), rest.popFirst() == "=", let value = token() else {
                return nil
            }
            fields.append(Field(key: key, value: value))
        }
        self.init(level: level, label: label, message: message, fields: fields)
    }

    init(level: String, label: String, message: String, fields: [Field]) {
        self.level = level
        self.label = label
        self.message = message
        self.fields = fields
    }
}

/// Runs `body` against the real router over a fresh JSONL repository (optionally wrapped), with the
/// application's metrics and log lines observable.
func withObservedApp(
    configuration: ServiceConfiguration = ServiceConfiguration(),
    metrics: ServiceMetrics = ServiceMetrics(),
    logs: LogRecorder = LogRecorder(),
    wrap: @escaping @Sendable (any PipelineRunRepository) -> any PipelineRunRepository = { $0 },
    _ body: @escaping @Sendable (any TestClientProtocol, RepositoryFixture) async throws -> Void
) async throws {
    try await withFixture(.jsonl) { fixture in
        let app = buildApplication(repository: wrap(fixture.repository), configuration: configuration, logger: logs.logger, metrics: metrics)
        try await app.test(.router) { client in try await body(client, fixture) }
    }
}

extension TestClientProtocol {
    /// A request with headers and an optional string body.
    /// Sends a request; a body goes as JSON unless the headers name another type.
    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> TestResponse {
        var headers = headers
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension HTTPField.Name {
    static var requestIDHeader: Self { Self("X-Request-ID")! }
    static var apiKeyHeader: Self { Self("X-API-Key")! }
}

// MARK: - Prometheus text format

/// One sample line of the Prometheus text format: `name{label="value",…} value`.
struct MetricSample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses a Prometheus text exposition line by line; `#` lines are skipped, and any other line that
/// is not a well-formed sample is recorded as a test issue.
func parseExposition(_ text: String) -> [MetricSample] {
    var samples: [MetricSample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let sample = parseSample(Substring(line)) else {
            Issue.record("not a Prometheus sample line: \(line)")
            continue
        }
        samples.append(sample)
    }
    return samples
}

private func parseSample(_ line: Substring) -> MetricSample? {
    var rest = line[...]
    let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
    guard !name.isEmpty else { return nil }
    rest = rest.dropFirst(name.count)
    var labels: [String: String] = [:]
    if rest.first == "{" {
        rest = rest.dropFirst()
        while rest.first != "}" {
            let key = rest.prefix { $0 != "=" }
            rest = rest.dropFirst(key.count)
            guard rest.hasPrefix("=\"") else { return nil }
            rest = rest.dropFirst(2)
            var value = ""
            while let character = rest.first, character != "\"" {
                rest = rest.dropFirst()
                if character == "\\" {
                    guard let escaped = rest.first else { return nil }
                    rest = rest.dropFirst()
                    value.append(escaped == "n" ? "\n" : escaped)
                } else {
                    value.append(character)
                }
            }
            guard rest.first == "\"" else { return nil }
            rest = rest.dropFirst()
            labels[String(key)] = value
            if rest.first == "," { rest = rest.dropFirst() }
            guard !rest.isEmpty else { return nil }
        }
        rest = rest.dropFirst()
    }
    guard rest.first == " " else { return nil }
    let valueText = rest.dropFirst()
    let value: Double? =
        switch valueText {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        default: Double(valueText)
        }
    return value.map { MetricSample(name: String(name), labels: labels, value: $0) }
}

extension [MetricSample] {
    /// The value of the one sample named `name` whose labels include `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matches = filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matches.count == 1 ? matches[0].value : nil
    }
}
