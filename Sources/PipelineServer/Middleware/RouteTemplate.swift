import Hummingbird

/// How logs and metrics name the route a request matched: the router's template without the base
/// path (`/pipelines/archived/{date_code}`, never the date code itself, so label values stay few),
/// or `NotFound` when no route matched.
struct RouteTemplate: Sendable {
    static let unmatched = "NotFound"

    /// The prefix every route is served under (`/pipeline-service`), or empty.
    let basePath: String

    func name(for context: some RequestContext) -> String {
        guard let path = context.endpointPath, path != Self.unmatched else { return Self.unmatched }
        guard !basePath.isEmpty, path.hasPrefix(basePath) else { return path }
        let route = path.dropFirst(basePath.count)
        return route.isEmpty ? "/" : String(route)
    }
}

/// The end of a request as the outer middleware see it (the access log, the request metrics).
enum RequestOutcome {
    /// Runs the rest of the chain and reports its final status — an error's own, else 500 — and
    /// the time it took, whether it answered or threw.
    static func observe<Context: RequestContext>(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response,
        _ report: (_ status: Int, _ elapsed: Duration) -> Void
    ) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            report(response.status.code, ContinuousClock.now - start)
            return response
        } catch {
            report((error as? any HTTPResponseError)?.status.code ?? 500, ContinuousClock.now - start)
            throw error
        }
    }
}
