import PipelineCore
import PipelineStore
import ServiceLifecycle

/// A repository that records the latency and outcome of every call to the one it wraps, as
/// `pipeline_storage_operation_duration_seconds{operation, outcome}`. Answers are passed through unchanged.
struct MeasuredRepository<Base: PipelineRunRepository>: PipelineRunRepository {
    let base: Base
    let metrics: ServiceMetrics

    var backendName: String { base.backendName }
    var services: [any Service] { base.services }

    func prepare() async throws {
        try await base.prepare()
    }

    func refreshStatistics() async throws {
        try await base.refreshStatistics()
    }

    func fieldLimits() throws -> FieldLimits {
        try base.fieldLimits()
    }

    func insert(_ run: PipelineInfo) async throws -> InsertOutcome {
        try await measure(.insert) { try await base.insert(run) }
    }

    func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] {
        try await measure(.insertBatch) { try await base.insert(contentsOf: runs) }
    }

    func insert(merged runs: [MergedRun]) async throws -> [InsertOutcome] {
        try await measure(.insertBatch) { try await base.insert(merged: runs) }
    }

    func runs(matching query: RunQuery) async throws -> RunPage {
        try await measure(.runs) { try await base.runs(matching: query) }
    }

    func summaries() async throws -> [PipelineSummary] {
        try await measure(.summaries) { try await base.summaries() }
    }

    func runningRuns() async throws -> [RunningRuns] {
        try await measure(.runningRuns) { try await base.runningRuns() }
    }

    func count(matching filter: RunFilter) async throws -> Int {
        try await measure(.countRuns) { try await base.count(matching: filter) }
    }

    func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample] {
        try await measure(.samples) { try await base.samples(matching: filter, limit: limit) }
    }

    func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        try await measure(.historySamples) { try await base.historySamples(matching: filter) }
    }

    func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int {
        try await measure(.countRunsBefore) { try await base.countRuns(startedBefore: cutoff) }
    }

    func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        try await measure(.deleteRuns) { try await base.deleteRuns(startedBefore: cutoff, limit: limit) }
    }

    func checkHealth() async throws {
        try await measure(.health) { try await base.checkHealth() }
    }

    func replicaStates() async -> [ReplicaState] {
        await base.replicaStates()
    }

    func latestRun(withID runID: String) async throws -> StoredRun? {
        try await measure(.runs) { try await base.latestRun(withID: runID) }
    }

    private func measure<Value>(_ operation: StorageOperation, _ body: () async throws -> Value) async throws -> Value {
        let start = ContinuousClock.now
        do {
            let result = try await body()
            metrics.recordStorageOperation(operation, succeeded: true, duration: ContinuousClock.now - start)
            return result
        } catch {
            metrics.recordStorageOperation(operation, succeeded: false, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
