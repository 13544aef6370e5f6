import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

/// The bounds of one `POST /pipelines/batch` besides its body size (`PIPELINE_MAX_BATCH_BODY_SIZE`).
public enum BatchLimits {
    /// The most runs one batch may carry.
    public static let maximumRuns = 10_000
}

/// Bulk ingest: `POST /pipelines/batch`, many runs stored all or none.
struct BulkController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    static var maximumRuns: Int { BatchLimits.maximumRuns }

    let repository: Repository
    /// The largest batch body, in bytes (`PIPELINE_MAX_BATCH_BODY_SIZE`).
    let maxBodySize: Int

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/pipelines/batch", use: createRuns)
    }

    /// `POST /pipelines/batch`: a JSON array of runs (`Content-Type: application/json`), or NDJSON
    /// (`application/x-ndjson`). The body is validated while it is read, run by run: more than
    /// ``maximumRuns`` runs answer 422 as soon as the next one starts, and any invalid run answers
    /// 422 listing the errors under `["body", index, field]`; nothing is stored then. Otherwise
    /// all runs are stored in one transaction: 201 when any was new, 200 when all were already
    /// stored, 409 (nothing stored) when a key holds a different run.
    @Sendable func createRuns(_ request: Request, context: Context) async throws -> Response {
        let format: JSONSequenceSplitter.Format =
            try RequestBody.mediaType(of: request, accepting: [.json, .ndjson]) == .ndjson ? .lines : .array
        var batch = BatchValidation(maximumRuns: Self.maximumRuns)
        var splitter = JSONSequenceSplitter(format: format)
        var syntax: JSONSequenceSplitter.SyntaxError?
        try await RequestBody.read(request, limit: maxBodySize) { chunk throws(APIError) in
            guard syntax == nil else { return }
            syntax = try splitter.feed(chunk.readableBytesView) { (element) throws(APIError) in try batch.add(element) }
        }
        if syntax == nil { syntax = try splitter.finish { (element) throws(APIError) in try batch.add(element) } }
        if let syntax {
            let issue =
                syntax.isNotAnArray
                ? FieldIssue(
                    .body,
                    "",
                    kind: "list_type",
                    message: "Input should be a JSON array of runs (or NDJSON with Content-Type: application/x-ndjson)"
                )
                : FieldIssue(.body, "", kind: "json_invalid", message: "JSON decode error: \(syntax)")
            throw APIError.validation(ValidationError(issue))
        }
        let runs = try batch.validRuns()
        let outcomes = runs.isEmpty ? [] : try await repository.insert(contentsOf: runs)
        WriteAudit.record(batch: outcomes, logger: context.logger)
        let created = outcomes.filter(\.isWritten).count
        var writer = JSONWriter(reservingCapacity: 64 + outcomes.count * 640)
        writer.object { writer in
            writer.key("stored")
            writer.integer(created)
            writer.key("existing")
            writer.integer(outcomes.count - created)
            writer.key("runs")
            writer.array(outcomes) { writer, outcome in outcome.storedRun.info.write(to: &writer) }
        }
        return Response.json(writer.bytes, status: created > 0 ? .created : .ok)
    }
}

/// The runs of a batch, validated one element at a time as the body arrives, keeping at most
/// ``APIError/maximumListedIssues`` issues (and the count of the rest) so that no batch, however
/// wrong, makes a large answer or holds more than its valid runs.
struct BatchValidation {
    let maximumRuns: Int
    private var runs: [PipelineInfo] = []
    private var issues: [FieldIssue] = []
    private var issueCount = 0
    private var elements = 0

    init(maximumRuns: Int) {
        self.maximumRuns = maximumRuns
    }

    /// Validates the next element; throws 422 as soon as the batch holds one element too many.
    mutating func add(_ element: [UInt8]) throws(APIError) {
        guard elements < maximumRuns else {
            throw APIError.validation(
                ValidationError(
                    FieldIssue(
                        .body,
                        "",
                        kind: "too_long",
                        message: "A batch may hold at most \(maximumRuns) runs; split it into smaller batches"
                    )
                )
            )
        }
        defer { elements += 1 }
        do {
            let run = try PipelineInfo(jsonBytes: element)
            if issueCount == 0 { runs.append(run) }
        } catch {
            runs.removeAll()
            issueCount += error.issues.count
            let room = APIError.maximumListedIssues - issues.count
            if room > 0 { issues += error.nested(atIndex: elements).issues.prefix(room) }
        }
    }

    /// The runs, when every element was a valid run.
    func validRuns() throws(APIError) -> [PipelineInfo] {
        guard issueCount == 0 else { throw APIError.validation(issues, total: issueCount) }
        return runs
    }
}
