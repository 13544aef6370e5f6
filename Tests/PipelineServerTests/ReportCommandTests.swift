import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PipelineCore
import PipelineTestSupport
import Synchronization
import Testing

/// `pipeline-service report … -- COMMAND`, end to end against a live server.
@Suite("Reporter")
struct ReportCommandTests {
    /// Runs `pipeline-service report` and returns its exit status.
    private func report(_ arguments: [String]) async throws -> Int32 {
        try await ServiceProcess.runToCompletion(["report"] + arguments).status
    }

    @Test("A failing and a succeeding command are both reported with status and exit code, and each exit code is passed through")
    func commandsAreReportedWithTheirExitCodes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let rows = directory.path + "/rows.txt"
        try "a\nb\nc\n".write(toFile: rows, atomically: true, encoding: .utf8)

        let failed = try await report([
            "--url", service.baseURL, "--pipeline-name", "nightly_fail", "--environment", "prod", "--", "/bin/sh", "-c", "exit 3",
        ])
        #expect(failed == 3)
        let succeeded = try await report([
            "--url", service.baseURL, "--pipeline-name", "nightly_ok", "--pipeline-type", "batch", "--rowcount-from", rows, "--", "true",
        ])
        #expect(succeeded == 0)

        let (status, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?all_data=true")
        #expect(status == 200)
        let results = try JSONParser.parse(Array(body))["results"]?.array ?? []
        let byName = Dictionary(uniqueKeysWithValues: results.compactMap { run in run["pipeline_name"]?.string.map { ($0, run) } })
        #expect(Set(byName.keys) == ["nightly_fail", "nightly_ok"])
        #expect(byName["nightly_fail"]?["environment"] == "prod")
        #expect(byName["nightly_ok"]?["rowcount"] == .number("3"))
        #expect(byName["nightly_ok"]?["script_name"] == "true")
        #expect(byName["nightly_ok"]?["date_code"]?.string?.count == 15)
        #expect(byName["nightly_fail"]?["status"] == "failed")
        #expect(byName["nightly_fail"]?["exit_code"] == .number("3"))
        #expect(byName["nightly_ok"]?["status"] == "success")
        #expect(byName["nightly_ok"]?["exit_code"] == .number("0"))
        let (_, summaries) = try await HTTP.send("GET", service.baseURL + "/pipelines")
        let health = try JSONParser.parse(Array(summaries))["pipelines"]?.array.compactMap { entry in
            entry["pipeline_name"]?.string.map { ($0, entry["health"]?.string ?? "", entry["failed_runs"]) }
        }
        #expect(health?.first { $0.0 == "nightly_fail" }?.1 == "failed")
        #expect(health?.first { $0.0 == "nightly_fail" }?.2 == .number("1"))
        #expect(health?.first { $0.0 == "nightly_ok" }?.1 == "ok")
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("The command starts with signals at their defaults, and SIGTERM to report stops it and is reported")
    func signalsReachTheCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()

        // A command that signals itself ends by that signal, as it would under a shell.
        let selfKilled = try await report([
            "--url", service.baseURL, "--pipeline-name", "self_killed", "--", "/bin/sh", "-c", "kill -TERM $$; sleep 5",
        ])
        #expect(selfKilled == 128 + SIGTERM)

        // SIGTERM to report (a scheduler stopping the job) reaches the command; report stays to record it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServiceProcess.executable)
        process.arguments = ["report", "--url", service.baseURL, "--pipeline-name", "stopped", "--", "sleep", "60"]
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?status=running&pipeline_name=stopped")
            if (try JSONParser.parse(Array(body))["total"]) == .number("1") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let stopped = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(ContinuousClock.now - stopped < .seconds(30), "the command ran on")
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM)

        // Started with SIGHUP ignored (`nohup`), report leaves it ignored for the command.
        let quoted = ([ServiceProcess.executable, "report", "--url", service.baseURL, "--pipeline-name", "nohup_job", "--"]).map {
            "'" + $0 + "'"
        }
        let nohup = try ChildProcess.run(
            "/bin/sh",
            ["-c", "trap '' HUP; exec " + quoted.joined(separator: " ") + " /bin/sh -c 'kill -HUP $$; exit 0'"]
        )
        #expect(nohup.status == 0, "\(nohup.errors)")

