import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Auth for writes, and the audit trail: API keys from a file of hashes, 401/403, reads optionally
/// protected, `/health` always open, one audit line per accepted write that never holds the key.
@Suite("API keys and audit")
struct AuthTests {
    static let writerKey = "psk_writer-key-for-tests-0123456789abcdefghijkl"
    static let readerKey = "psk_reader-key-for-tests-0123456789abcdefghijkl"
    static let keys = APIKeySet(plainKeys: [(writerKey, "ci-writer"), (readerKey, nil)])

    static func configuration(_ scope: AuthenticationScope = .writes) -> ServiceConfiguration {
        ServiceConfiguration(apiKeys: keys, authenticationScope: scope)
    }

    // MARK: - The keys file

    @Test("A keys file with comments, blank lines and labels lists each key with its label")
    func keysFileIsParsed() throws {
        let writer = AuthTests.hashLine(AuthTests.writerKey)
        let reader = AuthTests.hashLine(AuthTests.readerKey).uppercased()
        let keys = try APIKeySet(fileContents: "# keys for prod\n\n\(writer) ci-writer   # the CI job\n  \(reader)\r\n")
        #expect(keys.keys.count == 2)
        #expect(keys.key(matching: AuthTests.writerKey)?.label == "ci-writer")
        #expect(keys.key(matching: AuthTests.readerKey)?.label == nil)
        #expect(keys.key(matching: AuthTests.readerKey)?.caller == String(AuthTests.hashLine(AuthTests.readerKey).prefix(8)))
        #expect(keys.key(matching: "psk_not-a-configured-key") == nil)
        #expect(keys.key(matching: "") == nil)
    }

    @Test(
        "A malformed keys file is refused with the line at fault",
        arguments: [
            ("not-a-hash\n", "line 1:"),
            ("# only a comment\n\n", "lists no key"),
            ("\(String(repeating: "a", count: 64)) label extra\n", "line 1:"),
            ("\(String(repeating: "a", count: 63))\n", "line 1:"),
            ("\(String(repeating: "a", count: 64)) bad/label\n", "line 1:"),
            ("\(String(repeating: "a", count: 64))\n# x\n\(String(repeating: "a", count: 64)) again\n", "line 3: the same key as line 1"),
        ]
    )
    func malformedKeysFileIsRefused(contents: String, expected: String) {
        let error = #expect(throws: APIKeysFileError.self) { try APIKeySet(fileContents: contents) }
        #expect(error.map { "\($0)".contains(expected) } == true, "\(String(describing: error))")
    }

