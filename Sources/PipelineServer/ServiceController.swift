import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

/// `/`, `/health`, `/openapi.json` and `/docs`.
struct ServiceController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    /// The base path and key requirements the API description states.
    var deployment = APIDeployment()
    /// Whether start-up has readied the storage; nil when the caller did before building the routes.
    var readiness: StoragePreparation?

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/", use: welcome)
        router.get("/health", use: health)
        // Both documents are fixed once the server is configured: built once, not per request.
        let openAPI = OpenAPIDocument.json(version: pipelineServiceVersion, deployment: deployment)
        let docs = ByteBuffer(string: DocsPage.html)
        router.get("/openapi.json") { _, _ in Response.json(openAPI) }
        router.get("/docs") { _, _ in Response(status: .ok, headers: SecurityHeaders.docs, body: .init(byteBuffer: docs)) }
    }

    @Sendable func welcome(_ request: Request, context: Context) async throws -> Response {
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("name")
            writer.string("pipeline-service")
            writer.key("message")
            writer.string("Pipeline run metadata service")
            writer.key("version")
            writer.string(pipelineServiceVersion)
            writer.key("backend")
            writer.string(repository.backendName)
            writer.key("docs")
            writer.string(deployment.basePath + "/docs")
            writer.key("openapi")
            writer.string(deployment.basePath + "/openapi.json")
        }
        return Response.json(writer.bytes)
    }

    /// 200 when the backend answers, 503 (with the reason, no internals) when it does not, or
    /// while start-up still waits for the database.
    ///
    /// With read replicas (`PIPELINE_POSTGRES_READ_URL`) each is listed with its lag, and a primary
    /// that does not answer while a replica does is `degraded` with 200: reads are still served
    /// (writes answer 503), so a load balancer should keep the instance.
    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        var failure: String?
        var replicas: [ReplicaState] = []
        do {
            if let notReady = readiness?.notReadyReason { throw StorageError.unavailable(notReady) }
            replicas = await repository.replicaStates()
            try await repository.checkHealth()
        } catch let error as StorageError {
            failure = error.description
        } catch {
            context.logger.warning("Health check failed: \(error)")
            failure = "the backend did not answer"
        }
        let readsServed = replicas.contains(where: \.isReachable)
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("status")
            writer.string(failure == nil ? "healthy" : readsServed ? "degraded" : "unhealthy")
            writer.key("backend")
            writer.string(repository.backendName)
            writer.key("version")
            writer.string(pipelineServiceVersion)
            if let failure {
                writer.key("detail")
                writer.string(readsServed ? "Writes are unavailable (\(failure)); reads are served by a replica" : failure)
            }
            // Only said of a table without a status column: a run is then sent when it has finished.
            if let limits = try? repository.fieldLimits(), !limits.keepsRunningRuns {
                writer.key("stores_running_runs")
                writer.bool(false)
            }
            if !replicas.isEmpty {
                writer.key("replicas")
                // Numbered in PIPELINE_POSTGRES_READ_URL's order, not named: /health is open to
                // anyone, and the servers' addresses are for /metrics and the log.
                writer.array(replicas.enumerated()) { writer, numbered in
                    let (index, replica) = numbered
                    writer.object { writer in
                        writer.key("replica")
                        writer.integer(index + 1)
                        writer.key("status")
                        writer.string(
                            !replica.isReachable
                                ? "unreachable" : !replica.isStandby ? "not a standby" : replica.isStreaming ? "ok" : "not streaming"
                        )
                        writer.key("lag_seconds")
                        writer.optionalDouble(replica.lagSeconds)
                    }
                }
            }
        }
        return Response.json(writer.bytes, status: failure == nil || readsServed ? .ok : .serviceUnavailable)
    }
}
