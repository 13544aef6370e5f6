import Foundation
import PipelineCore
import PipelineTestSupport
import Synchronization
import Testing

/// nothing acknowledged is lost: the built service runs as a child process while 32
/// clients POST; it is killed (SIGKILL) or stopped (SIGTERM) at a seeded random moment, started
/// again on the same storage, and every run that got a 2xx must be there exactly once.
@Suite("Crash durability (child process)", .serialized)
struct CrashDurabilityTests {
    static let clientCount = 32
    static let pipelineName = "crash_probe"

    @Test("SIGKILL while 32 clients POST loses no acknowledged run", arguments: Backend.underTest)
    func killLosesNoAcknowledgedRun(backend: Backend) async throws {
        var generator = SeededGenerator(seed: 0xC0FFEE + UInt64(Backend.allCases.firstIndex(of: backend)!))
        let delay = Int.random(in: 200...800, using: &generator)
        try await withStorage(backend) { storage in
            let first = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await first.waitUntilReady()
            let acknowledged = try await postConcurrently(to: first, prefix: "kill", stopAfter: .milliseconds(delay)) {
                try await first.stop(signal: SIGKILL)
            }
            #expect(!acknowledged.isEmpty, "no POST was acknowledged before the kill")

            let second = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await second.waitUntilReady()
            try await expectStoredExactlyOnce(acknowledged, in: second)
            let stopped = try await second.stop(signal: SIGTERM)
            #expect(stopped.exited && stopped.status == 0, "SIGTERM: status \(stopped.status), exited normally: \(stopped.exited)")
            try storage.expectWholeLines()
        }
    }

    @Test("SIGTERM drains in-flight POSTs, exits 0 and keeps every acknowledged run", arguments: Backend.underTest)
    func terminateDrainsAndExitsCleanly(backend: Backend) async throws {
        var generator = SeededGenerator(seed: 0x5167_7E12 + UInt64(Backend.allCases.firstIndex(of: backend)!))
        let delay = Int.random(in: 200...800, using: &generator)
        try await withStorage(backend) { storage in
            let first = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await first.waitUntilReady()
            let stopped = Locked<(status: Int32, exited: Bool)?>(nil)
            let acknowledged = try await postConcurrently(to: first, prefix: "term", stopAfter: .milliseconds(delay)) {
                let result = try await first.stop(signal: SIGTERM)
                stopped.value = result
            }
            let result = try #require(stopped.value)
            #expect(result.exited && result.status == 0, "SIGTERM: status \(result.status), exited normally: \(result.exited); log: \(first.log)")
            #expect(!acknowledged.isEmpty, "no POST was acknowledged before SIGTERM")
            try storage.expectWholeLines()

            let second = try ServiceProcess(arguments: storage.arguments, outputDirectory: storage.directory.path)
            try await second.waitUntilReady()
            try await expectStoredExactlyOnce(acknowledged, in: second)
            try await second.stop(signal: SIGTERM)
        }
    }

    // MARK: - Helpers

