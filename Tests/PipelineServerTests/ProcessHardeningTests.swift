import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

/// Hostile input and misconfiguration against the real executable: what the process does with
/// its memory, its exit status and its error lines.
@Suite("Hostile input to the running process")
struct ProcessHardeningTests {
    // MARK: - Rejected batches

    @Test("Rejected batches, alone and three at once, keep the server's peak memory within tens of MB")
    func rejectedBatchesStayBounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let zeroLines = directory.path + "/zeros.ndjson"
        let zeroArray = directory.path + "/zeros.json"
        let emptyObjects = directory.path + "/empty.json"
        // 16M lines of `0`: 32 MB, just under the default batch body limit, every line invalid.
        try Self.write(repeating: "0\n", count: 16_000_000, to: zeroLines)
        try Self.write(prefix: "[", repeating: "0,", count: 16_000_000, suffix: "0]", to: zeroArray)
        try Self.write(prefix: "[", repeating: "{},", count: 9_999, suffix: "{}]", to: emptyObjects)

        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let before = try #require(LargeArchiveTests.peakResidentKiB(of: service.process.processIdentifier))

        let url = service.baseURL + "/pipelines/batch"
        let alone = [
            try Self.post(file: zeroLines, to: url, contentType: "application/x-ndjson"),
            try Self.post(file: zeroArray, to: url, contentType: "application/json"),
            try Self.post(file: emptyObjects, to: url, contentType: "application/json"),
        ]
        let together = try [zeroLines, zeroLines, zeroArray].map { file in
            try Self.startPost(file: file, to: url, contentType: file.hasSuffix("ndjson") ? "application/x-ndjson" : "application/json")
        }.map { try Self.finish($0) }
        for answer in alone + together {
            #expect(answer.status == 422, "\(answer)")
            // The first issues and a count, not one entry per bad element.
            #expect(answer.size < 64 * 1024, "\(answer)")
        }
        let after = try #require(LargeArchiveTests.peakResidentKiB(of: service.process.processIdentifier))
        #expect(after - before < 48 * 1024, "peak RSS grew by \((after - before) / 1024) MiB answering rejected batches")
        #expect(try await HTTP.send("GET", service.baseURL + "/health").0 == 200)
        _ = try await service.stop(signal: SIGTERM)
    }

    private static func write(prefix: String = "", repeating unit: String, count: Int, suffix: String = "", to path: String) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(prefix.utf8))
        let chunk = Data(String(repeating: unit, count: 100_000).utf8)
        for _ in 0..<(count / 100_000) { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data(String(repeating: unit, count: count % 100_000).utf8))
        try handle.write(contentsOf: Data(suffix.utf8))
    }

    private struct Answer: CustomStringConvertible {
        var status: Int
        var size: Int
        var description: String { "\(status), \(size) bytes" }
    }

    private static func startPost(file: String, to url: String, contentType: String) throws -> (Process, Pipe) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = [
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "Content-Type: \(contentType)",
            "--data-binary", "@" + file, url,
        ]
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        return (curl, pipe)
    }

    private static func finish(_ started: (Process, Pipe)) throws -> Answer {
        let output = String(decoding: started.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        started.0.waitUntilExit()
        let parts = output.split(separator: " ").compactMap { Int($0) }
        guard parts.count == 2 else { throw FixtureError("curl printed \(output)") }
        return Answer(status: parts[0], size: parts[1])
    }

    private static func post(file: String, to url: String, contentType: String) throws -> Answer {
        try finish(try startPost(file: file, to: url, contentType: contentType))
    }

    // MARK: - Secrets

    @Test("migrate and serve never print a password, whatever goes wrong")
    func passwordsAreRedacted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secret = "S3cretPassw0rd"
        let runs: [[String]] = [
            // A mistyped scheme.
            ["migrate", "--from", "postgress://admin:\(secret)@127.0.0.1:1/db", "--to", "jsonl:\(directory.path)/a.jsonl"],
            // A server that is not there.
            ["migrate", "--from", "jsonl:\(directory.path)/a.jsonl", "--to", "postgres://admin:\(secret)@127.0.0.1:1/db"],
            // Tried again for two seconds first: the waiting lines must not show it either.
            ["serve", "--backend", "postgres", "--startup-wait", "2", "--postgres-url", "postgres://admin:\(secret)@127.0.0.1:1/db"],
            ["serve", "--backend", "postgres", "--postgres-url", "postgres://admin:\(secret)@127.0.0.1:1/db?sslmode=bogus"],
            ["export", "--backend", "postgres", "--postgres-url", "postgress://admin:\(secret)@127.0.0.1:1/db"],
        ]
        for arguments in runs {
            let result = try await ServiceProcess.runToCompletion(arguments, timeout: .seconds(60))
            #expect(result.status != 0, "\(arguments)")
            #expect(!result.stderr.isEmpty, "\(arguments)")
            #expect(!(result.stdout + result.stderr).contains(secret), "\(arguments): \(result.stderr)")
        }
        let fromEnvironment = try await ServiceProcess.runToCompletion(
            ["serve", "--backend", "postgres"],
            environment: ["PIPELINE_POSTGRES_URL": "postgress://admin:\(secret)@127.0.0.1:1/db"],
            timeout: .seconds(60)
        )
        #expect(fromEnvironment.status == 2)
        #expect(fromEnvironment.stderr.contains("PIPELINE_POSTGRES_URL"))
        #expect(!fromEnvironment.stderr.contains(secret))
    }

    @Test(
        "A password holding /, ?, # or a space is hidden by settings and by a mistyped scheme's error",
        arguments: ["p/ss", "p?ss", "p#ss", "p ss"]
    )
    func unencodedPasswordsAreRedacted(password: String) async throws {
        let secret = "S3cr" + password
        let url = "postgres://admin:\(secret)@db.example:5432/runs"
        let shown = try await ServiceProcess.runToCompletion(
            ["settings"],
            environment: ["PIPELINE_POSTGRES_URL": url, "PIPELINE_POSTGRES_READ_URL": url + ",postgres://reader:\(secret)@standby:5432/runs"]
        )
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("PIPELINE_POSTGRES_URL postgres://admin:***@db.example:5432/runs (environment)"), "\(shown.stdout)")
        #expect(
            lines.contains(
                "PIPELINE_POSTGRES_READ_URL postgres://admin:***@db.example:5432/runs,postgres://reader:***@standby:5432/runs (environment)"
            ),
            "\(shown.stdout)"
        )
        #expect(!shown.stdout.contains("S3cr"))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for arguments in [
            ["migrate", "--from", "jsonl:\(directory.path)/a.jsonl", "--to", "postgress://u:\(secret)@127.0.0.1:1/db"],
            ["migrate", "--from", "postgress://u:\(secret)@127.0.0.1:1/db", "--to", "jsonl:\(directory.path)/a.jsonl"],
            ["export", "--backend", "postgres", "--postgres-url", "postgress://u:\(secret)@127.0.0.1:1/db"],
        ] {
            let refused = try await ServiceProcess.runToCompletion(arguments, timeout: .seconds(60))
            #expect(refused.status == 2, "\(arguments): \(refused.stderr)")
            #expect(!(refused.stdout + refused.stderr).contains("S3cr"), "\(arguments): \(refused.stderr)")
        }
        let mistyped = try await ServiceProcess.runToCompletion(["migrate", "--from", "jsonl:x.jsonl", "--to", "postgress://u:se/cret@h/db"])
        #expect(mistyped.status == 2)
        #expect(mistyped.stderr.contains("postgress://u:***@h/db"), "\(mistyped.stderr)")
        #expect(!mistyped.stderr.contains("cret"), "\(mistyped.stderr)")
    }

    @Test(
        "migrate's summary hides a password holding /, ?, # or a space",
        .enabled(
            if: Backend.postgresTestURL != nil || Backend.isCI,
            "PIPELINE_TEST_POSTGRES_URL is not set: start a server with scripts/postgres-test-server.sh start (scripts/test.sh does)"
        )
    )
    func migrateSummaryHidesThePassword() async throws {
        // The test server trusts local connections, so any password is accepted; a database of
        // the test's own keeps the service's default table apart from other tests.
        let database = PostgresTestDatabase.uniqueName("redaction")
        try await PostgresTestDatabase.execute("CREATE DATABASE \(database)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let source = directory.path + "/runs.jsonl"
            try Data().write(to: URL(fileURLWithPath: source))
            guard var components = URLComponents(string: try PostgresTestDatabase.url(database: database)), let host = components.host else {
                throw FixtureError("PIPELINE_TEST_POSTGRES_URL is not a URL")
            }
            components.query = nil
            let location = "\(host):\(components.port ?? 5432)/\(database)"
            let user = components.user ?? "postgres"
            for password in ["p/ss", "p?ss", "p#ss", "p ss"] {
                let destination = "postgres://\(user):S3cr\(password)@\(location)?sslmode=disable"
                let migrated = try await ServiceProcess.runToCompletion(["migrate", "--from", "jsonl:" + source, "--to", destination])
                #expect(migrated.status == 0, "\(password): \(migrated.stderr)")
                let shown = "postgres://\(user):***@\(location)?sslmode=disable"
                #expect(migrated.stdout.hasPrefix("migrate jsonl:\(source) → \(shown): "), "\(migrated.stdout)")
                #expect(!(migrated.stdout + migrated.stderr).contains("S3cr"), "\(password)")
            }
        } catch {
            try? await PostgresTestDatabase.execute("DROP DATABASE \(database)")
            throw error
        }
        try await PostgresTestDatabase.execute("DROP DATABASE \(database)")
    }

    @Test("PIPELINE_POSTGRES_URL_FILE: the URL is read from the file, and errors name the file variable")
    func postgresURLFromAFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/postgres-url"
        try "postgress://admin:S3cret@127.0.0.1:1/db\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try await ServiceProcess.runToCompletion(
            ["serve", "--backend", "postgres"],
            environment: ["PIPELINE_POSTGRES_URL_FILE": file],
            timeout: .seconds(60)
        )
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("PIPELINE_POSTGRES_URL_FILE"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("S3cret"))

        let both = try await ServiceProcess.runToCompletion(
            ["serve", "--backend", "postgres"],
            environment: ["PIPELINE_POSTGRES_URL_FILE": file, "PIPELINE_POSTGRES_URL": "postgres://a@127.0.0.1:1/db"],
            timeout: .seconds(60)
        )
        #expect(both.status == 2)
        #expect(both.stderr.contains("not both"), "\(both.stderr)")

        guard Backend.underTest.contains(.postgres) else { return }
        let url = try #require(Backend.postgresTestURL, "CI runs PostgreSQL; PIPELINE_TEST_POSTGRES_URL must be set")
        try (url + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let service = try ServiceProcess(
            arguments: ["--backend", "postgres", "--table", "url_from_file_\(UInt32.random(in: 0...UInt32.max))"],
            environment: ["PIPELINE_POSTGRES_URL_FILE": file],
            outputDirectory: directory.path
        )
        try await service.waitUntilReady()
        let (status, body) = try await HTTP.send("GET", service.baseURL + "/health")
        #expect(status == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("postgres"))
        _ = try await service.stop(signal: SIGTERM)
    }

    // MARK: - Every setting

    /// A value each setting refuses, and the flags that make the setting matter (a SQL table name
    /// is only read with a SQL backend).
    static func refused(_ setting: Setting, in directory: String) -> (value: String, context: [String]) {
        let sqlite = ["--backend", "sqlite", "--sqlite-path", directory + "/runs.sqlite"]
        return switch setting {
        case .backend: ("oracle", [])
        case .jsonlPath: (directory + "/missing/runs.jsonl", [])
        case .sqlitePath: (directory + "/missing/runs.sqlite", ["--backend", "sqlite"])
        case .postgresURL: ("mysql://db.invalid/runs", ["--backend", "postgres"])
        case .postgresReadURL: ("mysql://db.invalid/runs", ["--backend", "postgres", "--postgres-url", "postgres://app@127.0.0.1:1/db"])
        case .table: ("runs; drop table runs", sqlite)
        case .columnMap: ("{not json", sqlite)
        case .maxPipelines: ("0", [])
        case .logLevel: ("loud", [])
        case .logFormat: ("xml", [])
        case .host: ("not a host", [])
        case .port: ("70000", [])
        case .maxBodySize: ("1", [])
        case .maxBatchBodySize: ("1", [])
        case .archiveRoots: (directory + "/missing-archive", [])
        case .apiKeysFile: (directory + "/missing-keys", [])
        case .authReads: ("maybe", [])
        case .corsOrigins: ("ftp://dashboard.example.com", [])
        case .basePath: ("no-leading-slash", [])
        case .idleTimeout: ("0", [])
        case .requestTimeout: ("0", [])
        case .startupWait: ("soon", [])
        case .anomalyK: ("100", [])
        case .retentionDays: ("0", [])
        case .lineageTimezone: ("Mars/Olympus_Mons", [])
        }
    }

    @Test("serve reads every setting as its flag and as its variable, and names it as given when refusing it", arguments: Setting.allCases)
    func everySettingIsReadByServe(setting: Setting) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (value, context) = Self.refused(setting, in: directory.path)
        let host = ["--host", "127.0.0.1", "--port", "0"].filter { _ in setting != .host && setting != .port }

        let asFlag = try await ServiceProcess.runToCompletion(["serve"] + host + context + ["--" + setting.flagName, value], timeout: .seconds(60))
        #expect(asFlag.status == 2, "--\(setting.flagName): \(asFlag.status) \(asFlag.stderr)")
        #expect(asFlag.stderr.hasPrefix("error: --\(setting.flagName)"), "\(asFlag.stderr)")

        let asVariable = try await ServiceProcess.runToCompletion(
            ["serve"] + host + context,
            environment: [setting.environmentName: value],
            timeout: .seconds(60)
        )
        #expect(asVariable.status == 2, "\(setting.environmentName): \(asVariable.status) \(asVariable.stderr)")
        #expect(asVariable.stderr.hasPrefix("error: \(setting.environmentName)"), "\(asVariable.stderr)")
    }

    @Test("A port another process holds is reported as --port, not as a socket error")
    func portInUseNamesThePort() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/a.jsonl"], outputDirectory: directory.path)
        try await first.waitUntilReady()
        let second = try await ServiceProcess.runToCompletion(
            ["serve", "--host", "127.0.0.1", "--port", String(first.port), "--jsonl-path", directory.path + "/b.jsonl"],
            timeout: .seconds(60)
        )
        #expect(second.status == 2)
        #expect(second.stderr.hasPrefix("error: --port: 127.0.0.1:\(first.port) is already in use"), "\(second.stderr)")
        _ = try await first.stop(signal: SIGTERM)
    }

    @Test("The README's table of settings is the one the code generates, and settings --markdown prints it")
    func readmeDocumentsEverySetting() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(Setting.documentationTable), "regenerate the table with `pipeline-service settings --markdown`")
        let printed = try await ServiceProcess.runToCompletion(["settings", "--markdown"])
        #expect(printed.status == 0)
        #expect(printed.stdout == Setting.documentationTable)
    }

    @Test("settings shows where each value comes from and hides passwords")
    func settingsShowsSources() async throws {
        let shown = try await ServiceProcess.runToCompletion(
            ["settings", "--port", "9001"],
            environment: ["PIPELINE_POSTGRES_URL": "postgres://admin:S3cret@db.example:5432/runs", "PIPELINE_LOG_LEVEL": "debug"]
        )
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("PIPELINE_PORT 9001 (--port)"))
        #expect(lines.contains("PIPELINE_LOG_LEVEL debug (environment)"))
        #expect(lines.contains("PIPELINE_BACKEND jsonl (default)"))
        #expect(lines.contains("PIPELINE_POSTGRES_URL postgres://admin:***@db.example:5432/runs (environment)"))
        #expect(!shown.stdout.contains("S3cret"))
        #expect(lines.count == Setting.allCases.count)
        let refused = try await ServiceProcess.runToCompletion(["settings", "--port", "http"])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("error: --port"))
    }
}
