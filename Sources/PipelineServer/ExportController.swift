import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PipelineCore
import PipelineStore

/// Bulk export: `GET /export`, every matching run streamed as NDJSON or CSV.
struct ExportController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    /// Runs fetched from the repository, and written to the response, at a time.
    static var pageSize: Int { 1000 }

    let repository: Repository

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/export", use: export)
    }

    /// `GET /export?format=ndjson|csv`: the runs matching the filters of `/get_pipeline_info`,
    /// in the same order, all of them (`limit`, `offset`, `cursor` and `all_data` are ignored).
    /// The body is written page by page as the repository is read, so memory stays flat.
    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let (format, filter) = try Self.parameters(QueryString.parse(request.uri.query ?? ""))
        let repository = self.repository
        let logger = context.logger
        // The first page is read before the status is sent, so storage that is down answers 503.
        let first = try await repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: Self.pageSize, offset: 0))).runs
        let body = ResponseBody { writer in
            var bytes = format.header
            for run in first { format.append(run.info, to: &bytes) }
            do {
                // An empty write could read as the end of a chunked body: write only bytes.
                if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                if first.count == Self.pageSize, let last = first.last {
                    try await repository.forEachPage(matching: filter, pageSize: Self.pageSize, after: last.position) { page in
                        bytes.removeAll(keepingCapacity: true)
                        for run in page { format.append(run.info, to: &bytes) }
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                }
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
                .contentType: format.contentType,
                .contentDisposition: "attachment; filename=\"\(format.fileName)\"",
            ],
            body: body
        )
    }

    /// The export format (default NDJSON) and the filters; every bad parameter is reported at once.
    static func parameters(_ parameters: [(name: String, value: String)]) throws(APIError) -> (RunExportFormat, RunFilter) {
        var issues: [FieldIssue] = []
        var format = RunExportFormat.ndjson
        if let text = parameters.last(where: { $0.name == "format" })?.value, !text.isEmpty {
            if let parsed = RunExportFormat(rawValue: text.lowercased()) {
                format = parsed
            } else {
                let choices = RunExportFormat.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                issues.append(FieldIssue(.query, "format", kind: "enum", message: "Input should be \(choices)", input: .string(text)))
            }
        }
        let paging: Set<String> = [
            RunQueryParameter.limit.rawValue, RunQueryParameter.offset.rawValue,
            RunQueryParameter.cursor.rawValue, RunQueryParameter.allData.rawValue,
        ]
        var filter = RunFilter()
        do {
            filter = try RunQuery(parameters: parameters.filter { !paging.contains($0.name) }).filter
        } catch {
            issues += error.issues
        }
        guard issues.isEmpty else { throw APIError.validation(ValidationError(issues)) }
        return (format, filter)
    }
}
