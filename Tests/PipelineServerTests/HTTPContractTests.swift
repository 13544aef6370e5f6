import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// The HTTP API — statuses, shapes and errors — on every backend.
@Suite("HTTP API contract")
struct HTTPContractTests {
    @Test("POST /pipelines answers 201 with the stored record, every field present", arguments: Backend.underTest)
    func postAnswersCreated(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let response = try await client.post("/pipelines", json: sampleRecord)
            #expect(response.status == .created)
            #expect(response.headers[.contentType] == "application/json")
            let body = try response.json
            for field in PipelineField.allCases { #expect(body[field.rawValue] != nil, "missing \(field.rawValue)") }
            #expect(body["start_local"] == "2025-09-02T05:07:02")
            #expect(body["start_utc"] == "2025-09-02T12:07:02Z")
            #expect(body["elapsed_seconds"] == .number("2424.879"))
            #expect(body["rowcount"] == 11060)
        }
    }

    /// A browser sends a form, plain text or a body without a type from any page without asking
    /// first: read as JSON, such bodies would let any site write runs into a service without keys.
    @Test("A body that is not declared JSON is refused with 415 and nothing is stored", arguments: [Backend.jsonl])
    func bodiesNotDeclaredJSONAreRefused(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            for contentType in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", nil] {
                let response = try await client.post("/pipelines", json: sampleRecord, contentType: contentType)
                #expect(response.status == .unsupportedMediaType, "\(contentType ?? "no type")")
                #expect(try response.json["detail"]?.string?.hasPrefix("Content-Type must be application/json") == true)
                let batch = try await client.post("/pipelines/batch", json: "[\(sampleRecord)]", contentType: contentType)
                #expect(batch.status == .unsupportedMediaType, "\(contentType ?? "no type")")
            }
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
            let charset = try await client.post("/pipelines", json: sampleRecord, contentType: "application/json; charset=utf-8")
            #expect(charset.status == .created)
            let vendor = try await client.post(
                "/pipelines",
                json: try sampleJSON(["date_code": "\"x2\""]),
                contentType: "application/vnd.example+json"
            )
            #expect(vendor.status == .created)
        }
    }

    @Test("Repeating a POST is idempotent; a different run under the same key is a 409", arguments: Backend.underTest)
    func repeatedPostIsIdempotent(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .created)
            let again = try await client.post("/pipelines", json: sampleRecord)
            #expect(again.status == .ok)
            let conflict = try await client.post("/pipelines", json: try sampleJSON(["rowcount": "1"]))
            #expect(conflict.status == .conflict)
            #expect(try conflict.json["date_code"] == "20250902_050702")
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 1)
        }
    }

    @Test("Every missing required field is named in one 422", arguments: [Backend.jsonl])
    func missingFieldsAreNamed(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let response = try await client.post("/pipelines", json: try sampleJSON(["rowcount": nil, "start_utc": nil, "pid": "\"12.5\""]))
            #expect(response.status == .unprocessableContent)
            #expect(Set(try response.json.validationLocations) == ["body.rowcount", "body.start_utc", "body.pid"])
        }
    }

    @Test(
        "Bad values answer 422 naming the field",
        arguments: [
            ("start_utc", "\"2031-02-30T00:00:00Z\""), ("end_local", "\"not-a-date\""), ("rowcount", "1.5"), ("rowcount", "true"),
            ("rowcount", "null"), ("rowcount", "-1"), ("pid", "\"abc\""), ("elapsed_seconds", "\"NaN\""), ("elapsed_seconds", "-3"),
            ("date_code", "20250902"), ("end_utc", "\"2025-09-02T12:00:00Z\""), ("pipeline_name", "\"a\\u0000b\""),
        ]
    )
    func badValuesAreNamed(field: String, value: String) async throws {
        try await withApp(.jsonl) { client, fixture in
            let response = try await client.post("/pipelines", json: try sampleJSON([field: value]))
            #expect(response.status == .unprocessableContent)
            #expect(try response.json.validationLocations.contains("body.\(field)"))
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("Malformed JSON, NaN, a wrong type of body and deep nesting are 4xx, never 5xx")
    func malformedBodiesAreClientErrors() async throws {
        try await withApp(.jsonl) { client, _ in
            for body in ["{", "", "[]", "null", "{\"rowcount\": NaN}", "\u{FF}", String(repeating: "[", count: 10_000), "{\"a\":1,}"] {
                let response = try await client.post("/pipelines", json: body)
                #expect((400..<500).contains(response.status.code), "body \(body.prefix(20)) → \(response.status)")
                #expect(try response.json["detail"] != nil)
            }
        }
    }

    @Test("A non-JSON content type is 415, an oversize body 413")
    func contentTypeAndSizeAreChecked() async throws {
        try await withApp(.jsonl, configuration: ServiceConfiguration(maxBodySize: 2048)) { client, _ in
            #expect(try await client.post("/pipelines", json: sampleRecord, contentType: "text/html").status == .unsupportedMediaType)
            let huge = try sampleJSON(["output_file": "\"\(String(repeating: "x", count: 4000))\""])
            let response = try await client.post("/pipelines", json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(try response.json["detail"]?.string?.contains("2048") == true)
        }
    }

    @Test("get_pipeline_info filters, counts, pages and names the pipelines", arguments: Backend.underTest)
    func historyFiltersAndPages(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            var generator = RandomRuns(seed: 3)
            let runs = generator.runs(60)
            let stored = try await fixture.repository.insert(contentsOf: runs).map(\.storedRun)
            let query = "pipeline_name=ingest_lots&min_rowcount=10&limit=5&offset=2"
            let response = try await client.get("/get_pipeline_info?\(query)")
            #expect(response.status == .ok)
            let body = try response.json
            let expected = try RunQuery(parameters: QueryString.parse(query)).evaluate(over: stored)
            #expect(body["total"]?.int == expected.total)
            #expect(body["count"]?.int == expected.runs.count)
            #expect(body["results"]?.array.compactMap { $0["date_code"]?.string } == expected.runs.map(\.info.dateCode))
            #expect(body["pipelines"] == (expected.runs.isEmpty ? .array([]) : .array(["ingest_lots"])))
            let all = try await client.get("/get_pipeline_info?all_data=true&limit=1")
            #expect(try all.json["count"]?.int == 60)
            #expect(try all.json["next_cursor"] == .null)
        }
    }

    @Test("Out-of-range and malformed parameters answer 422 naming the parameter")
    func badParametersAreNamed() async throws {
        try await withApp(.jsonl) { client, _ in
            for (query, name) in [
                ("limit=10001", "limit"), ("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"),
                ("start_utc=yesterday", "start_utc"), ("end_utc=2025-13-01", "end_utc"), ("min_rowcount=1.5", "min_rowcount"),
                ("all_data=maybe", "all_data"), ("cursor=zzz", "cursor"),
            ] {
                let response = try await client.get("/get_pipeline_info?\(query)")
                #expect(response.status == .unprocessableContent, "\(query)")
                #expect(try response.json.validationLocations == ["query.\(name)"], "\(query)")
            }
            #expect(try await client.get("/get_pipeline_info?limit=10000").status == .ok)
        }
    }

    @Test("A cursor used with other filters is refused")
    func cursorIsBoundToItsFilters() async throws {
        try await withApp(.jsonl) { client, fixture in
            var generator = RandomRuns(seed: 5)
            _ = try await fixture.repository.insert(contentsOf: generator.runs(30))
            let first = try await client.get("/get_pipeline_info?limit=10")
            let cursor = try #require(try first.json["next_cursor"]?.string)
            #expect(try await client.get("/get_pipeline_info?limit=10&cursor=\(cursor)").status == .ok)
            let mismatched = try await client.get("/get_pipeline_info?limit=10&environment=prod&cursor=\(cursor)")
            #expect(mismatched.status == .unprocessableContent)
            #expect(try mismatched.json.validationLocations == ["query.cursor"])
        }
    }

    @Test("GET /pipelines answers summaries equal to the oracle", arguments: Backend.underTest)
    func summariesMatchTheOracle(backend: Backend) async throws {
        try await withApp(backend, configuration: InsightTests.configuration) { client, fixture in
            var generator = RandomRuns(seed: 8)
            let runs = generator.runs(80)
            _ = try await fixture.repository.insert(contentsOf: runs)
            let response = try await client.get("/pipelines")
            #expect(response.status == .ok)
            // The original summary fields are the oracle's; the added insight fields are the core's (InsightTests).
            let expected = PipelineListResponse.bytes(InsightTests.expectedSummaries(runs))
            #expect(Array(response.body.readableBytesView) == expected)
        }
    }

    /// "café" with é as one code point (NFC) and as "e" + a combining accent (NFD), as JSON
    /// escapes: one string to Swift's `==`, two to SQL, and so two to every backend.
    static let (composed, decomposed) = ("caf\u{E9}", "cafe\u{301}")
    static let (composedJSON, decomposedJSON) = (#""caf\u00e9""#, #""cafe\u0301""#)

    /// Every byte percent-encoded, so the query string carries exactly these bytes.
    static func percentEncoded(_ text: String) -> String {
        text.utf8.map { "%" + ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }

    /// The bytes of a JSON string, so a comparison tells the two spellings apart (`==` on strings does not).
    static func bytes(_ value: JSONValue?) -> [UInt8]? { value?.string.map { Array($0.utf8) } }

    @Test("Names that differ only in their bytes are two pipelines, each filtered and served as posted", arguments: Backend.underTest)
    func spellingsAreToldApartByBytes(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            for (spelling, code) in [(Self.composedJSON, "\"n1\""), (Self.decomposedJSON, "\"n2\"")] {
                let run = try sampleJSON(["pipeline_name": spelling, "environment": spelling, "date_code": code])
                #expect(try await client.post("/pipelines", json: run).status == .created)
            }
            let (composed, decomposed) = (Array(Self.composed.utf8), Array(Self.decomposed.utf8))
            let summaries = try await client.get("/pipelines").json["pipelines"]?.array ?? []
            #expect(summaries.count == 2)
            #expect(Set(summaries.map { Self.bytes($0["pipeline_name"]) }) == [composed, decomposed])
            #expect(summaries.allSatisfy { Self.bytes($0["environment"]) == Self.bytes($0["pipeline_name"]) })
            for (spelling, code) in [(Self.composed, "n1"), (Self.decomposed, "n2")] {
                for field in ["pipeline_name", "environment"] {
                    let body = try await client.get("/get_pipeline_info?\(field)=\(Self.percentEncoded(spelling))").json
                    #expect(body["total"]?.int == 1, "\(field)")
                    #expect(body["results"]?.array.map { $0["date_code"]?.string } == [code], "\(field)")
                    #expect(body["results"]?.array.map { Self.bytes($0["pipeline_name"]) } == [Array(spelling.utf8)], "\(field)")
                    #expect(body["pipelines"]?.array.map { Self.bytes($0) } == [Array(spelling.utf8)], "\(field)")
                }
            }
            // The names of an answer's runs, in byte order: "e" + U+0301 (65 CC 81) before U+00E9 (C3 A9).
            let both = try await client.get("/get_pipeline_info").json
            #expect(both["pipelines"]?.array.map { Self.bytes($0) } == [decomposed, composed])
        }
    }

    @Test("GET /pipelines orders names that ran together by their bytes", arguments: Backend.underTest)
    func summariesOrderNamesByBytes(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            for (index, name) in [#""z""#, #""\u00e9""#, #""f""#, #""e\u0301""#, #""e""#].enumerated() {
                let posted = try await client.post("/pipelines", json: try sampleJSON(["pipeline_name": name, "date_code": "\"o\(index)\""]))
                #expect(posted.status == .created)
            }
            // As SQL's COLLATE "C" orders them: U+0301 (CC 81) after "e" but before "f", U+00E9 (C3 A9) after "z".
            let expected = ["e", "e\u{301}", "f", "z", "\u{E9}"].map { Array($0.utf8) }
            let summaries = try await client.get("/pipelines").json["pipelines"]?.array ?? []
            #expect(summaries.map { Self.bytes($0["pipeline_name"]) } == expected)
        }
    }

    @Test("Health, welcome, unknown routes and wrong methods answer JSON", arguments: Backend.underTest)
    func serviceEndpointsAnswerJSON(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let health = try await client.get("/health")
            #expect(health.status == .ok)
            #expect(try health.json["status"] == "healthy")
            #expect(try health.json["backend"]?.string == backend.rawValue)
            let root = try await client.get("/")
            #expect(try root.json["docs"] == "/docs")
            let missing = try await client.get("/no/such/route")
            #expect(missing.status == .notFound)
            #expect(try missing.json["detail"] == "Not Found")
            let wrongMethod = try await client.execute(uri: "/get_pipeline_info", method: .delete)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(try wrongMethod.json["detail"] == "Method Not Allowed")
        }
    }
}

