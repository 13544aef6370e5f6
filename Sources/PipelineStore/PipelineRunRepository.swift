public import PipelineCore
public import ServiceLifecycle

/// Where pipeline runs are kept. The HTTP layer talks only to this protocol; every backend
/// (JSONL, SQLite, PostgreSQL) gives the same answers for the same calls, which the shared
/// contract suite checks.
///
/// Every requirement is implemented by every backend and forwarded by every wrapper: there are
/// no default implementations, so a wrapper cannot drop a behaviour by forgetting it.
public protocol PipelineRunRepository: Sendable {
    /// The backend's short name, as `/health` reports it (`jsonl`, `sqlite`, `postgres`).
    var backendName: String { get }

    /// Long-running work the repository needs while it is used (a connection pool's `run()`),
    /// to be run once by the owner's service group; empty when there is none.
    var services: [any Service] { get }

    /// Readies the storage once `services` are running: applies migrations to a table the
    /// service owns, or checks that a mapped table has every column. Throws a
    /// ``ConfigurationError`` naming the setting when the storage cannot be used.
    func prepare() async throws

    /// Brings what the database plans queries with up to date after a bulk load (`import`,
    /// `migrate`): the planner's statistics, and on PostgreSQL the visibility map that lets a
    /// covering index answer without reading the table. Does nothing where there is nothing to
    /// refresh (JSONL, tables the service does not own).
    func refreshStatistics() async throws

    /// Stores one run durably before returning.
    ///
    /// A run whose key (``PipelineInfo/runKey``: its id) is already stored with identical content
    /// is not stored again: the stored run comes back as `.existing`. A stored run still `running`
    /// is replaced by any other record of it (its end, or a newer running record): `.updated`.
    /// A finished run with different content throws ``StorageError/conflict(_:)``. A run that would add a pipeline signature beyond the
    /// repository's ``RepositoryLimits/maximumSignatures`` throws ``StorageError/tooManySignatures(limit:)``.
    func insert(_ run: PipelineInfo) async throws -> InsertOutcome

    /// Stores several runs atomically (all or none), each with the rules of `insert(_:)`.
    /// A conflict on any run stores none of them.
    func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome]

    /// Stores runs that were merged from what was stored under their ids (OpenLineage events
    /// applied to a stored run), atomically (all or none), each with the rules of `insert(_:)` and
    /// only while the run stored under its id is still the one its merge started from
    /// (``MergedRun/basis``). When another write came between, nothing is stored and
    /// ``StorageError/changed(_:)`` is thrown, for the caller to read the run again and merge anew:
    /// so two events of one run sent at the same time never overwrite each other.
    func insert(merged runs: [MergedRun]) async throws -> [InsertOutcome]

    /// The runs matching the query's filters, in result order, paged as the query says,
    /// with the number of matches regardless of paging.
    func runs(matching query: RunQuery) async throws -> RunPage

    /// How many runs match the filter.
    func count(matching filter: RunFilter) async throws -> Int

    /// One summary per pipeline signature, `last_run` descending, then by signature.
    func summaries() async throws -> [PipelineSummary]

    /// The runs still `running`, counted by signature, with the oldest start of each: what health
    /// and the pipeline cap need of them, however many there are, without reading them.
    func runningRuns() async throws -> [RunningRuns]

    /// The first `limit` runs matching the filter, in result order, as samples for insight.
    func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample]

    /// Every run matching the filter, in result order, as the few values history buckets need.
    func historySamples(matching filter: RunFilter) async throws -> [HistorySample]

    /// How many runs started before `cutoff` (retention: the runs a prune would delete).
    func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int

    /// Deletes at most `limit` runs that started before `cutoff`, oldest first (`start_utc`, then
    /// insertion order), durably and all at once, and returns how many it deleted. Every answer
    /// afterwards (queries, summaries, idempotency keys) is as if they had never been stored.
    func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int

    /// Throws when the backend cannot serve requests right now (database down, file unusable).
    func checkHealth() async throws

    /// The read replicas' reachability and lag, for `/health` and `/metrics`; empty without any.
    func replicaStates() async -> [ReplicaState]

    /// The run stored under `runID` as a writer must see it: read where writes go, never from a
    /// replica that may lag (a write that merges into a stored run, as OpenLineage events do).
    func latestRun(withID runID: String) async throws -> StoredRun?

    /// What the storage can hold beyond what validation accepts (``FieldLimits``): the limits of
    /// an existing table's columns, read when it was prepared; ``FieldLimits/none`` where there
    /// are none. Every insert refuses a run past them with a ``ValidationError`` (422) before
    /// storing anything; tools check lines against them first (`import`).
    func fieldLimits() throws -> FieldLimits
}

