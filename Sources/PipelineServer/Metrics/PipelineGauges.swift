import PipelineCore
import PipelineStore
import Prometheus
import Synchronization

/// Per-pipeline gauges that let an alert catch a stale or failing pipeline, one series per
/// (`pipeline_name`, `environment`): last run start, last run duration and rowcount, runs stored.
///
/// They are recomputed from storage at every scrape, so they are right after a restart and after
/// runs are pruned; a pipeline that no longer has runs loses its series. Runs without a
/// `pipeline_name` have no series (nothing could alert on them by name); a null environment is
/// the label value `""`. At most ``maximumPipelines`` pipelines, the most recently run, are kept.
final class PipelineGauges: Sendable {
    /// The most pipelines reported, bounding the scrape's work and the series count.
    static let maximumPipelines = 500

    /// One pipeline's series.
    struct Key: Hashable, Sendable {
        var pipelineName: String
        var environment: String?

        var labels: [(String, String)] { [("pipeline_name", pipelineName), ("environment", environment ?? "")] }
    }

    /// What the gauges of one pipeline show.
    struct Reading: Hashable, Sendable {
        var key: Key
        var lastRunStart: UTCInstant
        var totalRuns: Int64
        /// The latest run's `elapsed_seconds` and `rowcount`; nil when the latest run could not be found.
        var lastDuration: Double?
        var lastRowcount: Int64?
    }

    private struct Series {
        var lastRunStart: Gauge
        var totalRuns: Gauge
        var lastDuration: Gauge?
        var lastRowcount: Gauge?
    }

    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[Key: Series]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Reads every pipeline's numbers from storage: one summaries call, then one single-run query
    /// per pipeline (at most ``maximumPipelines``).
    static func readings(from repository: some PipelineRunRepository) async throws -> [Reading] {
        var order: [Key] = []
        var readings: [Key: Reading] = [:]
        for summary in try await repository.summaries() {
            guard let name = summary.signature.pipelineName else { continue }
            let key = Key(pipelineName: name, environment: summary.signature.environment)
            if var reading = readings[key] {
                reading.totalRuns = Saturating.add(reading.totalRuns, summary.totalRuns)
                reading.lastRunStart = max(reading.lastRunStart, summary.lastRun)
                readings[key] = reading
            } else if order.count < maximumPipelines {
                order.append(key)
                readings[key] = Reading(key: key, lastRunStart: summary.lastRun, totalRuns: summary.totalRuns)
            }
        }
        var result: [Reading] = []
        result.reserveCapacity(order.count)
        for key in order {
            guard var reading = readings[key] else { continue }
            if let latest = try await latestRun(of: key, in: repository) {
                reading.lastDuration = latest.elapsedSeconds
                reading.lastRowcount = latest.rowcount
            }
            result.append(reading)
        }
        return result
    }

    /// The pipeline's run with the latest `start_utc` (in its environment, or without one).
    private static func latestRun(of key: Key, in repository: some PipelineRunRepository) async throws -> PipelineInfo? {
        let filter = RunFilter(pipelineName: .equals(key.pipelineName), environment: FieldCondition(exactly: key.environment))
        return try await repository.runs(matching: RunQuery(filter: filter, paging: .window(limit: 1, offset: 0))).runs.first?.info
    }

    /// Sets the gauges to `readings`, removing the series of pipelines no longer among them.
    func show(_ readings: [Reading]) {
        series.withLock { series in
            var kept: [Key: Series] = [:]
            for reading in readings {
                var entry = series.removeValue(forKey: reading.key) ?? makeSeries(for: reading.key)
                entry.lastRunStart.set(reading.lastRunStart.secondsSinceEpoch)
                entry.totalRuns.set(Double(reading.totalRuns))
                entry.lastDuration = update(entry.lastDuration, to: reading.lastDuration, descriptor: Self.lastRunDuration, key: reading.key)
                entry.lastRowcount = update(
                    entry.lastRowcount,
                    to: reading.lastRowcount.map(Double.init),
                    descriptor: Self.lastRunRowcount,
                    key: reading.key
                )
                kept[reading.key] = entry
            }
            for stale in series.values {
                for gauge in [stale.lastRunStart, stale.totalRuns] + [stale.lastDuration, stale.lastRowcount].compactMap({ $0 }) {
                    registry.unregisterGauge(gauge)
                }
            }
            series = kept
        }
    }

    private func makeSeries(for key: Key) -> Series {
        Series(
            lastRunStart: registry.makeGauge(descriptor: Self.lastRunStart, labels: key.labels),
            totalRuns: registry.makeGauge(descriptor: Self.runs, labels: key.labels)
        )
    }

    private func update(_ gauge: Gauge?, to value: Double?, descriptor: MetricNameDescriptor, key: Key) -> Gauge? {
        guard let value else {
            if let gauge { registry.unregisterGauge(gauge) }
            return nil
        }
        let target = gauge ?? registry.makeGauge(descriptor: descriptor, labels: key.labels)
        target.set(value)
        return target
    }

    // MARK: - Names

    private static var lastRunStart: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_last_run_start_timestamp",
            unitName: "seconds",
            helpText: "Start of the pipeline's latest run (start_utc), seconds since the Unix epoch"
        )
    }

    private static var lastRunDuration: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "pipeline_last_run_duration", unitName: "seconds", helpText: "elapsed_seconds of the pipeline's latest run")
    }

    private static var lastRunRowcount: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "pipeline_last_run_rowcount", unitName: "", helpText: "rowcount of the pipeline's latest run")
    }

    private static var runs: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "pipeline_runs", unitName: "", helpText: "Runs of the pipeline in storage")
    }
}
