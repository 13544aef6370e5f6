/// OpenLineage events (spec 2-0-x), as far as this service reads them: a `RunEvent` reports a
/// run's start, progress or end and becomes a stored run (``LineageMapping``); a `JobEvent` or
/// `DatasetEvent` describes metadata this service does not keep, and is accepted and counted.
///
/// Only the members the mapping uses are checked; everything else an emitter sends (facets of
/// other kinds, inputs, schema URLs) is ignored, as the spec asks of consumers.
public enum LineageEvent: Sendable, Hashable {
    case run(LineageRunEvent)
    case job
    case dataset

    /// The kind's name, as `/metrics` counts events.
    public var kind: String {
        switch self {
        case .run: "RunEvent"
        case .job: "JobEvent"
        case .dataset: "DatasetEvent"
        }
    }

    /// Reads one event; every bad member is reported with its path below `prefix` (the event's
    /// index when it came in an array).
    public init(json: JSONValue, prefix: [FieldIssue.PathElement] = []) throws(ValidationError) {
        var reader = LineageReader(prefix: prefix)
        guard case .object = json else {
            throw ValidationError(reader.issue([], "model_attributes_type", "Input should be an OpenLineage event (a JSON object)", json))
        }
        if json["run"] != nil {
            let event = reader.runEvent(json)
            guard reader.issues.isEmpty, let event else { throw ValidationError(reader.issues) }
            self = .run(event)
        } else if json["job"] != nil {
            self = .job
        } else if json["dataset"] != nil {
            self = .dataset
        } else {
            throw ValidationError(
                reader.issue([], "missing", "Input should be an OpenLineage RunEvent (with run and job), JobEvent or DatasetEvent", nil)
            )
        }
    }
}

/// The members of a `RunEvent` this service maps.
public struct LineageRunEvent: Sendable, Hashable {
    public enum EventType: String, Sendable, CaseIterable {
        case start = "START"
        case running = "RUNNING"
        case complete = "COMPLETE"
        case abort = "ABORT"
        case fail = "FAIL"
        case other = "OTHER"
    }

    public var eventType: EventType
    public var eventTime: UTCInstant
    /// `run.runId`, canonical.
    public var runID: String
    /// `job.namespace`.
    public var namespace: String
    /// `job.name`.
    public var jobName: String
    /// `job.facets.jobType.processingType` (`BATCH`, `STREAMING`).
    public var processingType: String?
    /// The first output's `name`.
    public var outputName: String?
    /// The sum of the outputs' `outputFacets.outputStatistics.rowCount`; nil when none has one.
    public var outputRowcount: Int64?
    /// `run.facets.nominalTime.nominalStartTime`.
    public var nominalStart: UTCInstant?
    /// `run.facets.errorMessage.message`.
    public var errorMessage: String?

    /// The status the event ends its run with; nil for an event that does not end it.
    public var endStatus: String? {
        switch eventType {
        case .complete: RunStatus.success
        case .fail: RunStatus.failed
        case .abort: RunStatus.aborted
        case .start, .running, .other: nil
        }
    }
}

/// Reads members by path, collecting an issue for each bad one.
private struct LineageReader {
    let prefix: [FieldIssue.PathElement]
    var issues: [FieldIssue] = []

    func issue(_ path: [FieldIssue.PathElement], _ kind: String, _ message: String, _ input: JSONValue?) -> FieldIssue {
        var issue = FieldIssue(.body, "", kind: kind, message: message, input: input)
        issue.path = prefix + path
        return issue
    }

    private mutating func fail(_ path: [FieldIssue.PathElement], _ kind: String, _ message: String, _ input: JSONValue?) {
        issues.append(issue(path, kind, message, input))
    }

    /// The value at `path` below `root`, nil when a member on the way is absent or null.
    private func value(_ root: JSONValue, _ path: [FieldIssue.PathElement]) -> JSONValue? {
        var current = root
        for element in path {
            let next: JSONValue?
            switch element {
            case .name(let name): next = current[name]
            case .index(let index): next = current[index]
            }
            guard let next, next != .null else { return nil }
            current = next
        }
        return current
    }

    /// A string member of at most `maximum` bytes without NUL; nil (with an issue when `required`,
    /// or when present but bad) otherwise.
    private mutating func string(_ root: JSONValue, _ path: [FieldIssue.PathElement], maximum: Int, required: Bool) -> String? {
        guard let value = value(root, path) else {
            if required { fail(path, "missing", "Field required", nil) }
            return nil
        }
        guard case .string(let text) = value else {
            fail(path, "string_type", "Input should be a valid string", value)
            return nil
        }
        guard text.utf8.count <= maximum else {
            fail(path, "string_too_long", "String should have at most \(maximum) bytes", value)
            return nil
        }
        guard !text.utf8.contains(0) else {
            fail(path, "string_nul", "String must not contain NUL characters", value)
            return nil
        }
        return text
    }

