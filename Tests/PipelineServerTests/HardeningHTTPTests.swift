import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// What a hostile client, a browser on another site or a legacy data file could do to the API,
/// and the answers it gets instead.
@Suite("Hostile requests over HTTP")
struct HardeningHTTPTests {
    // MARK: - Legacy values in answers

    @Test("Durations whose sum passes the largest double give a null average, and the dashboard still renders")
    func hugeStoredDurationsAreNull() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/runs.jsonl"
        let runs = (1...2).map { index in
            TestRun.make("slow", start: UTCInstant(microsecondsSinceEpoch: 1_700_000_000_000_000 + Int64(index)), seconds: 1e308, code: "s\(index)")
        }
        try runs.map { String(decoding: $0.jsonBytes, as: UTF8.self) + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let repository = try JSONLRunRepository(path: path, logger: testLogger("test"))
        defer { repository.close() }
        let app = buildApplication(repository: repository, configuration: ServiceConfiguration(), logger: testLogger("test"))
        try await app.test(.router) { client in
            let summaries = try await client.get("/pipelines")
            #expect(summaries.status == .ok)
            #expect(try summaries.json["pipelines"]?[0]?["avg_duration"] == .null)
            #expect(try await client.get("/ui").status == .ok)
            #expect(try await client.get("/ui/pipeline?pipeline_name=slow&script_name=slow.py&pipeline_type=batch&environment=prod").status == .ok)
        }
    }

    // MARK: - Batches are bounded while they are read

