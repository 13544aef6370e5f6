import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

/// The built-in dashboard: `GET /ui` (every pipeline) and `GET /ui/pipeline` (one signature),
/// HTML rendered on the server from the same insight numbers `/pipelines` reports.
struct UIController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let insights: InsightService<Repository>
    let repository: Repository
    /// The prefix every route is served under (`/pipeline-service`), or empty; every link and
    /// form of the pages starts with it.
    let basePath: String

    func addRoutes(to router: some RouterMethods<Context>) {
        // One registration answers both `/ui` and `/ui/`: the router ignores a trailing slash (and
        // refuses a second handler for the same path).
        router.get("/ui", use: overview)
        router.get("/ui/pipeline", use: pipeline)
    }

    private var links: DashboardLinks { DashboardLinks(basePath: basePath) }

    /// `GET /ui`: the overview, filtered and sorted by its query parameters.
    @Sendable func overview(_ request: Request, context: Context) async throws -> Response {
        let parameters = QueryString.parse(request.uri.query ?? "")
        let pipelines = try await insights.reports().map { DashboardPipeline(summary: $0.summary, recent: $0.recent) }
        let html = OverviewPage.render(pipelines: pipelines, query: OverviewQuery(parameters: parameters), now: insights.now(), links: links)
        return Self.html(html)
    }

    /// `GET /ui/pipeline?pipeline_name=…&script_name=…&pipeline_type=…&environment=…`: one
    /// signature, a field left out meaning null; 404 when no run has that signature, 422 (with the
    /// page and the API's messages) when the history filters are invalid.
    @Sendable func pipeline(_ request: Request, context: Context) async throws -> Response {
        let parameters = QueryString.parse(request.uri.query ?? "")
        var fields: [String: String] = [:]
        for (name, value) in parameters { fields[name] = value }
        let signature = PipelineSignature(
            pipelineName: fields[RunQueryParameter.pipelineName.rawValue],
            scriptName: fields[RunQueryParameter.scriptName.rawValue],
            pipelineType: fields[RunQueryParameter.pipelineType.rawValue],
            environment: fields[RunQueryParameter.environment.rawValue]
        )
        guard let report = try await insights.report(for: signature) else {
            let html = DashboardPage.notFound(
                links: links,
                message: "No run has this pipeline signature. It may have been named differently; see all pipelines."
            )
            return Self.html(html, status: .notFound)
        }
        let history = try await RunHistoryTable.load(signature: signature, parameters: parameters, from: repository)
        let html = PipelinePage.render(
            pipeline: DashboardPipeline(summary: report.summary, recent: report.recent),
            settings: insights.settings,
            history: history,
            now: insights.now(),
            links: links
        )
        return Self.html(html, status: history.isInvalid ? .unprocessableContent : .ok)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
