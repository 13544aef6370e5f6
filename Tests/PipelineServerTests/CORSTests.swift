import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import Testing

/// CORS: the configured origins (none by default) may call the API from a browser.
@Suite("CORS")
struct CORSTests {
    static let dashboard = "https://dashboard.example.com"
    static let configuration = ServiceConfiguration(corsOrigins: .list([dashboard, "http://localhost:3000"]))

    @Test("By default no CORS header is ever sent")
    func noOriginsByDefault() async throws {
        try await withObservedApp { client, _ in
            let response = try await client.send(.get, "/pipelines", headers: [.origin: CORSTests.dashboard])
            #expect(response.status == .ok)
            #expect(response.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.send(
                .options,
                "/pipelines",
                headers: [.origin: CORSTests.dashboard, .accessControlRequestMethod: "POST"]
            )
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("A preflight from an allowed origin is answered 204 with the methods and the key headers")
    func preflightIsAnswered() async throws {
        try await withObservedApp(configuration: CORSTests.configuration) { client, _ in
            let preflight = try await client.send(
                .options,
                "/pipelines",
                headers: [.origin: CORSTests.dashboard, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "x-api-key"]
            )
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == CORSTests.dashboard)
            let methods = preflight.headers[.accessControlAllowMethods] ?? ""
            #expect(methods.contains("POST") && methods.contains("GET"))
            let headers = (preflight.headers[.accessControlAllowHeaders] ?? "").lowercased()
            for header in ["authorization", "x-api-key", "content-type", "x-request-id"] { #expect(headers.contains(header), "\(header)") }
            #expect(preflight.headers[.vary] == "Origin")
        }
    }

    @Test("Answers to an allowed origin carry Access-Control-Allow-Origin, errors included")
    func allowedOriginIsNamed() async throws {
        try await withObservedApp(configuration: CORSTests.configuration) { client, _ in
            let ok = try await client.send(.get, "/pipelines", headers: [.origin: "http://localhost:3000"])
            #expect(ok.headers[.accessControlAllowOrigin] == "http://localhost:3000")
            #expect(ok.headers[.accessControlExposeHeaders] == nil || ok.status == .ok)
            let invalid = try await client.send(.post, "/pipelines", headers: [.origin: CORSTests.dashboard], body: "{}")
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.headers[.accessControlAllowOrigin] == CORSTests.dashboard)
        }
    }

    @Test("Another origin gets no CORS headers, preflight included")
    func otherOriginIsNotAllowed() async throws {
        try await withObservedApp(configuration: CORSTests.configuration) { client, _ in
            let response = try await client.send(.get, "/pipelines", headers: [.origin: "https://evil.example.com"])
            #expect(response.status == .ok)
            #expect(response.headers[.accessControlAllowOrigin] == nil)
            #expect(response.headers[.vary] == "Origin", "a cache keeps this answer from the allowed origins")
            let preflight = try await client.send(
                .options,
                "/pipelines",
                headers: [.origin: "https://evil.example.com", .accessControlRequestMethod: "POST"]
            )
            #expect(preflight.status != .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("* allows any origin")
    func wildcardAllowsAny() async throws {
        try await withObservedApp(configuration: ServiceConfiguration(corsOrigins: .any)) { client, _ in
            let response = try await client.send(.get, "/health", headers: [.origin: "https://anything.example"])
            #expect(response.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test("The origins setting is parsed, normalised and validated")
    func originsSettingIsParsed() throws {
        let parsed = try ServiceConfiguration.resolve(
            flags: [:],
            environment: ["PIPELINE_CORS_ORIGINS": " https://Dashboard.example.com/ , http://localhost:3000,"]
        )
        #expect(parsed.corsOrigins == .list(["https://dashboard.example.com", "http://localhost:3000"]))
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_CORS_ORIGINS": "*"]).corsOrigins == .any)
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: [:]).corsOrigins == CORSOrigins.none)
        for bad in ["ftp://x.example", "https://x.example/path", "*,https://x.example", "dashboard.example.com"] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_CORS_ORIGINS": bad])
            }
            #expect(error?.name == "PIPELINE_CORS_ORIGINS", "\(bad)")
        }
    }
}
