import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PipelineCore
import PipelineStore

/// The run endpoints of the API, generic over the repository: the HTTP layer never knows which
/// backend it talks to.
struct RunController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    let maxBodySize: Int
    /// Adds trends and health to the summaries of `GET /pipelines`.
    let insights: InsightService<Repository>

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/pipelines", use: createRun)
        router.get("/get_pipeline_info", use: listRuns)
        router.get("/pipelines", use: listSummaries)
        router.get("/runs/:run_id", use: getRun)
    }

    /// `POST /pipelines`: validate and store one run; 201 when stored, 200 when the identical
    /// run was already stored or a running one was replaced by this record of it, 409 when its
    /// key holds a different finished run.
    @Sendable func createRun(_ request: Request, context: Context) async throws -> Response {
        let body = try await RequestBody.json(from: request, limit: maxBodySize)
        let run = try PipelineInfo(jsonBytes: body.readableBytesView)
        let outcome = try await repository.insert(run)
        WriteAudit.record(outcome, logger: context.logger)
        return .json(outcome.storedRun.info.jsonBytes, status: outcome.isCreated ? .created : .ok)
    }

    /// `GET /runs/{run_id}`: one run, finished or still running; 404 when no run has the id.
    @Sendable func getRun(_ request: Request, context: Context) async throws -> Response {
        try QueryParameters(QueryString.parse(request.uri.query ?? "")).validate(reading: [])
        let text = try context.parameters.require("run_id")
        guard let id = RunID.canonical(text) else {
            throw APIError.validation(
                ValidationError(FieldIssue(.path, "run_id", kind: "uuid_parsing", message: "Input should be a valid UUID", input: .string(text)))
            )
        }
        let page = try await repository.runs(matching: RunQuery.run(withID: id))
        guard let run = page.runs.first else { throw APIError.detail(.notFound, "No run has run_id \(id)") }
        return .json(run.info.jsonBytes)
    }

    /// `GET /get_pipeline_info`: filtered, paged run history.
    @Sendable func listRuns(_ request: Request, context: Context) async throws -> Response {
        let query = try RunQuery(parameters: QueryString.parse(request.uri.query ?? ""))
        if query.paging == .all {
            return try await streamAllRuns(matching: query.filter, logger: context.logger)
        }
        return .json(PipelineInfoResponseWriter.bytes(for: try await repository.runs(matching: query)))
    }

    /// `all_data=true`: the answer written chunk by chunk as pages are read, so memory stays flat
    /// however many runs match. The first page is read before the status is sent, so storage
    /// that is down answers 503.
    private func streamAllRuns(matching filter: RunFilter, logger: Logger) async throws -> Response {
        var pages = RunPages(of: repository, matching: filter, pageSize: AllDataStreaming.chunkSize).makeAsyncIterator()
        // The sequence always yields a first page, empty or not.
        guard let first = try await pages.next() else { return .json(PipelineInfoResponseWriter.bytes(for: RunPage(total: 0, runs: []))) }
        guard first.nextCursor != nil else { return .json(PipelineInfoResponseWriter.bytes(for: first)) }
        let body = ResponseBody { [pages] writer in
            var response = PipelineInfoResponseWriter(total: first.total, expectedRuns: AllDataStreaming.chunkSize)
            do {
                try await pages.readingAhead(startingWith: first) { page in
                    response.append(page.runs)
                    try await writer.write(ByteBuffer(bytes: response.takeBytes()))
                }
            } catch {
                // The status line is already sent: end the body early so the client sees invalid JSON, never a silent cut.
                logger.error("Streaming all_data stopped: \(error)")
                throw error
            }
            try await writer.write(ByteBuffer(bytes: response.finish(nextCursor: nil)))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// `GET /pipelines`: one summary per pipeline signature, with its trends and health; the
    /// optional signature filters, `limit` and `offset` select a part of the list.
    @Sendable func listSummaries(_ request: Request, context: Context) async throws -> Response {
        let query = try SummaryQuery(parameters: QueryString.parse(request.uri.query ?? ""))
        return .json(PipelineListResponse.bytes(try await insights.summaries(selecting: query)))
    }
}

/// How `all_data=true` answers are streamed.
public enum AllDataStreaming {
    /// How many runs are read and written at a time; answers with more matches are streamed.
    public static let chunkSize = 2000
}
