import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineTestSupport
import Testing

/// Regressions for what schemathesis found against `/openapi.json` (docs/SCHEMATHESIS.md).
@Suite("Schemathesis findings")
struct SchemathesisFindingsTests {
    @Test("undeclared methods (TRACE, QUERY) on a known path answer 405 with Allow")
    func traceOnKnownPathIs405() async throws {
        try await withApp(.jsonl) { client, _ in
            for path in ["/", "/health", "/pipelines", "/metrics"] {
                for method in [HTTPRequest.Method.trace, HTTPRequest.Method("QUERY")!] {
                    let response = try await client.execute(uri: path, method: method)
                    #expect(response.status == .methodNotAllowed, "TRACE \(path) answered \(response.status)")
                    #expect(response.headers[.allow] != nil, "TRACE \(path) has no Allow header")
                    #expect(try response.json["detail"]?.string == "Method Not Allowed")
                }
            }
        }
    }

    @Test("stored local times are described by a pattern, not RFC 3339 date-time, and 414 is documented")
    func documentMatchesResponses() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let output = document["components"]?["schemas"]?["PipelineInfo"]?["properties"]
            let stored = try await client.post("/pipelines", json: try sampleJSON(["start_local": "\"2025-09-02 05:07:02.25\""])).json
            for field in ["start_local", "end_local"] {
                #expect(output?[field]?["format"] == nil, "\(field) output still claims format date-time")
                let regex = try Regex(try #require(output?[field]?["pattern"]?.string))
                let value = try #require(stored[field]?.string)
                #expect(value.firstMatch(of: regex) != nil, "\(field) \(value) does not match the documented pattern")
            }
            let responses = document["paths"]?["/get_pipeline_info"]?["get"]?["responses"]
            #expect(responses?["414"] != nil)
        }
    }

    @Test("rowcount bounds are documented as the 64-bit range the server parses, and both ends are accepted")
    func rowcountBoundsAreDocumented() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let parameters = document["paths"]?["/get_pipeline_info"]?["get"]?["parameters"]?.array ?? []
            for name in ["min_rowcount", "max_rowcount"] {
                let schema = parameters.first { $0["name"]?.string == name }?["schema"]
                #expect(schema?["minimum"] == .number(String(Int64.min)), "\(name) minimum")
                #expect(schema?["maximum"] == .number(String(Int64.max)), "\(name) maximum")
            }
            let ends = try await client.get("/get_pipeline_info?min_rowcount=\(Int64.min)&max_rowcount=\(Int64.max)")
            #expect(ends.status == .ok)
            let beyond = try await client.get("/get_pipeline_info?max_rowcount=9223372036854775808")
            #expect(beyond.status == .unprocessableContent)
            #expect(document["paths"]?["/export"]?["get"]?["responses"]?["414"] != nil)
        }
    }
}
