import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineDashboard

/// Stored runs may hold any value a client once sent (a legacy `elapsed_seconds` of 1e308, a
/// rowcount at either end of `Int64`, instants from year 1 to 9999), and the insight numbers
/// derived from them can be infinite or NaN: the pages render them all, without trapping, as
/// well-formed markup.
@Suite("Dashboard with extreme stored values")
struct ExtremeValueTests {
    static let yearOne = UTCInstant(microsecondsSinceEpoch: UTCInstant.supportedMicroseconds.lowerBound)
    static let year9999 = UTCInstant(microsecondsSinceEpoch: UTCInstant.supportedMicroseconds.upperBound)
    static let durations: [Double] = [
        1e308, 0, .leastNonzeroMagnitude, 1e-9, 0.25, 9.95, -1e308, .greatestFiniteMagnitude, .infinity, .nan, 86_400 * 1e10,
    ]
    static let rowcounts: [Int64] = [.max, .min, 0, 1, -1]

    /// `count` runs at `start(index)`, newest first, cycling through the extreme durations and
    /// rowcounts.
    static func samples(_ count: Int, start: (Int) -> UTCInstant) -> [RunSample] {
        (0..<count).map { index in
            RunSample(
                startUTC: start(index),
                elapsedSeconds: durations[index % durations.count],
                rowcount: rowcounts[index % rowcounts.count],
                status: index % 3 == 0 ? "failed" : "success",
                exitCode: index % 3 == 0 ? Int64.min : 0,
                dateCode: "run_\(index)"
            )
        }
    }

