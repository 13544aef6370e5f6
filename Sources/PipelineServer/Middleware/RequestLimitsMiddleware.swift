import HTTPTypes
import Hummingbird

/// Limits that keep one client from holding the server: the request line's length (414 beyond
/// ``maximumURILength``) and the time a request may take (504 beyond the timeout).
///
/// Header sizes are limited earlier, by the HTTP decoder (configured in `buildApplication`): a
/// request over them is answered 400 and its connection closed before it reaches the router.
enum RequestLimits {
    /// The longest request target (path and query) accepted: 8 KiB, as common proxies allow.
    static let maximumURILength = 8 * 1024
    /// The largest single header line (the request line counts as one): 16 KiB.
    static let maximumHeaderFieldSize = 16 * 1024
    /// The largest total of all header lines: 64 KiB.
    static let maximumHeaderListSize = 64 * 1024
    /// The most header fields in one request.
    static let maximumHeaderFieldCount = 100
}

/// Answers 414 for a request target longer than ``RequestLimits/maximumURILength``.
struct URILengthMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.uri.string.utf8.count
        guard length <= RequestLimits.maximumURILength else {
            throw APIError.detail(.uriTooLong, "The request URI is \(length) bytes; the limit is \(RequestLimits.maximumURILength) bytes")
        }
        return try await next(request, context)
    }
}

/// Fails a request that takes longer than `timeout` with 504: a slow body upload or a stuck backend
/// cannot hold a connection and a task for ever.
///
/// The rest of the chain runs in a child task that is cancelled when the time is up. A handler
/// that finishes anyway (it ignored the cancellation) still has its response sent, since that
/// answer is true; any error after the cancellation becomes the 504.
struct RequestTimeoutMiddleware<Context: RequestContext>: RouterMiddleware {
    let timeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let timeout = self.timeout
        return try await withoutActuallyEscaping(next) { next in
            // Only the child task below calls the closure, and the task group waits for that
            // child before this scope ends, so the closure never outlives `handle`.
            let handler = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Outcome.self) { group in
                group.addTask {
                    do {
                        return .response(try await handler.value(request, context))
                    } catch {
                        return .failure(error)
                    }
                }
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                        return .timedOut
                    } catch {
                        return .timerCancelled
                    }
                }
                var timedOut = false
                while let outcome = try await group.next() {
                    switch outcome {
                    case .response(let response):
                        group.cancelAll()
                        return response
                    case .failure(let error):
                        group.cancelAll()
                        guard timedOut else { throw error }
                    case .timedOut:
                        timedOut = true
                        group.cancelAll()
                    case .timerCancelled:
                        continue
                    }
                }
                context.logger.warning("Request timed out", metadata: ["timeout": "\(Self.describe(timeout))"])
                throw APIError.detail(.gatewayTimeout, "The request did not complete within \(Self.describe(timeout))")
            }
        }
    }

    private enum Outcome: Sendable {
        case response(Response)
        case failure(any Error)
        case timedOut
        /// The request's task was cancelled (the client went away): the handler's outcome decides.
        case timerCancelled
    }

    private static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return seconds == 1 ? "1 second" : "\(seconds) seconds" }
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) milliseconds"
    }
}

/// Carries a value the compiler cannot prove `Sendable` across a task boundary; the user states why it is safe.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
