import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

/// The bounds of one `POST /pipelines/batch`.
enum BatchLimits {
    /// The most runs one batch may carry.
    static let maximumRuns = 10_000
    /// The largest batch body, in bytes (32 MiB): room for `maximumRuns` runs of generous size.
    /// Separate from (and larger than) the single-run body limit `PIPELINE_MAX_BODY_SIZE`.
    static let maximumBodySize = 32 << 20
}

/// Bulk ingest: `POST /pipelines/batch`, many runs stored all or none.
struct BulkController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    private static var maximumRuns: Int { BatchLimits.maximumRuns }
    private static var maximumBodySize: Int { BatchLimits.maximumBodySize }

    let repository: Repository

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/pipelines/batch", use: createRuns)
    }

    /// `POST /pipelines/batch`: a JSON array of runs, or NDJSON with `Content-Type:
    /// application/x-ndjson`. Every run is validated first: any invalid one answers 422 listing
    /// each error under `["body", index, field]` and nothing is stored. Otherwise all runs are
    /// stored in one transaction: 201 when any was new, 200 when all were already stored, 409
    /// (nothing stored) when a key holds a different run.
    @Sendable func createRuns(_ request: Request, context: Context) async throws -> Response {
        let isNDJSON = Self.mediaType(of: request) == "application/x-ndjson"
        let body =
            isNDJSON
            ? try await Self.collect(request) : try await RequestBody.json(from: request, limit: Self.maximumBodySize)
        let documents = try isNDJSON ? Self.lines(of: body) : Self.elements(of: body)
        guard documents.count <= Self.maximumRuns else {
            throw APIError.validation(
                ValidationError(
                    FieldIssue(
                        .body,
                        "",
                        kind: "too_long",
                        message: "A batch may hold at most \(Self.maximumRuns) runs (got \(documents.count)); split it into smaller batches"
                    )
                )
            )
        }
        var runs: [PipelineInfo] = []
        runs.reserveCapacity(documents.count)
        var issues: [FieldIssue] = []
        for (index, document) in documents.enumerated() {
            do {
                runs.append(try document.run())
            } catch {
                issues += error.nested(atIndex: index).issues
            }
        }
        guard issues.isEmpty else { throw APIError.validation(ValidationError(issues)) }

        let outcomes = runs.isEmpty ? [] : try await repository.insert(contentsOf: runs)
        WriteAudit.record(batch: outcomes, logger: context.logger)
        let created = outcomes.filter(\.isCreated).count
        var writer = JSONWriter(reservingCapacity: 64 + outcomes.count * 640)
        writer.raw("{\"stored\":")
        writer.integer(Int64(created))
        writer.raw(",\"existing\":")
        writer.integer(Int64(outcomes.count - created))
        writer.raw(",\"runs\":[")
        for (position, outcome) in outcomes.enumerated() {
            if position > 0 { writer.raw(",") }
            outcome.storedRun.info.write(to: &writer)
        }
        writer.raw("]}")
        return RunController<Repository, Context>.json(writer.bytes, status: created > 0 ? .created : .ok)
    }

    // MARK: - Reading the body

    /// One element of a batch, not yet validated.
    private enum Document {
        case value(JSONValue)
        case line([UInt8])

        func run() throws(ValidationError) -> PipelineInfo {
            switch self {
            case .value(let value): try PipelineInfo(json: value)
            case .line(let bytes): try PipelineInfo(jsonBytes: bytes)
            }
        }
    }

    private static func mediaType(of request: Request) -> String? {
        request.headers[.contentType].map { type in
            type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
    }

    /// The body of an NDJSON batch, up to the batch limit (413 beyond).
    private static func collect(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBodySize {
            throw APIError.detail(.contentTooLarge, "Request body of \(length) bytes is larger than the batch limit of \(maximumBodySize) bytes")
        }
        do {
            return try await request.body.collect(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError.detail(.contentTooLarge, "Request body is larger than the batch limit of \(maximumBodySize) bytes")
        }
    }

    /// The elements of a JSON array body.
    private static func elements(of body: ByteBuffer) throws -> [Document] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body.readableBytesView)
        } catch {
            throw APIError.validation(ValidationError(FieldIssue(.body, "", kind: "json_invalid", message: "JSON decode error: \(error)")))
        }
        guard case .array(let elements) = value else {
            throw APIError.validation(
                ValidationError(
                    FieldIssue(
                        .body,
                        "",
                        kind: "list_type",
                        message: "Input should be a JSON array of runs (or NDJSON with Content-Type: application/x-ndjson)",
                        input: value
                    )
                )
            )
        }
        return elements.map(Document.value)
    }

    /// The non-blank lines of an NDJSON body (LF or CRLF line ends).
    private static func lines(of body: ByteBuffer) -> [Document] {
        body.readableBytesView.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).compactMap { line in
            let isBlank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            return isBlank ? nil : .line(Array(line))
        }
    }
}
