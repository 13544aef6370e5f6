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
