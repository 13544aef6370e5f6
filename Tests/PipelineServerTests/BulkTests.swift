import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// `POST /pipelines/batch`: many runs, validated first, stored all or none.
@Suite("Batch ingest")
struct BatchIngestTests {
    /// A JSON array of runs.
    static func array(_ runs: [String]) -> String { "[" + runs.joined(separator: ",") + "]" }

    /// `count` distinct valid runs as JSON.
    static func runs(_ count: Int, seed: UInt64 = 7) -> [String] {
        var random = RandomRuns(seed: seed)
        return random.runs(count).map { String(decoding: $0.jsonBytes, as: UTF8.self) }
    }

    @Test("One invalid run stores nothing, and each error names the run's index and field", arguments: Backend.underTest)
    func invalidRunStoresNothing(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let body = Self.array([
                try sampleJSON(),
                try sampleJSON(["date_code": "\"b\"", "rowcount": nil]),
                try sampleJSON(["date_code": "\"c\"", "start_utc": "\"2031-02-30T00:00:00Z\""]),
            ])
            let response = try await client.post("/pipelines/batch", json: body)
            #expect(response.status == .unprocessableContent)
            #expect(Set(try response.json.validationLocations) == ["body.1.rowcount", "body.2.start_utc"])
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A JSON array and NDJSON are both stored, with counts and the stored runs", arguments: Backend.underTest)
    func arrayAndNDJSONAreStored(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let runs = Self.runs(5)
            let array = try await client.post("/pipelines/batch", json: Self.array(Array(runs[0..<2])))
            #expect(array.status == .created)
            #expect(try array.json["stored"] == 2)
            #expect(try array.json["existing"] == 0)
            #expect(try array.json["runs"]?.array.count == 2)

            let ndjson = runs[2..<5].joined(separator: "\r\n") + "\n\n"
            let lines = try await client.post("/pipelines/batch", json: ndjson, contentType: "application/x-ndjson")
            #expect(lines.status == .created)
            #expect(try lines.json["stored"] == 3)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 5)
        }
    }

    @Test("An invalid NDJSON line is named by its index", arguments: [Backend.jsonl])
    func invalidNDJSONLineIsNamed(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let body = Self.runs(2).joined(separator: "\n") + "\n{not json\n"
            let response = try await client.post("/pipelines/batch", json: body, contentType: "application/x-ndjson")
            #expect(response.status == .unprocessableContent)
            #expect(try response.json.validationLocations == ["body.2"])
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("A batch of more than 10,000 runs is refused, naming the limit", arguments: [Backend.jsonl])
    func oversizedBatchIsRefused(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let response = try await client.post("/pipelines/batch", json: Self.array(Self.runs(10_001)))
            #expect(response.status == .unprocessableContent)
            #expect(response.text.contains("10000"))
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 0)
        }
    }

    @Test("Sending the same batch again stores nothing new and answers 200", arguments: Backend.underTest)
    func resentBatchIsIdempotent(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let body = Self.array(Self.runs(3))
            #expect(try await client.post("/pipelines/batch", json: body).status == .created)
            let again = try await client.post("/pipelines/batch", json: body)
            #expect(again.status == .ok)
            #expect(try again.json["stored"] == 0)
            #expect(try again.json["existing"] == 3)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 3)
        }
    }

    @Test("A conflicting run answers 409 naming its key, and no run of the batch is stored", arguments: Backend.underTest)
    func conflictStoresNothing(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            #expect(try await client.post("/pipelines", json: sampleRecord).status == .created)
            let body = Self.array(Self.runs(2) + [try sampleJSON(["rowcount": "1"])])
            let response = try await client.post("/pipelines/batch", json: body)
            #expect(response.status == .conflict)
            #expect(try response.json["date_code"] == "20250902_050702")
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 1)
        }
    }

    @Test("A body that is not an array of runs is a 422", arguments: [Backend.jsonl])
    func nonArrayBodyIsRejected(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let object = try await client.post("/pipelines/batch", json: sampleRecord)
            #expect(object.status == .unprocessableContent)
            #expect(try object.json.validationLocations == ["body"])
            #expect(try await client.post("/pipelines/batch", json: "[{").status == .unprocessableContent)
        }
    }
}

