import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PipelineCore
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

@testable import PipelineServer

/// Archived files are served only from beneath the configured roots, reached without following
/// any link, and always as a sandboxed download.
@Suite("Archived files")
struct ArchivedFileTests {
    let sandbox: TemporaryDirectory
    var root: String { sandbox.path + "/archive" }
    var outside: String { sandbox.path + "/outside" }

    init() throws {
        sandbox = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: sandbox.path + "/archive/lot", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.path + "/outside", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.path + "/archive-evil", withIntermediateDirectories: true)
        try Data(repeating: 0x1F, count: 4096).write(to: URL(fileURLWithPath: sandbox.path + "/archive/lot/run.csv.gz"))
        try Data("{\"ok\":true}".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/archive/lot/small.json"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/outside/secret.txt"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/archive-evil/x"))
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.path + "/archive/escape.txt",
            withDestinationPath: sandbox.path + "/outside/secret.txt"
        )
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/archive/escape-dir", withDestinationPath: sandbox.path + "/outside")
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.path + "/archive/inside-link.json",
            withDestinationPath: sandbox.path + "/archive/lot/small.json"
        )
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/archive/lot-link", withDestinationPath: sandbox.path + "/archive/lot")
    }

    /// Stores one run per (date code, archived file) and runs `body` against a server with `roots`.
    private func withArchive(
        roots: [String],
        files: [(String, String?)],
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: roots)) { client, fixture in
            for (code, file) in files {
                var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
                run.dateCode = code
                run.archivedFile = file
                _ = try await fixture.repository.insert(run.reidentified)
            }
            try await body(client)
        }
    }

    /// The headers every archived file is sent with, whatever its type.
    private static func expectDownloadHeaders(_ response: TestResponse, fileName: String) {
        #expect(response.headers[.contentDisposition] == "attachment; filename=\"\(fileName)\"")
        #expect(response.headers[.xContentTypeOptions] == "nosniff")
        #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; sandbox")
        #expect(response.headers[.cacheControl] == "no-store")
    }

    @Test("A file inside a root streams with type, length and download headers")
    func fileInsideRootIsServed() async throws {
        defer { sandbox.remove() }
        try await withArchive(roots: [root], files: [("gz", root + "/lot/run.csv.gz"), ("json", root + "/lot/small.json")]) { client in
            let gz = try await client.get("/pipelines/archived/gz")
            #expect(gz.status == .ok)
            #expect(gz.headers[.contentType] == "application/gzip")
            #expect(gz.headers[.contentLength] == "4096")
            #expect(gz.body.readableBytes == 4096)
            Self.expectDownloadHeaders(gz, fileName: "run.csv.gz")
            let json = try await client.get("/pipelines/archived/json")
            #expect(json.status == .ok)
            #expect(json.headers[.contentType] == "application/json")
            Self.expectDownloadHeaders(json, fileName: "small.json")
            #expect(json.text == "{\"ok\":true}")
        }
    }

    @Test("An SVG holding a script is a sandboxed download, never inline")
    func scriptedSVGIsADownload() async throws {
        defer { sandbox.remove() }
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.domain)</script></svg>"
        try Data(svg.utf8).write(to: URL(fileURLWithPath: root + "/lot/chart.svg"))
        try await withArchive(roots: [root], files: [("svg", root + "/lot/chart.svg")]) { client in
            let response = try await client.get("/pipelines/archived/svg")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "image/svg+xml")
            Self.expectDownloadHeaders(response, fileName: "chart.svg")
            #expect(response.text == svg)
        }
    }

    @Test("A file larger than one chunk arrives whole and in order")
    func multiChunkFileIsServedWhole() async throws {
        defer { sandbox.remove() }
        let bytes = (0..<(200 * 1024 + 3)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/lot/big.parquet"))
        try await withArchive(roots: [root], files: [("big", root + "/lot/big.parquet")]) { client in
            let response = try await client.get("/pipelines/archived/big")
            #expect(response.status == .ok)
            #expect(response.headers[.contentLength] == String(bytes.count))
            #expect(Array(response.body.readableBytesView) == bytes)
        }
    }

    @Test("Links below a root are not followed, even ones that stay inside it")
    func linksInsideRootAreRefused() async throws {
        defer { sandbox.remove() }
        let files: [(String, String?)] = [("file-link", root + "/inside-link.json"), ("directory-link", root + "/lot-link/small.json")]
        try await withArchive(roots: [root], files: files) { client in
            for (code, _) in files {
                let response = try await client.get("/pipelines/archived/\(code)")
                #expect(response.status == .notFound, "\(code)")
            }
        }
    }

    @Test("Paths that leave the roots, or are not plain regular files, are 404 and reveal nothing")
    func escapesAreRefused() async throws {
        defer { sandbox.remove() }
        #expect(mkfifo(root + "/lot/pipe", 0o600) == 0)
        let files: [(String, String?)] = [
            ("dotdot", root + "/../outside/secret.txt"),
            ("dotdot2", root + "/lot/../../outside/secret.txt"),
            ("dotdot-inside", root + "/lot/../lot/small.json"),
            ("dot", root + "/./lot/small.json"),
            ("double-slash", root + "//lot/small.json"),
            ("trailing-slash", root + "/lot/small.json/"),
            ("symlink", root + "/escape.txt"),
            ("symlink-dir", root + "/escape-dir/secret.txt"),
            ("absolute", "/etc/passwd"),
            ("relative", "outside/secret.txt"),
            ("missing", root + "/lot/nope.gz"),
            ("directory", root + "/lot"),
            ("root-itself", root),
            ("root-slash", root + "/"),
            ("sibling-prefix", sandbox.path + "/archive-evil/x"),
            ("fifo", root + "/lot/pipe"),
            ("none", nil),
        ]
        try await withArchive(roots: [root], files: files) { client in
            for (code, _) in files {
                let response = try await client.get("/pipelines/archived/\(code)")
                #expect(response.status == .notFound, "\(code)")
                #expect(!response.text.contains("secret") && !response.text.contains(sandbox.path), "\(code) leaks")
            }
            for uri in ["/pipelines/archived/..%2F..%2Fetc%2Fpasswd", "/pipelines/archived/%2E%2E", "/pipelines/archived/../../etc/passwd"] {
                #expect(try await client.get(uri).status == .notFound, "\(uri)")
            }
        }
    }

    @Test("A root configured through a link serves paths in either spelling")
    func rootBehindALinkMatchesBothSpellings() async throws {
        defer { sandbox.remove() }
        let alias = sandbox.path + "/archive-alias"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: root)
        let files: [(String, String?)] = [
            ("configured", alias + "/lot/small.json"),
            ("resolved", root + "/lot/small.json"),
            ("link-below", alias + "/lot-link/small.json"),
        ]
        try await withArchive(roots: [alias + "/"], files: files) { client in
            let configured = try await client.get("/pipelines/archived/configured")
            let resolved = try await client.get("/pipelines/archived/resolved")
            let linkBelow = try await client.get("/pipelines/archived/link-below")
            #expect(configured.text == "{\"ok\":true}")
            #expect(resolved.text == "{\"ok\":true}")
            #expect(linkBelow.status == .notFound)
        }
    }

    @Test("Without archive roots the endpoint is off")
    func endpointIsOffWithoutRoots() async throws {
        defer { sandbox.remove() }
        try await withArchive(roots: [], files: [("gz", root + "/lot/run.csv.gz")]) { client in
            let response = try await client.get("/pipelines/archived/gz")
            #expect(response.status == .notFound)
        }
    }

    @Test("Paths are split on bytes and compared component by component")
    func pathsAreSplitLexically() throws {
        defer { sandbox.remove() }
        #expect(ArchiveFileOpener.lexicalComponents("/a/b.gz") == ["a", "b.gz"])
        for path in ["", "a/b", "/", "/a//b", "/a/./b", "/a/../b", "/a/b/", "/a/..", "/a/b\u{0}c", "/\u{600}/../etc"] {
            #expect(ArchiveFileOpener.lexicalComponents(path) == nil, "\(path.debugDescription)")
        }
        // A prepending mark would glue a `/` into one Character; the bytes still split there.
        #expect(ArchiveFileOpener.lexicalComponents("/a\u{600}/b") == ["a\u{600}", "b"])
        let archive = try #require(ArchiveRoot(configuredPath: root))
        #expect(archive.relativeComponents(of: try #require(ArchiveFileOpener.lexicalComponents(root + "/lot/x"))) == ["lot", "x"])
        #expect(archive.relativeComponents(of: try #require(ArchiveFileOpener.lexicalComponents(sandbox.path + "/archive-evil/x"))) == nil)
        #expect(archive.relativeComponents(of: try #require(ArchiveFileOpener.lexicalComponents(root))) == nil)
        // Names that are canonically equivalent are still different names on disk.
        try FileManager.default.createDirectory(atPath: sandbox.path + "/caf\u{E9}", withIntermediateDirectories: true)
        let precomposed = try #require(ArchiveRoot(configuredPath: sandbox.path + "/caf\u{E9}"))
        #expect(precomposed.relativeComponents(of: try #require(ArchiveFileOpener.lexicalComponents(sandbox.path + "/caf\u{E9}/x"))) == ["x"])
        #expect(precomposed.relativeComponents(of: try #require(ArchiveFileOpener.lexicalComponents(sandbox.path + "/cafe\u{301}/x"))) == nil)
    }

    @Test("The descriptor is closed when the body ends, fails, or is never written")
    func descriptorIsAlwaysClosed() async throws {
        defer { sandbox.remove() }
        let roots = [try #require(ArchiveRoot(configuredPath: root))]
        let path = root + "/lot/small.json"

        let written = try #require(ArchiveFileOpener.open(path, roots: roots))
        #expect(written.descriptorNumber != nil)
        let collected = Collected()
        try await written.responseBody().write(CollectingWriter(collected: collected))
        #expect(collected.bytes == Array("{\"ok\":true}".utf8))
        #expect(written.descriptorNumber == nil)

        // A response dropped before its body ran (a HEAD answer, a client gone): the last reference closes it.
        let dropped = try #require(Self.openAndDrop(path, roots: roots))
        #expect(Self.target(ofDescriptor: dropped) != ArchiveFileOpener.resolve(path))

        // A file that shrinks after it was opened fails the body instead of ending it short.
        let shrinking = root + "/lot/shrinking.bin"
        try Data(repeating: 7, count: 300 * 1024).write(to: URL(fileURLWithPath: shrinking))
        let file = try #require(ArchiveFileOpener.open(shrinking, roots: roots))
        #expect(truncate(shrinking, 100 * 1024) == 0)
        let partial = Collected()
        await #expect(throws: ArchivedFileReadError.self) {
            try await file.responseBody().write(CollectingWriter(collected: partial))
        }
        #expect(partial.bytes.count == 100 * 1024)
        #expect(file.descriptorNumber == nil)
    }

    /// Opens `path`, builds its body, and lets both go; returns the descriptor number they held.
    private static func openAndDrop(_ path: String, roots: [ArchiveRoot]) -> Int32? {
        guard let file = ArchiveFileOpener.open(path, roots: roots) else { return nil }
        _ = file.responseBody()
        return file.descriptorNumber
    }

    /// What descriptor `number` of this process refers to now; nil when it is closed.
    private static func target(ofDescriptor number: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(number)")
    }

    @Test("Content types and dispositions follow the file name")
    func contentTypesFollowTheName() {
        defer { sandbox.remove() }
        #expect(ArchivedFiles.contentType(forFileName: "a.tar.gz") == "application/gzip")
        #expect(ArchivedFiles.contentType(forFileName: "a.CSV") == "text/csv; charset=utf-8")
        #expect(ArchivedFiles.contentType(forFileName: "a.subconLot") == "application/octet-stream")
        #expect(ArchivedFiles.contentDisposition("attachment", fileName: "naïve \"q\".gz").contains("filename*=UTF-8''na%C3%AFve%20%22q%22.gz"))
        let headers = ArchivedFiles.headers(fileName: "naïve.svg", size: 3)
        #expect(headers[.contentDisposition] == "attachment; filename=\"na_ve.svg\"; filename*=UTF-8''na%C3%AFve.svg")
        #expect(headers[.contentLength] == "3")
    }
}

/// Bytes a body wrote, shared with the test that reads them.
private final class Collected: Sendable {
    private let buffer = Mutex(ByteBuffer())
    var bytes: [UInt8] { buffer.withLock { Array($0.readableBytesView) } }
    func append(_ chunk: ByteBuffer) { buffer.withLock { _ = $0.writeImmutableBuffer(chunk) } }
}

private struct CollectingWriter: ResponseBodyWriter {
    let collected: Collected
    mutating func write(_ buffer: ByteBuffer) async throws { collected.append(buffer) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
