import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Logs: request ids propagated or generated and returned, one access line per request,
/// and the JSON line format of the log handler.
@Suite("Request ids and logs")
struct RequestLoggingTests {
    @Test("A caller's X-Request-ID is echoed and carried by every log line of the request")
    func incomingRequestIDIsPropagated() async throws {
        let logs = LogRecorder()
        try await withObservedApp(logs: logs) { client, _ in
            let response = try await client.send(
                .post,
                "/pipelines",
                headers: [.requestIDHeader: "job-42/run-7", .contentType: "application/json"],
                body: sampleRecord
            )
            #expect(response.status == .created)
            #expect(response.headers[.requestIDHeader] == "job-42/run-7")
        }
        let lines = try logs.entries().filter { $0["route"] == "/pipelines" }
        #expect(lines.count == 2, "the audit line and the access line")
        #expect(lines.allSatisfy { $0["request_id"] == "job-42/run-7" })
    }

    @Test(
        "An unusable X-Request-ID is replaced by a generated one",
        arguments: [String(repeating: "x", count: 129), "has space", "tab\tinside", "ünïcode"]
    )
    func unusableRequestIDIsReplaced(incoming: String) async throws {
        try await withObservedApp { client, _ in
            var headers = HTTPFields()
            headers.append(HTTPField(name: .requestIDHeader, value: incoming))
            let response = try await client.send(.get, "/health", headers: headers)
            let id = try #require(response.headers[.requestIDHeader])
            #expect(id != incoming)
            #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
        }
    }

    @Test("Without X-Request-ID each request gets a new id, returned also on errors")
    func requestIDIsGenerated() async throws {
        try await withObservedApp { client, _ in
            let first = try await client.get("/health").headers[.requestIDHeader]
            let second = try await client.get("/no-such-route")
            #expect(second.status == .notFound)
            let unprocessable = try await client.post("/pipelines", json: "{}")
            #expect(unprocessable.status == .unprocessableContent)
            let ids = [first, second.headers[.requestIDHeader], unprocessable.headers[.requestIDHeader]]
            #expect(ids.allSatisfy { $0?.count == 32 })
            #expect(Set(ids.compactMap { $0 }).count == 3)
        }
    }

    @Test("A 128-character id of visible ASCII is kept as sent")
    func longestAcceptedIDIsKept() async throws {
        let id = String(repeating: "a", count: 127) + "~"
        try await withObservedApp { client, _ in
            let response = try await client.send(.get, "/health", headers: [.requestIDHeader: id])
            #expect(response.headers[.requestIDHeader] == id)
        }
    }

    @Test("Each request writes one access line at info with method, route template, status and duration")
    func accessLineIsWritten() async throws {
        let logs = LogRecorder()
        try await withObservedApp(logs: logs) { client, _ in
            _ = try await client.get("/pipelines/archived/20250902_050702")
            _ = try await client.get("/nowhere")
            _ = try await client.post("/pipelines", json: "{")
        }
        let access = try logs.entries(withMessage: "request")
        try #require(access.count == 3)
        #expect(access[0]["level"] == "info")
        #expect(access[0]["method"] == "GET")
        #expect(access[0]["route"] == "/pipelines/archived/{date_code}")
        #expect(access[0]["path"] == "/pipelines/archived/20250902_050702")
        #expect(access[0]["status"] == 404)
        #expect(access[1]["route"] == "NotFound")
        #expect(access[2]["status"] == 422)
        for line in access {
            guard case .number(let text)? = line["duration_ms"], let milliseconds = Double(text) else {
                Issue.record("duration_ms is not a number in \(line)")
                continue
            }
            // A duration, not a timing bound: a loaded machine may take any time.
            #expect(milliseconds >= 0 && milliseconds.isFinite)
            #expect(line["request_id"]?.string?.isEmpty == false)
            #expect(line["client"]?.string?.isEmpty == false, "the client's address, or - when the transport has none")
            #expect(line["user_agent"] != nil)
        }
    }

    @Test("Access lines name the client's address and user agent on a real connection; the ready line names the bound port")
    func accessLineNamesTheClient() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(
            arguments: ["--jsonl-path", directory.path + "/runs.jsonl", "--log-level", "info", "--log-format", "json"],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        _ = try await HTTP.send("GET", service.baseURL + "/pipelines")
        _ = try await service.stop(signal: SIGTERM)
        let lines = service.log.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        let access = try #require(lines.first { $0["message"] == "request" && $0["path"] == "/pipelines" })
        #expect(access["client"] == "127.0.0.1")
        #expect(access["user_agent"]?.string?.isEmpty == false)
        let ready = try #require(lines.first { $0["message"]?.string?.hasSuffix("ready") == true })
        #expect(ready["address"] == .string("127.0.0.1:\(service.port)"))
    }

    // MARK: - The JSON line format

    @Test("A JSON log line holds time, level, message, label and every metadata value, typed")
    func jsonLineHoldsEverything() throws {
        let lines = LogRecorder()
        var logger = lines.logger
        logger[metadataKey: "hb.request.id"] = "abc123"
        logger.info(
            "request",
            metadata: [
                "status": .stringConvertible(201),
                "duration_ms": .stringConvertible(1.25),
                "method": "POST",
                "flag": .stringConvertible(true),
                "tags": ["a", "b"],
                "nested": ["k": "v"],
                "message": "collides",
                "quote": "say \"hi\"\n",
            ]
        )
        let raw = try #require(lines.rawLines.first)
        #expect(raw.last == UInt8(ascii: "\n"))
        #expect(raw.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") }, "one line per entry")
        let line = try JSONParser.parse(raw)
        #expect(line["message"] == "request")
        #expect(line["level"] == "info")
        #expect(line["label"] == "pipeline-service")
        #expect(line["request_id"] == "abc123")
        #expect(line["hb.request.id"] == nil)
        #expect(line["status"] == 201)
        #expect(line["duration_ms"] == .number("1.25"))
        #expect(line["flag"] == true)
        #expect(line["tags"] == .array(["a", "b"]))
        #expect(line["nested"]?["k"] == "v")
        #expect(line["_message"] == "collides")
        #expect(line["quote"] == "say \"hi\"\n")
        let time = try #require(line["time"]?.string)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.dropFirst(10).hasPrefix("T"), "\(time)")
    }

