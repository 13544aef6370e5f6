import HTTPTypes
import Hummingbird
import NIOCore
import PipelineStore

/// Counts every request and its duration by method, route template and status, and keeps the
/// number of requests in flight. Sits outside the error middleware, so it sees the final status.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics
    let routes: RouteTemplate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        metrics.requestStarted()
        return try await RequestOutcome.observe(request, context: context, next: next) { status, elapsed in
            metrics.requestFinished(method: request.method, route: routes.name(for: context), status: status, duration: elapsed)
        }
    }
}

/// `GET /metrics`: every metric in the Prometheus text format, with the pipeline gauges
/// recomputed from storage first.
struct MetricsController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let insights: InsightService<Repository>
    let repository: Repository
    let metrics: ServiceMetrics

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: Context) async throws -> Response {
        do {
            metrics.pipelineGauges.show(PipelineGauges.readings(from: try await insights.reports()))
        } catch {
            // The request and storage metrics are still worth serving; the pipeline gauges keep
            // their last values and the storage error shows in the storage latency metric.
            context.logger.warning("Pipeline gauges not refreshed: storage did not answer")
        }
        metrics.replicaGauges.show(await repository.replicaStates())
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
        )
    }
}