/// `GET /export`: every matching run, streamed as NDJSON or CSV.
@Suite("Export")
struct ExportTests {
    @Test("NDJSON export holds every stored run, in result order, across many pages", arguments: Backend.underTest)
    func ndjsonRoundTrips(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            var random = RandomRuns(seed: 11)
            _ = try await fixture.repository.insert(contentsOf: random.runs(2_345))
            let response = try await client.get("/export?format=ndjson")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let lines = response.text.split(separator: "\n")
            let exported = try lines.map { try PipelineInfo(jsonBytes: Array($0.utf8)) }
            let stored = try await fixture.repository.runs(matching: RunQuery(paging: .all)).runs.map(\.info)
            #expect(exported.count == 2_345)
            #expect(exported == stored)
        }
    }

    @Test("CSV export has the header row and quotes commas, quotes and newlines", arguments: [Backend.jsonl])
    func csvQuotesAwkwardValues(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
            run.outputFile = "a,\"b\"\nc"
            run.archivedFile = nil
            _ = try await fixture.repository.insert(run)
            let response = try await client.get("/export?format=csv")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(response.headers[.contentDisposition] == "attachment; filename=\"pipeline_runs.csv\"")
            let header = PipelineField.allCases.map(\.rawValue).joined(separator: ",")
            let row = [
                "2025-09-02T05:07:02", "2025-09-02T05:47:27", "2025-09-02T12:07:02Z", "2025-09-02T12:47:27Z", "2424.879", "40m 24s",
                "\"a,\"\"b\"\"\nc\"", "11060", "/apps/exensio_data/reference_data/jag_test/log/getSubconLotRefData_LOTGDB.log", "21788",
                "20250902_050702", "subcon_lotg_to_refdb_ingest", "get_subcon_lot_ref_data_LOTGDB_rc10.py", "batch", "prod", "", "", "",
                RunID.nameBased(pipelineName: "subcon_lotg_to_refdb_ingest", dateCode: "20250902_050702"),
            ].joined(separator: ",")
            #expect(response.text == header + "\r\n" + row + "\r\n")
        }
    }

    @Test("Export applies the filters of /get_pipeline_info and refuses paging, which it never applies", arguments: Backend.underTest)
    func filtersAreRespected(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            var random = RandomRuns(seed: 12)
            _ = try await fixture.repository.insert(contentsOf: random.runs(300))
            let filter = RunFilter(minRowcount: 1000, pipelineName: "ingest_lots")
            let expected = try await fixture.repository.runs(matching: RunQuery(filter: filter, paging: .all)).runs.map(\.info)
            #expect(!expected.isEmpty)
            let paged = try await client.get("/export?pipeline_name=ingest_lots&limit=1&offset=3&format=csv")
            #expect(paged.status == .unprocessableContent)
            #expect(try paged.json.validationLocations == ["query.limit", "query.offset"])
            let response = try await client.get("/export?pipeline_name=ingest_lots&min_rowcount=1000&format=csv")
            #expect(response.status == .ok)
            let rows = response.text.split(separator: "\r\n")
            #expect(rows.count == expected.count + 1)
            #expect(
                rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[10] } == expected.map { Substring($0.dateCode) }
            )
        }
    }

    @Test("A bad format or filter parameter is a 422 naming it", arguments: [Backend.jsonl])
    func badParametersAreNamed(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let response = try await client.get("/export?format=xml&min_rowcount=abc")
            #expect(response.status == .unprocessableContent)
            #expect(Set(try response.json.validationLocations) == ["query.format", "query.min_rowcount"])
        }
    }

    @Test("An export of no runs is empty NDJSON, and CSV with only the header", arguments: [Backend.jsonl])
    func emptyExport(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let ndjson = try await client.get("/export")
            let csv = try await client.get("/export?format=csv")
            #expect(ndjson.status == .ok)
            #expect(ndjson.text == "")
            #expect(csv.text == PipelineField.allCases.map(\.rawValue).joined(separator: ",") + "\r\n")
        }
    }
}