    /// 32 clients POST unique runs until `stop` has run (after `stopAfter`) and each sees a transport
    /// failure. Returns the `date_code`s that were answered 2xx.
    private func postConcurrently(
        to service: ServiceProcess,
        prefix: String,
        stopAfter delay: Duration,
        stop: @escaping @Sendable () async throws -> Void
    ) async throws -> Set<String> {
        let stopping = Locked(false)
        let url = service.baseURL + "/pipelines"
        return try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<Self.clientCount {
                group.addTask {
                    var acknowledged: [String] = []
                    // Bounded: the stop ends it long before, this only prevents a hang.
                    for index in 0..<5_000 {
                        let dateCode = "\(prefix)_\(client)_\(index)"
                        let body = try sampleJSON(["date_code": "\"\(dateCode)\"", "pipeline_name": "\"\(Self.pipelineName)\""])
                        do {
                            let (status, data) = try await HTTP.send("POST", url, body: body)
                            if (200..<300).contains(status) {
                                acknowledged.append(dateCode)
                            } else if !stopping.value {
                                Issue.record("POST answered \(status) before any signal: \(String(decoding: data, as: UTF8.self))")
                                return acknowledged
                            }
                        } catch {
                            if stopping.value { return acknowledged }
                            // A transport failure before the signal: try again, the service is up.
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    return acknowledged
                }
            }
            group.addTask {
                try await Task.sleep(for: delay)
                stopping.value = true
                try await stop()
                return []
            }
            var all = Set<String>()
            for try await codes in group { all.formUnion(codes) }
            return all
        }
    }

    /// Every acknowledged run is stored, and no run is stored twice.
    private func expectStoredExactlyOnce(_ acknowledged: Set<String>, in service: ServiceProcess) async throws {
        let (status, data) = try await HTTP.send("GET", service.baseURL + "/get_pipeline_info?all_data=true&pipeline_name=\(Self.pipelineName)")
        try #require(status == 200, "GET answered \(status)")
        let json = try JSONParser.parse(Array(data))
        let codes = (json["results"]?.array ?? []).compactMap { $0["date_code"]?.string }
        var counts: [String: Int] = [:]
        for code in codes { counts[code, default: 0] += 1 }
        let duplicated = counts.filter { $0.value > 1 }.keys.sorted()
        let missing = acknowledged.subtracting(counts.keys).sorted()
        #expect(duplicated.isEmpty, "stored more than once: \(duplicated.prefix(10))")
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged runs are missing, e.g. \(missing.prefix(10))")
        #expect(json["total"]?.int == codes.count)
    }
}

/// Storage for one service process: a temporary directory (logs, JSONL or SQLite file) and, for
/// PostgreSQL, a table of its own that is dropped afterwards.
struct ServiceStorage: Sendable {
    let backend: Backend
    let directory: TemporaryDirectory
    let arguments: [String]
    let table: String?

    var jsonlPath: String { directory.path + "/runs.jsonl" }

    /// For JSONL: every line of the file is a whole JSON object and no `date_code` appears twice.
    func expectWholeLines() throws {
        guard backend == .jsonl else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: jsonlPath))
        if let last = data.last { #expect(last == UInt8(ascii: "\n"), "the data file does not end with a newline") }
        var seen = Set<String>()
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let value = try? JSONParser.parse(Array(line)), let code = value["date_code"]?.string else {
                Issue.record("line \(number + 1) is not a whole run: \(String(decoding: line.prefix(200), as: UTF8.self))")
                continue
            }
            #expect(seen.insert(code).inserted, "line \(number + 1) repeats date_code \(code)")
        }
    }
}

/// Runs `body` with fresh storage on `backend`, removing it afterwards, even on failure.
func withStorage(_ backend: Backend, _ body: (ServiceStorage) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    let storage: ServiceStorage
    switch backend {
    case .jsonl:
        storage = ServiceStorage(
            backend: backend,
            directory: directory,
            arguments: ["--backend", "jsonl", "--jsonl-path", directory.path + "/runs.jsonl"],
            table: nil
        )
    case .sqlite:
        storage = ServiceStorage(
            backend: backend,
            directory: directory,
            arguments: ["--backend", "sqlite", "--sqlite-path", directory.path + "/runs.sqlite"],
            table: nil
        )
    case .postgres:
        let url = try PostgresTestDatabase.url()
        let table = PostgresTestDatabase.uniqueName("crash")
        storage = ServiceStorage(
            backend: backend,
            directory: directory,
            arguments: ["--backend", "postgres", "--postgres-url", url, "--table", table],
            table: table
        )
    }
    do {
        try await body(storage)
    } catch {
        await storage.destroy()
        throw error
    }
    await storage.destroy()
}

extension ServiceStorage {
    func destroy() async {
        if let table { try? await PostgresTestDatabase.dropTables(ownedBy: table) }
        directory.remove()
    }
}

/// A value shared between tasks behind a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
