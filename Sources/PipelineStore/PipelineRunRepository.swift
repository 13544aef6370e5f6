public import PipelineCore
public import ServiceLifecycle

/// Where pipeline runs are kept. The HTTP layer talks only to this protocol; every backend
/// (JSONL, SQLite, PostgreSQL) gives the same answers for the same calls, which the shared
/// contract suite checks.
public protocol PipelineRunRepository: Sendable {
    /// The backend's short name, as `/health` reports it (`jsonl`, `sqlite`, `postgres`).
    var backendName: String { get }

    /// Stores one run durably before returning.
    ///
    /// A run whose (`pipeline_name`, `date_code`) is already stored with identical content is not
    /// stored again: the stored run comes back as `.existing`. The same key with different content
    /// throws ``StorageError/conflict(_:)``.
    func insert(_ run: PipelineInfo) async throws -> InsertOutcome

    /// Stores several runs atomically (all or none), each with the idempotency rule of `insert(_:)`.
    /// A conflict on any run stores none of them.
    func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome]

    /// The runs matching the query's filters, in result order, paged as the query says,
    /// with the number of matches regardless of paging.
    func runs(matching query: RunQuery) async throws -> RunPage

    /// One summary per pipeline signature, `last_run` descending (SPEC §2.2).
    func summaries() async throws -> [PipelineSummary]

    /// The most recently stored run with this date code, if any.
    func run(dateCode: String) async throws -> PipelineInfo?

    /// The `limit` most recent runs of exactly this signature (a missing field matches only a
    /// missing value), in result order, as samples for insight.
    func recentSamples(of signature: PipelineSignature, limit: Int) async throws -> [RunSample]

    /// How many runs of exactly this signature started at or after `since`.
    func countRuns(of signature: PipelineSignature, since: UTCInstant) async throws -> Int

    /// Every run matching the filter, in result order, as the few values history buckets need.
    func historySamples(matching filter: RunFilter) async throws -> [HistorySample]

    /// How many runs started before `cutoff` (retention: the runs a prune would delete).
    func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int

    /// Deletes at most `limit` runs that started before `cutoff`, oldest first (`start_utc`, then
    /// insertion order), durably and all at once, and returns how many it deleted. Every answer
    /// afterwards (queries, summaries, `run(dateCode:)`, idempotency keys) is as if they had never
    /// been stored.
    func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int

    /// Throws when the backend cannot serve requests right now (database down, file unusable).
    func checkHealth() async throws

    /// Long-running work the repository needs while it is used (a connection pool's `run()`),
    /// to be run by the application's service group.
    var services: [any Service] { get }

    /// Readies the storage once `services` are running: applies migrations to a table the
    /// service owns, or checks that a mapped table has every column. Throws a
    /// ``ConfigurationError`` naming the setting when the storage cannot be used.
    func prepare() async throws

    /// Brings what the database plans queries with up to date after a bulk load (`import`,
    /// `migrate`): the planner's statistics, and on PostgreSQL the visibility map that lets a
    /// covering index answer without reading the table. Only on tables the service owns.
    func refreshStatistics() async throws
}

extension PipelineRunRepository {
    public var services: [any Service] { [] }
    public func prepare() async throws {}
    public func refreshStatistics() async throws {}
}

/// What an insert did.
public enum InsertOutcome: Sendable, Hashable {
    /// The run was new and is now stored.
    case created(StoredRun)
    /// The identical run was already stored; nothing new was written.
    case existing(StoredRun)

    public var storedRun: StoredRun {
        switch self {
        case .created(let run), .existing(let run): run
        }
    }

    public var isCreated: Bool {
        if case .created = self { return true }
        return false
    }
}

/// One write waiting for a group commit: a single run, or a batch that is stored all or none.
public enum WriteRequest: Sendable {
    case one(PipelineInfo)
    case all([PipelineInfo])

    public var runs: [PipelineInfo] {
        switch self {
        case .one(let run): [run]
        case .all(let runs): runs
        }
    }
}

extension PipelineRunRepository {
    /// Idempotency decision shared by every backend: given what is stored under a run's key,
    /// the run is either already there (identical) or a conflict.
    public static func outcome(forExisting stored: StoredRun, incoming: PipelineInfo) throws(StorageError) -> InsertOutcome {
        guard stored.info == incoming else {
            throw StorageError.conflict(incoming.runKey ?? RunKey(pipelineName: "", dateCode: incoming.dateCode))
        }
        return .existing(stored)
    }
}

/// How many runs of a bulk store were new, already stored, or in conflict.
public struct BulkInsertCounts: Sendable, Hashable {
    public var created = 0
    public var existing = 0
    public var conflicts = 0
}

extension PipelineRunRepository {
    /// Stores a batch in one atomic call; if any run in it conflicts, stores its runs one by one so
    /// the others still land and the conflicts are counted (bulk tools: import, migrate).
    public func insertCounting(_ runs: [PipelineInfo]) async throws -> BulkInsertCounts {
        var counts = BulkInsertCounts()
        guard !runs.isEmpty else { return counts }
        do {
            for outcome in try await insert(contentsOf: runs) {
                if outcome.isCreated { counts.created += 1 } else { counts.existing += 1 }
            }
        } catch let error as StorageError where error.conflictingKey != nil {
            for run in runs {
                do {
                    if try await insert(run).isCreated { counts.created += 1 } else { counts.existing += 1 }
                } catch let error as StorageError where error.conflictingKey != nil {
                    counts.conflicts += 1
                }
            }
        }
        return counts
    }
}
