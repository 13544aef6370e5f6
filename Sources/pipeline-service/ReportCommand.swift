import ArgumentParser
import Foundation
import PipelineCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `pipeline-service report … -- COMMAND [ARGS…]`: runs a pipeline's command and reports the run.
///
/// A cron line becomes `pipeline-service report --url http://svc:8000 --pipeline-name nightly -- ./job.sh`.
/// The command's own exit code is returned, whether or not the report got through.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command and report it as a pipeline run (start, end, duration, pid, rowcount).",
        discussion: """
            The run gets a fresh run_id (a UUIDv7), so runs of one pipeline started in the same second \
            never collide. A running record is posted as the command starts (the dashboard shows it \
            running) and completed with the finished record when it ends. Times are taken around the \
            command; the date code is the local start time (YYYYMMDD_HHMMSS). Each POST is retried with \
            backoff on network errors and 5xx answers (safe: ingest is idempotent). PIPELINE_API_KEY, \
            when set, is sent as a bearer token. SIGTERM and SIGHUP are passed on to the command and \
            the run is still reported; Ctrl-C reaches the command through the terminal. Exits with \
            the command's exit code (128 + signal when it was killed).
            """
    )

    @Option(help: "Base URL of the service, e.g. http://127.0.0.1:8000 (with any base path).")
    var url: String

    @Option(name: .customLong("pipeline-name"), help: "pipeline_name of the run.")
    var pipelineName: String

    @Option(name: .customLong("script-name"), help: "script_name (default: the command's file name).")
    var scriptName: String?

    @Option(name: .customLong("pipeline-type"), help: "pipeline_type, e.g. batch.")
    var pipelineType: String?

    @Option(help: "environment, e.g. prod.")
    var environment: String?

    @Option(name: .customLong("output-file"), help: "output_file of the run.")
    var outputFile = ""

    @Option(name: .customLong("log-file"), help: "log_file of the run.")
    var logFile = ""

    @Option(name: .customLong("archived-file"), help: "archived_file of the run.")
    var archivedFile: String?

    @Option(help: "rowcount of the run.")
    var rowcount: Int64?

    @Option(name: .customLong("rowcount-from"), help: "Read rowcount after the command: the file's number, or its line count.")
    var rowcountFrom: String?

    @Option(name: .customLong("retries"), help: "How many times to retry the POST.")
    var retries = 5

    @Argument(parsing: .postTerminator, help: "The command to run, after --.")
    var command: [String]

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --") }
        guard rowcount == nil || rowcountFrom == nil else { throw ValidationError("use --rowcount or --rowcount-from, not both") }
    }

    func run() async throws {
        let startUTC = Date()
        let runID = RunID.timeOrdered(at: Self.instant(startUTC))
        let forwarding = SignalForwarding()
        defer { forwarding.stop() }
        var exitCode: Int32
        var pid: Int32 = 0
        var started: Task<Void, Never>?
        do throws(ChildCommand.StartError) {
            let child = try ChildCommand(command, keepIgnored: forwarding.inheritedIgnored)
            pid = child.pid
            forwarding.forward(to: pid)
            // Posted while the command runs, and once only: the command never waits for the service.
            // Detached: this task blocks its thread waiting for the command below.
            let running = makeRun(runID: runID, start: startUTC, end: nil, pid: pid, exitCode: nil)
            started = Task.detached { [self] in await post(running, retries: 0) }
            exitCode = child.waitForExit()
        } catch {
            let reason = String(cString: strerror(error.code))
            FileHandle.standardError.write(Data("pipeline-service report: cannot run \(command[0]): \(reason)\n".utf8))
            // As a shell answers: 127 for a command not found, 126 for one it cannot run.
            exitCode = error.code == ENOENT ? 127 : 126
        }
        // The finished record goes after the running one, which it completes.
        await started?.value
        await post(makeRun(runID: runID, start: startUTC, end: Date(), pid: pid, exitCode: exitCode), retries: retries)
        throw ExitCode(exitCode)
    }

    /// The run as reported: still running without an `end`, else finished with `exitCode`.
    private func makeRun(runID: String, start: Date, end: Date?, pid: Int32, exitCode: Int32?) -> PipelineInfo {
        let elapsed = end.map { (($0.timeIntervalSince(start)) * 1000).rounded() / 1000 } ?? 0
        var run = PipelineInfo(
            startLocal: Self.local(start),
            endLocal: Self.local(end ?? start),
            startUTC: Self.instant(start),
            endUTC: Self.instant(end ?? start),
            elapsedSeconds: max(0, elapsed),
            elapsedHuman: ElapsedTime.human(seconds: elapsed),
            outputFile: outputFile,
            rowcount: end == nil ? 0 : rowcount ?? rowcountFrom.flatMap(Self.rowcount(from:)) ?? 0,
            logFile: logFile,
            pid: Int64(pid),
            dateCode: DateCode.of(Self.local(start)),
            pipelineName: pipelineName,
            scriptName: scriptName ?? URL(fileURLWithPath: command[0]).lastPathComponent,
            pipelineType: pipelineType,
            environment: environment,
            archivedFile: archivedFile,
            status: exitCode.map { RunStatus.forExitCode(Int64($0)) } ?? RunStatus.running,
            exitCode: exitCode.map(Int64.init),
            runID: runID
        )
        if end == nil { run.clearEnd() }
        return run
    }

    /// POSTs the run, retrying transient failures with exponential backoff (1 s, 2 s, 4 s, …).
    private func post(_ run: PipelineInfo, retries: Int) async {
        guard let endpoint = URL(string: url.hasSuffix("/") ? url + "pipelines" : url + "/pipelines") else {
            FileHandle.standardError.write(Data("pipeline-service report: --url \(url) is not a URL\n".utf8))
            return
        }
        var request = URLRequest(url: endpoint, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = ProcessInfo.processInfo.environment["PIPELINE_API_KEY"], !key.isEmpty {
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        request.httpBody = Data(run.jsonBytes)
        for attempt in 0...max(0, retries) {
            if attempt > 0 { try? await Task.sleep(for: .seconds(1 << min(attempt - 1, 5))) }
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { return }
                let detail = String(decoding: data.prefix(500), as: UTF8.self)
                if status != 429 && status < 500 {
                    FileHandle.standardError.write(Data("pipeline-service report: the service refused the run (\(status)): \(detail)\n".utf8))
                    return
                }
                FileHandle.standardError.write(Data("pipeline-service report: attempt \(attempt + 1) got \(status); retrying\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("pipeline-service report: attempt \(attempt + 1) failed: \(error.localizedDescription)\n".utf8))
            }
        }
        let what = run.isRunning ? "the start of the run was not reported (its end will be)" : "the run was not reported"
        FileHandle.standardError.write(Data("pipeline-service report: giving up; \(what)\n".utf8))
    }

    private static func instant(_ date: Date) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    private static func local(_ date: Date) -> LocalDateTime {
        let offset = Int64(TimeZone.current.secondsFromGMT(for: date))
        return LocalDateTime(wallMicroseconds: instant(date).microsecondsSinceEpoch / 1_000_000 * 1_000_000 + offset * 1_000_000)
    }

    /// The number in a file, or its line count when it holds no single number.
    private static func rowcount(from path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        if let number = Int64(text.trimmingASCIIWhitespace()) { return number }
        return Int64(text.split(separator: "\n", omittingEmptySubsequences: true).count)
    }
}
