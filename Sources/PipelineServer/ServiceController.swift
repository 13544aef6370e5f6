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

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/", use: welcome)
        router.get("/health", use: health)
        router.get("/openapi.json") { _, _ in
            RunController<Repository, Context>.json(OpenAPIDocument.json(version: pipelineServiceVersion, deployment: deployment))
        }
        router.get("/docs") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: DocsPage.html))
            )
        }
    }

    @Sendable func welcome(_ request: Request, context: Context) async throws -> Response {
        var writer = JSONWriter()
        writer.raw("{\"name\":\"pipeline-service\",\"message\":\"Pipeline run metadata service\",\"version\":")
        writer.string(pipelineServiceVersion)
        writer.raw(",\"backend\":")
        writer.string(repository.backendName)
        writer.raw(",\"docs\":")
        writer.string(deployment.basePath + "/docs")
        writer.raw(",\"openapi\":")
        writer.string(deployment.basePath + "/openapi.json")
        writer.raw("}")
        return RunController<Repository, Context>.json(writer.bytes)
    }

    /// 200 when the backend answers, 503 (with the reason, no internals) when it does not.
    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        var writer = JSONWriter()
        let failure: String?
        do {
            try await repository.checkHealth()
            failure = nil
        } catch let error as StorageError {
            failure = error.description
        } catch {
            context.logger.warning("Health check failed: \(error)")
            failure = "the backend did not answer"
        }
        writer.raw(failure == nil ? "{\"status\":\"healthy\"" : "{\"status\":\"unhealthy\"")
        writer.raw(",\"backend\":")
        writer.string(repository.backendName)
        writer.raw(",\"version\":")
        writer.string(pipelineServiceVersion)
        if let failure {
            writer.raw(",\"detail\":")
            writer.string(failure)
        }
        writer.raw("}")
        return RunController<Repository, Context>.json(writer.bytes, status: failure == nil ? .ok : .serviceUnavailable)
    }
}
