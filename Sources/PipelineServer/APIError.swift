import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

/// An error answered with a JSON body `{"detail": …}`, the shape FastAPI clients expect.
///
/// Messages are written for the client: they name the field or setting at fault and never
/// carry SQL, server paths or stack traces.
struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    private let body: [UInt8]
    let description: String

    private init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: [UInt8], description: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.description = description
    }

    /// `{"detail": "message"}` with any status.
    static func detail(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> APIError {
        var writer = JSONWriter(reservingCapacity: message.utf8.count + 16)
        writer.raw("{\"detail\":")
        writer.string(message)
        writer.raw("}")
        return APIError(status: status, headers: headers, body: writer.bytes, description: message)
    }

    /// 422 with the FastAPI validation body listing every bad field.
    static func validation(_ error: ValidationError) -> APIError {
        APIError(status: .unprocessableContent, body: error.jsonBody, description: error.description)
    }

    /// The response for a storage failure: 409 for a conflicting run, 503 otherwise.
    static func storage(_ error: StorageError) -> APIError {
        if let key = error.conflictingKey {
            var writer = JSONWriter()
            writer.raw("{\"detail\":")
            writer.string(error.description)
            writer.raw(",\"pipeline_name\":")
            writer.string(key.pipelineName)
            writer.raw(",\"date_code\":")
            writer.string(key.dateCode)
            writer.raw("}")
            return APIError(status: .conflict, body: writer.bytes, description: error.description)
        }
        return .detail(.serviceUnavailable, error.description, headers: [.retryAfter: "5"])
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into a JSON response: known errors keep their status and message, anything
/// else becomes a 500 that says only that something failed, with the request id to find the log line.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as ValidationError {
            return try APIError.validation(error).response(from: request, context: context)
        } catch let error as StorageError {
            if error.isUnavailable {
                context.logger.warning("Storage unavailable: \(error)")
            }
            return try APIError.storage(error).response(from: request, context: context)
        } catch let error as NIOTooManyBytesError {
            _ = error
            return try APIError.detail(.contentTooLarge, "Request body is too large")
                .response(from: request, context: context)
        } catch let error as HTTPError {
            let message =
                switch error.status {
                case .notFound: "Not Found"
                case .methodNotAllowed: "Method Not Allowed"
                default: error.body ?? error.status.reasonPhrase
                }
            return try APIError.detail(error.status, message, headers: error.headers).response(from: request, context: context)
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            return try APIError.detail(error.status, error.status.reasonPhrase).response(from: request, context: context)
        } catch {
            context.logger.error(
                "Request failed: \(String(reflecting: error))",
                metadata: ["method": "\(request.method)", "path": "\(request.uri.path)"]
            )
            return try APIError.detail(.internalServerError, "Internal server error (request id \(context.id)); the details are in the server log")
                .response(from: request, context: context)
        }
    }
}
