import PipelineCore
import PipelineServer
import PipelineTestSupport
import Testing

@Suite("Response writers")
struct ResponseTests {
    // MARK: - PipelineInfoResponse

    @Test("PipelineInfoResponse carries total, count, results, pipelines and next_cursor")
    func infoResponseShape() throws {
        var random = RandomRuns(seed: 21)
        let names: [String?] = ["b", nil, "a", "b"]
        let runs = names.enumerated().map { index, name in
            var info = random.next()
            info.pipelineName = name
            return StoredRun(sequence: Int64(10 - index), info: info)
        }
        let cursor = RunCursor(position: try #require(runs.last).position, filterFingerprint: RunFilter().fingerprint)
        let written = PipelineInfoResponseWriter.bytes(for: RunPage(total: 10, runs: runs, nextCursor: cursor))
        let body = try #require(members(of: try parseWritten(written)))
        #expect(Set(body.keys) == ["total", "count", "results", "pipelines", "next_cursor"])
        #expect(body["total"] == 10)
        #expect(body["count"] == 4)
        #expect(body["pipelines"] == .array(["a", "b"]))
        let token = try #require(text(of: body["next_cursor"]))
        #expect(RunCursor(token: token) == cursor)
        let results = try #require(elements(of: body["results"]))
        #expect(results.count == 4)
        for (written, run) in zip(results, runs) {
            var writer = JSONWriter()
            writer.value(written)
            #expect(try PipelineInfo(jsonBytes: writer.bytes) == run.info)
            #expect(members(of: written)?.count == PipelineField.allCases.count)
        }
        #expect(members(of: results[1])?["pipeline_name"] == .null)
    }

    @Test("An empty page is written with empty lists and a null cursor")
    func emptyInfoResponse() {
        let written = PipelineInfoResponseWriter.bytes(for: RunPage(total: 0, runs: []))
        #expect(String(decoding: written, as: UTF8.self) == #"{"total":0,"results":[],"count":0,"pipelines":[],"next_cursor":null}"#)
    }

    @Test("For random pages, pipelines are the distinct non-null names of the results, sorted", arguments: [1, 2] as [UInt64])
    func pipelinesAreDistinctSortedNames(seed: UInt64) throws {
        let (runs, queries) = RunDataSet(seed: seed, runCount: 150, hasManyTies: false).make(queryCount: 30)
        for query in queries {
            let page = query.evaluate(over: runs)
            let body = try #require(members(of: try parseWritten(PipelineInfoResponseWriter.bytes(for: page))))
            let expectedNames = page.runs.compactMap(\.info.pipelineName).reduce(into: [String]()) { names, name in
                if !names.contains(name) { names.append(name) }
            }.sorted()
            #expect(body["pipelines"] == .array(expectedNames.map(JSONValue.string)))
            #expect(body["total"] == .number(String(page.total)))
            #expect(body["count"] == .number(String(page.runs.count)))
            #expect(elements(of: body["results"])?.count == page.runs.count)
            #expect(text(of: body["next_cursor"]) == page.nextCursor?.description)
            if page.nextCursor == nil { #expect(body["next_cursor"] == .null) }
        }
    }

    // MARK: - PipelineListResponse

    @Test("PipelineListResponse writes each summary with the eight original fields, then failed_runs")
    func listResponseShape() {
        let summaries = [
            PipelineSummary(
                signature: PipelineSignature(pipelineName: "a", scriptName: nil, pipelineType: "batch", environment: nil),
                totalRuns: 3,
                lastRun: UTCInstant(microsecondsSinceEpoch: 1_756_814_822_000_000),
                avgDuration: 12.5,
                avgRowcount: nil
            ),
            PipelineSummary(
                signature: PipelineSignature(pipelineName: nil, scriptName: "s.py", pipelineType: nil, environment: "prod"),
                totalRuns: 1,
                lastRun: UTCInstant(microsecondsSinceEpoch: 1_500_000),
                avgDuration: nil,
                avgRowcount: 7
            ),
        ]
        let written = String(decoding: PipelineListResponse.bytes(summaries), as: UTF8.self)
        let expected =
            #"{"pipelines":[{"pipeline_name":"a","script_name":null,"pipeline_type":"batch","environment":null,"total_runs":3,"#
            + #""last_run":"2025-09-02T12:07:02Z","avg_duration":12.5,"avg_rowcount":null,"failed_runs":0},"#
            + #"{"pipeline_name":null,"script_name":"s.py","pipeline_type":null,"environment":"prod","total_runs":1,"#
            + #""last_run":"1970-01-01T00:00:01.500000Z","avg_duration":null,"avg_rowcount":7.0,"failed_runs":0}]}"#
        #expect(written == expected)
        #expect(String(decoding: PipelineListResponse.bytes([]), as: UTF8.self) == #"{"pipelines":[]}"#)
    }

    @Test("Summaries of random runs are written with numbers that read back exactly")
    func listResponseNumbersReadBack() throws {
        let infos = RunDataSet(seed: 8, runCount: 200, hasManyTies: false).make(queryCount: 0).runs.map(\.info)
        let summaries = PipelineSummary.summarize(infos)
        let body = try #require(members(of: try parseWritten(PipelineListResponse.bytes(summaries))))
        let written = try #require(elements(of: body["pipelines"]))
        try #require(written.count == summaries.count)
        for (object, summary) in zip(written, summaries) {
            let fields = try #require(members(of: object))
            // Without insight (nil here), the original eight fields and failed_runs.
            #expect(fields.count == 9)
            #expect(fields["failed_runs"] == .number(String(summary.failedRuns)))
            #expect(fields["pipeline_name"] == summary.signature.pipelineName.map(JSONValue.string) ?? .null)
            #expect(fields["environment"] == summary.signature.environment.map(JSONValue.string) ?? .null)
            #expect(fields["total_runs"] == .number(String(summary.totalRuns)))
            #expect(text(of: fields["last_run"]).flatMap { UTCInstant(iso8601: $0) } == summary.lastRun)
            for (key, value) in [("avg_duration", summary.avgDuration), ("avg_rowcount", summary.avgRowcount)] {
                if let value {
                    guard case .number(let number)? = fields[key] else {
                        Issue.record("\(key) is not a number")
                        continue
                    }
                    #expect(Double(number) == value)
                } else {
                    #expect(fields[key] == .null)
                }
            }
        }
    }

    // MARK: - Validation error body

    @Test("A validation error is written as FastAPI's detail list")
    func validationErrorBodyShape() throws {
        var body = try sampleRecordMembers()
        body["rowcount"] = "abc"
        body["pid"] = .number("-1")
        let issues = validationIssues(body)
        let written = try #require(members(of: try parseWritten(ValidationError(issues).jsonBody)))
        #expect(Set(written.keys) == ["detail"])
        let detail = try #require(elements(of: written["detail"]))
        #expect(detail.count == 2)
        let first = try #require(members(of: detail.first))
        #expect(Set(first.keys) == ["type", "loc", "msg", "input"])
        #expect(first["type"] == "int_parsing")
        #expect(first["loc"] == .array(["body", "rowcount"]))
        #expect(first["input"] == "abc")
        #expect(!(text(of: first["msg"]) ?? "").isEmpty)
        let second = try #require(members(of: detail.last))
        #expect(second["loc"] == .array(["body", "pid"]))
        #expect(second["input"] == .number("-1"))
    }

    @Test("Every detail entry carries type, loc, msg and input, as FastAPI writes them")
    func everyDetailEntryHasInput() throws {
        var body = try sampleRecordMembers()
        body["rowcount"] = nil
        let written = try #require(members(of: try parseWritten(ValidationError(validationIssues(body)).jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(entry["type"] == "missing")
        #expect(entry["loc"] == .array(["body", "rowcount"]))
        #expect(entry["msg"] == "Field required")
        #expect(entry.keys.contains("input"))
    }

    @Test("A query parameter issue is located under query with its value as input")
    func queryIssueBody() throws {
        let written = try #require(members(of: try parseWritten(ValidationError(queryIssues([("limit", "0")])).jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(entry["loc"] == .array(["query", "limit"]))
        #expect(entry["input"] == "0")
        #expect(entry["type"] == "greater_than_equal")
    }

    @Test("A batch issue is placed under the run's index, written as a number")
    func nestedIssueBody() throws {
        let error = ValidationError(FieldIssue(.body, "rowcount", kind: "int_parsing", message: "bad", input: "x")).nested(atIndex: 3)
        #expect(error.issues.first?.field == "3.rowcount")
        #expect(error.description == "body.3.rowcount: bad")
        let written = try #require(members(of: try parseWritten(error.jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(entry["loc"] == .array(["body", .number("3"), "rowcount"]))
    }

    @Test("Echoed input is cut to 200 characters, and objects and arrays are not echoed")
    func echoedInputIsTrimmed() throws {
        let long = String(repeating: "\u{E9}", count: 300)
        let trimmed = FieldIssue(.body, "output_file", kind: "string_too_long", message: "too long", input: .string(long))
        #expect(trimmed.input == .string(String(repeating: "\u{E9}", count: 200) + "\u{2026}"))
        let short = FieldIssue(.body, "output_file", kind: "k", message: "m", input: .string(String(repeating: "x", count: 200)))
        #expect(short.input == .string(String(repeating: "x", count: 200)))
        #expect(FieldIssue(.body, "pid", kind: "k", message: "m", input: .object(["a": 1])).input == "{\u{2026}}")
        #expect(FieldIssue(.body, "pid", kind: "k", message: "m", input: .array([1])).input == "[\u{2026}]")
        let written = try #require(members(of: try parseWritten(ValidationError(trimmed).jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(text(of: entry["input"])?.count == 201)
    }

    @Test("An input of at most 200 characters is echoed unchanged, however many bytes it takes")
    func shortMultiByteInputIsNotMarkedAsCut() {
        let accented = String(repeating: "\u{E9}", count: 150)
        let issue = FieldIssue(.body, "output_file", kind: "k", message: "m", input: .string(accented))
        #expect(issue.input == .string(accented))

    }

    @Test("An issue about the whole body is located at body alone")
    func wholeBodyIssueLocation() throws {
        let error = #expect(throws: ValidationError.self) { try PipelineInfo(jsonBytes: Array("[]".utf8)) }
        let refusal = try #require(error)
        let written = try #require(members(of: try parseWritten(refusal.jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(entry["loc"] == .array(["body"]))
    }

    @Test("Messages with quotes and control characters are escaped in the body")
    func messagesAreEscaped() throws {
        let issue = FieldIssue(.query, "pipeline_name", kind: "k", message: "bad \"name\"\n\\", input: .string("a\u{0}\"b"))
        let written = try #require(members(of: try parseWritten(ValidationError(issue).jsonBody)))
        let entry = try #require(members(of: elements(of: written["detail"])?.first))
        #expect(entry["msg"] == .string("bad \"name\"\n\\"))
        #expect(entry["input"] == .string("a\u{0}\"b"))
    }
}