    @Test("A batch with one element too many is refused as soon as that element starts", arguments: ["application/x-ndjson", "application/json"])
    func oversizedBatchIsRefusedWhileReading(contentType: String) async throws {
        try await withApp(.jsonl) { client, fixture in
            let count = BatchLimits.maximumRuns + 1
            let body =
                contentType == "application/json"
                ? "[" + Array(repeating: "0", count: count).joined(separator: ",") + "]" : String(repeating: "0\n", count: count)
            let response = try await client.post("/pipelines/batch", json: body, contentType: contentType)
            #expect(response.status == .unprocessableContent)
            #expect(try response.json["detail"]?[0]?["type"] == "too_long")
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A 422 lists at most 100 issues and counts the rest; nothing is stored")
    func issuesAreCapped() async throws {
        try await withApp(.jsonl) { client, fixture in
            let body = "[" + Array(repeating: "{}", count: BatchLimits.maximumRuns).joined(separator: ",") + "]"
            let response = try await client.post("/pipelines/batch", json: body)
            #expect(response.status == .unprocessableContent)
            let required = PipelineField.allCases.filter { !$0.isOptional }.count
            #expect(try response.json["detail"]?.array.count == 100)
            #expect(try response.json["error_count"]?.int == required * BatchLimits.maximumRuns)
            #expect(response.body.readableBytes < 32 * 1024)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A batch body over PIPELINE_MAX_BATCH_BODY_SIZE is refused with 413, while it is read")
    func batchBodyLimitIsASetting() async throws {
        var configuration = ServiceConfiguration()
        configuration.maxBatchBodySize = 4096
        try await withApp(.jsonl, configuration: configuration) { client, _ in
            let body = String(repeating: sampleRecord.replacingOccurrences(of: "\n", with: " ") + "\n", count: 8)
            let response = try await client.execute(
                uri: "/pipelines/batch",
                method: .post,
                headers: [.contentType: "application/x-ndjson"],
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .contentTooLarge)
        }
    }

    // MARK: - Malformed framing

    /// A chunked body that breaks HTTP/1.1's framing, and whether the client then closes its
    /// sending side (a body cut short only ends when the connection does).
    struct MalformedChunks: Sendable, CustomTestStringConvertible {
        let name: String
        let chunks: String
        let closesSending: Bool
        var testDescription: String { name }

        static let all = [
            MalformedChunks(name: "a chunk size that is not hex", chunks: "ZZ\r\n{}\r\n0\r\n\r\n", closesSending: false),
            MalformedChunks(name: "a chunk longer than announced", chunks: "1\r\n{}\r\n0\r\n\r\n", closesSending: false),
            MalformedChunks(name: "a chunk without its CRLF", chunks: "2\r\n{}0\r\n\r\n", closesSending: false),
            MalformedChunks(name: "a body cut short", chunks: "5\r\n{}", closesSending: true),
        ]
    }

    @Test(
        "A malformed chunked body is a 400 in JSON that closes the connection: no 500, no error-level log line, no 5xx counted",
        arguments: MalformedChunks.all
    )
    func malformedChunkedBodyIsA400(_ malformed: MalformedChunks) async throws {
        let logs = LogRecorder()
        let metrics = ServiceMetrics()
        try await withFixture(.jsonl) { fixture in
            let app = buildApplication(
                repository: fixture.repository,
                configuration: ServiceConfiguration(port: 0),
                logger: logs.logger,
                metrics: metrics
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let endpoints = [
                    ("/pipelines", "application/json"), ("/pipelines/batch", "application/x-ndjson"), ("/api/v1/lineage", "application/json"),
                ]
                for (path, type) in endpoints {
                    let request =
                        "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: \(type)\r\nTransfer-Encoding: chunked\r\n\r\n" + malformed.chunks
                    // The server closes the connection after its answer, which ends the read.
                    let answer = try await Self.exchangeRaw(request, port: port, closingSending: malformed.closesSending)
                    let end = try #require(answer.range(of: "\r\n\r\n"), "\(path): \(answer)")
                    let (head, body) = (answer[..<end.lowerBound], answer[end.upperBound...])
                    #expect(head.hasPrefix("HTTP/1.1 400 "), "\(path): \(answer)")
                    #expect(head.lowercased().contains("connection: close"), "\(path): \(head)")
                    #expect(head.contains("Content-Type: application/json"), "\(path): \(head)")
                    let detail = try JSONParser.parse(String(body))["detail"]?.string
                    #expect(detail?.hasPrefix("Request body is malformed") == true, "\(path): \(body)")
                }
                let samples = parseExposition(try await client.get("/metrics").text)
                #expect(samples.value("http_requests_total", ["method": "POST", "status": "400"]) == nil, "one series per route")
                for (path, _) in endpoints {
                    #expect(samples.value("http_requests_total", ["route": path, "status": "400"]) == 1, "\(path)")
                }
                #expect(!samples.contains { $0.name == "http_requests_total" && $0.labels["status"]?.hasPrefix("5") == true })
            }
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
        let entries = try logs.entries()
        #expect(!entries.isEmpty)
        #expect(entries.allSatisfy { $0["level"] != "error" && $0["level"] != "critical" }, "\(entries.filter { $0["level"] == "error" })")
        #expect(try logs.entries(withMessage: "request").filter { $0["status"] == 400 }.count == 3)
    }

    /// Sends `request` as it is, byte for byte, on a new connection to `port` (closing the
    /// sending side after it when `closingSending`), and returns everything the server writes
    /// until it closes the connection; gives up after ten seconds.
    private static func exchangeRaw(_ request: String, port: Int, closingSending: Bool) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            if closingSending { outbound.finish() }
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    var received = ByteBuffer()
                    for try await part in inbound { received.writeImmutableBuffer(part) }
                    return String(buffer: received)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                defer { group.cancelAll() }
                guard let answer = try await group.next() ?? nil else { throw FixtureError("no answer within ten seconds to \(request)") }
                return answer
            }
        }
    }

    // MARK: - Bounded lists

    @Test("A new pipeline beyond PIPELINE_MAX_PIPELINES is refused with a 422 naming it; known pipelines still write", arguments: Backend.underTest)
    func pipelineCapOverHTTP(backend: Backend) async throws {
        var configuration = ServiceConfiguration()
        configuration.limits = RepositoryLimits(maximumSignatures: 1)
        try await withApp(backend, configuration: configuration) { client, fixture in
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .created)
            let other = try await client.post("/pipelines", json: try sampleJSON(["pipeline_name": "\"another\""]))
            #expect(other.status == .unprocessableContent)
            #expect(try other.json["detail"]?[0]?["type"] == "too_many_pipelines")
            #expect(try other.json["detail"]?[0]?["msg"]?.string?.contains("PIPELINE_MAX_PIPELINES") == true)
            #expect(try await client.post("/pipelines", json: try sampleJSON(["date_code": "\"again\""])).status == .created)
            #expect(try await fixture.repository.summaries().count == 1)
        }
    }

    @Test("GET /pipelines takes the signature filters, limit and offset; without them it lists every pipeline")
    func summariesArePaged() async throws {
        try await withApp(.jsonl) { client, _ in
            for (index, name) in ["a", "b", "c", "d"].enumerated() {
                let run = try sampleJSON(["pipeline_name": "\"\(name)\"", "environment": index % 2 == 0 ? "\"prod\"" : "\"dev\""])
                #expect(try await client.post("/pipelines", json: run).status == .created)
            }
            func names(_ query: String) async throws -> [String] {
                try await client.get("/pipelines" + query).json["pipelines"]?.array.compactMap { $0["pipeline_name"]?.string } ?? []
            }
            let all = try await names("")
            #expect(all.count == 4)
            #expect(try await names("?limit=2") == Array(all.prefix(2)))
            #expect(try await names("?limit=2&offset=3") == Array(all.suffix(1)))
            #expect(try await names("?environment=prod").sorted() == ["a", "c"])
            #expect(try await names("?pipeline_name=b") == ["b"])
            #expect(try await client.get("/pipelines?limit=0").status == .unprocessableContent)
            #expect(try await client.get("/pipelines?offset=-1").json.validationLocations == ["query.offset"])
        }
    }

    // MARK: - One parser for every endpoint

    @Test("A NUL in a history filter is a 422 naming it, on every backend", arguments: Backend.underTest)
    func historyRefusesNul(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let response = try await client.get("/pipelines/history?pipeline_name=%00")
            #expect(response.status == .unprocessableContent)
            #expect(try response.json.validationLocations == ["query.pipeline_name"])
        }
    }

