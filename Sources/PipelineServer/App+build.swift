public import Hummingbird
public import Logging
import HTTPTypes
import NIOCore
import PipelineCore
public import PipelineStore
import ServiceLifecycle

/// The service's version, reported by `/`, `/health` and the OpenAPI document.
public let pipelineServiceVersion = "1.0.0"

/// Builds the application for a configuration: opens the configured backend and wires it
/// into the router. Used by `pipeline-service serve` and by the tests alike.
public func buildApplication(configuration: ServiceConfiguration, logger: Logger) async throws -> any ApplicationProtocol {
    let repository = try openRepository(configuration.backend, logger: logger)
    return buildApplication(repository: repository, configuration: configuration, logger: logger)
}

/// Builds the application around an already opened repository.
public func buildApplication(
    repository: some PipelineRunRepository,
    configuration: ServiceConfiguration,
    logger: Logger
) -> some ApplicationProtocol {
    let router = buildRouter(repository: repository, configuration: configuration)
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(75))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "pipeline-service"),
        services: repository.services,
        logger: logger
    )
    app.beforeServerStarts {
        try await repository.prepare()
        logger.info(
            "pipeline-service \(pipelineServiceVersion) ready",
            metadata: ["backend": "\(repository.backendName)", "address": "\(configuration.host):\(configuration.port)"]
        )
    }
    return app
}

/// The router with every route of SPEC §3.
public func buildRouter<Repository: PipelineRunRepository>(
    repository: Repository,
    configuration: ServiceConfiguration
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    RunController<Repository, BasicRequestContext>(repository: repository, maxBodySize: configuration.maxBodySize).addRoutes(to: router)
    ArchivedFileController<Repository, BasicRequestContext>(repository: repository, roots: configuration.archiveRoots).addRoutes(to: router)
    ServiceController<Repository, BasicRequestContext>(repository: repository).addRoutes(to: router)
    addMethodNotAllowedRoutes(to: router)
    return router
}

/// Answers 405 with an `Allow` header (as FastAPI does) for a known path asked with another method.
/// The known paths and methods are the OpenAPI document's, so the two cannot disagree.
private func addMethodNotAllowedRoutes(to router: Router<BasicRequestContext>) {
    let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
    var routes = OpenAPIDocument.operations
    routes["/openapi.json"] = [.get]
    routes["/docs"] = [.get]
    for (path, allowed) in routes {
        let allow = methods.filter(allowed.contains).map(\.rawValue).joined(separator: ", ")
        for method in methods where !allowed.contains(method) {
            router.on(RouterPath(path), method: method) { _, _ -> Response in
                throw APIError.detail(.methodNotAllowed, "Method Not Allowed", headers: [.allow: allow])
            }
        }
    }
}

/// Opens the configured backend. Misconfiguration throws a `ConfigurationError` naming the setting.
public func openRepository(_ backend: BackendConfiguration, logger: Logger) throws -> any PipelineRunRepository {
    switch backend {
    case .jsonl(let path):
        return try JSONLRunRepository(path: path, logger: logger)
    case .sqlite, .postgres:
        throw ConfigurationError("PIPELINE_BACKEND", "WIP-BACKEND \(backend.name) is not wired yet")
    }
}
