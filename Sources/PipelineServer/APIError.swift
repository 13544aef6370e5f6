import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
public import PipelineCore
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
        writer.object { writer in
            writer.key("detail")
            writer.string(message)
        }
        return APIError(status: status, headers: headers, body: writer.bytes, description: message)
    }

    /// The most issues one 422 lists; the rest are counted (a batch of ten thousand empty objects
    /// has over a hundred thousand issues, and the answer must stay small).
    static let maximumListedIssues = 100

    /// 422 with the FastAPI validation body `{"detail": [{"type", "loc", "msg", "input"}, …]}`: the
    /// first ``maximumListedIssues`` issues, and when there are more, `"error_count"` with their number.
    static func validation(_ error: ValidationError) -> APIError {
        validation(error.issues, total: error.issues.count)
    }

    /// 422 listing the first of `issues`, of `total` issues in all.
    static func validation(_ issues: [FieldIssue], total: Int) -> APIError {
        let description = issues.prefix(maximumListedIssues).map(\.description).joined(separator: "; ")
        return APIError(status: .unprocessableContent, body: validationBody(issues, total: total), description: description)
    }

    /// `{"detail": [{"type", "loc", "msg", "input"}, …]}` with the first of `issues`, and
    /// `"error_count"` when `total` is more than it lists.
    static func validationBody(_ issues: [FieldIssue], total: Int) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.object { writer in
            writer.key("detail")
            writer.array(issues.prefix(maximumListedIssues)) { writer, issue in
                writer.object { writer in
                    writer.key("type")
                    writer.string(issue.kind)
                    writer.key("loc")
                    writer.beginArray()
                    writer.string(issue.location.rawValue)
                    for element in issue.path {
                        switch element {
                        case .name(let name): writer.string(name)
                        case .index(let index): writer.integer(index)
                        }
                    }
                    writer.endArray()
                    writer.key("msg")
                    writer.string(issue.message)
                    writer.key("input")
                    writer.value(issue.input ?? .null)
                }
            }
            if total > min(issues.count, maximumListedIssues) {
                writer.key("error_count")
                writer.integer(total)
            }
        }
        return writer.bytes
    }

    /// The response for a storage failure: 409 for a conflicting run (on its own key or on another
    /// unique key of the table), 422 for a run that would add a pipeline beyond the limit or that
    /// the table refused for a rule of its own, 503 otherwise.
    static func storage(_ error: StorageError) -> APIError {
        if let key = error.conflictingKey {
            var writer = JSONWriter()
            writer.object { writer in
                writer.key("detail")
                writer.string(error.description)
                writer.key("pipeline_name")
                writer.optionalString(key.pipelineName)
                writer.key("date_code")
                writer.string(key.dateCode)
                // Only for a client that named its run: an old client's answer stays as it was.
                if key.hasOwnID, let runID = key.runID {
                    writer.key("run_id")
                    writer.string(runID)
                }
                // Another unique key of the table than the run's own: its columns.
                if let columns = error.takenKeyColumns {
                    writer.key("key")
                    writer.array(columns) { writer, column in writer.string(column) }
                }
            }
            return APIError(status: .conflict, body: writer.bytes, description: error.description)
        }
        if let issue = error.refusal {
            return validation(ValidationError(issue))
        }
        if error.signatureLimit != nil {
            return validation(ValidationError(FieldIssue(.body, "", kind: "too_many_pipelines", message: error.description)))
        }
        return .detail(.serviceUnavailable, error.description, headers: [.retryAfter: "5"])
    }

    /// 409 for an archived-file download whose date code runs of several pipelines share.
    static func ambiguousDateCode(_ dateCode: String, pipelines: [String?]) -> APIError {
        let message = "Runs of several pipelines have date_code \(dateCode); name one with ?pipeline_name="
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("detail")
            writer.string(message)
            writer.key("pipelines")
            writer.array(pipelines) { writer, name in writer.optionalString(name) }
        }
        return APIError(status: .conflict, body: writer.bytes, description: message)
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
        } catch let error as HTTPParserError {
            // The body did not follow HTTP/1.1's framing (a chunk size that is not hex, a chunk
            // longer than it said, a missing CRLF, the connection ending inside the body): the
            // client's fault, and nothing after it on this connection can be read, so the
            // connection closes after the answer.
            context.logger.debug("Request body malformed: \(error)")
            return try APIError.detail(.badRequest, "Request body is malformed: \(error)", headers: [.connection: "close"])
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

extension ValidationError {
    /// The FastAPI validation body of these issues, as a 422 carries it.
    public var jsonBody: [UInt8] { APIError.validationBody(issues, total: issues.count) }
}
