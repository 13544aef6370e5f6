import HTTPTypes
import Hummingbird
import NIOCore
import PipelineCore
import PipelineStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `GET /pipelines/archived/{date_code}` (SPEC §5): streams a run's archived file, but only a
/// regular file that resolves, after following every link, inside one of the archive roots.
/// With no roots configured the endpoint does not exist (404).
struct ArchivedFileController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    /// The roots, themselves resolved (no links, no trailing slash).
    let roots: [String]
    /// Files up to this size of a displayable type are sent `inline`; others as `attachment`.
    static var inlineLimit: Int { 1 << 20 }

    init(repository: Repository, roots: [String]) {
        self.repository = repository
        self.roots = roots.compactMap(ArchivedFiles.resolve).map { $0 == "/" ? "" : $0 }
    }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/pipelines/archived/{date_code}", use: download)
    }

    @Sendable func download(_ request: Request, context: Context) async throws -> Response {
        guard !roots.isEmpty else { throw HTTPError(.notFound) }
        let dateCode = try context.parameters.require("date_code")
        guard dateCode.utf8.count <= PipelineField.dateCode.maximumLength else {
            throw APIError.detail(.notFound, "No run with that date_code")
        }
        guard let run = try await repository.run(dateCode: dateCode) else {
            throw APIError.detail(.notFound, "No run with date_code \(dateCode)")
        }
        guard let archived = run.archivedFile, !archived.isEmpty else {
            throw APIError.detail(.notFound, "Run \(dateCode) has no archived file")
        }
        guard let file = ArchivedFiles.servableFile(archived, roots: roots) else {
            // Missing, not a regular file, or outside the roots: one answer for all, revealing nothing.
            throw APIError.detail(.notFound, "The archived file of run \(dateCode) is not available")
        }
        let name = file.path.split(separator: "/").last.map(String.init) ?? "archive"
        let contentType = ArchivedFiles.contentType(forFileName: name)
        let isDisplayable = contentType.hasPrefix("text/") || contentType == "application/json" || contentType.hasPrefix("image/")
        let disposition = isDisplayable && file.size <= Self.inlineLimit ? "inline" : "attachment"
        let body = try await FileIO().loadFile(path: file.path, context: context)
        var headers: HTTPFields = [
            .contentType: contentType,
            .contentLength: String(file.size),
            .contentDisposition: ArchivedFiles.contentDisposition(disposition, fileName: name),
        ]
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// Path checks and headers for archived files, kept free of HTTP so they can be tested directly.
public enum ArchivedFiles {
    /// The absolute, link-free form of an existing path; nil when it does not exist.
    static func resolve(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.utf8.contains(0), let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The resolved path and size of `path` when it is a regular file strictly inside one of `roots`
    /// (already resolved) after following links; nil otherwise.
    static func servableFile(_ path: String, roots: [String]) -> (path: String, size: Int)? {
        guard let resolved = resolve(path) else { return nil }
        guard roots.contains(where: { resolved.hasPrefix($0 + "/") }) else { return nil }
        var info = stat()
        guard stat(resolved, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (resolved, Int(info.st_size))
    }

    /// The media type for a file name, by its extension.
    public static func contentType(forFileName name: String) -> String {
        let lower = name.lowercased()
        let types: [(String, String)] = [
            (".tar.gz", "application/gzip"), (".tgz", "application/gzip"), (".gz", "application/gzip"),
            (".bz2", "application/x-bzip2"), (".xz", "application/x-xz"), (".zst", "application/zstd"),
            (".zip", "application/zip"), (".tar", "application/x-tar"), (".parquet", "application/vnd.apache.parquet"),
            (".json", "application/json"), (".jsonl", "application/x-ndjson"), (".ndjson", "application/x-ndjson"),
            (".csv", "text/csv; charset=utf-8"), (".txt", "text/plain; charset=utf-8"), (".log", "text/plain; charset=utf-8"),
            (".png", "image/png"), (".jpg", "image/jpeg"), (".jpeg", "image/jpeg"), (".gif", "image/gif"),
            (".svg", "image/svg+xml"), (".pdf", "application/pdf"),
        ]
        return types.first { lower.hasSuffix($0.0) }?.1 ?? "application/octet-stream"
    }

    /// `inline; filename="a.csv"` with an RFC 5987 `filename*` when the name is not plain ASCII.
    public static func contentDisposition(_ kind: String, fileName: String) -> String {
        let ascii = String(fileName.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        var value = "\(kind); filename=\"\(ascii)\""
        if ascii != fileName {
            let encoded = fileName.utf8.map { byte -> String in
                let isPlain =
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "-._~".utf8.contains(byte)
                return isPlain ? String(UnicodeScalar(byte)) : percentEncoded(byte)
            }.joined()
            value += "; filename*=UTF-8''\(encoded)"
        }
        return value
    }

    private static func percentEncoded(_ byte: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
    }
}
