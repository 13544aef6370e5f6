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
            Times are taken around the command; the date code is the local start time (YYYYMMDD_HHMMSS). \
            The POST is retried with backoff on network errors and 5xx answers (safe: ingest is idempotent). \
            PIPELINE_API_KEY, when set, is sent as a bearer token. Exits with the command's exit code \
            (128 + signal when it was killed).
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var exitCode: Int32
        var pid: Int32 = 0
        do {
            try process.run()
            pid = process.processIdentifier
            process.waitUntilExit()
            exitCode = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        } catch {
            FileHandle.standardError.write(Data("pipeline-service report: cannot run \(command[0]): \(error.localizedDescription)\n".utf8))
            exitCode = 127
        }
        let endUTC = Date()
        let run = makeRun(start: startUTC, end: endUTC, pid: pid, exitCode: exitCode)
        await post(run)
        throw ExitCode(exitCode)
    }

    private func makeRun(start: Date, end: Date, pid: Int32, exitCode: Int32) -> PipelineInfo {
        let elapsed = (end.timeIntervalSince(start) * 1000).rounded() / 1000
        let seconds = Int(elapsed)
        let human = seconds >= 3600 ? "\(seconds / 3600)h \(seconds % 3600 / 60)m \(seconds % 60)s" : "\(seconds / 60)m \(seconds % 60)s"
        return PipelineInfo(
            startLocal: Self.local(start),
            endLocal: Self.local(end),
            startUTC: Self.instant(start),
            endUTC: Self.instant(end),
            elapsedSeconds: elapsed,
            elapsedHuman: human,
            outputFile: outputFile,
            rowcount: rowcount ?? rowcountFrom.flatMap(Self.rowcount(from:)) ?? 0,
            logFile: logFile,
            pid: Int64(pid),
            dateCode: Self.dateCode(start),
            pipelineName: pipelineName,
            scriptName: scriptName ?? URL(fileURLWithPath: command[0]).lastPathComponent,
            pipelineType: pipelineType,
            environment: environment,
            archivedFile: archivedFile,
            status: RunStatus.forExitCode(Int64(exitCode)),
            exitCode: Int64(exitCode)
        )
    }

    /// POSTs the run, retrying transient failures with exponential backoff (1 s, 2 s, 4 s, …).
    private func post(_ run: PipelineInfo) async {
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
        FileHandle.standardError.write(Data("pipeline-service report: giving up; the run was not reported\n".utf8))
    }

    private static func instant(_ date: Date) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    private static func local(_ date: Date) -> LocalDateTime {
        let offset = Int64(TimeZone.current.secondsFromGMT(for: date))
        return LocalDateTime(wallMicroseconds: instant(date).microsecondsSinceEpoch / 1_000_000 * 1_000_000 + offset * 1_000_000)
    }

    private static func dateCode(_ date: Date) -> String {
        let text = local(date).description  // YYYY-MM-DDTHH:MM:SS
        let digits = text.prefix(19).filter(\.isNumber)
        return String(digits.prefix(8)) + "_" + String(digits.dropFirst(8).prefix(6))
    }

    /// The number in a file, or its line count when it holds no single number.
    private static func rowcount(from path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        if let number = Int64(text.trimmingASCIIWhitespace()) { return number }
        return Int64(text.split(separator: "\n", omittingEmptySubsequences: true).count)
    }
}
