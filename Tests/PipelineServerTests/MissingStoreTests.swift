import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

/// A mistyped path creates nothing: the commands that only read or change runs refuse a store
/// that is missing, naming the setting and the path; `serve` and `import` create one only once
/// the checks that can fail have passed.
@Suite("Missing stores")
struct MissingStoreTests {
    /// The files in `directory`, sorted.
    private static func files(in directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test("prune in a folder without data refuses the default file, naming PIPELINE_JSONL_PATH, and creates nothing")
    func pruneWithTheDefaultPath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PIPELINE_") }
        let quoted = "'" + ServiceProcess.executable.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let result = try ChildProcess.run(
            "/bin/sh",
            ["-c", "cd '\(directory.path)' && exec \(quoted) prune --older-than 90d"],
            environment: environment,
            timeout: .seconds(60)
        )
        #expect(result.status == 2, "\(result.errors)")
        #expect(result.errors.hasPrefix("error: PIPELINE_JSONL_PATH: pipeline_data.jsonl does not exist"), "\(result.errors)")
        #expect(try Self.files(in: directory).isEmpty)
    }

    @Test(
        "prune, export and migrate's source refuse a missing file, naming its setting and path, and create nothing",
        arguments: [
            (["prune", "--older-than", "90d", "--jsonl-path", "DIR/typo.jsonl"], "--jsonl-path: DIR/typo.jsonl"),
            (["prune", "--older-than", "90d", "--backend", "sqlite", "--sqlite-path", "DIR/typo.sqlite"], "--sqlite-path: DIR/typo.sqlite"),
            (["export", "--jsonl-path", "DIR/typo.jsonl"], "--jsonl-path: DIR/typo.jsonl"),
            (["export", "--backend", "sqlite", "--sqlite-path", "DIR/typo.sqlite"], "--sqlite-path: DIR/typo.sqlite"),
            (["migrate", "--from", "sqlite:DIR/typo.sqlite", "--to", "jsonl:DIR/copy.jsonl"], "--from: DIR/typo.sqlite"),
            (["migrate", "--from", "jsonl:DIR/typo.jsonl", "--to", "sqlite:DIR/copy.sqlite"], "--from: DIR/typo.jsonl"),
        ]
    )
    func missingStoreIsRefused(arguments: [String], named: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let placed = arguments.map { $0.replacingOccurrences(of: "DIR/", with: directory.path + "/") }
        let result = try await ServiceProcess.runToCompletion(placed, timeout: .seconds(60))
        #expect(result.status == 2, "\(result.stderr)")
        let expected = "error: " + named.replacingOccurrences(of: "DIR/", with: directory.path + "/") + " does not exist"
        #expect(result.stderr.hasPrefix(expected), "\(result.stderr)")
        let left = try Self.files(in: directory)
        #expect(left.isEmpty, "\(left)")
    }

    @Test("settings reads no store and creates none")
    func settingsCreatesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for backend in ["jsonl", "sqlite"] {
            let result = try await ServiceProcess.runToCompletion([
                "settings", "--backend", backend, "--jsonl-path", directory.path + "/runs.jsonl", "--sqlite-path", directory.path + "/runs.sqlite",
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(try Self.files(in: directory).isEmpty)
    }

    @Test("import of a file that cannot be read creates no store")
    func importOfAMissingFileCreatesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for storage in [
            ["--jsonl-path", directory.path + "/runs.jsonl"], ["--backend", "sqlite", "--sqlite-path", directory.path + "/runs.sqlite"],
        ] {
            let result = try await ServiceProcess.runToCompletion(["import", directory.path + "/typo.ndjson"] + storage)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("cannot open \(directory.path)/typo.ndjson"), "\(result.stderr)")
        }
        #expect(try Self.files(in: directory).isEmpty)
        // A file that can be read starts the store.
        try Data().write(to: URL(fileURLWithPath: directory.path + "/empty.ndjson"))
        let imported = try await ServiceProcess.runToCompletion([
            "import", directory.path + "/empty.ndjson", "--jsonl-path", directory.path + "/runs.jsonl",
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try Self.files(in: directory) == ["empty.ndjson", "runs.jsonl"])
    }

    @Test("serve on a port another process holds stops before it creates its data file")
    func serveOnABusyPortCreatesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let holder = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/held.jsonl"], outputDirectory: directory.path)
        try await holder.waitUntilReady()
        let before = try Self.files(in: directory)
        for storage in [["--jsonl-path", directory.path + "/new.jsonl"], ["--backend", "sqlite", "--sqlite-path", directory.path + "/new.sqlite"]] {
            let result = try await ServiceProcess.runToCompletion(
                ["serve", "--host", "127.0.0.1", "--port", String(holder.port)] + storage,
                timeout: .seconds(60)
            )
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("--port: 127.0.0.1:\(holder.port) is already in use"), "\(result.stderr)")
        }
        #expect(try Self.files(in: directory) == before)
        _ = try await holder.stop(signal: SIGTERM)
    }
}
