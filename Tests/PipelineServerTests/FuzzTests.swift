import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PipelineCore
import PipelineTestSupport
import Testing

/// input that cannot hurt: seeded, bounded fuzzing of the real router with mutated
/// bodies, query strings and paths. No answer may be a 5xx, every 4xx carries a JSON `detail`,
/// and the stored runs change only by the requests that were accepted.
@Suite("Fuzzing the router")
struct FuzzTests {
    static let seed: UInt64 = 0x5EED_F022
    static let requestCount = 2_000

    @Test("random and mutated requests never get a 5xx and never change data unless accepted")
    func fuzzedRequestsAreHandled() async throws {
        try await withApp(.jsonl) { client, fixture in
            var fuzzer = RequestFuzzer(seed: Self.seed)
            let initial = try await fixture.repository.runs(matching: RunQuery(paging: .all)).total
            var accepted = 0
            var statuses: [Int: Int] = [:]
            for index in 0..<Self.requestCount {
                let request = fuzzer.next(index: index)
                let response = try await client.execute(uri: request.uri, method: request.method, headers: request.headers, body: request.body)
                let status = Int(response.status.code)
                statuses[status, default: 0] += 1
                #expect(status < 500, "\(request) answered \(status): \(response.text.prefix(300))")
                if (400..<500).contains(status), request.method != .head {
                    let detail = try? response.json["detail"]
                    #expect(detail != nil, "\(request) answered \(status) without a JSON detail: \(response.text.prefix(300))")
                }
                if status == 201 { accepted += 1 }
                // Checked after every request, whatever its method: only a 201 may add a run.
                let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all)).total
                #expect(stored == initial + accepted, "\(request) answered \(status) but the run count is \(stored), expected \(initial + accepted)")
            }
            // The fuzzer must reach both sides: some bodies are accepted, most are rejected.
            #expect(accepted > 0, "no fuzzed POST was accepted: \(statuses)")
            #expect(statuses[422, default: 0] > 0, "no fuzzed request was a validation error: \(statuses)")
        }
    }
}

/// One fuzzed request.
struct FuzzedRequest: CustomStringConvertible {
    var method: HTTPRequest.Method
    var uri: String
    var headers: HTTPFields = [:]
    var body: ByteBuffer?

    var description: String {
        let bodyText = body.map { String(decoding: $0.readableBytesView.prefix(120), as: UTF8.self) } ?? ""
        return "\(method) \(uri.prefix(200)) \(bodyText)"
    }
}

/// Makes requests from a seed: a third mutated POST bodies, a third query strings, a third paths.
struct RequestFuzzer {
    var generator: SeededGenerator

    init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    mutating func next(index: Int) -> FuzzedRequest {
        switch index % 3 {
        case 0: postRequest(index: index)
        case 1: FuzzedRequest(method: .get, uri: "/get_pipeline_info?" + queryString())
        default: pathRequest()
        }
    }

    // MARK: - Bodies

    static let fields = [
        "start_local", "end_local", "start_utc", "end_utc", "elapsed_seconds", "elapsed_human", "output_file", "rowcount",
        "log_file", "pid", "date_code", "pipeline_name", "script_name", "pipeline_type", "environment", "archived_file",
    ]

    static let strangeValues = [
        "null", "true", "false", "[]", "{}", "\"\"", "\"x\"", "0", "-1", "1.5", "-0", "1e400", "-1e400", "1e-400",
        "99999999999999999999999999999999", "-99999999999999999999999999999999", "NaN", "Infinity", "-Infinity", "\"NaN\"",
        "\"Infinity\"", "\"1e3\"", "\" 12\"", "\"12 \"", "\"0x10\"", "\"2031-02-30T00:00:00Z\"", "\"2025-09-02T12:07:02+99:00\"",
        "\"0000-01-01T00:00:00Z\"", "\"9999-12-31T23:59:59.999999999Z\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\uZZZZ\"",
        "[1,2,3]", "{\"a\":1}", "\"" + String(repeating: "a", count: 10_000) + "\"", "9223372036854775808", "-9223372036854775809",
    ]

