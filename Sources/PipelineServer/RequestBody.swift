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
        try checkDeclaredLength(of: request, limit: limit)
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit: limit)
        }
    }

    /// Reads the body chunk by chunk as it arrives, answering 413 as soon as it passes `limit`
    /// bytes; `chunk` may stop the request early by throwing.
    static func read(_ request: Request, limit: Int, _ chunk: (ByteBuffer) throws(APIError) -> Void) async throws {
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
