import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Filtering runs by `status` and `date_code`, and refusing parameters an endpoint does not read.
@Suite("Status and date code filters, unknown parameters")
struct RunFilterHTTPTests {
    private static func runs() -> [PipelineInfo] {
        let start = UTCInstant(microsecondsSinceEpoch: 1_756_684_800_000_000)
        return [
            TestRun.make("etl", start: start, code: "a", status: "success"),
            TestRun.make("etl", start: TestRun.hours(-1, before: start), code: "b", status: "failed"),
            TestRun.make("etl", start: TestRun.hours(-2, before: start), code: "c"),
            TestRun.make("load", start: TestRun.hours(-3, before: start), code: "d", status: "failed"),
            TestRun.make("load", start: TestRun.hours(-4, before: start), code: "a", status: "running"),
        ]
    }

    private static func dateCodes(_ response: TestResponse) throws -> [String] {
        try response.json["results"]?.array.compactMap { $0["date_code"]?.string } ?? []
    }

    @Test("status and date_code select exactly, alone, together and with the other filters", arguments: Backend.underTest)
    func statusAndDateCodeFilter(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            _ = try await fixture.repository.insert(contentsOf: Self.runs())
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?status=failed")) == ["d", "b"])
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?status=failed&pipeline_name=etl")) == ["b"])
            // A run still running is listed only when asked for.
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?date_code=a")) == ["a"])
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?date_code=a&status=running")) == ["a"])
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?status=unknown_word")) == [])
            #expect(try await client.get("/get_pipeline_info?status=failed").json["total"]?.int == 2)
            // Paging by cursor keeps the filter.
            let first = try await client.get("/get_pipeline_info?status=failed&limit=1")
            let cursor = try #require(try first.json["next_cursor"]?.string)
            #expect(try Self.dateCodes(await client.get("/get_pipeline_info?status=failed&limit=1&cursor=\(cursor)")) == ["b"])
            #expect(try await client.get("/get_pipeline_info?limit=1&cursor=\(cursor)").status == .unprocessableContent)
            let export = try await client.get("/export?status=failed")
            #expect(export.text.split(separator: "\n").count == 2)
        }
    }

    @Test(
        "Every endpoint answers a parameter it does not read with a 422 naming it",
        arguments: [
            "/get_pipeline_info?statsu=failed", "/pipelines?limt=5", "/pipelines/history?bucket=day&zone=UTC", "/export?limit=5",
            "/pipelines/archived/a?pipeline=etl",
        ]
    )
    func unknownParametersAreRefused(uri: String) async throws {
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [NSTemporaryDirectory()])) { client, _ in
            let response = try await client.get(uri)
            #expect(response.status == .unprocessableContent)
            let name = String(uri.split(separator: "?")[1].split(separator: "&").last?.split(separator: "=").first ?? "")
            #expect(try response.json.validationLocations == ["query.\(name)"])
            #expect(try response.json["detail"]?.array.first?["type"]?.string == "extra_forbidden")
        }
    }
}
