import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PipelineCore
import PipelineStore

extension QueryParameter {
    /// The parameters of `GET /export`: the format, and the filters of `/get_pipeline_info`.
    static let export: [QueryParameter] = [.format, .raw] + filters
}

/// Bulk export: `GET /export`, every matching run streamed as NDJSON or CSV.
struct ExportController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    /// Runs fetched from the repository, and written to the response, at a time.
    static var pageSize: Int { 1000 }

    let repository: Repository

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/export", use: export)
    }

    /// `GET /export?format=ndjson|csv[&raw=true]`: the runs matching the filters of
    /// `/get_pipeline_info`, in the same order, all of them (`limit`, `offset`, `cursor` and
    /// `all_data` are refused, as it would not apply them). CSV text cells a spreadsheet would run as formulas are neutralised
    /// unless `raw=true`. The body is written page by page as the repository is read, so memory
    /// stays flat; the first page is read before the status is sent, so storage that is down answers 503.
    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let (encoder, filter) = try Self.parameters(QueryString.parse(request.uri.query ?? ""))
        var pages = RunPages(of: repository, matching: filter, pageSize: Self.pageSize).makeAsyncIterator()
        let first = try await pages.next()
        let logger = context.logger
        let body = ResponseBody { [pages] writer in
            var bytes = encoder.header
            do {
                try await pages.readingAhead(startingWith: first) { page in
                    for run in page.runs { encoder.append(run.info, to: &bytes) }
                    // An empty write could read as the end of a chunked body: write only bytes.
                    if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                    bytes.removeAll(keepingCapacity: true)
                }
                if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                try await writer.finish(nil)
            } catch {
                // The status is already sent: the client sees a cut-off body, the log says why.
                logger.error("Export failed after the response started: \(String(reflecting: error))")
                throw error
            }
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: encoder.format.contentType,
                .contentDisposition: "attachment; filename=\"\(encoder.format.fileName)\"",
            ],
            body: body
        )
    }

    /// The export encoder (NDJSON by default) and the filters; every bad parameter is reported at once.
    static func parameters(_ pairs: [(name: String, value: String)]) throws(ValidationError) -> (RunExportEncoder, RunFilter) {
        var parameters = QueryParameters(pairs)
        let format = parameters.choice(QueryParameter.format.rawValue, of: RunExportFormat.self) ?? .ndjson
        let raw = parameters.flag(QueryParameter.raw.rawValue) ?? false
        let filter = RunFilter(reading: &parameters)
        try parameters.validate(reading: QueryParameter.export)
        return (RunExportEncoder(format: format, neutralisesFormulas: !raw), filter)
    }
}
