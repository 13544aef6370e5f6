import PipelineStore
import Prometheus
import Synchronization

/// `pipeline_postgres_replica_up{server}` and `pipeline_postgres_replica_lag_seconds{server}`,
/// one series per read replica (`PIPELINE_POSTGRES_READ_URL`), set at each scrape. The lag of an
/// unreachable replica keeps no value: its series is removed until it answers again.
final class ReplicaGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let gauges = Mutex<[String: (up: Gauge, lag: Gauge?)]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func show(_ states: [ReplicaState]) {
        gauges.withLock { gauges in
            for state in states {
                let labels = [("server", state.server)]
                var entry = gauges[state.server] ?? (registry.makeGauge(descriptor: Self.up, labels: labels), nil)
                entry.up.set(state.isReachable ? 1.0 : 0.0)
                if let lag = state.lagSeconds {
                    let gauge = entry.lag ?? registry.makeGauge(descriptor: Self.lag, labels: labels)
                    gauge.set(lag)
                    entry.lag = gauge
                } else if let gauge = entry.lag {
                    registry.unregisterGauge(gauge)
                    entry.lag = nil
                }
                gauges[state.server] = entry
            }
        }
    }

    private static var up: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_postgres_replica_up",
            unitName: "",
            helpText: "1 when the read replica answered the last scrape, 0 when it did not"
        )
    }

    private static var lag: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "pipeline_postgres_replica_lag",
            unitName: "seconds",
            helpText: "How far the read replica's replay is behind the primary (age of its last replayed transaction; 0 when caught up)"
        )
    }
}
