import PipelineCore
import Synchronization

/// The runs a START (or RUNNING) reported that a table without a status column could not store,
/// kept in this process until their end arrives, so that the end is stored with its real start.
///
/// Bounded: past ``capacity`` the oldest is forgotten (its end is then stored from the end event
/// alone, as one that came without its START is). Several instances behind a load balancer each
/// keep their own: an end that reaches another instance than its START is stored the same way,
/// unless its event carries the nominal-time facet.
final class LineageStarts: Sendable {
    static let capacity = 10_000

    private struct State {
        var runs: [String: PipelineInfo] = [:]
        var order: [String] = []
        var firstKept = 0
    }

    private let state = Mutex(State())

    /// The running record kept for each of `ids` that has one.
    func runs(_ ids: some Sequence<String>) -> [String: PipelineInfo] {
        state.withLock { state in
            var found: [String: PipelineInfo] = [:]
            for id in ids { if let run = state.runs[id] { found[id] = run } }
            return found
        }
    }

    /// Keeps the runs still running, and forgets the runs of `ended`.
    func update(running: [String: PipelineInfo], ended: some Sequence<String>) {
        state.withLock { state in
            for id in ended { state.runs[id] = nil }
            for (id, run) in running {
                if state.runs.updateValue(run, forKey: id) == nil { state.order.append(id) }
            }
            // Forget the oldest past the capacity; ids already forgotten are skipped on the way.
            while state.runs.count > Self.capacity, state.firstKept < state.order.count {
                state.runs[state.order[state.firstKept]] = nil
                state.firstKept += 1
            }
            // The order outgrows the runs as runs end: keep it within twice the capacity.
            if state.order.count - state.firstKept > 2 * Self.capacity || state.firstKept > Self.capacity {
                state.order = state.order[state.firstKept...].filter { state.runs[$0] != nil }
                state.firstKept = 0
            }
        }
    }
}
