public import PipelineCore
public import PipelineStore
public import ServiceLifecycle

/// A test double that passes every call to `base` unless it implements the call itself: a double
/// states only the behaviour it changes (a failing read, a stuck summary, a flaky delete).
public protocol ForwardingRepository: PipelineRunRepository {
    var base: any PipelineRunRepository { get }
}

extension ForwardingRepository {
    public var backendName: String { base.backendName }
    public var services: [any Service] { base.services }
    public func prepare() async throws { try await base.prepare() }
    public func refreshStatistics() async throws { try await base.refreshStatistics() }
    public func fieldLimits() throws -> FieldLimits { try base.fieldLimits() }
    public func insert(_ run: PipelineInfo) async throws -> InsertOutcome { try await base.insert(run) }
    public func insert(contentsOf runs: [PipelineInfo]) async throws -> [InsertOutcome] { try await base.insert(contentsOf: runs) }
    public func insert(merged runs: [MergedRun]) async throws -> [InsertOutcome] { try await base.insert(merged: runs) }
    public func runs(matching query: RunQuery) async throws -> RunPage { try await base.runs(matching: query) }
    public func count(matching filter: RunFilter) async throws -> Int { try await base.count(matching: filter) }
    public func summaries() async throws -> [PipelineSummary] { try await base.summaries() }
    public func runningRuns() async throws -> [RunningRuns] { try await base.runningRuns() }
    public func checkHealth() async throws { try await base.checkHealth() }
    public func samples(matching filter: RunFilter, limit: Int) async throws -> [RunSample] {
        try await base.samples(matching: filter, limit: limit)
    }
    public func historySamples(matching filter: RunFilter) async throws -> [HistorySample] {
        try await base.historySamples(matching: filter)
    }
    public func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int { try await base.countRuns(startedBefore: cutoff) }
    public func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        try await base.deleteRuns(startedBefore: cutoff, limit: limit)
    }
}
