import HTTPTypes
import Metrics
public import Prometheus
import Synchronization

/// The metrics one application records, served at `GET /metrics` in the Prometheus text format.
///
/// Each application has a registry of its own instead of the process-wide `MetricsSystem`, so an
/// application counts only its own traffic — and so do the tests, which build many in one process.
/// HTTP and storage metrics are recorded through the swift-metrics API over that registry.
public final class ServiceMetrics: Sendable {
    /// Where every metric of this application is kept.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requestsInFlight: Meter
    /// Made at the first group commit: only the JSONL backend has them, and only it shows the metric.
    private let commitBatchSize = Mutex<Recorder?>(nil)
    let pipelineGauges: PipelineGauges
    let replicaGauges: ReplicaGauges
    /// The process metrics and build information; nil until ``describe(backend:)`` names the backend.
    private let process = Mutex<ProcessMetrics?>(nil)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.storageOperationDuration] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets[MetricName.commitBatchSize] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]
        self.factory = factory
        self.requestsInFlight = Meter(label: MetricName.requestsInFlight, factory: factory)
        self.pipelineGauges = PipelineGauges(registry: registry)
        self.replicaGauges = ReplicaGauges(registry: registry)
    }

    // MARK: - HTTP

    private static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    func requestStarted() {
        requestsInFlight.increment()
    }

    func requestFinished(method: HTTPRequest.Method, route: String, status: Int, duration: Duration) {
        requestsInFlight.decrement()
        // Any token is a valid method, so a client could otherwise mint a new series per request.
        let methodLabel = Self.knownMethods.contains(method) ? method.rawValue : "other"
        let dimensions = [("method", methodLabel), ("route", route), ("status", String(status))]
        Counter(label: MetricName.requests, dimensions: dimensions, factory: factory).increment()
        Timer(label: MetricName.requestDuration, dimensions: dimensions, factory: factory).record(duration: duration)
    }

    // MARK: - Storage

    /// Records how long one repository call took and whether it succeeded.
    func recordStorageOperation(_ operation: StorageOperation, succeeded: Bool, duration: Duration) {
        let dimensions = [("operation", operation.rawValue), ("outcome", succeeded ? "ok" : "error")]
        Timer(label: MetricName.storageOperationDuration, dimensions: dimensions, factory: factory).record(duration: duration)
    }

    /// Records the size of one group commit (runs made durable by one fsync). Pass
    /// ``commitBatchObserver`` as the `onBatch` hook of `JSONLRunRepository`.
    public func recordCommitBatch(size: Int) {
        let recorder = commitBatchSize.withLock { recorder in
            if let recorder { return recorder }
            let made = Recorder(label: MetricName.commitBatchSize, aggregate: true, factory: factory)
            recorder = made
            return made
        }
        recorder.record(size)
    }

    /// Adds the process metrics and `pipeline_service_build_info` for this backend (once).
    func describe(backend: String) {
        process.withLock { process in
            if process == nil { process = ProcessMetrics(registry: registry, version: pipelineServiceVersion, backend: backend) }
        }
    }

    /// ``recordCommitBatch(size:)`` as a closure, for a repository's `onBatch` hook.
    public var commitBatchObserver: @Sendable (Int) -> Void {
        { [self] size in recordCommitBatch(size: size) }
    }

    // MARK: - OpenLineage

    /// Counts one OpenLineage event by its kind and what it did (`created`, `updated`, `existing`,
    /// `ignored`, or `not_stored` for job and dataset events).
    func recordLineageEvent(kind: String, outcome: String) {
        Counter(label: MetricName.lineageEvents, dimensions: [("kind", kind), ("outcome", outcome)], factory: factory).increment()
    }

    // MARK: - Exposition

    /// Every metric in the Prometheus text exposition format.
    func exposition() -> [UInt8] {
        process.withLock { $0 }?.refresh()
        return registry.emitToBuffer()
    }
}

/// The repository calls whose latency is measured.
enum StorageOperation: String, Sendable, CaseIterable {
    case insert
    case insertBatch = "insert_batch"
    case runs
    case summaries
    case runningRuns = "running_runs"
    case samples
    case countRuns = "count_runs"
    case historySamples = "history_samples"
    case countRunsBefore = "count_runs_before"
    case deleteRuns = "delete_runs"
    case health
}

/// The names of the metrics recorded through swift-metrics (the pipeline gauges name theirs in ``PipelineGauges``).
enum MetricName {
    static let requests = "http_requests_total"
    static let requestDuration = "http_request_duration_seconds"
    static let requestsInFlight = "http_requests_in_flight"
    static let storageOperationDuration = "pipeline_storage_operation_duration_seconds"
    static let commitBatchSize = "pipeline_storage_commit_batch_size"
    static let lineageEvents = "pipeline_lineage_events_total"
}
