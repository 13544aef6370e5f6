public import Logging
import NIOPosix
public import PipelineCore
public import ServiceLifecycle
import Synchronization

/// The default backend: one JSON object per line in a plain file that other tools (and the old
/// service) can read.
///
/// The file is read once at start-up; queries are served from memory. A write returns only after
/// its line is fsync'ed; concurrent writes are group-committed, so one fsync covers all of them.
/// The file is locked exclusively while the repository is open.
public final class JSONLRunRepository: PipelineRunRepository {
    public let backendName = "jsonl"
    public var services: [any Service] { [] }
    let file: JSONLFile
    let index: SharedRunIndex
    let logger: Logger
    let committer: GroupCommitter<WriteRequest, [InsertOutcome]>

    /// Opens, locks and loads the file at `path` (created if missing).
    ///
    /// Corrupt lines are reported in the log with their numbers and left in the file; a torn last
    /// line (a crash mid-write) is moved to `<path>.torn-<time>` and cut from the file.
    ///
    /// With `access: .readOnly` the file is read as it is now, beside a service that holds it: no
    /// lock, no repair, and every write answers ``StorageError/readOnly``.
    public init(
        path: String,
        limits: RepositoryLimits = .standard,
        access: StorageAccess = .readWrite,
        logger: Logger,
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws(ConfigurationError) {
        let file = access == .readOnly ? try JSONLFile(readingSnapshotOf: path) : try JSONLFile(path: path)
        var index = RunIndex()
        // Stored runs take 300–700 bytes a line: room for them all up front spares the indexes their growth.
        index.reserveCapacity(Int(clamping: file.committedSize / 400))
        let report = try file.load(
            decode: { JSONLRunRepository.storedRun(from: $0) },
            store: { run in index.recordDeferringOrder(run) }
        )
        index.restoreOrder()
        if !report.corruptLines.isEmpty {
            let shown = report.corruptLines.prefix(20).map(String.init).joined(separator: ", ")
            let more = report.corruptLines.count > 20 ? " and \(report.corruptLines.count - 20) more" : ""
            logger.warning(
                "\(report.corruptLines.count) line(s) of the data file are not valid runs and were skipped (lines \(shown)\(more)); they are left in the file unchanged",
                metadata: ["path": "\(path)"]
            )
        }
        if !report.tornBytes.isEmpty {
            let sidecar = "\(path).torn-\(JSONLFile.secondsSinceEpoch())"
            let saved = JSONLFile.save(report.tornBytes, to: sidecar)
            logger.warning(
                "The data file ended in a torn line (\(report.tornBytes.count) bytes, an interrupted write); it was cut from the file\(saved ? " and saved to \(sidecar)" : "")",
                metadata: ["path": "\(path)"]
            )
        }
        // Records, not runs: a run reported running and then finished has two lines.
        logger.info("Loaded \(report.runs) record(s) from the data file", metadata: ["path": "\(path)"])
        self.file = file
        self.logger = logger
        let sharedIndex = SharedRunIndex(index)
        self.index = sharedIndex
        let limit = limits.maximumSignatures
        self.committer = GroupCommitter(onBatch: onBatch) { requests in
            await Self.commit(requests, file: file, index: sharedIndex, limit: limit, logger: logger)
        }
    }

    /// Releases the file and its lock. Writes still queued fail.
    public func close() {
        file.close()
    }

    // MARK: - PipelineRunRepository

    /// Nothing to ready: the file was opened, locked and read when the repository was made.
    public func prepare() async throws {}

    /// Nothing to refresh: queries run on the in-memory index.
    public func refreshStatistics() async throws {}

    public func insert(_ run: PipelineInfo) async throws -> InsertOutcome {
        guard let outcome = try await committer.submit(.one(run)).first else { throw StorageError.unavailable("the write was not committed") }
        return outcome
    }

    public func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await committer.submit(.all(runs))
    }

    public func insert(merged runs: [MergedRun]) async throws -> [InsertOutcome] {
        guard !runs.isEmpty else { return [] }
        return try await committer.submit(.merged(runs))
    }

    public func runs(matching query: RunQuery) async throws -> RunPage {
        index.read(query.filter) { $0.evaluate(query) }
    }

    public func count(matching filter: RunFilter) async throws -> Int {
        index.read(filter) { $0.count(matching: filter) }
    }

    public func summaries() async throws -> [PipelineSummary] {
        index.lock.withLock { $0.summaries() }
    }