    private mutating func instant(_ root: JSONValue, _ path: [FieldIssue.PathElement], required: Bool) -> UTCInstant? {
        guard let text = string(root, path, maximum: 64, required: required) else { return nil }
        guard let instant = UTCInstant(iso8601: text) else {
            fail(
                path,
                "datetime_from_date_parsing",
                "Input should be an ISO 8601 date-time with its offset, e.g. 2025-09-02T12:07:02.5+00:00",
                .string(text)
            )
            return nil
        }
        // A day inside the calendar's ends: the run's local times, in any zone, stay dates too.
        let day = UTCInstant.microsecondsPerDay
        let range = UTCInstant.supportedMicroseconds
        guard instant.microsecondsSinceEpoch >= range.lowerBound + day, instant.microsecondsSinceEpoch <= range.upperBound - day else {
            fail(path, "datetime_range", "Input should be a date-time from 0001-01-02 to 9999-12-30", .string(text))
            return nil
        }
        return instant
    }

    mutating func runEvent(_ json: JSONValue) -> LineageRunEvent? {
        let type: LineageRunEvent.EventType?
        if let text = string(json, [.name("eventType")], maximum: 16, required: false) {
            type = LineageRunEvent.EventType(rawValue: text)
            if type == nil {
                fail([.name("eventType")], "enum", "Input should be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER", .string(text))
            }
        } else {
            // The spec lets an event leave its type out: it then reports nothing about the run's state.
            type = .other
        }
        let time = instant(json, [.name("eventTime")], required: true)
        let runIDPath: [FieldIssue.PathElement] = [.name("run"), .name("runId")]
        var runID: String?
        if let text = string(json, runIDPath, maximum: 64, required: true) {
            runID = RunID.canonical(text)
            if runID == nil { fail(runIDPath, "uuid_parsing", "Input should be a valid UUID", .string(text)) }
        }
        let namespace = string(json, [.name("job"), .name("namespace")], maximum: PipelineField.environment.maximumLength, required: true)
        let name = string(json, [.name("job"), .name("name")], maximum: PipelineField.pipelineName.maximumLength, required: true)
        let processingType = string(
            json,
            [.name("job"), .name("facets"), .name("jobType"), .name("processingType")],
            maximum: PipelineField.pipelineType.maximumLength,
            required: false
        )
        let outputs = value(json, [.name("outputs")])?.array ?? []
        let outputName =
            outputs.isEmpty
            ? nil : string(json, [.name("outputs"), .index(0), .name("name")], maximum: PipelineField.outputFile.maximumLength, required: false)
        var rowcount: Int64?
        for index in outputs.indices {
            let path: [FieldIssue.PathElement] = [
                .name("outputs"), .index(index), .name("outputFacets"), .name("outputStatistics"), .name("rowCount"),
            ]
            guard let value = value(json, path) else { continue }
            guard case .number(let text) = value, let rows = IntegerText.parse(text, allowIntegralFraction: true),
                PipelineField.rowcount.acceptedIntegers.contains(rows)
            else {
                fail(path, "int_parsing", "Input should be an integer from 0 to \(PipelineInfo.maximumRowcount)", value)
                continue
            }
            let (sum, overflow) = (rowcount ?? 0).addingReportingOverflow(rows)
            guard !overflow, sum <= PipelineInfo.maximumRowcount else {
                fail(path, "less_than_equal", "The outputs' row counts add up to more than \(PipelineInfo.maximumRowcount)", value)
                continue
            }
            rowcount = sum
        }
        let nominalStart = instant(json, [.name("run"), .name("facets"), .name("nominalTime"), .name("nominalStartTime")], required: false)
        let errorMessage = string(json, [.name("run"), .name("facets"), .name("errorMessage"), .name("message")], maximum: 1 << 20, required: false)
        guard let type, let time, let runID, let namespace, let name else { return nil }
        return LineageRunEvent(
            eventType: type,
            eventTime: time,
            runID: runID,
            namespace: namespace,
            jobName: name,
            processingType: processingType,
            outputName: outputName,
            outputRowcount: rowcount,
            nominalStart: nominalStart,
            errorMessage: errorMessage
        )
    }
}

// MARK: - Mapping

