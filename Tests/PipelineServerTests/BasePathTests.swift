import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Reverse proxy: `--base-path` serves every route under a prefix, and the API
/// description and docs stay correct under it.
@Suite("Base path")
struct BasePathTests {
    static let configuration = ServiceConfiguration(basePath: "/pipeline-service")

    @Test("Every route is served under the base path and not outside it")
    func routesMoveUnderThePrefix() async throws {
        try await withObservedApp(configuration: BasePathTests.configuration) { client, _ in
            #expect(try await client.post("/pipeline-service/pipelines", json: sampleRecord).status == .created)
            for path in ["/health", "/pipelines", "/get_pipeline_info", "/metrics", "/openapi.json", "/docs"] {
                #expect(try await client.get("/pipeline-service" + path).status == .ok, "\(path)")
                #expect(try await client.get(path).status == .notFound, "\(path) outside the prefix")
            }
            #expect(try await client.get("/pipeline-service").status == .ok)
            #expect(try await client.get("/pipeline-service/").status == .ok)
            let wrongMethod = try await client.send(.delete, "/pipeline-service/pipelines")
            #expect(wrongMethod.status == .methodNotAllowed)
        }
    }

    @Test("The welcome and OpenAPI document point under the prefix")
    func descriptionNamesThePrefix() async throws {
        let roots = try TemporaryDirectory()
        defer { roots.remove() }
        var configuration = BasePathTests.configuration
        configuration.archiveRoots = [roots.path]
        try await withObservedApp(configuration: configuration) { client, _ in
            let welcome = try await client.get("/pipeline-service/").json
            #expect(welcome["docs"] == "/pipeline-service/docs")
            #expect(welcome["openapi"] == "/pipeline-service/openapi.json")
            let document = try await client.get("/pipeline-service/openapi.json").json
            #expect(document["servers"] == .array([.object(["url": "/pipeline-service"])]))
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            // Every documented operation answers at server URL + path.
            for (path, item) in paths {
                guard case .object(let operations) = item, operations["get"] != nil else { continue }
                let uri = "/pipeline-service" + path.replacingOccurrences(of: "{date_code}", with: "missing")
                let response = try await client.get(uri)
                #expect(response.status != .methodNotAllowed, "\(uri)")
                #expect(try response.status != .notFound || response.json["detail"] != "Not Found", "\(uri)")
            }
        }
        try await withObservedApp { client, _ in
            let document = try await client.get("/openapi.json").json
            #expect(document["servers"] == nil)
        }
    }

    @Test("/docs finds openapi.json relative to itself under the prefix")
    func docsWorkUnderThePrefix() async throws {
        try await withObservedApp(configuration: BasePathTests.configuration) { client, _ in
            let page = try await client.get("/pipeline-service/docs").text
            // The page derives its base from its own location and links the document relatively.
            #expect(page.contains("location.pathname.replace(/\\/docs\\/?$/, \"\")"))
            #expect(page.contains("fetch(base + \"/openapi.json\")"))
            #expect(page.contains("href=\"openapi.json\""))
            let base = "/pipeline-service/docs".replacingOccurrences(of: "/docs", with: "")
            #expect(try await client.get(base + "/openapi.json").status == .ok)
            let relative = try #require(URL(string: "openapi.json", relativeTo: URL(string: "http://proxy.example/pipeline-service/docs")))
            #expect(try await client.get(relative.absoluteURL.path).status == .ok)
        }
    }

    @Test("Metrics and logs name routes without the prefix")
    func routeNamesDropThePrefix() async throws {
        let logs = LogRecorder()
        try await withObservedApp(configuration: BasePathTests.configuration, logs: logs) { client, _ in
            _ = try await client.get("/pipeline-service/pipelines")
            let samples = parseExposition(try await client.get("/pipeline-service/metrics").text)
            #expect(samples.value("http_requests_total", ["route": "/pipelines", "status": "200"]) == 1)
        }
        #expect(try logs.entries(withMessage: "request").first?["route"] == "/pipelines")
    }

    @Test(
        "The base path is validated; / and empty mean the root",
        arguments: [("/pipeline-service/", "/pipeline-service"), ("/", ""), ("/a/b-c_d.e~f", "/a/b-c_d.e~f")]
    )
    func basePathIsNormalised(text: String, expected: String) throws {
        #expect(try ServiceConfiguration.resolve(flags: [.basePath: text], environment: [:]).basePath == expected)
    }

    @Test(
        "A base path that is not a plain absolute path names the setting",
        arguments: ["relative", "/a//b", "/a/../b", "/{x}", "/a b", "/:id", "/*"]
    )
    func badBasePathIsRefused(text: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_BASE_PATH": text])
        }
        #expect(error?.name == "PIPELINE_BASE_PATH")
    }
}