    public func runningRuns() async throws -> [RunningRuns] {
        index.lock.withLock { index in
            index.indexOpenRuns()
            return index.runningRuns()
        }
    }

    public func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample] {
        index.read(filter) { $0.samples(matching: filter, limit: limit) }
    }

    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        index.read(filter) { $0.historySamples(matching: filter) }
    }

    public func checkHealth() async throws {
        guard file.isUsable() else { throw StorageError.unavailable("the data file is not open") }
    }

    // MARK: - Group commit

    /// Decides every request against the index, writes all new lines with one fsync, then makes
    /// them visible to readers. Readers never see a run that is not yet on disk.
    private static func commit(
        _ requests: [WriteRequest],
        file: JSONLFile,
        index: SharedRunIndex,
        limit: Int,
        logger: Logger
    ) async -> [Result<[InsertOutcome], any Error>] {
        var results: [Result<[InsertOutcome], any Error>] = []
        var newRuns: [PipelineInfo] = []
        index.lock.withLock { index in
            // The latest record of each id written by this group so far, and by this request.
            var pending: [String: StoredRun] = [:]
            var nextSequence = index.nextSequence
            var nextOpenSequence = index.nextOpenSequence
            var admission = SignatureAdmission(limit: limit, knownCount: index.signatureCount) { [index] in index.hasSignature($0) }
            for request in requests {
                var outcomes: [InsertOutcome] = []
                var staged: [String: StoredRun] = [:]
                var stagedRuns: [PipelineInfo] = []
                var finished: Int64 = 0
                var open: Int64 = 0
                do {
                    try admission.admit(request.runs)
                    for (position, incoming) in request.runs.enumerated() {
                        let run = incoming.normalized
                        let id = run.runID ?? ""
                        var replaces = false
                        let current = staged[id] ?? pending[id] ?? index.run(withID: id)
                        try request.expectation(at: position, stored: \.normalized)?.check(current, key: run.runKey, incoming: run)
                        if let stored = current {
                            switch try Self.decision(forExisting: stored, incoming: run) {
                            case .unchanged(let stored):
                                outcomes.append(.existing(stored))
                                continue
                            case .replaces, .replacesFinished: replaces = true
                            }
                        }
                        // A finished run takes the next sequence; a running one is numbered among the open runs.
                        let stored = StoredRun(sequence: run.isRunning ? nextOpenSequence + open : nextSequence + finished, info: run)
                        if run.isRunning { open += 1 } else { finished += 1 }
                        staged[id] = stored
                        stagedRuns.append(run)
                        outcomes.append(replaces ? .updated(stored) : .created(stored))
                    }
                    pending.merge(staged) { _, latest in latest }
                    newRuns.append(contentsOf: stagedRuns)
                    nextSequence += finished
                    nextOpenSequence += open
                    results.append(.success(outcomes))
                } catch {
                    results.append(.failure(error))
                }
            }
        }
        guard !newRuns.isEmpty else { return results }

        var writer = JSONWriter(reservingCapacity: newRuns.count * 640)
        for run in newRuns {
            run.write(to: &writer)
            writer.endLine()
        }
        let bytes = writer.bytes
        do {
            try await NIOThreadPool.singleton.runIfActive { try file.append(bytes) }
        } catch {
            logger.error("Appending to the data file failed: \(error)", metadata: ["path": "\(file.path)", "runs": "\(newRuns.count)"])
            let failure: any Error = (error as? StorageError) ?? StorageError.unavailable("the data file could not be written")
            return results.map { result in result.flatMap { _ in .failure(failure) } }
        }
        index.lock.withLock { index in
            index.record(contentsOf: newRuns)
        }
        return results
    }
}

/// The in-memory index behind a lock, shared by readers and the group committer.
final class SharedRunIndex: Sendable {
    let lock: Mutex<RunIndex>

    init(_ index: consuming RunIndex) {
        lock = Mutex(index)
    }

    /// Reads the index under its lock, building the date-code index first when the filter asks
    /// for a date code.
    func read<Value>(_ filter: RunFilter, _ body: (RunIndex) -> Value) -> Value {
        lock.withLock { index in
            if filter.dateCode != nil { index.indexDateCodes() }
            if filter.selectsOnlyRunning { index.indexOpenRuns() }
            return body(index)
        }
    }
}

extension JSONLRunRepository {
    /// A line holds whatever validation accepts: no limits beyond it.
    public func fieldLimits() -> FieldLimits { .none }
}
