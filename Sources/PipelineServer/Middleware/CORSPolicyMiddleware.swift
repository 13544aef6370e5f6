import HTTPTypes
import Hummingbird

/// The browser origins allowed to call the API (`PIPELINE_CORS_ORIGINS`).
public enum CORSOrigins: Sendable, Hashable {
    /// No cross-origin access (the default): no CORS headers are ever sent.
    case none
    /// Any origin (`*`).
    case any
    /// Exactly these origins (`https://dashboard.example.com`), compared as the browser sends them.
    case list([String])
}

/// CORS for the configured origins, through Hummingbird's `CORSMiddleware`: a preflight `OPTIONS`
/// from an allowed origin is answered 204 with the allowed methods and headers (including the key
/// headers, so a dashboard can send `Authorization` or `X-API-Key`), and every answer to an allowed
/// origin carries `Access-Control-Allow-Origin`. A request from another origin (or none) gets no CORS
/// headers, so the browser keeps its answer from the page, and `Vary: Origin`, so a cache does too.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The allowed origins; nil when any origin is.
    private let allowed: Set<String>?
    private let cors: CORSMiddleware<Context>

    /// nil when no origin is allowed, so the router has no CORS middleware at all.
    init?(_ origins: CORSOrigins) {
        let allowOrigin: CORSMiddleware<Context>.AllowOriginExtended
        switch origins {
        case .none:
            return nil
        case .any:
            self.allowed = nil
            allowOrigin = .all
        case .list(let list):
            guard !list.isEmpty else { return nil }
            self.allowed = Set(list)
            allowOrigin = .originBased
        }
        self.cors = CORSMiddleware(
            allowOrigin: allowOrigin,
            allowHeaders: [.accept, .authorization, .contentType, .origin, .apiKey, .requestID],
            allowMethods: [.get, .post, .head, .options],
            allowCredentials: false,
            exposedHeaders: [HTTPField.Name.requestID.canonicalName, HTTPField.Name.retryAfter.canonicalName],
            maxAge: .seconds(600)
        )
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let allowed, !allowed.contains(request.headers[.origin] ?? "") {
            // The answer differs by origin, so a shared cache must not hand this one to an allowed origin.
            var response = try await next(request, context)
            response.headers[values: .vary].append("Origin")
            return response
        }
        return try await cors.handle(request, context: context, next: next)
    }
}