    mutating func postRequest(index: Int) -> FuzzedRequest {
        var bytes = Array(baseBody(index: index).utf8)
        let mutations = Int.random(in: 0...3, using: &generator)
        for _ in 0..<mutations { mutate(&bytes) }
        var headers: HTTPFields = [:]
        let contentTypes = [
            "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "image/png", "",
        ]
        if let type = contentTypes.randomElement(using: &generator), !type.isEmpty { headers[.contentType] = type }
        return FuzzedRequest(method: .post, uri: "/pipelines", headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// The sample record with a unique `date_code`, so a body that survives mutation is a new run;
    /// sometimes a field replaced by a strange value, removed or duplicated.
    mutating func baseBody(index: Int) -> String {
        var changes: [String: String?] = ["date_code": "\"fuzz_\(index)\""]
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            break
        case 1:
            let field = Self.fields.randomElement(using: &generator)!
            let value = Self.strangeValues.randomElement(using: &generator)!
            // Values that are not JSON (NaN, Infinity) cannot go through the parser; they are spliced in below.
            if (try? JSONParser.parse(value)) != nil {
                changes[field] = value
            } else {
                let body = (try? sampleJSON(changes)) ?? sampleRecord
                return body.replacingOccurrences(of: "\"rowcount\":11060", with: "\"\(field)\":\(value)")
                    .replacingOccurrences(of: "\"elapsed_seconds\":2424.879", with: "\"elapsed_seconds\":\(value)")
            }
        case 2:
            changes[Self.fields.randomElement(using: &generator)!] = .some(nil)
        default:
            // A duplicated key: the last one is the one that must be validated.
            let field = Self.fields.randomElement(using: &generator)!
            let body = (try? sampleJSON(changes)) ?? sampleRecord
            return "{\"\(field)\":" + Self.strangeValues.randomElement(using: &generator)! + "," + body.dropFirst()
        }
        return (try? sampleJSON(changes)) ?? sampleRecord
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0 where !bytes.isEmpty:
            // Flip a byte to anything, invalid UTF-8 included.
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
        case 1 where !bytes.isEmpty:
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
        case 2:
            let depth = Int.random(in: 100...20_000, using: &generator)
            let open = Bool.random(using: &generator) ? "[" : "{\"a\":"
            let nested = String(repeating: open, count: depth)
            let position = bytes.firstIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? 0
            bytes.insert(contentsOf: Array(nested.utf8), at: min(position, bytes.count))
        case 3:
            let position = Int.random(in: 0...bytes.count, using: &generator)
            bytes.insert(contentsOf: [0xC0, 0x80, 0xFF, 0xFE, 0xED, 0xA0, 0x80], at: position)
        case 4:
            bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case 5:
            let position = Int.random(in: 0...bytes.count, using: &generator)
            bytes.insert(contentsOf: Array(Self.strangeValues.randomElement(using: &generator)!.utf8), at: position)
        default:
            bytes = Array(
                ["", "null", "[]", "{}", "\"\"", "0", "[" + sampleRecord + "]", sampleRecord + sampleRecord].randomElement(using: &generator)!.utf8
            )
        }
    }

    // MARK: - Query strings

    static let parameters = [
        "start_utc", "end_utc", "min_rowcount", "max_rowcount", "pipeline_name", "script_name", "pipeline_type", "environment",
        "limit", "offset", "all_data", "cursor", "format", "", "%FF", "limit%00", "LIMIT",
    ]

    static let parameterValues = [
        "", "0", "-1", "1", "10000", "10001", "99999999999999999999999", "1e3", "1.5", "true", "false", "TRUE", "1", "maybe",
        "2025-09-02T12:07:02Z", "2025-09-02 12:07:02", "2025-09-02T12:07:02%2B02:00", "2031-02-30", "not-a-date", "%FF%FE",
        "%", "%G1", "%00", "%E2%82", "%C0%80", "%ED%A0%80", "a%20b", "+", "%2B", "..%2F..%2Fetc%2Fpasswd", "v1.AAAA", "v1.",
        "%F0%9F%98%80", String(repeating: "x", count: 5000), "'%20OR%201=1--", "NaN", "Infinity",
    ]

    mutating func queryString() -> String {
        (0..<Int.random(in: 0...6, using: &generator)).map { _ in
            let name = Self.parameters.randomElement(using: &generator)!
            let value = Self.parameterValues.randomElement(using: &generator)!
            return Int.random(in: 0..<10, using: &generator) == 0 ? name : name + "=" + value
        }.joined(separator: Bool.random(using: &generator) ? "&" : "&&")
    }

    // MARK: - Paths

    static let segments = [
        "pipelines", "get_pipeline_info", "archived", "health", "openapi.json", "docs", "metrics", "", "..", "%2e%2e", "%2F", "%FF",
        "%00", "20250902_050702", "%E2%82", "a%20b", ".", "~", "export", "bulk", String(repeating: "s", count: 3000),
    ]

    mutating func pathRequest() -> FuzzedRequest {
        let path =
            "/" + (0..<Int.random(in: 0...5, using: &generator)).map { _ in Self.segments.randomElement(using: &generator)! }.joined(separator: "/")
        let methods: [HTTPRequest.Method] = [.get, .get, .post, .put, .delete, .patch, .head, .options]
        let method = methods.randomElement(using: &generator)!
        let query = Bool.random(using: &generator) ? "?" + queryString() : ""
        let body = method == .post || method == .put ? ByteBuffer(string: sampleRecord) : nil
        return FuzzedRequest(method: method, uri: path + query, headers: [.contentType: "application/json"], body: body)
    }
}
