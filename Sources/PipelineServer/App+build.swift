import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import NIOPosix
import PipelineCore
public import PipelineStore
public import ServiceLifecycle

/// The service's version, reported by `/`, `/health` and the OpenAPI document.
public let pipelineServiceVersion = "1.0.0"

/// Builds the application for a configuration: opens the configured backend and wires it
/// into the router. Used by `pipeline-service serve` and by the tests alike.
///
/// Opening a JSONL or SQLite file that is missing creates it, so then the address is checked
/// first (``checkAddress(of:)``): a server that cannot listen leaves no file behind.
public func buildApplication(
    configuration: ServiceConfiguration,
    logger: Logger,
    metrics: ServiceMetrics = ServiceMetrics(),
    givingUp: StoragePreparation.GivingUp = StoragePreparation.GivingUp()
) async throws -> any ApplicationProtocol {
    if configuration.backend.createsFileWhenOpened { try await checkAddress(of: configuration) }
    let repository = try openRepository(
        configuration.backend,
        limits: configuration.limits,
        logger: logger,
        onCommitBatch: metrics.commitBatchObserver
    )
    // The application opened the repository, so it runs the repository's services.
    return buildApplication(
        repository: repository,
        configuration: configuration,
        logger: logger,
        metrics: metrics,
        services: repository.services,
        givingUp: givingUp
    )
}

/// Binds the configured address and lets it go at once, failing as listening would (a port
/// another process holds, a host that is not an address of this machine), named by
/// ``ServiceConfiguration/listeningProblem(_:)``. Port 0 (any free port) is not checked.
private func checkAddress(of configuration: ServiceConfiguration) async throws {
    guard configuration.port != 0 else { return }
    do {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.host, port: configuration.port)
            .get()
        try await channel.close()
    } catch {
        throw configuration.listeningProblem(error) ?? error
    }
}

/// Builds the application around an already opened repository. `metrics` is this application's
/// own registry, served at `/metrics`. `services` run with the application: those of the
/// repository when the application owns it; none when its owner already runs them (a service's
/// `run()` runs once).
public func buildApplication(
    repository: some PipelineRunRepository,
    configuration: ServiceConfiguration,
    logger: Logger,
    metrics: ServiceMetrics = ServiceMetrics(),
    services: [any Service] = [],
    givingUp: StoragePreparation.GivingUp = StoragePreparation.GivingUp()
) -> some ApplicationProtocol {
    let idleTimeout = TimeAmount.seconds(configuration.idleTimeout.components.seconds)
    let retention = configuration.retentionPeriod.map { period in
        RetentionService(
            repository: MeasuredRepository(base: repository, metrics: metrics),
            period: period,
            interval: configuration.retentionInterval,
            clock: configuration.clock,
            logger: logger
        )
    }
    let preparation = StoragePreparation(
        wait: configuration.startupWait,
        logger: logger,
        prepare: { try await repository.prepare() },
        onReady: { retention?.storageIsReady() },
        givingUp: givingUp
    )
    let router = buildRouter(repository: repository, configuration: configuration, metrics: metrics, readiness: preparation)
    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(
                idleTimeout: idleTimeout,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: RequestLimits.maximumHeaderFieldSize,
                    maxHeaderListSize: RequestLimits.maximumHeaderListSize,
                    maxHeaderFieldCount: RequestLimits.maximumHeaderFieldCount
                )
            )
        ),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "pipeline-service"),
        services: services + [preparation] + (retention.map { [$0 as any Service] } ?? []),
        onServerRunning: { channel in
            // The bound address: with port 0 the system picked the port, and this line says which.
            let port = channel.localAddress?.port ?? configuration.port
            logger.info(
                "pipeline-service \(pipelineServiceVersion) ready",
                metadata: [
                    "backend": "\(repository.backendName)", "address": "\(configuration.host):\(port)",
                    "storage": "\(preparation.notReadyReason == nil ? "ready" : "waiting")",
                ]
            )
        },
        logger: logger
    )
    app.beforeServerStarts {
        try await preparation.prepareBeforeServing()
    }
    return app
}