    static func hourly(_ index: Int) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Fixtures.now.microsecondsSinceEpoch - Int64(index + 1) * 3_600_000_000)
    }

    /// An insight made of the worst numbers: NaN, infinities, the largest doubles and integers.
    static var poisonedInsight: PipelineInsight {
        let findings = [
            AnomalyFinding(metric: .rowcount, observed: .nan, median: .infinity, mad: .nan, expectedLow: -.infinity, expectedHigh: .nan),
            AnomalyFinding(metric: .duration, observed: 1e308, median: -1e308, mad: .infinity, expectedLow: .nan, expectedHigh: 1e308),
        ]
        return PipelineInsight(
            windowRuns: .max,
            duration: DurationStatistics(min: -.infinity, p50: .nan, p95: 1e308, max: .infinity),
            lastStartUTC: year9999,
            lastDuration: .nan,
            lastRowcount: .min,
            lastStatus: "",
            recentRuns: RecentRunCounts(last24Hours: .max, last7Days: .min),
            typicalIntervalSeconds: -1e308,
            overdue: true,
            dueBy: yearOne,
            anomaly: RunAnomaly(startUTC: year9999, dateCode: "x", findings: findings),
            health: .anomaly
        )
    }

    static var pipelines: [DashboardPipeline] {
        let spanning = samples(40) { index in
            // From year 9999 (newest) down to year 1 (oldest).
            let step = (year9999.microsecondsSinceEpoch / 39 - yearOne.microsecondsSinceEpoch / 39)
            return UTCInstant(microsecondsSinceEpoch: year9999.microsecondsSinceEpoch - Int64(index) * step)
        }
        var pipelines = [
            Fixtures.pipeline("recent_extremes", samples: samples(44, start: hourly)),
            Fixtures.pipeline(
                "year_one",
                samples: samples(12) { UTCInstant(microsecondsSinceEpoch: yearOne.microsecondsSinceEpoch + Int64(12 - $0)) }
            ),
            Fixtures.pipeline("year_9999", samples: samples(12) { UTCInstant(microsecondsSinceEpoch: year9999.microsecondsSinceEpoch - Int64($0)) }),
            Fixtures.pipeline("spanning", samples: spanning),
            Fixtures.pipeline(
                "tiny",
                samples: (0..<10).map {
                    RunSample(
                        startUTC: hourly($0),
                        elapsedSeconds: $0 % 2 == 0 ? .leastNonzeroMagnitude : 1e-9,
                        rowcount: 0,
                        status: nil,
                        exitCode: nil,
                        dateCode: "t\($0)"
                    )
                }
            ),
        ]
        var poisoned = Fixtures.pipeline("poisoned", samples: samples(20) { _ in year9999 })
        poisoned.summary.insight = poisonedInsight
        poisoned.summary.totalRuns = .max
        poisoned.summary.failedRuns = .min
        poisoned.summary.lastRun = yearOne
        pipelines.append(poisoned)
        var poisonedFailed = poisoned
        poisonedFailed.summary.signature.pipelineName = "poisoned_failed"
        poisonedFailed.summary.insight?.health = .failed
        poisonedFailed.summary.insight?.dueBy = year9999
        pipelines.append(poisonedFailed)
        return pipelines
    }

    /// A run table and daily bars made of extreme runs.
    static func history(for pipeline: DashboardPipeline) -> (RunHistoryTable, DailyRuns) {
        let runs = pipeline.recent.prefix(12).enumerated().map { index, sample in
            StoredRun(
                sequence: Int64(index),
                info: PipelineInfo(
                    startLocal: LocalDateTime(wallMicroseconds: yearOne.microsecondsSinceEpoch),
                    endLocal: LocalDateTime(wallMicroseconds: year9999.microsecondsSinceEpoch),
                    startUTC: index % 2 == 0 ? yearOne : sample.startUTC,
                    endUTC: year9999,
                    elapsedSeconds: sample.elapsedSeconds,
                    elapsedHuman: "",
                    outputFile: "/out/\(index)",
                    rowcount: sample.rowcount,
                    logFile: "",
                    pid: .min,
                    dateCode: sample.dateCode,
                    status: sample.status,
                    exitCode: sample.exitCode
                )
            )
        }
        let page = RunPage(total: .max, runs: runs, nextCursor: runs.last.map { RunCursor(position: $0.position, filterFingerprint: .max) })
        let table = RunHistoryTable(content: .page(page, RunQuery(paging: .window(limit: 12, offset: Int(Int32.max)))), parameters: [])
        let buckets = [
            HistoryBucket(
                start: yearOne,
                localStart: LocalDateTime(wallMicroseconds: yearOne.microsecondsSinceEpoch),
                offsetSeconds: 0,
                runs: .max,
                failedRuns: .max,
                avgDuration: 1e308,
                p95Duration: .nan,
                totalRowcount: .min,
                avgRowcount: .infinity
            ),
            HistoryBucket(
                start: year9999,
                localStart: LocalDateTime(wallMicroseconds: year9999.microsecondsSinceEpoch),
                offsetSeconds: 0,
                runs: 0,
                failedRuns: 0,
                avgDuration: .nan,
                p95Duration: nil,
                totalRowcount: .max,
                avgRowcount: nil
            ),
        ]
        let daily = DailyRuns(history: RunHistory(bucketSize: .day, zoneName: "UTC", buckets: buckets), link: "/pipelines/history", isExact: false)
        return (table, daily)
    }

    /// The document is whole, its elements are closed, and every coordinate is a finite number
    /// inside the drawing.
    static func expectWellFormed(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(html.hasPrefix("<!doctype html>") && html.hasSuffix("</html>"), sourceLocation: sourceLocation)
        let elements = [
            "html", "head", "body", "main", "header", "nav", "title", "style", "script", "div", "section", "table", "thead", "tbody", "tr", "th",
            "td", "a", "span", "svg", "g", "text", "form", "label", "select", "option", "ul", "li", "p", "h1", "h2", "code", "dl", "dt", "dd",
            "b", "i", "time",
        ]
        for element in elements {
            let opened = html.matches(of: try Regex("<\(element)[\\s>]")).count
            let closed = html.components(separatedBy: "</\(element)>").count - 1
            #expect(opened == closed, "<\(element)> opened \(opened) times, closed \(closed) times", sourceLocation: sourceLocation)
        }
        for attribute in ["x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "dx", "dy"] {
            for value in Fixtures.attributes(attribute, in: html) where !value.hasSuffix("%") && !value.hasSuffix("em") {
                let number = Double(value)
                #expect(number.map { $0.isFinite && abs($0) <= 1e9 } == true, "\(attribute)=\"\(value)\"", sourceLocation: sourceLocation)
            }
        }
        for points in Fixtures.attributes("points", in: html) {
            let numbers = points.split(whereSeparator: { $0 == " " || $0 == "," }).map { Double($0) }
            #expect(numbers.allSatisfy { $0?.isFinite == true }, "points=\"\(points)\"", sourceLocation: sourceLocation)
        }
        #expect(!html.contains("nan") && !html.contains(">inf"), sourceLocation: sourceLocation)
    }

    @Test("Both pages render extreme and non-finite stored values as well-formed markup")
    func pagesRenderExtremes() throws {
        let pipelines = Self.pipelines
        for sort in OverviewQuery.SortKey.allCases {
            for order in OverviewQuery.SortOrder.allCases {
                let html = Fixtures.overview(pipelines, query: OverviewQuery(sort: sort, order: order))
                #expect(Fixtures.rows(html).count == pipelines.count)
                try Self.expectWellFormed(html)
            }
        }
        for pipeline in pipelines {
            let (table, daily) = Self.history(for: pipeline)
            let html = Fixtures.page(pipeline, history: table, daily: daily)
            #expect(html.contains("<section class=\"panel chart-duration\">"))
            try Self.expectWellFormed(html)
        }
    }

    @Test("Formatting is total: huge, tiny and non-finite numbers are written, never trapped on")
    func formattingIsTotal() {
        #expect(DashboardFormat.duration(1e308) == "1e+308 s")
        #expect(DashboardFormat.duration(1e15) == "1000000000000000.0 s")
        #expect(DashboardFormat.duration(1e14) == "1157407407d 09h")
        #expect(DashboardFormat.duration(.infinity) == "—" && DashboardFormat.duration(.nan) == "—")
        #expect(DashboardFormat.duration(.leastNonzeroMagnitude) == "0.0 s" && DashboardFormat.duration(0) == "0 s")
        #expect(DashboardFormat.duration(-1e308) == "0 s")
        #expect(DashboardFormat.durationTick(1e308) == "1e+308 s")
        #expect(DashboardFormat.count(.min) == "-9,223,372,036,854,775,808")
        #expect(DashboardFormat.count(.max) == "9,223,372,036,854,775,807")
        #expect(DashboardFormat.number(1e308) == "1e+308")
        #expect(DashboardFormat.number(Double(Int64.max)) == "9.223372036854776e+18")
        #expect(DashboardFormat.measure(.rowcount, Double(Int64.min)) == "-9.223372036854776e+18")
        #expect(DashboardFormat.compact(1e308) == "1e+296T")
        #expect(DashboardFormat.compact(Double(Int64.max)) == "9223372T")
        #expect(DashboardFormat.trimmed(-1e300) == "-1e+300")
        #expect(DashboardFormat.interval(-1e308) == "-9223372036854775808 s")
        #expect(DashboardFormat.interval(1e308) == "1.1574074074074075e+303 d")
        #expect(DashboardFormat.span(.nan) == "—")
        #expect(DashboardFormat.span(1e300) == "9223372036854775807 d")
        #expect(DashboardFormat.relative(Self.yearOne, now: Self.year9999) == "3652059 d ago")
        #expect(DashboardFormat.timestamp(Self.yearOne) == "0001-01-01 00:00 UTC")
        #expect(DashboardFormat.seconds(Self.year9999) == "9999-12-31T23:59:59Z")
        #expect(!DashboardFormat.seconds(UTCInstant(microsecondsSinceEpoch: .min)).isEmpty)
        #expect(SVGNumber.text(.nan) == "0" && SVGNumber.text(.infinity) == "1000000000" && SVGNumber.text(-1e308) == "-1000000000")
        #expect(LineChart.niceTicks(low: -1e308, high: 1e308) == [-1e308, 1e308])
        #expect(LineChart.niceTicks(low: 0, high: .leastNonzeroMagnitude) == [0, .leastNonzeroMagnitude])
        #expect(LineChart.niceDurationTicks(high: .infinity) == [0, 1])
        #expect(LineChart.powerOfTen(atMost: 1e-6) == 1e-6 && LineChart.powerOfTen(atMost: 999) == 100)
    }

    @Test("One decimal is written exactly as C's %.1f writes it")
    func oneDecimalMatchesPrintf() {
        for value in [0.05, 0.15, 0.25, 0.35, 0.45, 0.75, 1.25, 2.675, 9.95, -0.25, -0.04, -0.0, 0.0, 123_456.789, 999_999_999_999_999.9] {
            #expect(DashboardFormat.oneDecimal(value) == String(format: "%.1f", value), "\(value)")
        }
        var random = SeededGenerator(seed: 11)
        for _ in 0..<20_000 {
            let scale = [1.0, 10, 1000, 1e6, 1e12][Int.random(in: 0..<5, using: &random)]
            // Quarters and twentieths sit on or next to a rounding tie.
            let grid = Double(Int.random(in: -4000...4000, using: &random)) / [4.0, 20, 1][Int.random(in: 0..<3, using: &random)]
            let value = Bool.random(using: &random) ? grid.nextUp : Double.random(in: -scale...scale, using: &random)
            #expect(DashboardFormat.oneDecimal(value) == String(format: "%.1f", value), "\(value)")
        }
    }
}
