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
            when set, is sent as a bearer token; a redirect is followed only to the same origin \
            (scheme, host and port) as --url, so the key never goes elsewhere. The options are checked \
            as the service checks a run before the command starts. An end the service refuses (a 4xx) \
            is reported again as failed, without the rowcount read from --rowcount-from, so the run is \
            not left running. SIGTERM and SIGHUP are passed on to the command and the run is still \
            reported; Ctrl-C reaches the command through the terminal. Exits with the command's exit \
            code (128 + signal when it was killed), whether or not an unreachable service got the \
            report; but with 2 when the command succeeded and the service refused its run or redirected \
            it elsewhere, a set-up to fix.
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
        guard !command.isEmpty else { throw ArgumentParser.ValidationError("give the command to run after --") }
        guard rowcount == nil || rowcountFrom == nil else { throw ArgumentParser.ValidationError("use --rowcount or --rowcount-from, not both") }
        guard (0...100).contains(retries) else { throw ArgumentParser.ValidationError("--retries must be from 0 to 100 (got \(retries))") }
        guard delivery != nil else {
            throw ArgumentParser.ValidationError("--url must be an http:// or https:// URL with a host (got \(Redaction.credentials(in: url)))")
        }
        // The run as it will be started and ended, checked as the service checks it, so that a
        // run is never started that its end cannot complete.
        let now = Date()
        for run in [
            makeRun(runID: RunID.timeOrdered(at: Self.instant(now)), start: now, end: nil, pid: 1, exitCode: nil, rowcount: 0),
            makeRun(runID: RunID.timeOrdered(at: Self.instant(now)), start: now, end: now, pid: 1, exitCode: 0, rowcount: rowcount ?? 0),
        ] {
            do throws(PipelineCore.ValidationError) {
                _ = try PipelineInfo(jsonBytes: run.jsonBytes)
            } catch {
                throw ArgumentParser.ValidationError(error.issues.map(describe).joined(separator: "; "))
            }
        }
    }

    /// An issue with the run, named by the option that gave the field.
    private func describe(_ issue: FieldIssue) -> String {
        let options: Set<PipelineField> = [.pipelineName, .scriptName, .pipelineType, .environment, .outputFile, .logFile, .archivedFile, .rowcount]
        guard let field = PipelineField(rawValue: issue.field), options.contains(field) else { return "the run's \(issue.field): \(issue.message)" }
        let option = "--" + field.rawValue.replacingOccurrences(of: "_", with: "-")
        let defaulted = field == .scriptName && scriptName == nil ? " (the command's file name when --script-name is not given)" : ""
        return "\(option)\(defaulted): \(issue.message)"
    }

    /// Where runs are posted; nil when `--url` is not a URL to post to.
    private var delivery: ReportDelivery? {
        ReportDelivery(baseURL: url, apiKey: ProcessInfo.processInfo.environment["PIPELINE_API_KEY"])
    }

    func run() async throws {
        // Checked by validate() already.
        guard let delivery else { throw ExitCode(64) }
        let startUTC = Date()
        let runID = RunID.timeOrdered(at: Self.instant(startUTC))
        let forwarding = SignalForwarding()
        defer { forwarding.stop() }
        var exitCode: Int32
        var pid: Int32 = 0
        var started: Task<ReportDelivery.Outcome, Never>?
        do throws(ChildCommand.StartError) {
            let child = try ChildCommand(command, keepIgnored: forwarding.inheritedIgnored)
            pid = child.pid
            forwarding.forward(to: pid)
            // Posted while the command runs, and once only: the command never waits for the service.
            // Detached: this task blocks its thread waiting for the command below.
            let running = makeRun(runID: runID, start: startUTC, end: nil, pid: pid, exitCode: nil, rowcount: 0)
            started = Task.detached {
                let outcome = await delivery.post(running, retries: 0)
                if case .notFollowed = outcome {
                    // The end would be sent the same way: it is not sent.
                    Self.tell(outcome, of: "the run", else: nil)
                } else if case .refused(_, let detail) = outcome, detail.contains(FieldLimits.runningNotStored) {
                    // A table without a status column: the finished run, sent at the end, is the record.
                    Self.say("the service keeps finished runs only (its table has no status column): the run is reported when it ends")
                } else {
                    Self.tell(outcome, of: "the start of the run", else: "its end will be")
                }
                return outcome
            }
            exitCode = child.waitForExit()
        } catch {
            let reason = String(cString: strerror(error.code))
            Self.say("cannot run \(command[0]): \(reason)")
            // As a shell answers: 127 for a command not found, 126 for one it cannot run.
            exitCode = error.code == ENOENT ? 127 : 126
        }
        // The finished record goes after the running one, which it completes.
        let start = await started?.value
        let endUTC = Date()
        let counted = rowcount ?? rowcountFrom.flatMap(Self.rowcount(from:)) ?? 0
        let finished = makeRun(runID: runID, start: startUTC, end: endUTC, pid: pid, exitCode: exitCode, rowcount: counted)
        let refused: Bool
        if case .notFollowed = start {
            refused = true
        } else {
            let outcome = await delivery.post(finished, retries: retries)
            Self.tell(outcome, of: "the run", else: nil)
            refused = outcome.isRefusal
            if case .refused = outcome {
                // Ended as failed with what report measured itself, so that it is not left running.
                var failed = makeRun(runID: runID, start: startUTC, end: endUTC, pid: pid, exitCode: exitCode, rowcount: rowcount ?? 0)
                failed.status = RunStatus.failed
                let fallback = await delivery.post(failed, retries: retries)
                if case .stored = fallback {
                    Self.say(
                        "the run is reported as failed instead\(rowcountFrom == nil ? "" : ", without the rowcount of --rowcount-from"), so that it is not left running"
                    )
                } else if case .stored = start {
                    Self.tell(fallback, of: "the run as failed", else: "it is left running")
                } else {
                    Self.tell(fallback, of: "the run as failed", else: nil)
                }
            }
        }
        // A refusal is a set-up to fix (the URL, the key, a value read): a command that succeeded
        // says so by its exit code too, where an unreachable service does not fail the job.
        throw ExitCode(exitCode == 0 && refused ? 2 : exitCode)
    }

    /// Writes one line for `report` on standard error.
    static func say(_ text: String) {
        FileHandle.standardError.write(Data("pipeline-service report: \(text)\n".utf8))
    }

    /// Says what became of `what` when it was not stored; `consequence` follows when not nil.
    private static func tell(_ outcome: ReportDelivery.Outcome, of what: String, else consequence: String?) {
        let tail = consequence.map { "; \($0)" } ?? ""
        switch outcome {
        case .stored: return
        case .refused(let status, let detail): say("the service refused \(what) (\(status)): \(detail)\(tail)")
        case .notFollowed(let reason): say("\(reason): \(what) was not reported\(tail)")
        case .unreachable: say("giving up; \(what) was not reported\(tail)")
        }
    }

    /// The run as reported: still running without an `end`, else finished with `exitCode`.
    private func makeRun(runID: String, start: Date, end: Date?, pid: Int32, exitCode: Int32?, rowcount: Int64) -> PipelineInfo {
        let elapsed = end.map { (($0.timeIntervalSince(start)) * 1000).rounded() / 1000 } ?? 0
        var run = PipelineInfo(
            startLocal: Self.local(start),
            endLocal: Self.local(end ?? start),
            startUTC: Self.instant(start),
            endUTC: Self.instant(end ?? start),
            elapsedSeconds: max(0, elapsed),
            elapsedHuman: ElapsedTime.human(seconds: elapsed),
            outputFile: outputFile,
            rowcount: end == nil ? 0 : rowcount,
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

    private static func instant(_ date: Date) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    private static func local(_ date: Date) -> LocalDateTime {
        let offset = Int64(TimeZone.current.secondsFromGMT(for: date))
        return LocalDateTime(wallMicroseconds: instant(date).microsecondsSinceEpoch / 1_000_000 * 1_000_000 + offset * 1_000_000)
    }

    /// The number in a file, or its line count when it holds no single number. A number past
    /// 64 bits is kept as the largest one, which the service refuses as it refuses any count past
    /// its limit, rather than read as a one-line file.
    private static func rowcount(from path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingASCIIWhitespace()
        if let number = Int64(trimmed) { return number }
        let digits = trimmed.hasPrefix("-") || trimmed.hasPrefix("+") ? trimmed.dropFirst() : Substring(trimmed)
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isWholeNumber }) { return trimmed.hasPrefix("-") ? .min : .max }
        return Int64(text.split(separator: "\n", omittingEmptySubsequences: true).count)
    }
}
