import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// What a client sees of the old service's Oracle table after ora2pg (``LegacyOracleTable``):
/// values past the table's limits and runs its own rules refuse are answered 422 naming the
/// field and the column, another unique key's owner 409 naming its columns, never 503.
@Suite(
    "Legacy Oracle table over HTTP",
    .enabled(
        if: Backend.postgresTestURL != nil || Backend.isCI,
        "PIPELINE_TEST_POSTGRES_URL is not set: start a server with scripts/postgres-test-server.sh start (scripts/test.sh does)"
    )
)
struct LegacyOracleHTTPTests {
    /// Runs `body` with the app over a fresh copy of `table`.
    static func withApp(
        _ table: LegacyOracleTable,
        extensionColumns: Bool = false,
        extra: [String] = [],
        _ body: @escaping @Sendable (any TestClientProtocol, RepositoryFixture) async throws -> Void
    ) async throws {
        let fixture = try await table.makeFixture(withExtensionColumns: extensionColumns, extra: extra)
        do {
            let app = buildApplication(repository: fixture.repository, configuration: ServiceConfiguration(), logger: testLogger("test"))
            try await app.test(.router) { client in try await body(client, fixture) }
            try await fixture.tearDown()
        } catch {
            try? await fixture.tearDown()
            throw error
        }
    }

    /// The sample record with `member` set to the JSON `value` (a repeated key keeps its last value).
    static func record(_ member: String, _ value: String) -> String {
        let body = sampleRecord.trimmingCharacters(in: .whitespacesAndNewlines)
        return String(body.dropLast()) + ", \"\(member)\": \(value)}"
    }

    @Test("A value past a column's limit is a 422 naming the field, the limit and the column; nothing is stored")
    func valuesPastLimitsAre422() async throws {
        try await Self.withApp(.ora2pgExact) { client, fixture in
            let cases = [
                (
                    "environment", "\"" + String(repeating: "e", count: 51) + "\"",
                    "String should have at most 50 characters (column ENVIRONMENT is varchar(50))"
                ),
                ("rowcount", "1000000000000", "Input should be less than or equal to 999999999999 (column ROWCOUNT is numeric(12))"),
                ("elapsed_seconds", "1000000000", "Input should be less than or equal to 999999999.999 (column ELAPSED_SECONDS is numeric(12,3))"),
                (
                    "output_file", "\"/" + String(repeating: "o", count: 1024) + "\"",
                    "String should have at most 1024 characters (column OUTPUT_FILE is varchar(1024))"
                ),
            ]
            for (field, value, message) in cases {
                let response = try await client.post("/pipelines", json: Self.record(field, value))
                #expect(response.status == .unprocessableContent, "\(field): \(response.text)")
                let issue = try response.json["detail"]?[0]
                #expect(issue?["loc"] == .array([.string("body"), .string(field)]))
                #expect(issue?["msg"] == .string(message))
            }
            // A batch with one such run is refused whole, the run named by its index.
            let batch = "[" + sampleRecord + "," + Self.record("environment", "\"" + String(repeating: "e", count: 51) + "\"") + "]"
            let refused = try await client.post("/pipelines/batch", json: batch)
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(try refused.json["detail"]?[0]?["loc"] == .array([.string("body"), .number("1"), .string("environment")]))
            #expect(try await fixture.repository.count(matching: RunFilter()) == 0)
        }
    }

    @Test("An OpenLineage event past a column's limit is a 422 and stores nothing")
    func lineagePastLimitsIs422() async throws {
        try await Self.withApp(.ora2pgExact, extensionColumns: true) { client, fixture in
            // The job's namespace is the run's environment: within validation's 64 bytes, past ENVIRONMENT varchar(50).
            let event = try LineageHTTPTests.event("start").replacingOccurrences(of: "ol-fixtures", with: String(repeating: "n", count: 60))
            let response = try await client.post("/api/v1/lineage", json: event)
            #expect(response.status == .unprocessableContent, "\(response.text)")
            #expect(response.text.contains("column ENVIRONMENT is varchar(50)"), "\(response.text)")
            // Named as the event names it: the member it came from.
            #expect(try response.json["detail"]?[0]?["loc"] == .array(["body", "job", "namespace"]))
            // In an array, under the index of the event that made the run.
            let other = try LineageHTTPTests.event("complete").replacingOccurrences(
                of: LineageHTTPTests.runID,
                with: "019ca945-0a00-707b-9512-a1ddddb2f84e"
            )
            let array = "[\(other), \(event)]"
            let refused = try await client.post("/api/v1/lineage", json: array)
            #expect(try refused.json["detail"]?[0]?["loc"] == .array(["body", .number("1"), "job", "namespace"]))
            #expect(try await fixture.repository.count(matching: RunFilter(status: .equals("running"))) == 0)
            #expect(try await fixture.repository.count(matching: RunFilter()) == 0)
        }
    }

    @Test("Another unique key's owner is a 409 naming the key's columns; the same run sent again is a 200")
    func otherUniqueKeyIs409() async throws {
        let key = "CREATE UNIQUE INDEX uq_name_date ON pipeline_runs (pipeline_name, date_code)"
        try await Self.withApp(.ora2pgDefault, extensionColumns: true, extra: [key]) { client, _ in
            let first = Self.record("run_id", "\"0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\"")
            #expect(try await client.post("/pipelines", json: first).status == .created)
            #expect(try await client.post("/pipelines", json: first).status == .ok)
            let other = Self.record("run_id", "\"0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e\"")
            let conflict = try await client.post("/pipelines", json: other)
            #expect(conflict.status == .conflict, "\(conflict.text)")
            #expect(try conflict.json["key"] == .array([.string("pipeline_name"), .string("date_code")]))
            #expect(try conflict.json["run_id"] == .string("0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6e"))
        }
    }

    @Test("A run the table's check constraint refuses is a 422 naming the field, not a 503")
    func checkConstraintIs422() async throws {
        let check = "ALTER TABLE pipeline_runs ADD CONSTRAINT ck_rows CHECK (rowcount < 5000)"
        try await Self.withApp(.ora2pgDefault, extra: [check]) { client, fixture in
            let response = try await client.post("/pipelines", json: Self.record("rowcount", "6000"))
            #expect(response.status == .unprocessableContent, "\(response.text)")
            let issue = try response.json["detail"]?[0]
            #expect(issue?["type"] == .string("table_constraint"))
            #expect(issue?["loc"] == .array([.string("body"), .string("rowcount")]))
            #expect(try await fixture.repository.count(matching: RunFilter()) == 0)
        }
    }

    @Test("/pipelines summarises the exact translation's numeric columns", arguments: LegacyOracleTable.allCases)
    func summariesOfNumericColumns(table: LegacyOracleTable) async throws {
        try await Self.withApp(table) { client, _ in
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .created)
            let response = try await client.get("/pipelines")
            #expect(response.status == .ok, "\(response.text)")
            let summary = try response.json["pipelines"]?[0]
            #expect(summary?["total_runs"] == .number("1"))
            #expect(summary?["avg_duration"] == .number("2424.879"))
        }
    }
}
