/// Collects concurrent writes and hands them to one commit at a time, so that one durable
/// flush (an fsync, a transaction) covers every write that was waiting.
///
/// While a commit runs, new writes queue up; when it finishes, the next commit takes all of them.
/// One write's failure (a conflict) does not fail the others in its batch. An operation that must
/// not overlap any commit (rewriting a file) runs between two commits through `exclusively(_:)`.
public actor GroupCommitter<Item: Sendable, Output: Sendable> {
    public typealias Commit = @Sendable ([Item]) async -> [Result<Output, any Error>]

    private var pending: [(item: Item, continuation: CheckedContinuation<Output, any Error>)] = []
    /// Whether a commit or an exclusive operation has the turn.
    private var isDraining = false
    private var exclusiveWaiters: [CheckedContinuation<Void, Never>] = []
    private let commit: Commit
    private let onBatch: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - onBatch: called with the size of each batch (for metrics).
    ///   - commit: commits a batch and returns one result per item, in order.
    public init(onBatch: @escaping @Sendable (Int) -> Void = { _ in }, commit: @escaping Commit) {
        self.commit = commit
        self.onBatch = onBatch
    }

    /// Queues a write and returns its result once the batch holding it is committed.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((item, continuation))
            if !isDraining {
                isDraining = true
                Task { await self.drain() }
            }
        }
    }

    /// Runs `operation` while no commit runs: after the commit in progress, if any, and before the
    /// next one. Writes submitted meanwhile wait and are committed after it.
    public func exclusively<Value: Sendable>(_ operation: @Sendable () async throws -> Value) async throws -> Value {
        if isDraining {
            await withCheckedContinuation { exclusiveWaiters.append($0) }
        } else {
            isDraining = true
        }
        defer { handOver() }
        return try await operation()
    }

    private func drain() async {
        while exclusiveWaiters.isEmpty, !pending.isEmpty {
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            onBatch(batch.count)
            let results = await commit(batch.map(\.item))
            for (index, entry) in batch.enumerated() {
                if index < results.count {
                    entry.continuation.resume(with: results[index])
                } else {
                    entry.continuation.resume(throwing: StorageError.unavailable("the write was not committed"))
                }
            }
        }
        handOver()
    }

    /// Passes the turn to the next exclusive operation, else to the writes waiting, else ends it.
    private func handOver() {
        if !exclusiveWaiters.isEmpty {
            exclusiveWaiters.removeFirst().resume()
        } else if !pending.isEmpty {
            Task { await self.drain() }
        } else {
            isDraining = false
        }
    }
}
