import HTTPTypes
import Hummingbird
import Logging

/// Adds the method and route template to the metadata of every log line of a request, and writes
/// one access line per request at `info`: method, route, path, status, duration, the client's
/// address and its user agent.
struct AccessLogMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    /// Longer paths and user agents are cut in the log line (the route template is always whole).
    static var maximumLoggedPathLength: Int { 256 }

    let routes: RouteTemplate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.logger[metadataKey: LogMetadataKey.method] = .string(request.method.rawValue)
        context.logger[metadataKey: LogMetadataKey.route] = .string(routes.name(for: context))
        return try await RequestOutcome.observe(request, context: context, next: next) { status, elapsed in
            log(request, context: context, status: status, elapsed: elapsed)
        }
    }

    private func log(_ request: Request, context: Context, status: Int, elapsed duration: Duration) {
        let elapsed = duration.components
        let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds / 1_000_000_000) / 1_000_000
        context.logger.info(
            "request",
            metadata: [
                // An unmatched request's route is only known once the router has answered.
                LogMetadataKey.route: .string(routes.name(for: context)),
                LogMetadataKey.path: .string(String(request.uri.path.prefix(Self.maximumLoggedPathLength))),
                LogMetadataKey.status: .stringConvertible(status),
                LogMetadataKey.durationMilliseconds: .stringConvertible((milliseconds * 1000).rounded() / 1000),
                LogMetadataKey.client: .string(context.remoteAddress?.ipAddress ?? "-"),
                LogMetadataKey.userAgent: .string(String((request.headers[.userAgent] ?? "-").prefix(Self.maximumLoggedPathLength))),
            ]
        )
    }
}
