import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineDashboard
import PipelineStore

/// The built-in dashboard: `GET /ui` (every pipeline) and `GET /ui/pipeline` (one signature),
/// HTML rendered on the server from the same insight numbers `/pipelines` reports.
struct UIController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let insights: InsightService<Repository>
    let repository: Repository
    /// The prefix every route is served under (`/pipeline-service`), or empty; every link and
    /// form of the pages starts with it.
    let basePath: String
    /// Whether archived files are served: the run table then links them.
    let servesArchivedFiles: Bool

    func addRoutes(to router: some RouterMethods<Context>) {
        // One registration answers both `/ui` and `/ui/`: the router ignores a trailing slash (and
        // refuses a second handler for the same path).
        router.get("/ui", use: overview)
        router.get("/ui/pipeline", use: pipeline)
    }

    private func links(refreshingEvery seconds: Int?) -> DashboardLinks {
        DashboardLinks(basePath: basePath, servesArchivedFiles: servesArchivedFiles, refreshSeconds: seconds)
    }

    /// The most runs still running the overview lists.
    static var runningShown: Int { 50 }

    /// `GET /ui`: the overview, filtered, sorted and paged by its query parameters.
    @Sendable func overview(_ request: Request, context: Context) async throws -> Response {
        let (parameters, refresh) = DashboardLinks.takingRefresh(from: QueryString.parse(request.uri.query ?? ""))
        let links = links(refreshingEvery: refresh)
        let pipelines = try await insights.reports().map { DashboardPipeline(summary: $0.summary, recent: $0.recent) }
        // Their number is the repository's count by signature (kept between writes), not a count of rows.
        var runningQuery = RunQuery(filter: RunFilter(status: .equals(RunStatus.running)), paging: .window(limit: Self.runningShown, offset: 0))
        runningQuery.knownTotal = Int(try await repository.runningRuns().reduce(Int64(0)) { Saturating.add($0, Int64($1.count)) })
        let running = try await repository.runs(matching: runningQuery)
        let html = OverviewPage.render(
            pipelines: pipelines,
            running: (running.runs.map(\.info), running.total),
            query: OverviewQuery(parameters: parameters),
            now: insights.now(),
            links: links
        )
        return Self.html(html)
    }

    /// `GET /ui/pipeline?pipeline_name=…&script_name=…&pipeline_type=…&environment=…`: one
    /// signature, a field left out meaning null; 404 when no run has that signature, 422 (with the
    /// page and the API's messages) when the history filters are invalid.
    @Sendable func pipeline(_ request: Request, context: Context) async throws -> Response {
        let (parameters, refresh) = DashboardLinks.takingRefresh(from: QueryString.parse(request.uri.query ?? ""))
        let links = links(refreshingEvery: refresh)
        var fields: [String: String] = [:]
        for (name, value) in parameters { fields[name] = value }
        let signature = PipelineSignature { field in fields[field.rawValue] }
        guard let report = try await insights.report(for: signature) else {
            let html = DashboardPage.notFound(
                links: links,
                message: "No run has this pipeline signature. It may have been named differently; see all pipelines."
            )
            return Self.html(html, status: .notFound)
        }
        let history = try await RunHistoryTable.load(signature: signature, parameters: parameters, from: repository)
        let daily = try await DailyRuns.load(signature: signature, insights: insights, links: links)
        let html = PipelinePage.render(
            pipeline: DashboardPipeline(summary: report.summary, recent: report.recent),
            settings: insights.settings,
            history: history,
            daily: daily,
            now: insights.now(),
            links: links
        )
        return Self.html(html, status: history.isInvalid ? .unprocessableContent : .ok)
    }

    static func html(_ document: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: SecurityHeaders.dashboard,
            body: .init(byteBuffer: ByteBuffer(string: document.markup))
        )
    }
}

extension DailyRuns {
    /// The last ``days`` days of `signature`'s runs from the same history computation as
    /// `/pipelines/history`, with the link to that endpoint.
    static func load<Repository: PipelineRunRepository>(
        signature: PipelineSignature,
        insights: InsightService<Repository>,
        links: DashboardLinks
    ) async throws -> DailyRuns {
        let day = UTCInstant.microsecondsPerDay
        let now = insights.now().microsecondsSinceEpoch
        let today = now - ((now % day) + day) % day
        let from = UTCInstant(microsecondsSinceEpoch: today - Int64(days - 1) * day)
        let to = UTCInstant(microsecondsSinceEpoch: now)
        // The history endpoint reads an empty parameter as absent; so does this filter.
        let set: (String?) -> FieldCondition? = { $0?.isEmpty == false ? $0.map(FieldCondition.equals) : nil }
        let filter = RunFilter(
            pipelineName: set(signature.pipelineName),
            scriptName: set(signature.scriptName),
            pipelineType: set(signature.pipelineType),
            environment: set(signature.environment)
        )
        let history = try await insights.history(filter: filter, bucket: .day, zone: FixedUTCOffset.utc, from: from, to: to)
        var parameters = DashboardLinks.signatureParameters(signature).filter { !$0.value.isEmpty }
        parameters += [("bucket", "day"), ("start_utc", from.description), ("end_utc", to.description)]
        let exact = [filter.pipelineName, filter.scriptName, filter.pipelineType, filter.environment].allSatisfy { $0 != nil }
        return DailyRuns(history: history, link: DashboardLinks.url(links.runHistoryAPI, parameters), isExact: exact)
    }
}