    // MARK: - Browsers

    @Test("HEAD is answered wherever GET is, with GET's status and headers and no body")
    func headIsAnswered() async throws {
        try await withApp(.jsonl) { client, _ in
            for path in ["/health", "/", "/pipelines", "/get_pipeline_info", "/ui", "/docs", "/openapi.json", "/nowhere"] {
                let get = try await client.get(path)
                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == get.status, "\(path)")
                #expect(head.body.readableBytes == 0, "\(path)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(path)")
                #expect(head.headers[.contentLength] == get.headers[.contentLength], "\(path)")
            }
        }
    }

    @Test("Over a socket, HEAD answers the status and headers GET sends, streamed answers included, and no body")
    func headSendsGetsHeaders() async throws {
        try await withFixture(.jsonl) { fixture in
            // More runs than one all_data chunk, so that all_data=true streams as /export does.
            var generator = RandomRuns(seed: 7)
            for _ in 0...AllDataStreaming.chunkSize / 1000 { _ = try await fixture.repository.insert(contentsOf: generator.runs(1000)) }
            let app = buildApplication(repository: fixture.repository, configuration: ServiceConfiguration(port: 0), logger: testLogger("test"))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let streamed = ["/export", "/export?format=csv", "/get_pipeline_info?all_data=true"]
                for path in streamed + ["/get_pipeline_info", "/pipelines", "/ui", "/health", "/nowhere"] {
                    let request = " \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    let get = try Self.head(of: try await Self.exchangeRaw("GET" + request, port: port, closingSending: false))
                    let head = try Self.head(of: try await Self.exchangeRaw("HEAD" + request, port: port, closingSending: false))
                    #expect(head.fields == get.fields, "\(path)")
                    #expect(head.body.isEmpty, "\(path): \(head.body.prefix(100))")
                    #expect(!get.body.isEmpty, "\(path)")
                    if streamed.contains(path) {
                        #expect(!head.fields.contains { $0.hasPrefix("content-length:") }, "\(path): \(head.fields)")
                        #expect(head.fields.contains("transfer-encoding: chunked"), "\(path): \(head.fields)")
                    } else {
                        #expect(head.fields.contains("content-length: \(get.body.utf8.count)"), "\(path): \(head.fields)")
                    }
                }
                // Nothing of a body follows a HEAD answer on the connection: the next answer comes right after it.
                let pipelined = try await Self.exchangeRaw(
                    "HEAD /export HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    port: port,
                    closingSending: false
                )
                let second = try #require(pipelined.range(of: "\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(pipelined)")
                #expect(pipelined[second.upperBound...].hasSuffix(#""status":"healthy","backend":"jsonl","version":"\#(pipelineServiceVersion)"}"#))
            }
        }
    }

    /// The status line and header lines of a raw answer (names lowercased, sorted, without `date`
    /// and `x-request-id`, which differ between any two answers), and what follows them.
    private static func head(of answer: String) throws -> (fields: [String], body: Substring) {
        let end = try #require(answer.range(of: "\r\n\r\n"), "no end of head in \(answer)")
        var lines = answer[..<end.lowerBound].components(separatedBy: "\r\n")
        let status = lines.removeFirst()
        let fields = lines.map { line -> String in
            let (name, value) = line.firstIndex(of: ":").map { (line[..<$0], line[line.index(after: $0)...]) } ?? (line[...], "")
            return name.lowercased() + ": " + value.trimmingCharacters(in: .whitespaces)
        }
        return ([status] + fields.filter { !$0.hasPrefix("date:") && !$0.hasPrefix("x-request-id:") }.sorted(), answer[end.upperBound...])
    }

    /// The inline script of a page and the `script-src` hash its policy allows.
    private static func scriptAndPolicy(_ response: TestResponse) throws -> (script: String, allowed: String) {
        let html = response.text
        let start = try #require(html.range(of: "<script>"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let script = String(html[start.upperBound..<end.lowerBound])
        let policy = try #require(response.headers[.contentSecurityPolicy])
        let allowed = try #require(policy.split(separator: ";").first { $0.contains("script-src") })
        return (script, String(allowed))
    }

    @Test("The dashboard and the docs carry a policy that allows their own inline script and nothing from elsewhere")
    func pagesCarrySecurityHeaders() async throws {
        try await withApp(.jsonl) { client, _ in
            for path in ["/ui", "/docs"] {
                let response = try await client.get(path)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.hasPrefix("default-src 'none';"), "\(path)")
                #expect(!policy.contains("http"), "\(path): \(policy)")
                let (script, allowed) = try Self.scriptAndPolicy(response)
                let hash = Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString()
                #expect(allowed.contains("'sha256-\(hash)'"), "\(path)")
                #expect(!allowed.contains("unsafe-inline"), "\(path)")
            }
        }
    }

    @Test("CSV cells a spreadsheet would run are neutralised; raw=true and NDJSON keep them exact")
    func csvExportIsSafe() async throws {
        try await withApp(.jsonl) { client, _ in
            let name = "=HYPERLINK(\\\"http://evil\\\",\\\"x\\\")"
            #expect(try await client.post("/pipelines", json: try sampleJSON(["pipeline_name": "\"\(name)\""])).status == .created)
            let csv = try await client.get("/export?format=csv").text
            #expect(csv.contains(#""'=HYPERLINK(""http://evil"",""x"")""#))
            let raw = try await client.get("/export?format=csv&raw=true").text
            #expect(raw.contains(#""=HYPERLINK(""http://evil"",""x"")""#))
            let ndjson = try await client.get("/export").text
            #expect(ndjson.contains(#""pipeline_name":"=HYPERLINK(\"http://evil\",\"x\")""#))
        }
    }

    // MARK: - Logs

    @Test("A pipeline name with spaces, = or a line break cannot forge fields or lines of a text log")
    func textLogsQuoteValues() async throws {
        let logs = LogRecorder(format: .text)
        let forged = "etl api_key=root-admin outcome=existing\n2025-01-01T00:00:00.000Z notice pipeline-service: write accepted api_key=admin"
        try await withFixture(.jsonl) { fixture in
            let app = buildApplication(repository: fixture.repository, configuration: ServiceConfiguration(), logger: logs.logger)
            var name = JSONWriter()
            name.string(forged)
            let body = try sampleJSON(["pipeline_name": String(decoding: name.bytes, as: UTF8.self)])
            try await app.test(.router) { client in
                let response = try await client.post("/pipelines", json: body)
                #expect(response.status == .created)
            }
        }
        let written = logs.rawLines.map { String(decoding: $0, as: UTF8.self) }
        #expect(!written.isEmpty)
        // Each event is one line, ending in its own line break: none starts a second line.
        #expect(written.allSatisfy { $0.filter { $0 == "\n" }.count == 1 && $0.hasSuffix("\n") })
        let audit = try #require(try logs.textLines().first { $0.message == "write accepted" })
        #expect(audit.values("pipeline_name") == [forged])
        #expect(audit.values("api_key") == ["anonymous"])
        #expect(audit.values("outcome") == ["created"])
    }

    // MARK: - Archived files

    @Test("A date code several pipelines share answers 409 naming them; ?pipeline_name= picks one")
    func sharedDateCodeIsNotShadowed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for name in ["a.txt", "b.txt", "anon.txt"] { try Data(name.utf8).write(to: URL(fileURLWithPath: directory.path + "/" + name)) }
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [directory.path])) { client, fixture in
            for (name, file) in [("alpha", "a.txt"), ("beta", "b.txt")] {
                var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
                run.pipelineName = name
                run.archivedFile = directory.path + "/" + file
                _ = try await fixture.repository.insert(run.reidentified)
            }
            let shared = try await client.get("/pipelines/archived/20250902_050702")
            #expect(shared.status == .conflict)
            #expect(try shared.json["pipelines"] == .array(["alpha", "beta"]))
            let alpha = try await client.get("/pipelines/archived/20250902_050702?pipeline_name=alpha")
            #expect(alpha.status == .ok)
            #expect(alpha.text == "a.txt")
            #expect(try await client.get("/pipelines/archived/20250902_050702?pipeline_name=beta").text == "b.txt")
            #expect(try await client.get("/pipelines/archived/20250902_050702?pipeline_name=gamma").status == .notFound)

            // A run without a name cannot take the place of a named pipeline's file either.
            var anonymous = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
            anonymous.pipelineName = nil
            anonymous.dateCode = "20990101_000000"
            anonymous.archivedFile = directory.path + "/anon.txt"
            _ = try await fixture.repository.insert(anonymous.reidentified)
            var named = anonymous
            named.pipelineName = "alpha"
            named.archivedFile = directory.path + "/a.txt"
            _ = try await fixture.repository.insert(named.reidentified)
            let mixed = try await client.get("/pipelines/archived/20990101_000000")
            #expect(mixed.status == .conflict)
            #expect(try mixed.json["pipelines"] == .array(["alpha", .null]))
        }
    }

    @Test("Two spellings of one name sharing a date code are two pipelines: 409 naming both, each picked by its bytes")
    func spellingsOfANameDoNotShadowEachOther() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // "café" with é as one code point (NFC) and as "e" + a combining accent (NFD).
        let spellings = [("caf\u{E9}", "composed.txt"), ("cafe\u{301}", "decomposed.txt")]
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [directory.path])) { client, fixture in
            for (name, file) in spellings {
                try Data(file.utf8).write(to: URL(fileURLWithPath: directory.path + "/" + file))
                var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
                run.pipelineName = name
                run.archivedFile = directory.path + "/" + file
                _ = try await fixture.repository.insert(run.reidentified)
            }
            let shared = try await client.get("/pipelines/archived/20250902_050702")
            #expect(shared.status == .conflict)
            // In byte order: "e" + U+0301 (65 CC 81) before U+00E9 (C3 A9).
            let listed = try shared.json["pipelines"]?.array.map { $0.string.map { Array($0.utf8) } }
            #expect(listed == [Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8)])
            for (name, file) in spellings {
                let encoded = name.utf8.map { "%" + String($0, radix: 16, uppercase: true) }.joined()
                #expect(try await client.get("/pipelines/archived/20250902_050702?pipeline_name=\(encoded)").text == file)
            }
        }
    }
}
