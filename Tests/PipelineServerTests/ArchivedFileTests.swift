import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// SPEC §5: archived files are served only from inside the configured roots, after links are followed.
@Suite("Archived files")
struct ArchivedFileTests {
    let sandbox: TemporaryDirectory
    var root: String { sandbox.path + "/archive" }
    var outside: String { sandbox.path + "/outside" }

    init() throws {
        sandbox = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: sandbox.path + "/archive/lot", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.path + "/outside", withIntermediateDirectories: true)
        try Data(repeating: 0x1F, count: 4096).write(to: URL(fileURLWithPath: sandbox.path + "/archive/lot/run.csv.gz"))
        try Data("{\"ok\":true}".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/archive/lot/small.json"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/outside/secret.txt"))
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.path + "/archive/escape.txt",
            withDestinationPath: sandbox.path + "/outside/secret.txt"
        )
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.path + "/archive/inside-link.json",
            withDestinationPath: sandbox.path + "/archive/lot/small.json"
        )
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
                _ = try await fixture.repository.insert(run)
            }
            try await body(client)
        }
    }

    @Test("A file inside a root streams with type, length and disposition")
    func fileInsideRootIsServed() async throws {
        defer { sandbox.remove() }
        try await withArchive(roots: [root], files: [("gz", root + "/lot/run.csv.gz"), ("json", root + "/lot/small.json")]) { client in
            let gz = try await client.get("/pipelines/archived/gz")
            #expect(gz.status == .ok)
            #expect(gz.headers[.contentType] == "application/gzip")
            #expect(gz.headers[.contentLength] == "4096")
            #expect(gz.headers[.contentDisposition] == "attachment; filename=\"run.csv.gz\"")
            #expect(gz.body.readableBytes == 4096)
            let json = try await client.get("/pipelines/archived/json")
            #expect(json.status == .ok)
            #expect(json.headers[.contentDisposition] == "inline; filename=\"small.json\"")
            #expect(json.text == "{\"ok\":true}")
        }
    }

    @Test("A link that stays inside the root is followed")
    func linkInsideRootIsServed() async throws {
        defer { sandbox.remove() }
        try await withArchive(roots: [root], files: [("link", root + "/inside-link.json")]) { client in
            let response = try await client.get("/pipelines/archived/link")
            #expect(response.status == .ok)
        }
    }

    @Test("Paths that leave the roots are 404 and reveal nothing")
    func escapesAreRefused() async throws {
        defer { sandbox.remove() }
        let files: [(String, String?)] = [
            ("dotdot", root + "/../outside/secret.txt"),
            ("dotdot2", root + "/lot/../../outside/secret.txt"),
            ("symlink", root + "/escape.txt"),
            ("absolute", "/etc/passwd"),
            ("relative", "outside/secret.txt"),
            ("missing", root + "/lot/nope.gz"),
            ("directory", root + "/lot"),
            ("root-itself", root),
            ("sibling-prefix", sandbox.path + "/archive-evil/x"),
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

    @Test("Without archive roots the endpoint is off")
    func endpointIsOffWithoutRoots() async throws {
        defer { sandbox.remove() }
        try await withArchive(roots: [], files: [("gz", root + "/lot/run.csv.gz")]) { client in
            let response = try await client.get("/pipelines/archived/gz")
            #expect(response.status == .notFound)
        }
    }

    @Test("Content types and dispositions follow the file name")
    func contentTypesFollowTheName() {
        #expect(ArchivedFiles.contentType(forFileName: "a.tar.gz") == "application/gzip")
        #expect(ArchivedFiles.contentType(forFileName: "a.CSV") == "text/csv; charset=utf-8")
        #expect(ArchivedFiles.contentType(forFileName: "a.subconLot") == "application/octet-stream")
        #expect(ArchivedFiles.contentDisposition("attachment", fileName: "naïve \"q\".gz").contains("filename*=UTF-8''na%C3%AFve%20%22q%22.gz"))
    }
}