    @Test("A missing or malformed keys file stops start-up with an error naming PIPELINE_API_KEYS_FILE")
    func badKeysFileNamesTheSetting() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let malformed = directory.path + "/keys"
        try "abc\n".write(toFile: malformed, atomically: true, encoding: .utf8)
        for path in [directory.path + "/missing", malformed] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_API_KEYS_FILE": path])
            }
            #expect(error?.name == "PIPELINE_API_KEYS_FILE")
            #expect(error.map { !"\($0)".contains("\n") } == true)
        }
        let flagged = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.resolve(flags: [.apiKeysFile: malformed], environment: [:])
        }
        #expect(flagged?.name == "--api-keys-file")
    }

    @Test("A keys file from the environment turns auth on; PIPELINE_AUTH_READS widens it to reads")
    func keysFileTurnsAuthOn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/keys"
        try "\(AuthTests.hashLine(AuthTests.writerKey)) ci-writer\n".write(toFile: path, atomically: true, encoding: .utf8)
        let writes = try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_API_KEYS_FILE": path])
        #expect(writes.apiKeys?.key(matching: AuthTests.writerKey)?.label == "ci-writer")
        #expect(writes.authenticationScope == .writes)
        let reads = try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_API_KEYS_FILE": path, "PIPELINE_AUTH_READS": "true"])
        #expect(reads.authenticationScope == .writesAndReads)
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: [:]).apiKeys == nil)
    }

    @Test("keygen's key is accepted by the line it prints, and each key is new")
    func generatedKeyMatchesItsLine() throws {
        let key = APIKey.generate()
        #expect(key.hasPrefix("psk_"))
        #expect(key.count == 4 + 43)
        #expect(key.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let line = APIKey.keysFileLine(forKey: key, label: "nightly-etl")
        #expect(!line.contains(key))
        let keys = try APIKeySet(fileContents: line + "\n")
        #expect(keys.key(matching: key)?.label == "nightly-etl")
        #expect(APIKey.generate() != key)
    }

    // MARK: - Over HTTP

    @Test("With keys configured a write without a key is 401 with WWW-Authenticate, and nothing is stored")
    func writeWithoutKeyIsUnauthorized() async throws {
        try await withObservedApp(configuration: AuthTests.configuration()) { client, fixture in
            let response = try await client.post("/pipelines", json: sampleRecord)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(try response.json["detail"]?.string?.contains("Authorization: Bearer") == true)
            let basic = try await client.send(.post, "/pipelines", headers: [.authorization: "Basic dXNlcjpwYXNz"], body: sampleRecord)
            #expect(basic.status == .unauthorized)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A wrong key is 403 and stores nothing")
    func wrongKeyIsForbidden() async throws {
        try await withObservedApp(configuration: AuthTests.configuration()) { client, fixture in
            for headers: HTTPFields in [[.authorization: "Bearer psk_wrong"], [.apiKeyHeader: AuthTests.writerKey + "x"]] {
                let response = try await client.send(.post, "/pipelines", headers: headers, body: sampleRecord)
                #expect(response.status == .forbidden)
                #expect(try response.json["detail"] == "The API key is not valid")
            }
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A configured key is accepted as a Bearer token or in X-API-Key")
    func configuredKeyIsAccepted() async throws {
        try await withObservedApp(configuration: AuthTests.configuration()) { client, _ in
            let bearer = try await client.send(.post, "/pipelines", headers: [.authorization: "Bearer \(AuthTests.writerKey)"], body: sampleRecord)
            #expect(bearer.status == .created)
            let header = try await client.send(.post, "/pipelines", headers: [.apiKeyHeader: AuthTests.readerKey], body: sampleRecord)
            #expect(header.status == .ok)
            let lowercaseScheme = try await client.send(
                .post,
                "/pipelines",
                headers: [.authorization: "bearer \(AuthTests.writerKey)"],
                body: sampleRecord
            )
            #expect(lowercaseScheme.status == .ok)
        }
    }

    @Test("With keys for writes only, reads stay open")
    func readsStayOpenByDefault() async throws {
        try await withObservedApp(configuration: AuthTests.configuration()) { client, _ in
            for path in ["/pipelines", "/get_pipeline_info", "/metrics", "/health"] {
                let response = try await client.get(path)
                #expect(response.status == .ok, "\(path)")
            }
        }
    }

    @Test("With PIPELINE_AUTH_READS reads need a key too, but /health and the docs stay open")
    func readsNeedAKeyWhenAsked() async throws {
        try await withObservedApp(configuration: AuthTests.configuration(.writesAndReads)) { client, _ in
            for path in ["/pipelines", "/get_pipeline_info", "/metrics", "/pipelines/archived/x", "/no-such-route"] {
                #expect(try await client.get(path).status == .unauthorized, "\(path)")
                let wrong = try await client.send(.get, path, headers: [.apiKeyHeader: "nope"])
                #expect(wrong.status == .forbidden, "\(path)")
            }
            let keyed = try await client.send(.get, "/pipelines", headers: [.authorization: "Bearer \(AuthTests.readerKey)"])
            #expect(keyed.status == .ok)
            for path in ["/health", "/", "/openapi.json", "/docs"] {
                #expect(try await client.get(path).status == .ok, "\(path)")
            }
        }
    }

    @Test("Without keys configured writes are open, as the old service's callers expect")
    func authIsOffByDefault() async throws {
        try await withObservedApp { client, _ in
            let response = try await client.post("/pipelines", json: sampleRecord)
            #expect(response.status == .created)
        }
    }

    @Test("The OpenAPI document states the key schemes and which operations need them")
    func openAPIDocumentStatesSecurity() async throws {
        try await withObservedApp(configuration: AuthTests.configuration()) { client, _ in
            let document = try await client.get("/openapi.json").json
            #expect(document["components"]?["securitySchemes"]?["bearerAuth"]?["scheme"] == "bearer")
            #expect(document["components"]?["securitySchemes"]?["apiKeyHeader"]?["name"] == "X-API-Key")
            let post = try #require(document["paths"]?["/pipelines"]?["post"])
            #expect(post["security"]?.array.isEmpty == false)
            #expect(post["responses"]?["401"] != nil && post["responses"]?["403"] != nil)
            #expect(document["paths"]?["/pipelines"]?["get"]?["security"] == nil)
        }
        try await withObservedApp { client, _ in
            let document = try await client.get("/openapi.json").json
            #expect(document["components"]?["securitySchemes"] == nil)
            #expect(document["paths"]?["/pipelines"]?["post"]?["security"] == nil)
        }
    }

    // MARK: - Audit

    @Test("Every accepted write logs one audit line: who by key label, what, outcome; never the key")
    func acceptedWritesAreAudited() async throws {
        let logs = LogRecorder()
        try await withObservedApp(configuration: AuthTests.configuration(), logs: logs) { client, _ in
            _ = try await client.send(.post, "/pipelines", headers: [.authorization: "Bearer \(AuthTests.writerKey)"], body: sampleRecord)
            _ = try await client.send(.post, "/pipelines", headers: [.apiKeyHeader: AuthTests.readerKey], body: sampleRecord)
            _ = try await client.send(.post, "/pipelines", headers: [.apiKeyHeader: "wrong"], body: sampleRecord)
        }
        let audits = try logs.entries(withMessage: "write accepted")
        try #require(audits.count == 2)
        #expect(audits[0]["api_key"] == "ci-writer")
        #expect(audits[0]["outcome"] == "created")
        #expect(audits[0]["method"] == "POST")
        #expect(audits[0]["route"] == "/pipelines")
        #expect(audits[0]["pipeline_name"] == "subcon_lotg_to_refdb_ingest")
        #expect(audits[0]["date_code"] == "20250902_050702")
        #expect(audits[0]["level"] == "notice")
        #expect(audits[0]["time"]?.string?.hasSuffix("Z") == true)
        #expect(audits[1]["api_key"] == .string(String(AuthTests.hashLine(AuthTests.readerKey).prefix(8))))
        #expect(audits[1]["outcome"] == "existing")
        let everything = logs.rawLines.map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(!everything.contains(AuthTests.writerKey))
        #expect(!everything.contains(AuthTests.readerKey))
    }

    @Test("Without keys the audit line names the caller anonymous; a rejected write has no audit line")
    func anonymousWritesAreAudited() async throws {
        let logs = LogRecorder()
        try await withObservedApp(logs: logs) { client, _ in
            _ = try await client.post("/pipelines", json: sampleRecord)
            _ = try await client.post("/pipelines", json: "{}")
        }
        let audits = try logs.entries(withMessage: "write accepted")
        try #require(audits.count == 1)
        #expect(audits[0]["api_key"] == "anonymous")
    }

    static func hashLine(_ key: String) -> String {
        APIKey.keysFileLine(forKey: key, label: nil)
    }
}
