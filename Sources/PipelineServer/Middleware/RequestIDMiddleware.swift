import HTTPTypes
import Hummingbird

/// Gives every request an id that its log lines carry and its response returns in `X-Request-ID`.
///
/// A caller's own `X-Request-ID` (a proxy's, or a pipeline's) is kept when it is 1…128 visible ASCII
/// characters, so one id follows the request across systems; anything else is replaced by the id
/// Hummingbird generated. The id is the logger's `hb.request.id`, which `context.id` reads too.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.requestID], Self.isAcceptable(incoming) {
            context.logger[metadataKey: LogMetadataKey.requestID] = .string(incoming)
        } else if context.id.utf8.count < 32 {
            // Hummingbird writes its 128-bit id as hex without leading zeros; make every generated id 32 characters.
            context.logger[metadataKey: LogMetadataKey.requestID] = .string(String(repeating: "0", count: 32 - context.id.utf8.count) + context.id)
        }
        let id = context.id
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    /// Whether a caller's id is safe to log and echo: 1…128 characters from `!` to `~`.
    static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

extension HTTPField.Name {
    // Constant, valid field names, checked once: the initializer fails only for a name with
    // characters a field name cannot hold, which these literals do not have; nothing a client
    // sends reaches them.
    /// `X-Request-ID`.
    static let requestID = Self("X-Request-ID")!
    /// `X-API-Key`.
    static let apiKey = Self("X-API-Key")!
    /// `Referrer-Policy`.
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// Metadata keys this service's log lines use.
enum LogMetadataKey {
    /// The request id: Hummingbird's own key, written as `request_id` in JSON logs.
    static let requestID = "hb.request.id"
    static let method = "method"
    static let route = "route"
    static let path = "path"
    static let status = "status"
    static let durationMilliseconds = "duration_ms"
    /// The client's address, and the user agent it names.
    static let client = "client"
    static let userAgent = "user_agent"
    /// Who made the request: the label of the API key used, or its key id.
    static let apiKey = "api_key"
    static let apiKeyID = "api_key_id"
}
