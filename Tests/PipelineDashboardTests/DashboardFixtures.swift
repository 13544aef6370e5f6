import Foundation
import PipelineCore

@testable import PipelineDashboard

/// Pipelines, runs and page helpers built in memory for the renderer tests.
enum Fixtures {
    static let now = UTCInstant(iso8601: "2025-09-30T12:00:00Z")!
    static let links = DashboardLinks(basePath: "")

    /// `count` hourly runs ending `silentHours` before `now`, newest first; `latest` changes the newest one.
    static func samples(
        count: Int,
        every interval: Int64 = 3600,
        silentHours: Int64 = 0,
        latest: (inout RunSample) -> Void = { _ in }
    ) -> [RunSample] {
        let newest = now.microsecondsSinceEpoch - silentHours * 3_600_000_000 - 600_000_000
        var samples = (0..<count).map { index in
            RunSample(
                startUTC: UTCInstant(microsecondsSinceEpoch: newest - Int64(index) * interval * 1_000_000),
                elapsedSeconds: 600 + Double(index % 7) * 10,
                rowcount: 10_000 + Int64(index % 5) * 100,
                status: "success",
                exitCode: 0,
                dateCode: "run_\(index)"
            )
        }
        if !samples.isEmpty { latest(&samples[0]) }
        return samples
    }

    static func pipeline(
        _ name: String?,
        script: String? = "job.py",
        type: String? = "batch",
        environment: String? = "prod",
        samples: [RunSample]
    ) -> DashboardPipeline {
        let insight = PipelineInsight(recentNewestFirst: samples, now: now)
        let summary = PipelineSummary(
            signature: PipelineSignature(pipelineName: name, scriptName: script, pipelineType: type, environment: environment),
            totalRuns: Int64(samples.count),
            lastRun: samples.first?.startUTC ?? now,
            avgDuration: nil,
            avgRowcount: nil,
            failedRuns: Int64(samples.count { $0.isFailed }),
            insight: insight
        )
        return DashboardPipeline(summary: summary, recent: samples)
    }

    /// One pipeline of each health.
    static var mixed: [DashboardPipeline] {
        [
            pipeline("healthy_ingest", samples: samples(count: 48)),
            pipeline(
                "failing_export",
                samples: samples(count: 48) {
                    $0.status = "failed"
                    $0.exitCode = 1
                }
            ),
            pipeline("silent_sync", environment: "dev", samples: samples(count: 48, silentHours: 10)),
            pipeline("dropping_load", type: "streaming", samples: samples(count: 48) { $0.rowcount = 1_000 }),
        ]
    }

    /// The overview's markup.
    static func overview(_ pipelines: [DashboardPipeline], query: OverviewQuery = OverviewQuery(), links: DashboardLinks = links) -> String {
        OverviewPage.render(pipelines: pipelines, query: query, now: now, links: links).markup
    }

    /// The pipeline page's markup, with an empty run table and no daily bars unless given.
    static func page(
        _ pipeline: DashboardPipeline,
        history: RunHistoryTable? = nil,
        daily: DailyRuns? = nil,
        links: DashboardLinks = links
    ) -> String {
        let table = history ?? RunHistoryTable(content: .page(RunPage(total: 0, runs: []), RunQuery()), parameters: [])
        let daily =
            daily
            ?? DailyRuns(
                history: RunHistory(bucketSize: .day, zoneName: "UTC", buckets: []),
                link: links.runHistoryAPI,
                isExact: true
            )
        return PipelinePage.render(pipeline: pipeline, settings: .standard, history: table, daily: daily, now: now, links: links).markup
    }

    /// The rows of the overview table, in order, as (health, pipeline name) pairs.
    static func rows(_ html: String) -> [(health: String, name: String)] {
        html.components(separatedBy: "<tr class=\"h-").dropFirst().map { row in
            let health = String(row.prefix { $0 != "\"" })
            let link = row.components(separatedBy: "<td class=\"name\"><a href=\"").dropFirst().first ?? ""
            let name = link.components(separatedBy: "\">").dropFirst().first?.components(separatedBy: "</a>").first ?? ""
            return (health, name)
        }
    }

    /// Every value of `attribute="…"` in the page.
    static func attributes(_ attribute: String, in html: String) -> [String] {
        html.components(separatedBy: " \(attribute)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }
}
