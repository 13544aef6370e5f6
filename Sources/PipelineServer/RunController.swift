import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PipelineCore
import PipelineStore

/// The run endpoints of SPEC §3, generic over the repository: the HTTP layer never knows which
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
    }

    /// `POST /pipelines`: validate and store one run; 201 when stored, 200 when the identical
    /// run was already stored, 409 when its key holds a different run.
    @Sendable func createRun(_ request: Request, context: Context) async throws -> Response {
        let body = try await RequestBody.json(from: request, limit: maxBodySize)
        let run: PipelineInfo
        do {
            run = try PipelineInfo(jsonBytes: body.readableBytesView)
        } catch {
            throw APIError.validation(error)
        }
        let outcome = try await repository.insert(run)
        WriteAudit.record(outcome, logger: context.logger)
        return Self.json(outcome.storedRun.info.jsonBytes, status: outcome.isCreated ? .created : .ok)
    }

    /// `GET /get_pipeline_info`: filtered, paged run history (SPEC §3.1).
    @Sendable func listRuns(_ request: Request, context: Context) async throws -> Response {
        let query: RunQuery
        do {
            query = try RunQuery(parameters: QueryString.parse(request.uri.query ?? ""))
        } catch {
            throw APIError.validation(error)
        }
        if query.paging == .all {
            return try await streamAllRuns(matching: query.filter, logger: context.logger)
        }
        let page = try await repository.runs(matching: query)
        return Self.json(PipelineInfoResponse(page: page).jsonBytes)
    }

    /// `all_data=true`: the same JSON object, written chunk by chunk as keyset pages are read, so
    /// memory stays flat however many runs match. `results` comes before `count` and `pipelines`,
    /// which are only known at the end (JSON members have no order).
    private func streamAllRuns(matching filter: RunFilter, logger: Logger) async throws -> Response {
        let chunk = AllDataStreaming.chunkSize
        let first = try await repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: chunk, offset: 0)))
        guard first.nextCursor != nil else {
            return Self.json(PipelineInfoResponse(page: RunPage(total: first.total, runs: first.runs)).jsonBytes)
        }
        let repository = self.repository
        let body = ResponseBody { writer in
            var names = Set<String>()
            var count = 0
            var page = first
            var json = JSONWriter(reservingCapacity: chunk * 700)
            json.raw("{\"total\":")
            json.integer(Int64(first.total))
            json.raw(",\"results\":[")
            while true {
                for run in page.runs {
                    if count > 0 { json.raw(",") }
                    run.info.write(to: &json)
                    if let name = run.info.pipelineName { names.insert(name) }
                    count += 1
                }
                try await writer.write(ByteBuffer(bytes: json.bytes))
                json = JSONWriter(reservingCapacity: chunk * 700)
                guard let cursor = page.nextCursor else { break }
                do {
                    var next = RunQuery(filter: filter, paging: .after(cursor.position, limit: chunk))
                    // The answer's total was written first; later chunks need not count the matches again.
                    next.knownTotal = first.total
                    page = try await repository.runs(matching: next)
                } catch {
                    // The status line is already sent: end the body early so the client sees invalid JSON, never a silent cut.
                    logger.error("Streaming all_data stopped: \(error)")
                    throw error
                }
            }
            json.raw("],\"count\":")
            json.integer(Int64(count))
            json.raw(",\"pipelines\":[")
            for (position, name) in names.sorted().enumerated() {
                if position > 0 { json.raw(",") }
                json.string(name)
            }
            json.raw("],\"next_cursor\":null}")
            try await writer.write(ByteBuffer(bytes: json.bytes))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// `GET /pipelines`: one summary per pipeline signature, with its trends and health.
    @Sendable func listSummaries(_ request: Request, context: Context) async throws -> Response {
        let summaries = try await insights.summaries()
        return Self.json(PipelineListResponse(pipelines: summaries).jsonBytes)
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

/// How `all_data=true` answers are streamed.
public enum AllDataStreaming {
    /// How many runs are read and written at a time; answers with more matches are streamed.
    public static let chunkSize = 2000
}

/// Reading a JSON request body within limits.
enum RequestBody {
    /// Collects the body up to `limit` bytes (413 beyond) after checking its content type (415 for
    /// anything that cannot be JSON). A missing type, any JSON type and the form type curl sends by
    /// default with `-d` are read as JSON.
    static func json(from request: Request, limit: Int) async throws -> ByteBuffer {
        if let contentType = request.headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            let accepted =
                mediaType == "application/json" || mediaType.hasSuffix("+json") || mediaType == "application/x-www-form-urlencoded"
                || mediaType == "text/plain" || mediaType.isEmpty || mediaType == "*/*"
            guard accepted else {
                throw APIError.detail(.unsupportedMediaType, "Content-Type must be application/json (got \(mediaType.prefix(100)))")
            }
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.detail(.contentTooLarge, "Request body of \(length) bytes is larger than the limit of \(limit) bytes")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.detail(.contentTooLarge, "Request body is larger than the limit of \(limit) bytes")
        }
    }
}
