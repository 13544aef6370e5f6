import HTTPTypes
import Hummingbird

/// Routes registered through this are registered on `base`, and every `GET` route also answers
/// `HEAD` with the same handler, behind the same middleware; ``HeadRequestMiddleware`` then sends
/// the answer without its body.
///
/// The router's own `HEAD` endpoints (`RouterOptions.autoGenerateHeadEndpoints`) are not used:
/// they rebuild the answer around an empty body after every middleware has run, and so announce
/// `Content-Length: 0` for a body whose length is not known before it is written.
struct GetRoutesAnswerHead<Base: RouterMethods>: RouterMethods {
    typealias Context = Base.Context

    let base: Base

    @discardableResult func on<Responder: HTTPResponder>(
        _ path: RouterPath,
        method: HTTPRequest.Method,
        responder: Responder
    ) -> Self where Responder.Context == Context {
        base.on(path, method: method, responder: responder)
        if method == .get { base.on(path, method: .head, responder: responder) }
        return self
    }

    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        GetRoutesAnswerHead(base: base.add(middleware: middleware))
    }
}

/// Answers `HEAD` like `GET`: `GET`'s handler (``GetRoutesAnswerHead``), or "not found", has
/// answered, and this sends that answer's status and headers and no body.
///
/// The headers are the ones `GET` sends: a `Content-Length` when the length is known before the
/// body is written, none when it is not (a streamed body: `/export`, `all_data=true`), where both
/// answers are sent chunked. The HTTP/1.1 encoder writes no body for an answer to `HEAD`, not even
/// a chunked body's end.
struct HeadRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .head else { return try await next(request, context) }
        let response = try await next(request, context)
        // An empty body without a length of its own: with `ResponseBody()`, `Response` would announce 0.
        return Response(status: response.status, headers: response.headers, body: ResponseBody { writer in try await writer.finish(nil) })
    }
}
