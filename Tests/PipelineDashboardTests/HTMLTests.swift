import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

@testable import PipelineDashboard

/// The `HTML` builder, and that the pages built with it show stored and requested text only
/// escaped.
@Suite("Dashboard HTML escaping")
struct HTMLTests {
    @Test("Interpolated strings are escaped; literals, HTML values and raw blocks are not")
    func interpolationEscapes() {
        let text = "<script>alert('x') & \"y\"</script>"
        let html: HTML = "<p title=\"\(text)\">\(text[...])</p>"
        let escaped = "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        #expect(html.markup == "<p title=\"\(escaped)\">\(escaped)</p>")
        #expect(HTML(text: text).markup == escaped)
        #expect(HTML(text: "plain é ✓").markup == "plain é ✓")

        let inner: HTML = "<b>\("a&b")</b>"
        #expect(("<i>\(inner)</i>" as HTML).markup == "<i><b>a&amp;b</b></i>")
        #expect(HTML(unsafeRaw: "a{content:\"<\"}").markup == "a{content:\"<\"}")
    }

    @Test("Numbers and instants are written as their description")
    func describedValues() {
        let instant = UTCInstant(iso8601: "2025-09-02T12:07:02Z")!
        let html: HTML = "\(42) \(Int64.min) \(2.5) \(instant) \(PipelineHealth.failed.rawValue)"
        #expect(html.markup == "42 -9223372036854775808 2.5 2025-09-02T12:07:02Z failed")
    }

    @Test("HTML values concatenate and join without escaping each other")
    func concatenation() {
        var html: HTML = "<ul>"
        html += ["<li>\("<1>")</li>", "<li>2</li>"].joined(separator: "\n")
        html = html + "</ul>"
        #expect(html.markup == "<ul><li>&lt;1&gt;</li>\n<li>2</li></ul>")
        #expect(HTML.empty.isEmpty && ([] as [HTML]).joined().isEmpty)
    }

    /// `tag` followed by markup that would run a script, close an attribute of either quote, and
    /// start a character reference, if it were not escaped. Tags start with `ZQ`, which nothing
    /// else on a page contains, and none is part of another.
    static func hostile(_ tag: String) -> String { "ZQ\(tag)<script>alert(1)</script>\"'&amp;" }

    /// Every occurrence of each tag is followed by the escaped (or, in a URL, percent-encoded)
    /// rest of its hostile text; and each tag occurs at least once.
    static func expectOnlyEscaped(_ tags: [String], in html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for tag in tags.map({ "ZQ" + $0 }) {
            let pieces = html.components(separatedBy: tag).dropFirst()
            #expect(!pieces.isEmpty, "\(tag) does not appear", sourceLocation: sourceLocation)
            for piece in pieces {
                let escaped = piece.hasPrefix("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;amp;")
                let encoded = piece.hasPrefix("%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%27%26amp%3B")
                #expect(escaped || encoded, "\(tag) followed by \(piece.prefix(40))", sourceLocation: sourceLocation)
            }
        }
        // The page's own script element is the only one.
        #expect(html.components(separatedBy: "<script").count == 2, sourceLocation: sourceLocation)
        #expect(!html.contains("alert(1)</"), sourceLocation: sourceLocation)
    }

    @Test("Hostile names, status, date code, path, filters and base path appear only escaped on both pages")
    func escapingByConstruction() throws {
        let links = DashboardLinks(basePath: "/" + Self.hostile("BASEPATH"))
        let signature = PipelineSignature(
            pipelineName: Self.hostile("NAME"),
            scriptName: Self.hostile("SCRIPT"),
            pipelineType: Self.hostile("TYPE"),
            environment: Self.hostile("ENV")
        )
        let samples = Fixtures.samples(count: 40) {
            $0.status = Self.hostile("STATUS")
            $0.dateCode = Self.hostile("DATECODE")
            $0.rowcount = 5
        }
        var pipeline = Fixtures.pipeline(
            signature.pipelineName,
            script: signature.scriptName,
            type: signature.pipelineType,
            environment: signature.environment,
            samples: samples
        )
        pipeline.summary.insight?.health = .failed

        // The overview, filtered and sorted by hostile request values.
        let query = OverviewQuery(parameters: [
            ("environment", Self.hostile("ENV")), ("pipeline_type", Self.hostile("TYPE")), ("sort", Self.hostile("SORT")),
        ])
        let overview = Fixtures.overview([pipeline, Fixtures.mixed[0]], query: query, links: links)
        #expect(Fixtures.rows(overview).count == 1)
        Self.expectOnlyEscaped(["BASEPATH", "NAME", "SCRIPT", "TYPE", "ENV", "STATUS", "DATECODE"], in: overview)

        // The pipeline page, with a run table of hostile runs.
        var generator = RandomRuns(seed: 3)
        let stored = generator.runs(5).enumerated().map { index, run in
            var run = run
            run.pipelineName = signature.pipelineName
            run.scriptName = signature.scriptName
            run.pipelineType = signature.pipelineType
            run.environment = signature.environment
            run.status = Self.hostile("RUNSTATUS")
            run.dateCode = Self.hostile("RUNCODE")
            run.outputFile = "/out/" + Self.hostile("PATH")
            run.elapsedHuman = Self.hostile("HUMAN")
            return StoredRun(sequence: Int64(index), info: run)
        }
        let parameters: [(name: String, value: String)] = [("limit", "2")]
        let runQuery = try RunQuery(parameters: parameters + DashboardLinks.signatureParameters(signature))
        let table = RunHistoryTable(content: .page(runQuery.evaluate(over: stored), runQuery), parameters: parameters)
        let bucket = HistoryBucket(
            start: Fixtures.now,
            localStart: LocalDateTime(wallMicroseconds: Fixtures.now.microsecondsSinceEpoch),
            offsetSeconds: 0,
            runs: samples.prefix(3).map(HistorySample.init)
        )
        let daily = DailyRuns(
            history: RunHistory(bucketSize: .day, zoneName: "UTC", buckets: [bucket]),
            link: DashboardLinks.url(links.runHistoryAPI, DashboardLinks.signatureParameters(signature)),
            isExact: true
        )
        let detail = Fixtures.page(pipeline, history: table, daily: daily, links: links)
        #expect(Fixtures.attributes("data-date-code", in: detail).count == 2)
        Self.expectOnlyEscaped(
            ["BASEPATH", "NAME", "SCRIPT", "TYPE", "ENV", "STATUS", "DATECODE", "RUNSTATUS", "PATH", "HUMAN", "RUNCODE"],
            in: detail
        )

        // Refused history filters: the request's values refill the form.
        let refused = [("limit", Self.hostile("LIMIT")), ("start_utc", Self.hostile("START"))]
        let error = try #require(throws: ValidationError.self) { try RunQuery(parameters: refused) }
        let invalid = Fixtures.page(pipeline, history: RunHistoryTable(content: .invalid(error), parameters: refused), links: links)
        #expect(invalid.contains("<li class=\"issue\">"))
        Self.expectOnlyEscaped(["BASEPATH", "NAME", "LIMIT", "START"], in: invalid)

        let notFound = DashboardPage.notFound(links: links, message: Self.hostile("MESSAGE")).markup
        Self.expectOnlyEscaped(["BASEPATH", "MESSAGE"], in: notFound)
    }
}
