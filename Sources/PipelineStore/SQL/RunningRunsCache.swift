import PipelineCore
import Synchronization

/// The runs still running by signature (``PipelineRunRepository/runningRuns()``), kept between
/// the writes that change them. Health reads them on every `/pipelines`, `/ui` and `/metrics`
/// answer, and counting them walks every running row: thousands of runs left running would
/// otherwise cost every such answer as much.
///
/// A write of this process that stores, replaces or ends a running run (or a prune) drops them
/// before its answer goes out, so the next read counts again; writes of another process sharing
/// the table (a second instance, `import`) show within ``freshness``.
final class RunningRunsCache: Sendable {
    /// The longest the runs are kept without this process writing.
    static let freshness: Duration = .seconds(1)

    private struct State {
        var generation: UInt64 = 0
        var kept: (runs: [RunningRuns], generation: UInt64, readAt: ContinuousClock.Instant)?
    }

    private let state = Mutex(State())

    /// The kept runs when this process changed none since they were read, within ``freshness``;
    /// else `read()`'s, kept unless a write came while it read.
    func runs(_ read: () async throws -> [RunningRuns]) async throws -> [RunningRuns] {
        let now = ContinuousClock.now
        let (generation, kept) = state.withLock { state -> (UInt64, [RunningRuns]?) in
            guard let kept = state.kept, kept.generation == state.generation, now - kept.readAt < Self.freshness else {
                return (state.generation, nil)
            }
            return (state.generation, kept.runs)
        }
        if let kept { return kept }
        let runs = try await read()
        state.withLock { state in
            if state.generation == generation { state.kept = (runs, generation, now) }
        }
        return runs
    }

    /// After a group commit: drops the kept runs when a write stored a running run or replaced a
    /// stored one (its end, or a newer record of it).
    func noteCommitted(_ results: [Result<[InsertOutcome], any Error>]) {
        let touchesRunning = results.contains { result in
            guard case .success(let outcomes) = result else { return false }
            return outcomes.contains { outcome in
                if case .updated = outcome { return true }
                return outcome.isWritten && outcome.storedRun.info.isRunning
            }
        }
        if touchesRunning { invalidate() }
    }

    /// Drops the kept runs (after a prune, which may delete running runs).
    func invalidate() {
        state.withLock { $0.generation &+= 1 }
    }
}