        let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?all_data=true")
        let results = try JSONParser.parse(Array(body))["results"]?.array ?? []
        let byName = Dictionary(uniqueKeysWithValues: results.compactMap { run in run["pipeline_name"]?.string.map { ($0, run) } })
        #expect(byName["nohup_job"]?["exit_code"] == .number("0"))
        #expect(byName["self_killed"]?["exit_code"] == .number("143"))
        #expect(byName["stopped"]?["exit_code"] == .number("143"))
        #expect(byName["stopped"]?["status"] == "failed")
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("Concurrent reports of one pipeline in the same second are separate runs, each shown running while its command runs")
    func concurrentReportsNeverCollide() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let url = service.baseURL
        // Four commands started together, each running until the test has seen all four running
        // (or a minute has passed): a loaded machine may take its time to start them.
        let go = directory.path + "/go"
        let wait = "i=0; while [ ! -e '\(go)' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
        let reports = try (0..<4).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServiceProcess.executable)
            process.arguments = ["report", "--url", url, "--pipeline-name", "fan_out", "--", "/bin/sh", "-c", wait]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        var seenRunning = 0
        for _ in 0..<600 where seenRunning < 4 {
            try await Task.sleep(for: .milliseconds(100))
            let (_, body) = try await HTTP.send("GET", url + "/get_pipeline_info?status=running")
            seenRunning = try JSONParser.parse(Array(body))["total"]?.int ?? 0
        }
        _ = FileManager.default.createFile(atPath: go, contents: Data())
        #expect(seenRunning == 4, "every command is listed as running while it runs")
        for report in reports {
            report.waitUntilExit()
            #expect(report.terminationStatus == 0)
        }
        let (_, body) = try await HTTP.send("GET", url + "/get_pipeline_info?all_data=true")
        let runs = try JSONParser.parse(Array(body))["results"]?.array ?? []
        #expect(runs.count == 4)
        #expect(Set(runs.compactMap { $0["run_id"]?.string }).count == 4)
        #expect(runs.allSatisfy { $0["status"] == "success" && $0["run_id"]?.string.map { Array($0.utf8)[14] } == UInt8(ascii: "7") })
        let (_, running) = try await HTTP.send("GET", url + "/get_pipeline_info?status=running")
        #expect(try JSONParser.parse(Array(running))["total"] == .number("0"))
        _ = try await service.stop(signal: SIGTERM)
    }

    // MARK: - The key, and runs never left running

    /// Runs `pipeline-service report` on a thread of its own: a test server in this process needs
    /// the cooperative threads, which a blocking wait would take from it.
    private func reportBeside(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ServiceProcess.runToCompletion(["report"] + arguments, environment: environment)
    }

    @Test("A redirect to another origin is not followed: the key stays home, and report says the run was not reported")
    func crossOriginRedirectKeepsTheKey() async throws {
        let elsewhere = ReceivedPosts()
        let stored: @Sendable (String) -> Response = { _ in Response(status: .created) }
        try await withPostServer(elsewhere, answer: stored) { elsewherePort in
            let home = ReceivedPosts()
            let redirect: @Sendable (String) -> Response = { _ in
                Response(status: .temporaryRedirect, headers: [.location: "http://127.0.0.1:\(elsewherePort)/pipelines"])
            }
            try await withPostServer(home, answer: redirect) { homePort in
                for (command, status) in [("exit 0", Int32(2)), ("exit 3", 3)] {
                    let result = try await reportBeside(
                        ["--url", "http://127.0.0.1:\(homePort)", "--pipeline-name", "redirected", "--retries", "0", "--", "/bin/sh", "-c", command],
                        environment: ["PIPELINE_API_KEY": "pk_test_redirected"]
                    )
                    #expect(result.status == status, "\(command): \(result.stderr)")
                    #expect(result.stderr.contains("another origin"), "\(result.stderr)")
                    #expect(result.stderr.contains("was not reported"), "\(result.stderr)")
                }
                #expect(!home.all.isEmpty)
            }
        }
        #expect(elsewhere.all.isEmpty, "the other origin was sent \(elsewhere.all)")
    }

    @Test("A redirect within the origin is followed with the key and the run")
    func sameOriginRedirectIsFollowed() async throws {
        let received = ReceivedPosts()
        let answer: @Sendable (String) -> Response = { path in
            path.hasPrefix("/old/") ? Response(status: .permanentRedirect, headers: [.location: "/new/pipelines"]) : Response(status: .created)
        }
        try await withPostServer(received, answer: answer) { port in
            let result = try await reportBeside(
                ["--url", "http://127.0.0.1:\(port)/old", "--pipeline-name", "moved", "--retries", "0", "--", "true"],
                environment: ["PIPELINE_API_KEY": "pk_test_moved"]
            )
            #expect(result.status == 0, "\(result.stderr)")
        }
        let followed = received.all.filter { $0.path == "/new/pipelines" }
        #expect(followed.count == 2, "\(received.all)")
        #expect(followed.allSatisfy { $0.authorization == "Bearer pk_test_moved" })
        let statuses = followed.compactMap { try? JSONParser.parse(Array($0.body.utf8))["status"]?.string }
        #expect(Set(statuses) == ["running", "success"], "\(followed)")
    }

    @Test("Options the service would refuse stop report before the command starts or any run is posted")
    func refusedOptionsStartNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // One service for every case: each would otherwise start a process of its own.
        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let marker = directory.path + "/ran"
        let refused = [
            ["--rowcount", "2000000000000"],
            ["--rowcount", "-1"],
            ["--pipeline-name", String(repeating: "p", count: 300)],
            ["--environment", String(repeating: "e", count: 65)],
            ["--script-name", String(repeating: "s", count: 257)],
            ["--url", "ftp://127.0.0.1:1"],
            ["--retries", "-1"],
        ]
        for options in refused {
            let url = options.first == "--url" ? [] : ["--url", service.baseURL]
            let result = try await ServiceProcess.runToCompletion(
                ["report"] + url + ["--pipeline-name", "checked"] + options + ["--", "/bin/sh", "-c", "touch '\(marker)'"]
            )
            #expect(result.status == 64, "\(options[0]): \(result.stderr)")
            #expect(result.stderr.contains(options[0]), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: marker), "\(options[0]): the command ran")
        }
        for query in ["all_data=true", "status=running"] {
            let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?" + query)
            #expect(try JSONParser.parse(Array(body))["total"] == .number("0"), "\(query)")
        }
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("An end the service refuses is reported as failed, so that the run is never left running")
    func refusedEndIsReportedAsFailed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try ServiceProcess(arguments: ["--jsonl-path", directory.path + "/runs.jsonl"], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let rows = directory.path + "/rows.txt"
        let cases: [(name: String, written: String, exit: Int32, expected: Int32)] = [
            ("past_limit", "2000000000000", 0, 2),
            ("past_64_bits", "99999999999999999999", 0, 2),
            ("negative", "-5", 0, 2),
            ("failed_command", "2000000000000", 3, 3),
        ]
        for run in cases {
            let result = try await ServiceProcess.runToCompletion([
                "report", "--url", service.baseURL, "--pipeline-name", run.name, "--rowcount-from", rows, "--",
                "/bin/sh", "-c", "echo \(run.written) > '\(rows)'; exit \(run.exit)",
            ])
            #expect(result.status == run.expected, "\(run.name): \(result.stderr)")
            #expect(result.stderr.contains("refused the run (422)"), "\(run.name): \(result.stderr)")
            #expect(result.stderr.contains("reported as failed"), "\(run.name): \(result.stderr)")
        }
        let (_, body) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?all_data=true")
        let runs = try JSONParser.parse(Array(body))["results"]?.array ?? []
        #expect(runs.count == cases.count)
        for run in runs {
            #expect(run["status"] == "failed", "\(run)")
            #expect(run["rowcount"] == .number("0"), "\(run)")
        }
        let exitCodes = Dictionary(uniqueKeysWithValues: runs.compactMap { run in run["pipeline_name"]?.string.map { ($0, run["exit_code"]) } })
        #expect(exitCodes["past_limit"] == .number("0"))
        #expect(exitCodes["failed_command"] == .number("3"))
        let (_, running) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?status=running")
        #expect(try JSONParser.parse(Array(running))["total"] == .number("0"))
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("An unreachable service does not change the command's exit code")
    func unreachableServiceKeepsTheExitCode() async throws {
        let status = try await report(["--url", "http://127.0.0.1:1", "--pipeline-name", "x", "--retries", "0", "--", "/bin/sh", "-c", "exit 7"])
        #expect(status == 7)
    }
}

/// The POSTs a test server received: each one's path, `Authorization` header and body.
final class ReceivedPosts: Sendable {
    struct Post: Sendable, CustomStringConvertible {
        var path: String
        var authorization: String?
        var body: String
        var description: String { "POST \(path) (\(authorization ?? "no key")): \(body.prefix(80))" }
    }

    private let posts = Mutex<[Post]>([])

    func add(_ post: Post) { posts.withLock { $0.append(post) } }
    var all: [Post] { posts.withLock { $0 } }
}

/// Runs a server on 127.0.0.1 that records every POST in `received` and answers it with
/// `answer(path)`, for as long as `body` runs with the server's port.
func withPostServer(
    _ received: ReceivedPosts,
    answer: @escaping @Sendable (String) -> Response,
    _ body: @escaping @Sendable (Int) async throws -> Void
) async throws {
    let router = Router()
    router.post("**") { request, _ -> Response in
        let bytes = try await request.body.collect(upTo: 1 << 20)
        received.add(.init(path: request.uri.path, authorization: request.headers[.authorization], body: String(buffer: bytes)))
        return answer(request.uri.path)
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        try await body(try #require(client.port))
    }
}
