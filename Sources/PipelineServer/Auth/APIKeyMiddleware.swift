import HTTPTypes
import Hummingbird

/// Which requests need an API key once keys are configured.
public enum AuthenticationScope: String, Sendable, Hashable {
    /// Writes only (any method but GET, HEAD and OPTIONS): the default once keys are configured.
    case writes
    /// Writes and reads; ``openRoutes`` stay open.
    case writesAndReads

    /// Routes open even when reads need a key: health checks (load balancers and Kubernetes probes
    /// carry no key) and the API description, which holds no data.
    public static var openRoutes: Set<String> { ["/health", "/", "/openapi.json", "/docs"] }
}

/// Requires an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`) on the requests its
/// scope covers: 401 with `WWW-Authenticate: Bearer` when none is sent, 403 when it is not a
/// configured key. The caller (the key's label or key id, never the key) joins the request's log
/// metadata as `api_key`, for the audit line.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeySet
    let scope: AuthenticationScope
    let routes: RouteTemplate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard needsKey(request, context: context) else { return try await next(request, context) }
        guard let presented = Self.presentedKey(in: request.headers) else {
            throw APIError.detail(
                .unauthorized,
                "An API key is required: send it as \"Authorization: Bearer <key>\" or \"X-API-Key: <key>\"",
                headers: [.wwwAuthenticate: "Bearer realm=\"pipeline-service\""]
            )
        }
        guard let key = keys.key(matching: presented) else {
            context.logger.notice("Request refused: the API key sent is not a configured key")
            throw APIError.detail(.forbidden, "The API key is not valid")
        }
        var context = context
        context.logger[metadataKey: LogMetadataKey.apiKey] = .string(key.caller)
        context.logger[metadataKey: LogMetadataKey.apiKeyID] = .string(key.keyID)
        return try await next(request, context)
    }

    private func needsKey(_ request: Request, context: Context) -> Bool {
        switch request.method {
        case .get, .head, .options:
            scope == .writesAndReads && !AuthenticationScope.openRoutes.contains(routes.name(for: context))
        default:
            true
        }
    }

    /// The key a request carries: a Bearer token, else the `X-API-Key` header; nil when neither holds one.
    static func presentedKey(in headers: HTTPFields) -> Substring? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].drop { $0 == " " }
                if !token.isEmpty { return token }
            }
        }
        if let value = headers[.apiKey] {
            let key = value[...].drop { $0 == " " }
            if !key.isEmpty { return key }
        }
        return nil
    }
}
