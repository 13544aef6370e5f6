public import PipelineCore

/// One pipeline signature as the dashboard shows it: its summary (with insight) and its most
/// recent runs.
public struct DashboardPipeline: Sendable, Hashable {
    var summary: PipelineSummary
    /// The signature's most recent runs, newest first.
    var recent: [RunSample]

    public init(summary: PipelineSummary, recent: [RunSample]) {
        self.summary = summary
        self.recent = recent
    }

    var signature: PipelineSignature { summary.signature }
    var insight: PipelineInsight? { summary.insight }
    /// A signature without an insight has nothing to worry about yet.
    var health: PipelineHealth { summary.insight?.health ?? .ok }

    /// The recent runs as chart points of one measure, oldest first.
    func points(_ metric: AnomalyMetric) -> [ChartPoint] {
        recent.reversed().map { sample in
            let value =
                switch metric {
                case .duration: sample.elapsedSeconds
                case .rowcount: Double(sample.rowcount)
                }
            return ChartPoint(time: sample.startUTC, value: value, isFailed: sample.isFailed)
        }
    }

    /// The anomaly finding on `metric` of the latest run, when that measure is outside its band.
    func finding(_ metric: AnomalyMetric) -> AnomalyFinding? {
        insight?.anomaly?.findings.first { $0.metric == metric }
    }

    /// One sentence saying why the signature has its health, for badges' tooltips and call-outs.
    /// Plain text.
    func healthReason(now: UTCInstant) -> String {
        switch health {
        case .failed:
            var text = "The latest run failed"
            if let latest = recent.first {
                text += " (\(DashboardFormat.timestamp(latest.startUTC)), date code \(latest.dateCode)"
                if let status = latest.status { text += ", status \(status)" }
                if let code = latest.exitCode { text += ", exit code \(code)" }
                text += ")"
            }
            return text + "."
        case .stuck:
            guard let start = insight?.oldestRunningStart else { return "A run has been running far longer than usual." }
            var text =
                "A run has been running for \(DashboardFormat.span(now.secondsSinceEpoch - start.secondsSinceEpoch)) (since \(DashboardFormat.timestamp(start)))"
            if let p95 = insight?.duration?.p95 { text += "; 95% of this pipeline's runs take at most \(DashboardFormat.interval(p95))" }
            return text + "."
        case .overdue:
            var text = "No run for \(DashboardFormat.span(now.secondsSinceEpoch - summary.lastRun.secondsSinceEpoch))"
            if let interval = insight?.typicalIntervalSeconds { text += "; it usually runs every \(DashboardFormat.interval(interval))" }
            if let due = insight?.dueBy { text += "; the next run was due by \(DashboardFormat.timestamp(due))" }
            return text + "."
        case .anomaly:
            let findings = insight?.anomaly?.findings.map(DashboardFormat.finding) ?? []
            return "The latest run is unusual: " + findings.joined(separator: "; ") + "."
        case .inactive:
            return
                "No run for \(DashboardFormat.span(now.secondsSinceEpoch - summary.lastRun.secondsSinceEpoch)); too few runs to know when the next is due."
        case .ok:
            return "The latest run succeeded, on time and within its expected ranges."
        }
    }
}