/// Bounds a repository keeps whatever its clients send.
public struct RepositoryLimits: Sendable, Hashable {
    /// The most distinct pipeline signatures stored: every answer listing pipelines (`/pipelines`,
    /// the dashboard, metrics) grows with their number, so a client inventing names cannot make
    /// each of them unbounded. Runs of known signatures are always accepted.
    public var maximumSignatures: Int

    public init(maximumSignatures: Int = RepositoryLimits.defaultMaximumSignatures) {
        self.maximumSignatures = maximumSignatures
    }

    public static let defaultMaximumSignatures = 10_000
    public static let standard = RepositoryLimits()
}

/// What an insert did.
public enum InsertOutcome: Sendable, Hashable {
    /// The run was new and is now stored.
    case created(StoredRun)
    /// The identical run was already stored; nothing new was written.
    case existing(StoredRun)
    /// The run was stored as `running` and this record replaced it (its end, or a newer running record).
    case updated(StoredRun)

    public var storedRun: StoredRun {
        switch self {
        case .created(let run), .existing(let run), .updated(let run): run
        }
    }

    /// Whether the write stored something new (a new run, or a new record of a running one).
    public var isWritten: Bool {
        if case .existing = self { return false }
        return true
    }

    /// What the write did, as logs and answers name it: `created`, `existing` or `updated`.
    public var label: String {
        switch self {
        case .created: "created"
        case .existing: "existing"
        case .updated: "updated"
        }
    }

    /// The run this write adds to its signature's totals: a finished run newly stored (runs
    /// still `running` count nowhere until they end).
    public var finishedRun: PipelineInfo? {
        isWritten && !storedRun.info.isRunning ? storedRun.info : nil
    }

    public var isCreated: Bool {
        if case .created = self { return true }
        return false
    }
}

/// A run merged from the run stored under its id, and that stored run: its write must find it
/// still stored (``PipelineRunRepository/insert(merged:)``).
public struct MergedRun: Sendable, Hashable {
    /// The run to store.
    public var run: PipelineInfo
    /// The run stored under its id when the merge read it; nil when none was.
    public var basis: PipelineInfo?

    public init(_ run: PipelineInfo, basis: PipelineInfo?) {
        (self.run, self.basis) = (run, basis)
    }
}

/// One write waiting for a group commit: a single run, a batch that is stored all or none, or a
/// batch of merged runs, stored all or none and only over the runs they were merged from.
public enum WriteRequest: Sendable {
    case one(PipelineInfo)
    case all([PipelineInfo])
    case merged([MergedRun])

    public var runs: [PipelineInfo] {
        switch self {
        case .one(let run): [run]
        case .all(let runs): runs
        case .merged(let runs): runs.map(\.run)
        }
    }

    /// Whether the runs must find what their merges read (the write looks before it inserts).
    var isMerged: Bool {
        if case .merged = self { return true }
        return false
    }

    /// What the write of `runs[index]` expects stored under its id, brought into the form the
    /// backend stores (`stored`), so that it compares with what the backend reads back; nil when
    /// any stored run is decided as usual.
    func expectation(at index: Int, stored form: (PipelineInfo) -> PipelineInfo) -> StoredExpectation? {
        guard case .merged(let runs) = self else { return nil }
        return StoredExpectation(runs[index].basis.map(form))
    }
}

/// The run a merged write expects stored under its key (nil: none).
struct StoredExpectation: Sendable, Hashable {
    let run: PipelineInfo?

    init(_ run: PipelineInfo?) {
        self.run = run
    }

