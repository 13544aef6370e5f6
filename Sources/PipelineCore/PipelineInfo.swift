/// One pipeline run, as a pipeline reports it and as every response carries it.
public struct PipelineInfo: Sendable, Hashable {
    public var startLocal: LocalDateTime
    public var endLocal: LocalDateTime
    public var startUTC: UTCInstant
    public var endUTC: UTCInstant
    public var elapsedSeconds: Double
    public var elapsedHuman: String
    public var outputFile: String
    public var rowcount: Int64
    public var logFile: String
    public var pid: Int64
    public var dateCode: String
    public var pipelineName: String?
    public var scriptName: String?
    public var pipelineType: String?
    public var environment: String?
    public var archivedFile: String?
    /// How the run ended, as the pipeline reports it: `success`, `failed`, `running`, or another
    /// short word. Optional extension field; old clients never send it.
    public var status: String?
    /// The process exit code, when the run was reported by a wrapper that saw it. Optional extension field.
    public var exitCode: Int64?
    /// The run's id (``RunID``): given by the client, or made by the service when it stores the run.
    /// Nil only for runs of a mapped table without the column.
    public var runID: String?

    public init(
        startLocal: LocalDateTime,
        endLocal: LocalDateTime,
        startUTC: UTCInstant,
        endUTC: UTCInstant,
        elapsedSeconds: Double,
        elapsedHuman: String,
        outputFile: String,
        rowcount: Int64,
        logFile: String,
        pid: Int64,
        dateCode: String,
        pipelineName: String? = nil,
        scriptName: String? = nil,
        pipelineType: String? = nil,
        environment: String? = nil,
        archivedFile: String? = nil,
        status: String? = nil,
        exitCode: Int64? = nil,
        runID: String? = nil
    ) {
        (self.startLocal, self.endLocal, self.startUTC, self.endUTC) = (startLocal, endLocal, startUTC, endUTC)
        (self.elapsedSeconds, self.elapsedHuman, self.outputFile, self.rowcount) = (elapsedSeconds, elapsedHuman, outputFile, rowcount)
        (self.logFile, self.pid, self.dateCode, self.pipelineName) = (logFile, pid, dateCode, pipelineName)
        (self.scriptName, self.pipelineType, self.environment, self.archivedFile) = (scriptName, pipelineType, environment, archivedFile)
        (self.status, self.exitCode, self.runID) = (status, exitCode, runID)
    }

    /// Whether the run failed: its `status` is `failed`, or it has no status and a non-zero `exit_code`.
    public var isFailed: Bool { RunStatus.isFailed(status: status, exitCode: exitCode) }

    /// The grouping key of summaries: (`pipeline_name`, `script_name`, `pipeline_type`, `environment`).
    public var signature: PipelineSignature {
        PipelineSignature(pipelineName: pipelineName, scriptName: scriptName, pipelineType: pipelineType, environment: environment)
    }

    /// Whether the run has started and not yet ended (`status` is `running`).
    public var isRunning: Bool { status == RunStatus.running }

    /// The idempotency key: the run's id, which a run posted without one has by its pipeline name
    /// and date code (``RunID``). On a table without a `run_id` column, (`pipeline_name`,
    /// `date_code`) as before ids, where a run without a name has no key and is never merged.
    public var runKey: RunKey? {
        if let runID { return RunKey(runID: runID, run: self) }
        return pipelineName.map { RunKey(pipelineName: $0, dateCode: dateCode, runID: nil) }
    }
}

/// Identifies one run: its id, and the pipeline name and date code it came with.
public struct RunKey: Sendable, Hashable, CustomStringConvertible {
    public var pipelineName: String?
    public var dateCode: String
    /// The id, nil on a table that has no `run_id` column.
    public var runID: String?

    public init(pipelineName: String?, dateCode: String, runID: String?) {
        (self.pipelineName, self.dateCode, self.runID) = (pipelineName, dateCode, runID)
    }

    init(runID: String, run: PipelineInfo) {
        self.init(pipelineName: run.pipelineName, dateCode: run.dateCode, runID: runID)
    }

    /// Whether the id is the client's own (not the name-based one an old client's post gets).
    public var hasOwnID: Bool {
        guard let runID else { return false }
        return pipelineName == nil || !ExactText.equal(runID, RunID.nameBased(pipelineName: pipelineName, dateCode: dateCode))
    }

    /// Keys are equal when their texts are the same bytes (``ExactText``), as stores tell keys apart.
    public static func == (lhs: RunKey, rhs: RunKey) -> Bool {
        ExactText.equal(lhs.runID, rhs.runID) && ExactText.equal(lhs.pipelineName, rhs.pipelineName) && ExactText.equal(lhs.dateCode, rhs.dateCode)
    }

    public func hash(into hasher: inout Hasher) {
        ExactText.hash(runID, into: &hasher)
        ExactText.hash(pipelineName, into: &hasher)
        ExactText.hash(dateCode, into: &hasher)
    }

    /// As an old client knows its run: by name and date code; by id when the id is its own.
    public var description: String {
        if hasOwnID, let runID { return "run_id=\(runID)" }
        return "(pipeline_name=\(pipelineName ?? ""), date_code=\(dateCode))"
    }
}

// MARK: - Limits

extension PipelineInfo {
    /// The largest `rowcount` accepted from clients: a trillion rows per run.
    public static let maximumRowcount: Int64 = 1_000_000_000_000
    /// The largest `pid` accepted (a 32-bit process id).
    public static let maximumPID: Int64 = Int64(Int32.max)
    /// The smallest and largest `exit_code` accepted (a 32-bit signed status, as `waitpid` and Windows report).
    public static let exitCodeRange: ClosedRange<Int64> = Int64(Int32.min)...Int64(Int32.max)
    /// The longest `elapsed_seconds` accepted (about 317 years).
    public static let maximumElapsedSeconds: Double = 10_000_000_000
}

// MARK: - Encoding

extension PipelineInfo {
    /// Writes the run as one JSON object with every field in ``PipelineField`` order, `null` for
    /// absent optional ones, and for the end of a run still running (``PipelineField/unsetWhileRunning``).
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        let running = isRunning
        for field in PipelineField.allCases {
            writer.key(field.rawValue)
            if running, PipelineField.unsetWhileRunning.contains(field) {
                writer.null()
            } else {
                writer.field(value(of: field))
            }
        }
        writer.endObject()
    }

    /// The run as one compact JSON object.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 640)
        write(to: &writer)
        return writer.bytes
    }
}