/// The router with every route of the API and `/metrics`, under the configured base path.
///
/// Middleware, outermost first: request id, access log, request metrics, CORS, HEAD as GET, JSON
/// errors, URI length, request timeout, API keys. Everything inside the error middleware answers
/// with JSON; everything outside it sees the final status.
///
/// `readiness`, when given, is asked first by `/health`: the storage may still be waiting for its
/// database at start-up.
public func buildRouter<Repository: PipelineRunRepository>(
    repository: Repository,
    configuration: ServiceConfiguration,
    metrics: ServiceMetrics = ServiceMetrics(),
    readiness: StoragePreparation? = nil
) -> Router<ServiceRequestContext> {
    let router = Router(context: ServiceRequestContext.self)
    let routeNames = RouteTemplate(basePath: configuration.basePath)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware(routes: routeNames))
    router.add(middleware: HTTPMetricsMiddleware(metrics: metrics, routes: routeNames))
    if let cors = CORSPolicyMiddleware<ServiceRequestContext>(configuration.corsOrigins) {
        router.add(middleware: cors)
    }
    router.add(middleware: HeadRequestMiddleware())
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: URILengthMiddleware())
    router.add(middleware: RequestTimeoutMiddleware(timeout: configuration.requestTimeout))
    if let keys = configuration.apiKeys {
        router.add(middleware: APIKeyMiddleware(keys: keys, scope: configuration.authenticationScope, routes: routeNames))
    }

    // Every GET route also answers HEAD, and `HeadRequestMiddleware` sends that answer without its body.
    let routes = GetRoutesAnswerHead(base: router.group(RouterPath(configuration.basePath)))
    let measured = MeasuredRepository(base: repository, metrics: metrics)
    metrics.describe(backend: repository.backendName)
    let deployment = APIDeployment(
        basePath: configuration.basePath,
        authentication: configuration.apiKeys == nil ? nil : configuration.authenticationScope
    )
    typealias Measured = MeasuredRepository<Repository>
    let insights = InsightService(repository: measured, settings: configuration.insightSettings, clock: configuration.clock)
    RunController<Measured, ServiceRequestContext>(repository: measured, maxBodySize: configuration.maxBodySize, insights: insights).addRoutes(
        to: routes
    )
    HistoryController<Measured, ServiceRequestContext>(insights: insights).addRoutes(to: routes)
    UIController<Measured, ServiceRequestContext>(
        insights: insights,
        repository: measured,
        basePath: configuration.basePath,
        servesArchivedFiles: !configuration.archiveRoots.isEmpty
    ).addRoutes(to: routes)
    BulkController<Measured, ServiceRequestContext>(repository: measured, maxBodySize: configuration.maxBatchBodySize).addRoutes(to: routes)
    LineageController<Measured, ServiceRequestContext>(
        repository: measured,
        maxBodySize: configuration.maxBodySize,
        mapping: configuration.lineageMapping,
        metrics: metrics
    ).addRoutes(to: routes)
    ExportController<Measured, ServiceRequestContext>(repository: measured).addRoutes(to: routes)
    ArchivedFileController<Measured, ServiceRequestContext>(repository: measured, roots: configuration.archiveRoots).addRoutes(to: routes)
    ServiceController<Measured, ServiceRequestContext>(repository: measured, deployment: deployment, readiness: readiness).addRoutes(to: routes)
    MetricsController<Measured, ServiceRequestContext>(insights: insights, repository: measured, metrics: metrics).addRoutes(to: routes)
    addMethodNotAllowedRoutes(to: routes)
    return router
}

/// Answers 405 with an `Allow` header (as FastAPI does) for a known path asked with another method.
/// The known paths and methods are the OpenAPI document's, so the two cannot disagree.
private func addMethodNotAllowedRoutes(to router: some RouterMethods<ServiceRequestContext>) {
    // QUERY: the safe-method-with-body draft (RFC 9110 extension) that HTTP tools such as schemathesis now send.
    let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .trace, HTTPRequest.Method("QUERY")!]
    var routes = OpenAPIDocument.operations
    routes["/openapi.json"] = [.get]
    routes["/docs"] = [.get]
    routes["/metrics"] = [.get]
    for (path, allowed) in routes {
        let allow = methods.filter(allowed.contains).map(\.rawValue).joined(separator: ", ")
        for method in methods where !allowed.contains(method) {
            router.on(RouterPath(path), method: method) { _, _ -> Response in
                throw APIError.detail(.methodNotAllowed, "Method Not Allowed", headers: [.allow: allow])
            }
        }
    }
}