    @Test("The log handler honours its level and a logger's own metadata")
    func jsonHandlerHonoursLevelAndMetadata() throws {
        let lines = LogRecorder()
        var logger = lines.logger
        logger.logLevel = .warning
        logger[metadataKey: "component"] = "storage"
        logger.info("dropped")
        logger.error("kept", metadata: ["component": "override"])
        let entries = try lines.entries()
        try #require(entries.count == 1)
        #expect(entries[0]["message"] == "kept")
        #expect(entries[0]["level"] == "error")
        #expect(entries[0]["component"] == "override")
    }

    // MARK: - The text line format

    /// Values a client controls (a pipeline name, say) that would otherwise pass for more fields,
    /// another line, or text running the other way on screen.
    static let hostileTextValues = [
        "x api_key=root-admin outcome=created", "a=b", "say \"hi\"", "\"", "back\\slash", "", "tab\there", "line\nbreak",
        "\u{202E}exe.txt", "a\u{2066}b\u{2069}", "\u{202A}\u{202B}\u{202C}\u{202D}", "\u{2067}\u{2068}", "\u{200E}\u{200F}\u{061C}",
        "zero\u{200B}width", "\u{85}\u{9B}31m", "\u{1B}[2J", "no\u{A0}break", "line\u{2028}separator",
    ]

    @Test("A text line's message and values each read back as one token, whatever they hold", arguments: hostileTextValues)
    func textValuesStayOneToken(value: String) throws {
        let logs = LogRecorder(format: .text)
        logs.logger.info("\(value)", metadata: ["pipeline_name": .string(value), "outcome": "created"])
        let raw = String(decoding: try #require(logs.rawLines.first), as: UTF8.self)
        let line = try #require(try logs.textLines().first)
        #expect(line.message == value)
        #expect(line.fields == [.init(key: "outcome", value: "created"), .init(key: "pipeline_name", value: value)], "\(raw)")
        // Nothing invisible or line-breaking is written as it is: each is spelled out.
        let hidden = raw.unicodeScalars.dropLast().filter {
            [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
        }
        #expect(hidden.isEmpty, "\(raw.debugDescription)")
    }

    @Test("A text line writes plain words bare and quotes anything else, escaped")
    func textLineQuotesOnlyWhatNeedsIt() throws {
        let logs = LogRecorder(format: .text)
        logs.logger.notice(
            "write accepted",
            metadata: [
                "pipeline_name": "x api_key=root-admin outcome=created", "outcome": "created", "status": .stringConvertible(201),
                "quote": "say \"hi\"\\", "mark": "\u{202E}gnp.exe", "empty": "",
            ]
        )
        let raw = String(decoding: try #require(logs.rawLines.first), as: UTF8.self)
        #expect(raw.contains(#" notice pipeline-service: "write accepted" "#), "\(raw)")
        #expect(raw.contains(#" pipeline_name="x api_key=root-admin outcome=created""#), "\(raw)")
        #expect(raw.contains(" outcome=created "), "\(raw)")
        #expect(raw.contains(" status=201"), "\(raw)")
        #expect(raw.contains(#" quote="say \"hi\"\\""#), "\(raw)")
        #expect(raw.contains(#" mark="\u{202e}gnp.exe""#), "\(raw)")
        #expect(raw.contains(#" empty="""#), "\(raw)")
    }

    @Test("The log format is text by default and json on request; anything else names the setting")
    func logFormatSetting() throws {
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: [:]).logFormat == .text)
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_LOG_FORMAT": "JSON"]).logFormat == .json)
        #expect(try ServiceConfiguration.resolve(flags: [.logFormat: "text"], environment: ["PIPELINE_LOG_FORMAT": "json"]).logFormat == .text)
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_LOG_FORMAT": "xml"])
        }
        #expect(error?.name == "PIPELINE_LOG_FORMAT")
    }
}

@Suite("JSON log time stamps")
struct JSONLogTimestampTests {
    @Test(
        "Known instants are written in UTC with milliseconds",
        arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (-0.001, "1969-12-31T23:59:59.999Z"),
            (1_756_814_822.5, "2025-09-02T12:07:02.500Z"),
            (1_709_251_199.999, "2024-02-29T23:59:59.999Z"),
            (951_782_400.0, "2000-02-29T00:00:00.000Z"),
            (253_402_300_799.0, "9999-12-31T23:59:59.000Z"),
        ]
    )
    func knownInstants(seconds: Double, expected: String) {
        #expect(LogTimestamp.text(secondsSinceEpoch: seconds) == expected)
    }

    @Test("Instants from 1900 to 2100 agree with Foundation's ISO 8601 formatter")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        // A fixed sequence (so a failure repeats) over whole seconds plus fractions exact in binary,
        // which Foundation and the handler cannot round differently.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let seconds = Int64(state >> 20) % 6_311_433_600 - 2_208_988_800
            let eighths = Int64(state & 7)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(eighths) / 8)
            #expect(
                LogTimestamp.text(secondsSinceEpoch: date.timeIntervalSince1970) == formatter.string(from: date),
                "\(seconds) + \(eighths)/8"
            )
        }
    }
}
