import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineServer

/// `/openapi.json` describes the real service: every documented operation exists, every query
/// parameter the code reads is documented with the bounds it enforces, and `/docs` renders it.
@Suite("OpenAPI document and docs")
struct OpenAPIDocumentTests {
    @Test("A run's examples are sample_record.json as sent and as stored; every operation has a tag and 405/500/504")
    func examplesTagsAndCommonResponses() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let input = try #require(document["components"]?["schemas"]?["PipelineInfoInput"]?["examples"]?[0])
            #expect(input == (try JSONParser.parse(sampleRecord)))
            let output = try #require(document["components"]?["schemas"]?["PipelineInfo"]?["examples"]?[0])
            #expect(output == (try JSONParser.parse((try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))).jsonBytes)))
            #expect(document["components"]?["schemas"]?["PipelineInfoInput"]?["properties"]?["start_local"]?["format"] == nil)
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for (method, operation) in operations {
                    #expect(operation["tags"]?.array.count == 1, "\(method) \(path)")
                    for status in ["405", "500", "504"] { #expect(operation["responses"]?[status] != nil, "\(method) \(path) \(status)") }
                }
            }
            #expect(try await client.get("/docs").text.contains("id=\"apikey\""))
        }
    }

    @Test("The document is OpenAPI 3 with every route of the spec")
    func documentListsEveryRoute() async throws {
        try await withApp(.jsonl) { client, _ in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            let document = try response.json
            #expect(document["openapi"]?.string?.hasPrefix("3.") == true)
            let paths = try #require(document["paths"])
            for (path, method) in [
                ("/pipelines", "post"), ("/pipelines", "get"), ("/get_pipeline_info", "get"), ("/health", "get"), ("/", "get"),
                ("/pipelines/archived/{date_code}", "get"),
            ] {
                #expect(paths[path]?[method] != nil, "\(method) \(path) is not documented")
            }
        }
    }

    @Test("Every documented operation is routed (never 404 or 405 for its method)")
    func everyDocumentedOperationIsRouted() async throws {
        let roots = try TemporaryDirectory()
        defer { roots.remove() }
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [roots.path])) { client, _ in
            let document = try await client.get("/openapi.json").json
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for method in operations.keys {
                    let uri = path.replacingOccurrences(of: "{date_code}", with: "missing-code")
                    let response = try await client.execute(
                        uri: uri,
                        method: HTTPRequest.Method(method.uppercased())!,
                        headers: [.contentType: "application/json"],
                        body: .init(string: sampleRecord)
                    )
                    #expect(response.status != .methodNotAllowed, "\(method) \(path)")
                    if path.contains("{") {
                        // The route exists: a missing run is its own 404 with a specific message.
                        #expect(try response.json["detail"]?.string != "Not Found", "\(method) \(path)")
                    } else {
                        #expect(response.status != .notFound, "\(method) \(path)")
                    }
                }
            }
        }
    }

    @Test("The history parameters are exactly the ones the code reads, with its bounds")
    func historyParametersMatchTheCode() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let parameters = document["paths"]?["/get_pipeline_info"]?["get"]?["parameters"]?.array ?? []
            let names = parameters.compactMap { $0["name"]?.string }
            #expect(names == RunQuery.parameters.map(\.rawValue))
            let limit = try #require(parameters.first { $0["name"] == "limit" })
            #expect(limit["schema"]?["maximum"] == .number(String(RunQuery.maximumLimit)))
            #expect(limit["schema"]?["minimum"] == 1)
            #expect(limit["schema"]?["default"] == .number(String(RunQuery.defaultLimit)))
            let offset = try #require(parameters.first { $0["name"] == "offset" })
            #expect(offset["schema"]?["minimum"] == 0)
        }
    }

    @Test(
        "Every operation documents exactly the query parameters its endpoint reads",
        arguments: [
            ("/pipelines", SummaryQuery.parameters),
            ("/pipelines/history", HistoryQuery.parameters),
            ("/export", QueryParameter.export),
            ("/pipelines/archived/{date_code}", QueryParameter.archivedFile),
        ]
    )
    func operationParametersMatchTheCode(path: String, reads: [QueryParameter]) async throws {
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: ["/tmp"])) { client, _ in
            let document = try await client.get("/openapi.json").json
            let parameters = document["paths"]?[path]?["get"]?["parameters"]?.array ?? []
            let query = parameters.filter { $0["in"] == "query" }.compactMap { $0["name"]?.string }
            #expect(query == reads.map(\.rawValue))
        }
    }

    @Test("Every query parameter name is read by some endpoint")
    func everyParameterNameIsRead() {
        let read = Set(RunQuery.parameters + SummaryQuery.parameters + HistoryQuery.parameters + QueryParameter.export + QueryParameter.archivedFile)
        #expect(read == Set(QueryParameter.allCases))
        #expect(QueryParameter.signatureFilters.map(\.rawValue) == PipelineField.signatureFields.map(\.rawValue))
    }

    @Test("The run schema lists every field, requires the required ones, and states the bounds")
    func runSchemaMatchesTheModel() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let input = try #require(document["components"]?["schemas"]?["PipelineInfoInput"])
            let properties = try #require(input["properties"])
            for field in PipelineField.allCases { #expect(properties[field.rawValue] != nil, "\(field.rawValue)") }
            let required = Set(input["required"]?.array.compactMap(\.string) ?? [])
            #expect(required == Set(PipelineField.allCases.filter { !$0.isOptional }.map(\.rawValue)))
            #expect(properties["rowcount"]?["maximum"] == .number(String(PipelineInfo.maximumRowcount)))
            #expect(properties["pipeline_name"]?["maxLength"] == .number(String(PipelineField.pipelineName.maximumLength)))
        }
    }

    @Test("/docs is a self-contained page that reads openapi.json")
    func docsPageIsSelfContained() async throws {
        try await withApp(.jsonl) { client, _ in
            let response = try await client.get("/docs")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(response.text.contains("openapi.json"))
            #expect(!response.text.contains("http://") && !response.text.contains("https://"), "no external resources")
        }
    }
}