/// `all_data=true` streams its answer in chunks; the result must equal the unpaged oracle exactly.
@Suite("Streaming all_data")
struct StreamingAllDataTests {
    @Test("A streamed all_data answer equals the in-memory evaluation", arguments: Backend.underTest)
    func streamedAnswerEqualsTheOracle(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            var generator = RandomRuns(seed: 31)
            let count = AllDataStreaming.chunkSize * 2 + 17
            var stored: [StoredRun] = []
            for start in stride(from: 0, to: count, by: 1000) {
                stored += try await fixture.repository.insert(contentsOf: generator.runs(min(1000, count - start))).map(\.storedRun)
            }
            for query in ["all_data=true", "all_data=true&environment=prod", "all_data=true&pipeline_name=ingest_lots"] {
                let response = try await client.get("/get_pipeline_info?\(query)")
                #expect(response.status == .ok)
                let body = try response.json
                let expected = try RunQuery(parameters: QueryString.parse(query)).evaluate(over: stored)
                #expect(body["total"]?.int == expected.total, "\(query)")
                #expect(body["count"]?.int == expected.runs.count, "\(query)")
                #expect(body["results"]?.array.compactMap { $0["date_code"]?.string } == expected.runs.map(\.info.dateCode), "\(query)")
                let names = Set(expected.runs.compactMap(\.info.pipelineName)).sorted()
                #expect(body["pipelines"] == .array(names.map { .string($0) }), "\(query)")
                #expect(body["next_cursor"] == .null)
            }
        }
    }
}
