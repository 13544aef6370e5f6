import Foundation
import PipelineCore
import PipelineTestSupport
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `pipeline-service` executable running as a child process on a free loopback port,
/// so that tests can kill it for real (SIGKILL, SIGTERM) and start it again on the same storage.
final class ServiceProcess: @unchecked Sendable {
    /// `pipeline-service` from the build directory the tests run from (so `-c release` tests the
    /// release build), else `<package root>/.build/debug/pipeline-service`.
    /// Runs the executable with `arguments` to completion, without the caller's `PIPELINE_*`
    /// settings but with `environment`; its exit status, stdout and stderr (read together, so
    /// neither pipe can fill up).
    /// A process still running after `timeout` is killed (a command that should have failed at
    /// start-up and serves instead ends with SIGKILL's status).
    static func runToCompletion(
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let environment = childEnvironment(adding: environment)
        // Waited for on a thread of its own: tests share a cooperative pool as wide as the machine
        // (two threads here), and a test blocking one while its child runs stalls every other test,
        // database connections and in-process servers included.
        let result = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try ChildProcess.run(executable, arguments, environment: environment, timeout: timeout) })
            }
        }
        return (result.status, String(decoding: result.output, as: UTF8.self), result.errors)
    }

    static let executable: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            besideTests.appendingPathComponent("pipeline-service").path,
            besideTests.deletingLastPathComponent().appendingPathComponent("pipeline-service").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/pipeline-service").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }()

    let process = Process()
    let port: Int
    let output: String

    /// Starts the executable with `arguments` after `serve --host 127.0.0.1 --port <free>`, or, with
    /// `shellPrefix`, through `/bin/sh -c "<prefix>; exec <executable> …"` (for `ulimit` and `trap`).
    init(arguments: [String], environment: [String: String] = [:], shellPrefix: String? = nil, outputDirectory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw FixtureError("\(Self.executable) is missing: run `swift build` first")
        }
        port = try freeLoopbackPort()
        let all = ["serve", "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning"] + arguments
        if let shellPrefix {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            let quoted = ([Self.executable] + all).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            process.arguments = ["-c", shellPrefix + "; exec " + quoted.joined(separator: " ")]
        } else {
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = all
        }
        output = outputDirectory + "/service-\(port).log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.environment = Self.childEnvironment(adding: environment)
        try process.run()
    }

    /// This process's environment without its `PIPELINE_*` settings, plus `added`.
    private static func childEnvironment(adding added: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("PIPELINE_") { environment[key] = nil }
        return environment.merging(added) { _, new in new }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Waits until `/health` answers 200 (generous bound: only to prevent a hang).
    func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw FixtureError("pipeline-service exited during start-up: \(log)")
            }
            if let (status, _) = try? await HTTP.send("GET", baseURL + "/health", timeout: 2), status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FixtureError("pipeline-service did not become ready: \(log)")
    }

    /// Sends `signal` and waits for the process to end; returns its exit status and whether it exited
    /// normally (`false`: ended by a signal).
    @discardableResult
    func stop(signal: Int32, timeout: Duration = .seconds(60)) async throws -> (status: Int32, exited: Bool) {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw FixtureError("pipeline-service did not end after signal \(signal): \(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .exit)
    }

    /// What the process wrote so far.
    var log: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
}

/// A port the kernel had free a moment ago (bound to port 0, read back, closed).
func freeLoopbackPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw FixtureError("socket() failed") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw FixtureError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    guard named == 0 else { throw FixtureError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A minimal HTTP client over URLSession: a fresh ephemeral session, no caching, no cookies.
enum HTTP {
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()

    /// Sends one request and gives its status and response headers too.
    static func sendWithHeaders(
        _ method: String,
        _ url: String,
        body: String? = nil,
        timeout: TimeInterval = 10
    ) async throws -> (status: Int, headers: [String: String], body: Data) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name] = value }
        }
        return (http?.statusCode ?? 0, headers, data)
    }

    /// Sends one request; throws on a transport failure (refused, reset, timeout).
    static func send(_ method: String, _ url: String, body: String? = nil, timeout: TimeInterval = 10) async throws -> (Int, Data) {
        let answer = try await sendWithHeaders(method, url, body: body, timeout: timeout)
        return (answer.status, answer.body)
    }
}
