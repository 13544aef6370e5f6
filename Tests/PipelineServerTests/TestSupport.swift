import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Runs `body` against the real router over a fresh repository on `backend`.
func withApp(
    _ backend: Backend,
    configuration: ServiceConfiguration = ServiceConfiguration(),
    _ body: @escaping @Sendable (any TestClientProtocol, RepositoryFixture) async throws -> Void
) async throws {
    try await withFixture(backend, limits: configuration.limits) { fixture in
        let app = buildApplication(repository: fixture.repository, configuration: configuration, logger: testLogger("test"))
        try await app.test(.router) { client in try await body(client, fixture) }
    }
}

/// The repo's `sample_record.json`, the example every caller knows.
let sampleRecord: String = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sample_record.json")
    return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
}()

extension TestClientProtocol {
    /// POSTs a JSON body.
    @discardableResult
    func post(_ uri: String, json: String, contentType: String? = "application/json") async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    /// The body parsed as JSON (fails the test when it is not JSON).
    var json: JSONValue {
        get throws { try JSONParser.parse(Array(body.readableBytesView)) }
    }

    var text: String { String(buffer: body) }
}

extension JSONValue {
    var int: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// The `loc` paths of a FastAPI validation body, joined with dots (`query.limit`).
    var validationLocations: [String] {
        (self["detail"]?.array ?? []).map { issue in
            issue["loc"]?.array.map { element in element.string ?? element.int.map(String.init) ?? "?" }.joined(separator: ".") ?? ""
        }
    }
}

/// A run as JSON with some fields changed (`nil` removes a field).
func sampleJSON(_ changes: [String: String?] = [:]) throws -> String {
    guard case .object(var members) = try JSONParser.parse(sampleRecord) else { return sampleRecord }
    for (key, value) in changes {
        if let value { members[key] = try JSONParser.parse(value) } else { members[key] = nil }
    }
    var writer = JSONWriter()
    writer.value(.object(members))
    return String(decoding: writer.bytes, as: UTF8.self)
}
