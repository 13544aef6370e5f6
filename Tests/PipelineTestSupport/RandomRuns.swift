public import PipelineCore

/// A small deterministic generator (SplitMix64): the same seed gives the same runs everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random but plausible runs for property and differential tests: few distinct names so that
/// filters and groups collide, ties in `start_utc`, zero durations and rowcounts, missing optionals.
public struct RandomRuns {
    public static let pipelineNames: [String?] = ["ingest_lots", "refdb_sync", "wafer_map", "yield_report", nil]
    public static let scriptNames: [String?] = ["ingest.py", "sync.py", "map.py", nil]
    public static let pipelineTypes: [String?] = ["batch", "streaming", "ml", nil]
    public static let environments: [String?] = ["prod", "dev", "test", nil]
    /// 2025-01-01T00:00:00Z
    public static let epochStart: Int64 = 1_735_689_600

    public var generator: SeededGenerator
    /// Whether some runs are still `running` (kept apart by every store and left out of answers
    /// that do not ask for them); off, every run has ended and every answer lists it.
    public var includesRunning = false
    private var dateCodeCounter = 0
    /// The date codes of the runs made so far, for queries that ask for one.
    public private(set) var dateCodes: [String] = []

    public init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    /// One random run; `dateCode` values are unique per generator so idempotency never merges them.
    public mutating func next() -> PipelineInfo {
        // Starts fall on a coarse grid (10 minutes over 60 days) so that equal start_utc values happen.
        let startSeconds = Self.epochStart + Int64.random(in: 0..<8640, using: &generator) * 600
        let elapsed: Double =
            Bool.random(using: &generator) && Int.random(in: 0..<5, using: &generator) == 0
            ? 0 : Double(Int.random(in: 1..<7_200_000, using: &generator)) / 1000
        let offsetHours = Int64.random(in: -8...8, using: &generator)
        let endSeconds = startSeconds + Int64(elapsed.rounded(.up))
        let rowcount: Int64 = Int.random(in: 0..<6, using: &generator) == 0 ? 0 : Int64.random(in: 1...2_000_000, using: &generator)
        dateCodeCounter += 1
        let startLocal = LocalDateTime(wallMicroseconds: (startSeconds + offsetHours * 3600) * 1_000_000)
        let endLocal = LocalDateTime(wallMicroseconds: (endSeconds + offsetHours * 3600) * 1_000_000)
        let dateCode = "\(startLocal.description.prefix(10).replacingOccurrences(of: "-", with: ""))_\(dateCodeCounter)"
        dateCodes.append(dateCode)
        return PipelineInfo(
            startLocal: startLocal,
            endLocal: endLocal,
            startUTC: UTCInstant(microsecondsSinceEpoch: startSeconds * 1_000_000),
            endUTC: UTCInstant(microsecondsSinceEpoch: endSeconds * 1_000_000),
            elapsedSeconds: elapsed,
            elapsedHuman: "\(Int(elapsed) / 60)m \(Int(elapsed) % 60)s",
            outputFile: "/data/out/run-\(dateCodeCounter).csv",
            rowcount: rowcount,
            logFile: "/data/log/run-\(dateCodeCounter).log",
            pid: Int64.random(in: 1...4_194_304, using: &generator),
            dateCode: dateCode,
            pipelineName: Self.pipelineNames.randomElement(using: &generator)!,
            scriptName: Self.scriptNames.randomElement(using: &generator)!,
            pipelineType: Self.pipelineTypes.randomElement(using: &generator)!,
            environment: Self.environments.randomElement(using: &generator)!,
            archivedFile: Bool.random(using: &generator) ? "/data/archive/run-\(dateCodeCounter).csv.gz" : nil,
            status: [nil, nil, "success", "failed", includesRunning ? "running" : "aborted"].randomElement(using: &generator)!,
            exitCode: [nil, nil, 0, 1, -9].randomElement(using: &generator)!
        ).normalized
    }

    /// `count` random runs.
    public mutating func runs(_ count: Int) -> [PipelineInfo] {
        (0..<count).map { _ in next() }
    }

    /// A random query over the same value space: any subset of filters, any paging.
    public mutating func query() -> RunQuery {
        var filter = RunFilter()
        func maybe() -> Bool { Int.random(in: 0..<3, using: &generator) == 0 }
        if maybe() {
            filter.startUTCFrom = UTCInstant(
                microsecondsSinceEpoch: (Self.epochStart + Int64.random(in: 0..<8640, using: &generator) * 600) * 1_000_000
            )
        }
        if maybe() {
            filter.endUTCTo = UTCInstant(microsecondsSinceEpoch: (Self.epochStart + Int64.random(in: 0..<8640, using: &generator) * 600) * 1_000_000)
        }
        if maybe() { filter.minRowcount = Int64.random(in: -5...1_500_000, using: &generator) }
        if maybe() { filter.maxRowcount = Int64.random(in: 0...2_000_000, using: &generator) }
        // A missing value in the lists asks for a missing field.
        if maybe() { filter.pipelineName = Self.pipelineNames.randomElement(using: &generator).map(FieldCondition.init(exactly:)) }
        if maybe() { filter.scriptName = Self.scriptNames.randomElement(using: &generator).map(FieldCondition.init(exactly:)) }
        if maybe() { filter.pipelineType = Self.pipelineTypes.randomElement(using: &generator).map(FieldCondition.init(exactly:)) }
        if maybe() { filter.environment = Self.environments.randomElement(using: &generator).map(FieldCondition.init(exactly:)) }
        if Int.random(in: 0..<10, using: &generator) == 0 { filter.dateCode = dateCodes.randomElement(using: &generator) }
        if Int.random(in: 0..<5, using: &generator) == 0 {
            filter.status = (["success", "failed", "running", "skipped", nil] as [String?]).randomElement(using: &generator).map(
                FieldCondition.init(exactly:)
            )
        }
        let paging: RunPaging =
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: .all
            default: .window(limit: Int.random(in: 1...60, using: &generator), offset: Int.random(in: 0...80, using: &generator))
            }
        return RunQuery(filter: filter, paging: paging)
    }
}