/// How run events become runs:
///
/// | run | from |
/// |---|---|
/// | `run_id` | `run.runId` |
/// | `pipeline_name` | `job.name` |
/// | `environment` | `job.namespace` |
/// | `pipeline_type` | `job.facets.jobType.processingType` |
/// | `start_utc` | the START event's `eventTime` (an end that comes first: `nominalTime.nominalStartTime`, else its own time) |
/// | `end_utc` | the COMPLETE, FAIL or ABORT event's `eventTime`; `elapsed_seconds` the difference |
/// | `status` | `running` until the end: `success`, `failed`, `aborted` |
/// | `rowcount` | the sum of `outputs[].outputFacets.outputStatistics.rowCount` (0 without any) |
/// | `output_file` | `outputs[0].name` (empty without outputs) |
/// | `start_local`, `end_local`, `date_code` | the start and end in the mapping's zone; `date_code` `YYYYMMDD_HHMMSS` of the local start |
/// | `pid`, `log_file`, `script_name`, `archived_file`, `exit_code` | 0, empty, null, null, null |
///
/// Events may come twice and in any order: a replayed event gives the run it gave before (the
/// store then writes nothing); an end that comes before its START ends the run, and the START is
/// then ignored, as is any event for a run already ended but another end (which is a conflict).
public struct LineageMapping: Sendable {
    /// The zone of `start_local`, `end_local` and `date_code`.
    public var zone: any UTCOffsetRule

    public init(zone: any UTCOffsetRule) {
        self.zone = zone
    }

    /// The run after `event`, given what is stored under its id; nil when the event changes
    /// nothing this service keeps (a RUNNING or OTHER for a run that has ended, or a START for a
    /// run that ended with a known start). A START for a run stored from its end alone gives the
    /// run its start (``PipelineInfo/isCompleted(startBy:)``).
    public func run(after event: LineageRunEvent, stored: PipelineInfo?) -> PipelineInfo? {
        if let stored, !stored.isRunning, event.endStatus == nil {
            // A START after its run's end, which was stored without knowing it: the run gets its start.
            guard event.eventType == .start else { return nil }
            var run = stored
            setStart(of: &run, to: event.eventTime)
            end(&run, at: stored.endUTC)
            run.endLocal = stored.endLocal
            return stored.isCompleted(startBy: run) ? run : nil
        }
        var run: PipelineInfo
        if let stored {
            run = stored
            if event.eventType == .start { setStart(of: &run, to: event.eventTime) }
        } else {
            let start = event.endStatus == nil ? event.eventTime : min(event.nominalStart ?? event.eventTime, event.eventTime)
            run = PipelineInfo(
                startLocal: LocalDateTime(wallMicroseconds: 0),
                endLocal: LocalDateTime(wallMicroseconds: 0),
                startUTC: start,
                endUTC: start,
                elapsedSeconds: 0,
                elapsedHuman: "",
                outputFile: "",
                rowcount: 0,
                logFile: "",
                pid: 0,
                dateCode: "",
                runID: event.runID
            )
            setStart(of: &run, to: start)
        }
        run.pipelineName = event.jobName
        run.environment = event.namespace
        if let type = event.processingType { run.pipelineType = type }
        if let name = event.outputName { run.outputFile = name }
        if let rows = event.outputRowcount { run.rowcount = rows }
        if let status = event.endStatus {
            run.status = status
            end(&run, at: max(event.eventTime, run.startUTC))
        } else {
            run.status = RunStatus.running
            run.clearEnd()
        }
        return run
    }

    /// The writes a request's run events make, in order, given the runs stored under their ids
    /// (`stored`, by run id; absent: none): each event is applied to the run as the events before
    /// it in the request left it, so one write stores them all or none. `changes[i]` is the index
    /// in `writes` of event `i`'s write, nil when the event changes nothing this service keeps.
    ///
    /// Throws when an event would make a run last longer than a posted run may (a clock gone
    /// wrong), naming the event's index when `events` came as an array.
    public func plan(_ events: [LineageRunEvent], stored: [String: PipelineInfo], isArray: Bool) throws(ValidationError) -> LineagePlan {
        var current = stored
        var plan = LineagePlan()
        var issues: [FieldIssue] = []
        for (index, event) in events.enumerated() {
            let basis = current[event.runID]
            guard let run = run(after: event, stored: basis) else {
                plan.changes.append(nil)
                continue
            }
            guard run.elapsedSeconds <= PipelineInfo.maximumElapsedSeconds else {
                var issue = FieldIssue(
                    .body,
                    "eventTime",
                    kind: "less_than_equal",
                    message: "The run would last longer than \(Int64(PipelineInfo.maximumElapsedSeconds)) seconds"
                )
                if isArray { issue.path.insert(.index(index), at: 0) }
                issues.append(issue)
                plan.changes.append(nil)
                continue
            }
            current[event.runID] = run
            plan.changes.append(plan.writes.count)
            plan.writes.append((run, basis))
        }
        guard issues.isEmpty else { throw ValidationError(issues) }
        return plan
    }

    private func setStart(of run: inout PipelineInfo, to start: UTCInstant) {
        run.startUTC = start
        run.startLocal = local(start)
        run.dateCode = DateCode.of(run.startLocal)
    }