/// The bulk endpoints are in the OpenAPI document with their parameters.
@Suite("Bulk endpoints in OpenAPI")
struct BulkOpenAPITests {
    @Test("openapi.json documents POST /pipelines/batch and GET /export with format, raw and the history filters")
    func bulkEndpointsAreDocumented() async throws {
        try await withApp(.jsonl) { client, _ in
            let document = try await client.get("/openapi.json").json
            let batch = try #require(document["paths"]?["/pipelines/batch"]?["post"])
            #expect(batch["requestBody"]?["content"]?["application/x-ndjson"] != nil)
            #expect(batch["requestBody"]?["content"]?["application/json"]?["schema"]?["maxItems"] == 10_000)
            let export = try #require(document["paths"]?["/export"]?["get"])
            let names = Set((export["parameters"]?.array ?? []).compactMap { $0["name"]?.string })
            #expect(
                names == [
                    "format", "raw", "status", "date_code", "run_id", "start_utc", "end_utc", "min_rowcount", "max_rowcount", "pipeline_name",
                    "script_name",
                    "pipeline_type",
                    "environment",
                ]
            )
        }
    }
}

/// Runs repeated inside one batch.
@Suite("Batch ingest, repeated keys")
struct BatchRepeatedKeyTests {
    @Test(
        "The same run twice in one batch is stored once; the same key with different content is a 409 storing nothing",
        arguments: Backend.underTest
    )
    func repeatedKeysInOneBatch(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let twice = try await client.post("/pipelines/batch", json: BatchIngestTests.array([sampleRecord, sampleRecord]))
            #expect(twice.status == .created)
            #expect(try twice.json["stored"] == 1)
            #expect(try twice.json["existing"] == 1)

            let other = try sampleJSON(["date_code": "\"other\""])
            let conflicting = BatchIngestTests.array([other, other.replacingOccurrences(of: "11060", with: "5")])
            let response = try await client.post("/pipelines/batch", json: conflicting)
            #expect(response.status == .conflict)
            #expect(try response.json["date_code"] == "other")
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 1)
        }
    }
}

/// Export when the storage does not answer.
@Suite("Export, storage down")
struct ExportStorageDownTests {
    @Test("Storage that is down answers 503 before any of the export is sent")
    func unavailableStorageIs503() async throws {
        try await withFixture(.jsonl) { fixture in
            let app = buildApplication(
                repository: UnavailableRuns(base: fixture.repository),
                configuration: ServiceConfiguration(),
                logger: testLogger("test")
            )
            try await app.test(.router) { client in
                let response = try await client.get("/export?format=csv")
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/json")
            }
        }
    }
}

/// A repository whose history reads fail as a backend that is down fails them.
private struct UnavailableRuns: ForwardingRepository {
    let base: any PipelineRunRepository

    func runs(matching query: RunQuery) async throws -> RunPage { throw StorageError.unavailable("database not answering") }
}

/// The largest batch allowed.
@Suite("Batch ingest, full size")
struct BatchFullSizeTests {
    @Test("A batch of exactly 10,000 runs is stored whole", arguments: Backend.underTest)
    func fullBatchIsStored(backend: Backend) async throws {
        try await withApp(backend) { client, fixture in
            let response = try await client.post("/pipelines/batch", json: BatchIngestTests.array(BatchIngestTests.runs(10_000, seed: 31)))
            #expect(response.status == .created)
            #expect(try response.json["stored"] == 10_000)
            #expect(try await fixture.repository.runs(matching: RunQuery()).total == 10_000)
        }
    }
}
