import HTTPTypes
import Hummingbird
import NIOPosix
import PipelineCore
import PipelineStore

extension QueryParameter {
    /// The query parameters of `GET /pipelines/archived/{date_code}`.
    static let archivedFile: [QueryParameter] = [.pipelineName]
}

/// `GET /pipelines/archived/{date_code}[?pipeline_name=…]`: streams a run's archived file, but only
/// a regular file beneath one of the archive roots, reached without following any link (see
/// `ArchiveFileOpener`). With no roots configured the endpoint does not exist (404).
///
/// The run is the latest with that date code, of the named pipeline when `pipeline_name` is given.
/// Without it, a date code that runs of several pipelines share answers 409 listing them, rather
/// than serving whichever was stored last: a run of another pipeline (or one without a name)
/// could otherwise shadow the file a caller meant.
struct ArchivedFileController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    /// The roots that existed at start-up, in both their configured and resolved spellings.
    let roots: [ArchiveRoot]

    init(repository: Repository, roots: [String]) {
        self.repository = repository
        self.roots = roots.compactMap(ArchiveRoot.init(configuredPath:))
    }

    /// How many runs with one date code are looked at to tell whether several pipelines share it.
    static var candidateLimit: Int { 100 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/pipelines/archived/{date_code}", use: download)
    }

    @Sendable func download(_ request: Request, context: Context) async throws -> Response {
        guard !roots.isEmpty else { throw HTTPError(.notFound) }
        let dateCode = try context.parameters.require("date_code")
        guard dateCode.utf8.count <= PipelineField.dateCode.maximumLength else {
            throw APIError.detail(.notFound, "No run with that date_code")
        }
        var parameters = QueryParameters(QueryString.parse(request.uri.query ?? ""))
        var filter = RunFilter(dateCode: dateCode)
        filter.pipelineName = parameters.text(QueryParameter.pipelineName.rawValue).map(FieldCondition.equals)
        try parameters.validate(reading: QueryParameter.archivedFile)
        let candidates = try await repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: Self.candidateLimit, offset: 0))).runs
        guard let run = candidates.first?.info else {
            throw APIError.detail(.notFound, "No run with date_code \(dateCode)")
        }
        let pipelines = Set(candidates.map { $0.info.pipelineName.map(ExactText.init) })
        if filter.pipelineName == nil, pipelines.count > 1 {
            // Named pipelines in byte order, a run without a name last.
            let listed = pipelines.sorted { lhs, rhs in
                guard let lhs else { return false }
                guard let rhs else { return true }
                return lhs < rhs
            }
            throw APIError.ambiguousDateCode(dateCode, pipelines: listed.map { $0?.string })
        }
        guard let archived = run.archivedFile, !archived.isEmpty else {
            throw APIError.detail(.notFound, "Run \(dateCode) has no archived file")
        }
        // Opening walks directories on disk, which may block: done on the thread pool.
        let roots = self.roots
        let opened = try await NIOThreadPool.singleton.runIfActive { ArchiveFileOpener.open(archived, roots: roots) }
        guard let file = opened else {
            // Missing, not a regular file, outside the roots or behind a link: one answer for all, revealing nothing.
            throw APIError.detail(.notFound, "The archived file of run \(dateCode) is not available")
        }
        return Response(status: .ok, headers: ArchivedFiles.headers(fileName: file.name, size: file.size), body: file.responseBody())
    }
}

/// Headers for archived files, kept free of HTTP handling so they can be tested directly.
public enum ArchivedFiles {
    /// Every archived file is a download, never a page: an archive directory may hold a file
    /// nobody here wrote (an `.svg` or `.html` with a script), and shown inline it would run on the
    /// service's own origin. The policy and `nosniff` keep a browser from running or re-typing it
    /// even if it is opened directly.
    static func headers(fileName: String, size: Int) -> HTTPFields {
        var headers = SecurityHeaders.download(contentType: contentType(forFileName: fileName))
        headers[.contentLength] = String(size)
        headers[.contentDisposition] = contentDisposition("attachment", fileName: fileName)
        return headers
    }

    private static let types: [(suffix: String, type: String)] = [
        (".tar.gz", "application/gzip"), (".tgz", "application/gzip"), (".gz", "application/gzip"),
        (".bz2", "application/x-bzip2"), (".xz", "application/x-xz"), (".zst", "application/zstd"),
        (".zip", "application/zip"), (".tar", "application/x-tar"), (".parquet", "application/vnd.apache.parquet"),
        (".json", "application/json"), (".jsonl", "application/x-ndjson"), (".ndjson", "application/x-ndjson"),
        (".csv", "text/csv; charset=utf-8"), (".txt", "text/plain; charset=utf-8"), (".log", "text/plain; charset=utf-8"),
        (".png", "image/png"), (".jpg", "image/jpeg"), (".jpeg", "image/jpeg"), (".gif", "image/gif"),
        (".svg", "image/svg+xml"), (".pdf", "application/pdf"),
    ]

    /// The media type for a file name, by its extension.
    public static func contentType(forFileName name: String) -> String {
        let lower = name.lowercased()
        return types.first { lower.hasSuffix($0.suffix) }?.type ?? "application/octet-stream"
    }

    /// `attachment; filename="a.csv"` with an RFC 5987 `filename*` when the name is not plain ASCII.
    public static func contentDisposition(_ kind: String, fileName: String) -> String {
        let ascii = String(
            fileName.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F && $0 != "\"" && $0 != "\\" ? Character($0) : "_" }
        )
        var value = "\(kind); filename=\"\(ascii)\""
        if ascii != fileName { value += "; filename*=UTF-8''\(QueryString.encode(fileName))" }
        return value
    }
}