    /// Throws ``StorageError/changed(_:)`` unless `stored` is the expected run.
    func check(_ stored: StoredRun?, key: RunKey?, incoming: PipelineInfo) throws(StorageError) {
        guard stored?.info != run else { return }
        throw StorageError.changed(key ?? RunKey(pipelineName: incoming.pipelineName, dateCode: incoming.dateCode, runID: incoming.runID))
    }
}

extension PipelineRunRepository {
    /// Idempotency decision shared by every backend, given what is stored under a run's key: the
    /// run is already there (identical), replaces a stored run that is still `running`, or is a
    /// conflict with a finished one.
    public static func decision(forExisting stored: StoredRun, incoming: PipelineInfo) throws(StorageError) -> KeyedWrite {
        if stored.info == incoming { return .unchanged(stored) }
        if stored.info.isRunning { return .replaces(stored) }
        // A run stored from its end alone, before its start was known, gets that start.
        if stored.info.isCompleted(startBy: incoming) { return .replacesFinished(stored) }
        // A running record of this very run (same start, same pipeline) after it ended: a start
        // sent again, or read again from a data file that holds both of its records. The run is
        // further along; nothing changes, so loading such a file twice stores it once.
        if incoming.isRunning, incoming.startUTC == stored.info.startUTC, incoming.signature == stored.info.signature {
            return .unchanged(stored)
        }
        throw StorageError.conflict(incoming.runKey ?? RunKey(pipelineName: nil, dateCode: incoming.dateCode, runID: nil))
    }
}

/// What a write does to the run stored under its key (``PipelineRunRepository/decision(forExisting:incoming:)``).
public enum KeyedWrite: Sendable, Hashable {
    /// The identical run is stored: nothing to write.
    case unchanged(StoredRun)
    /// The stored run is still running: the write replaces it.
    case replaces(StoredRun)
    /// The stored run is finished but its start was not known (``PipelineInfo/isCompleted(startBy:)``):
    /// the write replaces it, and its signature's totals are folded again without it.
    case replacesFinished(StoredRun)
}

/// How many runs of a bulk store were new, already stored, or in conflict.
public struct BulkInsertCounts: Sendable, Hashable {
    public var created = 0
    public var existing = 0
    public var conflicts = 0
    /// Records that completed (or replaced) a run stored as `running`.
    public var updated = 0
    /// Runs the storage cannot hold (``PipelineRunRepository/fieldLimits()``), not stored.
    public var invalid = 0

    mutating func count(_ outcome: InsertOutcome) {
        switch outcome {
        case .created: created += 1
        case .updated: updated += 1
        case .existing: existing += 1
        }
    }
}

extension PipelineRunRepository {
    /// Only PostgreSQL reads from replicas.
    public func replicaStates() async -> [ReplicaState] { [] }

    /// Without replicas every read sees every write.
    public func latestRun(withID runID: String) async throws -> StoredRun? {
        try await runs(matching: .run(withID: runID)).runs.first
    }

    /// Stores a batch in one atomic call; if any run in it conflicts, stores its runs one by one so
    /// the others still land and the conflicts are counted (bulk tools: import, migrate).
    public func insertCounting(_ runs: [PipelineInfo]) async throws -> BulkInsertCounts {
        var counts = BulkInsertCounts()
        guard !runs.isEmpty else { return counts }
        do {
            for outcome in try await insert(contentsOf: runs) { counts.count(outcome) }
        } catch let error as StorageError where error.conflictingKey != nil {
            try await insertOneByOne(runs, counting: &counts)
        } catch is ValidationError {
            // A run the storage cannot hold (a caller that did not check ``fieldLimits()`` first).
            try await insertOneByOne(runs, counting: &counts)
        }
        return counts
    }

    private func insertOneByOne(_ runs: [PipelineInfo], counting counts: inout BulkInsertCounts) async throws {
        for run in runs {
            do {
                counts.count(try await insert(run))
            } catch let error as StorageError where error.conflictingKey != nil {
                counts.conflicts += 1
            } catch is ValidationError {
                counts.invalid += 1
            }
        }
    }
}
