import PipelineCore
import PipelineStore
import Prometheus
import Synchronization

/// Per-pipeline gauges that let an alert catch a stale, failing or stuck pipeline, one series per
/// (`pipeline_name`, `environment`): its health (one series per health, 1 for the current one),
/// last run start and the start of its latest run that did not fail, the latest run's duration
/// and rowcount, runs stored, failed runs, and runs still running.
///
/// They are recomputed at every scrape from the same reports `/pipelines` gives (summaries and
/// insight), so they are right after a restart and after runs are pruned, and agree with the
/// API; a pipeline that no longer has runs loses its series. A name and environment with several
/// signatures (scripts, types) show their worst health and their sums. Runs without a
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
        var health: PipelineHealth
        var lastRunStart: UTCInstant
        var totalRuns: Int64
        var failedRuns: Int64
        var runningRuns: Int
        /// The start of the latest run that did not fail, among the recent runs insight reads.
        var lastSuccessStart: UTCInstant?
        /// The latest run's `elapsed_seconds` and `rowcount`.
        var lastDuration: Double?
        var lastRowcount: Int64?
    }

    /// The gauges of one pipeline: always the first ones, the optional ones only with a value.
    private struct Series {
        var always: [Gauge]
        var optional: [String: Gauge] = [:]
    }

    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[Key: Series]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// The readings of `reports` (in `/pipelines` order, most recently run first).
    static func readings(from reports: [PipelineReport]) -> [Reading] {
        var order: [Key] = []
        var readings: [Key: Reading] = [:]
        for report in reports {
            let summary = report.summary
            guard let name = summary.signature.pipelineName else { continue }
            let key = Key(pipelineName: name, environment: summary.signature.environment)
            let latest = report.recent.first
            let success = report.recent.first { !$0.isFailed }?.startUTC
            let health = summary.insight?.health ?? .ok
            let running = summary.insight?.runningRuns ?? 0
            if var reading = readings[key] {
                reading.health = min(reading.health, health)
                reading.totalRuns = Saturating.add(reading.totalRuns, summary.totalRuns)
                reading.failedRuns = Saturating.add(reading.failedRuns, summary.failedRuns)
                reading.runningRuns = reading.runningRuns.addingReportingOverflow(running).partialValue
                reading.lastSuccessStart = [reading.lastSuccessStart, success].compactMap { $0 }.max()
                if summary.lastRun > reading.lastRunStart {
                    (reading.lastRunStart, reading.lastDuration, reading.lastRowcount) = (summary.lastRun, latest?.elapsedSeconds, latest?.rowcount)
                }
                readings[key] = reading
            } else if order.count < maximumPipelines {
                order.append(key)
                readings[key] = Reading(
                    key: key,
                    health: health,
                    lastRunStart: summary.lastRun,
                    totalRuns: summary.totalRuns,
                    failedRuns: summary.failedRuns,
                    runningRuns: running,
                    lastSuccessStart: success,
                    lastDuration: latest?.elapsedSeconds,
                    lastRowcount: latest?.rowcount
                )
            }
        }
        return order.compactMap { readings[$0] }
    }

    /// Sets the gauges to `readings`, removing the series of pipelines no longer among them.
    func show(_ readings: [Reading]) {
        series.withLock { series in
            var kept: [Key: Series] = [:]
            for reading in readings {
                var entry = series.removeValue(forKey: reading.key) ?? makeSeries(for: reading.key)
                let values =
                    [reading.lastRunStart.secondsSinceEpoch, Double(reading.totalRuns), Double(reading.failedRuns), Double(reading.runningRuns)]
                    + PipelineHealth.allCases.map { $0 == reading.health ? 1 : 0 }
                for (gauge, value) in zip(entry.always, values) { gauge.set(value) }
                let optional: [(MetricNameDescriptor, Double?)] = [
                    (Self.lastSuccess, reading.lastSuccessStart?.secondsSinceEpoch),
                    (Self.lastRunDuration, reading.lastDuration),
                    (Self.lastRunRowcount, reading.lastRowcount.map(Double.init)),
                ]
                for (descriptor, value) in optional {
                    entry.optional[descriptor.metricName] = update(
                        entry.optional[descriptor.metricName],
                        to: value,
                        descriptor: descriptor,
                        key: reading.key
                    )
                }
                kept[reading.key] = entry
            }
            for stale in series.values {
                for gauge in stale.always + stale.optional.values { registry.unregisterGauge(gauge) }
            }
            series = kept
        }
    }

    /// The gauges every pipeline has, in the order `show` sets them.
    private func makeSeries(for key: Key) -> Series {
        let plain = [Self.lastRunStart, Self.runs, Self.failedRuns, Self.runningRuns].map { registry.makeGauge(descriptor: $0, labels: key.labels) }
        let health = PipelineHealth.allCases.map { registry.makeGauge(descriptor: Self.health, labels: key.labels + [("health", $0.rawValue)]) }
        return Series(always: plain + health)
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

    private static var health: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_health",
            unitName: "",
            helpText: "1 for the pipeline's health as /pipelines gives it (failed, stuck, overdue, anomaly, ok), 0 for the others"
        )
    }

    private static var lastRunStart: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_last_run_start_timestamp",
            unitName: "seconds",
            helpText: "Start of the pipeline's latest run (start_utc), seconds since the Unix epoch"
        )
    }

    private static var lastSuccess: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_last_success_start_timestamp",
            unitName: "seconds",
            helpText: "Start of the pipeline's latest run that did not fail (among its 1,000 most recent), seconds since the Unix epoch"
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

    private static var failedRuns: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "pipeline_failed_runs", unitName: "", helpText: "Runs of the pipeline that failed, in storage")
    }

    private static var runningRuns: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "pipeline_running_runs", unitName: "", helpText: "Runs of the pipeline still running")
    }
}
