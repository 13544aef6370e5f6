import Foundation
import Prometheus
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The standard `process_*` metrics of this process (CPU time, memory, file descriptors, start
/// time), read from `/proc/self` at every scrape, and `pipeline_service_build_info`. Where
/// `/proc` is missing (not Linux) the process metrics are left out.
final class ProcessMetrics: Sendable {
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let virtualBytes: Gauge
    private let openDescriptors: Gauge
    private let maximumDescriptors: Gauge
    private let startTime: Gauge
    /// The CPU seconds already added to the counter (it only goes up by what was used since).
    private let counted = Mutex<Double>(0)

    init(registry: PrometheusCollectorRegistry, version: String, backend: String) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: metric, unitName: unit, helpText: help)
        }
        cpuSeconds = registry.makeCounter(descriptor: name("process_cpu_seconds", "total", "Total user and system CPU time spent in seconds"))
        residentBytes = registry.makeGauge(descriptor: name("process_resident_memory", "bytes", "Resident memory size in bytes"))
        virtualBytes = registry.makeGauge(descriptor: name("process_virtual_memory", "bytes", "Virtual memory size in bytes"))
        openDescriptors = registry.makeGauge(descriptor: name("process_open", "fds", "Number of open file descriptors"))
        maximumDescriptors = registry.makeGauge(descriptor: name("process_max", "fds", "Maximum number of open file descriptors"))
        startTime = registry.makeGauge(descriptor: name("process_start_time", "seconds", "Start time of the process since the Unix epoch in seconds"))
        let buildInfo = registry.makeGauge(
            descriptor: name("pipeline_service_build", "info", "1, labelled with the service's version and storage backend"),
            labels: [("version", version), ("backend", backend)]
        )
        buildInfo.set(1.0)
    }

    /// Reads `/proc/self/stat`, its descriptors and limits, and sets the metrics.
    func refresh() {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")")
        else { return }
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15,
        // starttime 22, vsize 23, rss 24.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        func field(_ number: Int) -> Double? { fields.indices.contains(number - 3) ? Double(fields[number - 3]) : nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let user = field(14), let system = field(15), ticks > 0 {
            let total = (user + system) / ticks
            let delta = counted.withLock { counted in
                defer { counted = max(counted, total) }
                return total - counted
            }
            if delta > 0 { cpuSeconds.increment(by: delta) }
        }
        if let virtual = field(23) { virtualBytes.set(virtual) }
        if let pages = field(24) { residentBytes.set(pages * pageSize) }
        if let started = field(22), ticks > 0, let boot = Self.bootTime() { startTime.set(boot + started / ticks) }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { openDescriptors.set(Double(descriptors.count)) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maximumDescriptors.set(Double(limit.rlim_cur)) }
    }

    /// The system's boot time (`btime` in `/proc/stat`), seconds since the Unix epoch.
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") { return Double(line.dropFirst(6)) }
        return nil
    }
}