    private func end(_ run: inout PipelineInfo, at end: UTCInstant) {
        run.endUTC = end
        run.endLocal = local(end)
        run.elapsedSeconds = Double(end.microsecondsSinceEpoch - run.startUTC.microsecondsSinceEpoch) / 1_000_000
        run.elapsedHuman = ElapsedTime.human(seconds: run.elapsedSeconds)
    }

    private func local(_ instant: UTCInstant) -> LocalDateTime {
        let offset = Int64(zone.offsetSeconds(at: instant)) * 1_000_000
        return LocalDateTime(wallMicroseconds: Saturating.add(instant.microsecondsSinceEpoch, offset))
    }
}

/// What a request's run events store (``LineageMapping/plan(_:stored:isArray:)``).
public struct LineagePlan: Sendable {
    /// Each run to store, with the run it was merged from (nil: none stored), in event order.
    public var writes: [(run: PipelineInfo, basis: PipelineInfo?)] = []
    /// Per event, the index of its write in ``writes``; nil when it changes nothing.
    public var changes: [Int?] = []
}

extension LineagePlan {
    /// The plan for a store that cannot hold a run still running (a table without a status
    /// column): records of runs still running are left out (their events then change nothing
    /// stored), and every other write is merged from what is really stored under its id
    /// (`stored`), or from the write before it of the same run in this plan.
    public func finishedOnly(stored: [String: PipelineInfo]) -> LineagePlan {
        var kept = LineagePlan()
        var latest: [String: PipelineInfo] = [:]
        var moved: [Int: Int] = [:]
        for (index, write) in writes.enumerated() where !write.run.isRunning {
            let id = write.run.runID ?? ""
            moved[index] = kept.writes.count
            kept.writes.append((write.run, latest[id] ?? stored[id]))
            latest[id] = write.run
        }
        kept.changes = changes.map { $0.flatMap { moved[$0] } }
        return kept
    }

    /// Issues found in this plan's writes (each at `[write index, run field]`, as a store's check
    /// of a batch names them) in the terms of the events: under the index of the event that made
    /// the write when the events came as an array, and at the event member the field comes from
    /// (``LineageMapping``), so that a client sees what to change in what it sent.
    public func eventIssues(_ error: ValidationError, isArray: Bool) -> ValidationError {
        var eventOfWrite: [Int: Int] = [:]
        for (event, write) in changes.enumerated() { if let write { eventOfWrite[write] = event } }
        return ValidationError(
            error.issues.map { issue in
                var issue = issue
                var path = issue.path
                var event: Int?
                if case .index(let write) = path.first {
                    path.removeFirst()
                    event = eventOfWrite[write]
                }
                if case .name(let name) = path.first, let field = PipelineField(rawValue: name) {
                    path = Self.member(of: field) + path.dropFirst()
                }
                if isArray, let event { path.insert(.index(event), at: 0) }
                issue.path = path
                return issue
            }
        )
    }

    /// The event member a run field is read from.
    private static func member(of field: PipelineField) -> [FieldIssue.PathElement] {
        switch field {
        case .pipelineName: [.name("job"), .name("name")]
        case .environment: [.name("job"), .name("namespace")]
        case .pipelineType: [.name("job"), .name("facets"), .name("jobType"), .name("processingType")]
        case .outputFile: [.name("outputs"), .index(0), .name("name")]
        case .rowcount: [.name("outputs")]
        case .runID: [.name("run"), .name("runId")]
        case .status: [.name("eventType")]
        case .startUTC, .startLocal, .endUTC, .endLocal, .elapsedSeconds, .elapsedHuman, .dateCode: [.name("eventTime")]
        default: [.name(field.rawValue)]
        }
    }

    /// The runs this plan leaves running, by id: the last record of each run whose last event
    /// did not end it.
    public var runningAtEnd: [String: PipelineInfo] {
        var last: [String: PipelineInfo] = [:]
        for write in writes { last[write.run.runID ?? ""] = write.run }
        return last.filter { $0.value.isRunning }
    }
}

/// The date code a run gets from its local start: `YYYYMMDD_HHMMSS`, as pipelines name their runs.
public enum DateCode {
    public static func of(_ start: LocalDateTime) -> String {
        let digits = start.description.prefix(19).filter(\.isNumber)
        return String(digits.prefix(8)) + "_" + String(digits.dropFirst(8).prefix(6))
    }
}

/// A duration as people read it in `elapsed_human`: `40m 24s`, `2h 5m 0s`.
public enum ElapsedTime {
    public static func human(seconds: Double) -> String {
        let whole = seconds.isFinite ? Int64(max(0, min(seconds, PipelineInfo.maximumElapsedSeconds))) : 0
        return whole >= 3600 ? "\(whole / 3600)h \(whole % 3600 / 60)m \(whole % 60)s" : "\(whole / 60)m \(whole % 60)s"
    }
}
