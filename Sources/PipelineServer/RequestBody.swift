import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore

/// Reading request bodies within limits, for every endpoint that takes one.
enum RequestBody {
    /// The media types request bodies may have.
    enum MediaType: Sendable, Equatable {
        /// `application/json`, or any `application/…+json`.
        case json
        /// `application/x-ndjson` (one JSON value per line).
        case ndjson

        var name: String {
            switch self {
            case .json: "application/json"
            case .ndjson: "application/x-ndjson"
            }
        }
    }

    /// The body's media type, when it is one of `accepted`; else 415.
    ///
    /// A body without a type, or with a type a browser may send from any page without asking
    /// first (`text/plain`, form encodings), is refused: those are how another site's page could
    /// make a visitor's browser write runs into a service without keys.
    static func mediaType(of request: Request, accepting accepted: [MediaType]) throws(APIError) -> MediaType {
        let given = request.headers[.contentType].map { type in
            (type.split(separator: ";").first.map(String.init) ?? "").trimmingASCIIWhitespace().lowercased()
        }
        let type: MediaType? =
            switch given {
            case "application/json"?: .json
            case let name? where name.hasPrefix("application/") && name.hasSuffix("+json"): .json
            case "application/x-ndjson"?: .ndjson
            default: nil
            }
        guard let type, accepted.contains(type) else {
            let allowed = accepted.map(\.name).joined(separator: " or ")
            let got = given.map { "got \($0.prefix(100))" } ?? "none was given"
            throw APIError.detail(.unsupportedMediaType, "Content-Type must be \(allowed) (\(got))")
        }
        return type
    }

    /// Collects a JSON body up to `limit` bytes (413 beyond) after checking its type (415).
    static func json(from request: Request, limit: Int) async throws -> ByteBuffer {
        _ = try mediaType(of: request, accepting: [.json])
        return try await collect(request, limit: limit)
    }

    /// The body, inflated when it is gzip (`Content-Encoding`), up to `limit` bytes either way:
    /// 413 beyond, checked while reading and while inflating.
    private static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let isGzip = try isGzipEncoded(request)
        try checkDeclaredLength(of: request, limit: limit)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit: limit)
        }
        guard isGzip else { return body }
        do {
            return ByteBuffer(bytes: try GzipBody.inflate(Array(body.readableBytesView), limit: limit))
        } catch .tooLarge {
            throw APIError.detail(.contentTooLarge, "Request body inflates to more than the limit of \(limit) bytes")
        } catch .invalid(let reason) {
            throw APIError.validation(
                ValidationError(FieldIssue(.body, "", kind: "json_invalid", message: "Content-Encoding is gzip, but \(reason)"))
            )
        }
    }

    /// Whether the body is gzip; 415 for an encoding other than gzip or identity.
    private static func isGzipEncoded(_ request: Request) throws(APIError) -> Bool {
        guard let encoding = request.headers[.contentEncoding]?.trimmingASCIIWhitespace().lowercased(), !encoding.isEmpty else { return false }
        switch encoding {
        case "identity": return false
        case "gzip", "x-gzip": return true
        default: throw APIError.detail(.unsupportedMediaType, "Content-Encoding must be gzip or identity (got \(encoding.prefix(100)))")
        }
    }

    /// Reads the body chunk by chunk as it arrives, answering 413 as soon as it passes `limit`
    /// bytes; `chunk` may stop the request early by throwing. A gzip body is inflated whole first.
    static func read(_ request: Request, limit: Int, _ chunk: (ByteBuffer) throws(APIError) -> Void) async throws {
        if try isGzipEncoded(request) {
            try chunk(try await collect(request, limit: limit))
            return
        }
        try checkDeclaredLength(of: request, limit: limit)
        var received = 0
        for try await buffer in request.body {
            received += buffer.readableBytes
            guard received <= limit else { throw tooLarge(limit: limit) }
            try chunk(buffer)
        }
    }

    private static func checkDeclaredLength(of request: Request, limit: Int) throws(APIError) {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.detail(.contentTooLarge, "Request body of \(length) bytes is larger than the limit of \(limit) bytes")
        }
    }

    private static func tooLarge(limit: Int) -> APIError {
        APIError.detail(.contentTooLarge, "Request body is larger than the limit of \(limit) bytes")
    }
}
