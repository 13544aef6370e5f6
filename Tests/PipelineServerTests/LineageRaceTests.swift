import Foundation
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// OpenLineage events of one run sent at the same time, and arrays that are stored whole or not
/// at all, on every backend.
@Suite("OpenLineage writes under concurrency")
struct LineageRaceTests {
    /// The fixture event `name` for run `id`.
    static func event(_ name: String, runID id: String) throws -> String {
        try LineageHTTPTests.event(name).replacingOccurrences(of: LineageHTTPTests.runID, with: id)
    }

    @Test("A START answered created is never lost to its COMPLETE sent at the same time", arguments: Backend.underTest)
    func concurrentStartAndComplete(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            var startsFirst = 0
            for attempt in 0..<30 {
                let id = RunID.timeOrdered(at: UTCInstant(microsecondsSinceEpoch: 1_772_366_400_000_000 + Int64(attempt)))
                let start = try Self.event("start", runID: id)
                let complete = try Self.event("complete", runID: id)
                async let started = client.post("/api/v1/lineage", json: start)
                async let completed = client.post("/api/v1/lineage", json: complete)
                let (startAnswer, completeAnswer) = try await (started, completed)
                #expect(startAnswer.status == .created)
                #expect(completeAnswer.status == .created)
                let run = try await client.get("/runs/\(id)").json
                #expect(run["status"] == "success")
                #expect(run["end_utc"] == "2026-03-01T12:01:30.500000Z")
                // Whichever was stored first, the run has the START's start.
                #expect(run["start_utc"] == "2026-03-01T12:00:00Z", "attempt \(attempt)")
                #expect(run["elapsed_seconds"] == .number("90.5"), "attempt \(attempt)")
                if try startAnswer.json["events"]?[0]?["outcome"] == "created" { startsFirst += 1 }
            }
            // Both orders happen; say how often, for whoever reads the log.
            print("START stored first in \(startsFirst) of 30 tries on \(backend)")
        }
    }

    @Test("An OpenLineage array with a refused member stores none of its members", arguments: Backend.underTest)
    func arrayIsAllOrNothing(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            // A finished run stored by a plain POST: an OpenLineage end of another pipeline under
            // the same id is a conflict.
            let taken = "019ca945-0a00-707b-9512-a1ddddb2f84b"
            let first = "019ca945-0a00-707b-9512-a1ddddb2f84c"
            #expect(try await client.post("/api/v1/lineage", json: Self.event("complete", runID: taken)).status == .created)
            let clash = try Self.event("complete", runID: taken).replacingOccurrences(of: "\"ol-fixtures\"", with: "\"elsewhere\"")
            let array = "[\(try Self.event("start", runID: first)), \(clash)]"
            let refused = try await client.post("/api/v1/lineage", json: array)
            #expect(refused.status == .conflict)
            #expect(try await client.get("/runs/\(first)").status == .notFound, "the first member was not stored")

            // A member past the duration bound: 422 naming its index, nothing stored.
            var late = try Self.event("complete", runID: first)
            late = late.replacingOccurrences(of: "2026-03-01T12:01:30.500000+00:00", with: "9999-03-01T12:01:30.500000+00:00")
            let bounded = try await client.post("/api/v1/lineage", json: "[\(try Self.event("start", runID: first)), \(late)]")
            #expect(bounded.status == .unprocessableContent)
            #expect(try bounded.json["detail"]?[0]?["loc"] == .array(["body", .number("1"), "eventTime"]))
            #expect(try await client.get("/runs/\(first)").status == .notFound)

            // START and COMPLETE in one array: one run with its start.
            let both = try await client.post(
                "/api/v1/lineage",
                json: "[\(try Self.event("start", runID: first)), \(try Self.event("complete", runID: first))]"
            )
            #expect(both.status == .created)
            #expect(try both.json["events"]?[0]?["outcome"] == "created")
            #expect(try both.json["events"]?[1]?["outcome"] == "updated")
            let run = try await client.get("/runs/\(first)").json
            #expect(run["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(run["elapsed_seconds"] == .number("90.5"))
        }
    }

    @Test("A START that arrives after its COMPLETE gives the run its start and duration", arguments: Backend.underTest)
    func startAfterComplete(backend: Backend) async throws {
        try await withApp(backend) { client, _ in
            let id = "019ca945-0a00-707b-9512-a1ddddb2f84d"
            #expect(try await client.post("/api/v1/lineage", json: Self.event("complete", runID: id)).status == .created)
            let ended = try await client.get("/runs/\(id)").json
            #expect(ended["elapsed_seconds"] == .number("0.0"))
            let started = try await client.post("/api/v1/lineage", json: Self.event("start", runID: id))
            #expect(try started.json["events"]?[0]?["outcome"] == "updated")
            let run = try await client.get("/runs/\(id)").json
            #expect(run["start_utc"] == "2026-03-01T12:00:00Z")
            #expect(run["end_utc"] == "2026-03-01T12:01:30.500000Z")
            #expect(run["elapsed_seconds"] == .number("90.5"))
            #expect(run["status"] == "success")
            let pipelines = try await client.get("/pipelines").json["pipelines"]?.array ?? []
            #expect(pipelines.count == 1)
            #expect(pipelines.first?["total_runs"] == .number("1"))
            #expect(pipelines.first?["avg_duration"] == .number("90.5"))
            // Sent again, the START changes nothing.
            let again = try await client.post("/api/v1/lineage", json: Self.event("start", runID: id))
            #expect(try again.json["events"]?[0]?["outcome"] == "ignored")
        }
    }
}
