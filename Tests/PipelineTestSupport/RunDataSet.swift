public import PipelineCore
public import Testing

/// Seeded random runs as a store would hold them (sequence 1...n in insertion order), and
/// random queries over the same value space.
public struct RunDataSet: Sendable, CustomTestStringConvertible {
    public var seed: UInt64
    public var runCount: Int
    /// Starts squeezed into six hours, so that many runs share a `start_utc`.
    public var hasManyTies: Bool

    public init(seed: UInt64, runCount: Int, hasManyTies: Bool) {
        self.seed = seed
        self.runCount = runCount
        self.hasManyTies = hasManyTies
    }

    public var testDescription: String { "seed \(seed), \(runCount) runs" + (hasManyTies ? ", many equal start_utc" : "") }

    public static let all: [RunDataSet] = [
        RunDataSet(seed: 1, runCount: 300, hasManyTies: false),
        RunDataSet(seed: 7, runCount: 200, hasManyTies: false),
        RunDataSet(seed: 42, runCount: 350, hasManyTies: false),
        RunDataSet(seed: 5, runCount: 300, hasManyTies: true),
        RunDataSet(seed: 99, runCount: 80, hasManyTies: true),
    ]

    public func make(queryCount: Int = 60) -> (runs: [StoredRun], queries: [RunQuery]) {
        var random = RandomRuns(seed: seed)
        var infos = random.runs(runCount)
        if hasManyTies {
            var generator = SeededGenerator(seed: seed &* 31 &+ 17)
            for index in infos.indices {
                let start = (RandomRuns.epochStart + Int64.random(in: 0..<6, using: &generator) * 3600) * 1_000_000
                let duration = infos[index].endUTC.microsecondsSinceEpoch - infos[index].startUTC.microsecondsSinceEpoch
                infos[index].startUTC = UTCInstant(microsecondsSinceEpoch: start)
                infos[index].endUTC = UTCInstant(microsecondsSinceEpoch: start + duration)
            }
        }
        let runs = infos.enumerated().map { StoredRun(sequence: Int64($0.offset + 1), info: $0.element) }
        var queries = (0..<queryCount).map { _ in random.query() }
        queries.append(RunQuery(filter: RunFilter(), paging: .all))
        queries.append(RunQuery(filter: RunFilter(), paging: .window(limit: 10_000, offset: 0)))
        return (runs, queries)
    }
}
