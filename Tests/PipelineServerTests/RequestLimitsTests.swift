import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Input that cannot hurt: URL and header caps, request and idle timeouts.
@Suite("Request limits and timeouts")
struct RequestLimitsTests {
    @Test("A request URI over 8 KiB is 414 with a JSON detail; 8 KiB itself is served")
    func longURIIsRefused() async throws {
        try await withObservedApp { client, _ in
            let prefix = "/health?padding="
            let atLimit = prefix + String(repeating: "a", count: 8 * 1024 - prefix.utf8.count)
            #expect(try await client.get(atLimit).status == .ok)
            let response = try await client.get(atLimit + "a")
            #expect(response.status == .uriTooLong)
            #expect(try response.json["detail"]?.string?.contains("8192") == true)
        }
    }

    @Test("A request slower than the request timeout is answered 504 in JSON, soon after the timeout")
    func slowRequestTimesOut() async throws {
        let configuration = ServiceConfiguration(requestTimeout: .milliseconds(200))
        let stuck: @Sendable (any PipelineRunRepository) -> any PipelineRunRepository = { SlowSummaries(base: $0) }
        try await withObservedApp(configuration: configuration, wrap: stuck) { client, _ in
            let start = ContinuousClock.now
            let response = try await client.get("/pipelines")
            let elapsed = ContinuousClock.now - start
            #expect(response.status == .gatewayTimeout)
            #expect(try response.json["detail"]?.string?.contains("200 milliseconds") == true)
            // The handler would take 60 s; a generous bound keeps this about behaviour, not speed, on a loaded machine.
            #expect(elapsed < .seconds(30))
            #expect(try await client.get("/health").status == .ok, "other requests are unaffected")
        }
    }

    @Test("Requests within the timeout keep their own answers and errors")
    func fastRequestsAreUntouched() async throws {
        try await withObservedApp(configuration: ServiceConfiguration(requestTimeout: .seconds(5))) { client, _ in
            let created = try await client.post("/pipelines", json: sampleRecord)
            #expect(created.status == .created)
            let malformed = try await client.post("/pipelines", json: "{")
            #expect(malformed.status == .unprocessableContent)
        }
    }

    @Test("Timeouts are whole seconds in range, by default 75 s idle and 30 s per request")
    func timeoutSettings() throws {
        let defaults = try ServiceConfiguration.resolve(flags: [:], environment: [:])
        #expect(defaults.idleTimeout == .seconds(75))
        #expect(defaults.requestTimeout == .seconds(30))
        let set = try ServiceConfiguration.resolve(flags: [.requestTimeout: "5"], environment: ["PIPELINE_IDLE_TIMEOUT": "10"])
        #expect(set.idleTimeout == .seconds(10))
        #expect(set.requestTimeout == .seconds(5))
        for (setting, value) in [
            ("PIPELINE_IDLE_TIMEOUT", "0"), ("PIPELINE_IDLE_TIMEOUT", "ten"), ("PIPELINE_REQUEST_TIMEOUT", "-1"),
            ("PIPELINE_REQUEST_TIMEOUT", "3601"),
            ("PIPELINE_AUTH_READS", "maybe"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [:], environment: [setting: value]) }
            #expect(error?.name == setting, "\(setting)=\(value)")
        }
    }

    @Test("Over a socket, a header line over 16 KiB is refused with 400 before it reaches the router")
    func oversizedHeaderIsRefused() async throws {
        try await withFixture(.jsonl) { fixture in
            let configuration = ServiceConfiguration(port: 0)
            let app = buildApplication(repository: fixture.repository, configuration: configuration, logger: testLogger("test"))
            try await app.test(.live) { client in
                let small = try await client.send(.get, "/health", headers: [.cookie: String(repeating: "c", count: 8 * 1024)])
                #expect(small.status == .ok)
                let large = try await client.send(.get, "/health", headers: [.cookie: String(repeating: "c", count: 17 * 1024)])
                #expect(large.status == .badRequest)
            }
        }
    }
}

/// A repository whose summaries never come (until cancelled): a stuck backend.
private struct SlowSummaries: ForwardingRepository {
    let base: any PipelineRunRepository

    func summaries() async throws -> [PipelineSummary] {
        try await Task.sleep(for: .seconds(60))
        return try await base.summaries()
    }
}
