public import PipelineCore

/// The one way tests build a run or a sample at a chosen time: a start, a duration, and plain
/// values for the fields a test does not care about.
public enum TestRun {
    /// The instant `hours` before `instant`.
    public static func hours(_ hours: Double, before instant: UTCInstant) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: instant.microsecondsSinceEpoch - Int64(hours * Double(UTCInstant.microsecondsPerHour)))
    }

    /// A run of `name` that starts at `start` and lasts `seconds` (local times equal to UTC).
    public static func make(
        _ name: String?,
        start: UTCInstant,
        seconds: Double = 60,
        rowcount: Int64 = 1000,
        code: String,
        script: String? = nil,
        type: String? = "batch",
        environment: String? = "prod",
        status: String? = nil,
        exitCode: Int64? = nil
    ) -> PipelineInfo {
        // A duration longer than any calendar (a legacy 1e308) ends at the latest instant there is.
        let micros = Saturating.clamped(seconds * Double(UTCInstant.microsecondsPerSecond)) ?? 0
        let end = UTCInstant(
            microsecondsSinceEpoch: min(Saturating.add(start.microsecondsSinceEpoch, micros), UTCInstant.supportedMicroseconds.upperBound)
        )
        // With its id, as a validated POST has it: a store gives back what it was given.
        return PipelineInfo(
            startLocal: LocalDateTime(wallMicroseconds: start.microsecondsSinceEpoch),
            endLocal: LocalDateTime(wallMicroseconds: end.microsecondsSinceEpoch),
            startUTC: start,
            endUTC: end,
            elapsedSeconds: seconds,
            elapsedHuman: seconds < 1e15 ? "\(Int(seconds))s" : "\(seconds)s",
            outputFile: "/out/\(code)",
            rowcount: rowcount,
            logFile: "/log/\(code)",
            pid: 100,
            dateCode: code,
            pipelineName: name,
            scriptName: script ?? name.map { "\($0).py" },
            pipelineType: type,
            environment: environment,
            status: status,
            exitCode: exitCode
        ).normalized
    }

    /// The sample of a run that starts at `start`: what insight and history read of it.
    public static func sample(
        at start: UTCInstant,
        seconds: Double = 60,
        rowcount: Int64 = 1000,
        status: String? = "success",
        exitCode: Int64? = nil,
        code: String = "dc"
    ) -> RunSample {
        RunSample(startUTC: start, elapsedSeconds: seconds, rowcount: rowcount, status: status, exitCode: exitCode, dateCode: code)
    }
}

extension RunHistory {
    /// The history of full samples, as tests build them (the service reads `HistorySample`s).
    public init(
        samples: [RunSample],
        bucket: HistoryBucketSize,
        zone: any UTCOffsetRule,
        from: UTCInstant?,
        to: UTCInstant?,
        pipelineName: String? = nil
    ) throws(HistoryRangeError) {
        try self.init(historySamples: samples.map(HistorySample.init), bucket: bucket, zone: zone, from: from, to: to, pipelineName: pipelineName)
    }
}

extension PipelineInfo {
    /// This run as a client that names no id posts it: the id it had is dropped and the one its
    /// (new) name and date code give is made. For a run whose key fields a test changed; a run
    /// without a name gets a fresh id each time, as each such post does.
    public var reidentified: PipelineInfo {
        var run = self
        run.runID = nil
        return run.normalized
    }
}
