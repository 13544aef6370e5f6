import PipelineCore
import PipelineTestSupport
import Testing

private let sampleStart = UTCInstant(microsecondsSinceEpoch: 1_756_814_822_000_000)

@Suite("Query parameters of GET /get_pipeline_info")
struct QueryParameterTests {
    // MARK: - Paging parameters

    @Test("No parameters mean no filters, limit 100 and offset 0")
    func defaults() throws {
        let query = try RunQuery(parameters: [])
        #expect(query.filter == RunFilter())
        #expect(query.paging == .window(limit: 100, offset: 0))
        #expect(query == RunQuery())
    }

    @Test("limit accepts 1 through 10000", arguments: [("1", 1), ("10000", 10_000), ("250", 250), (" 50 ", 50), ("+7", 7)])
    func limitInRangeIsAccepted(text: String, limit: Int) throws {
        let query = try RunQuery(parameters: [("limit", text)])
        #expect(query.paging == .window(limit: limit, offset: 0))
        #expect(query.paging.limit == limit)
    }

    @Test(
        "limit outside 1...10000 or not an integer is refused naming limit",
        arguments: ["0", "10001", "-1", "abc", "1.5", "1e3", "99999999999999999999", "0x10", "10 0"]
    )
    func badLimitIsRefused(text: String) throws {
        let issues = queryIssues([("limit", text)])
        #expect(issues.count == 1)
        let issue = try #require(issues.first)
        #expect(issue.location == .query)
        #expect(issue.field == "limit")
        #expect(issue.input == .string(text))
        #expect(issue.description.hasPrefix("query.limit: "))
    }

    @Test("The kind of a refused limit says which bound or rule it broke")
    func limitIssueKinds() {
        #expect(queryIssues([("limit", "0")]).map(\.kind) == ["greater_than_equal"])
        #expect(queryIssues([("limit", "10001")]).map(\.kind) == ["less_than_equal"])
        #expect(queryIssues([("limit", "abc")]).map(\.kind) == ["int_parsing"])
    }

    @Test("offset accepts 0 and more", arguments: [("0", 0), ("250", 250), ("2147483647", 2_147_483_647)])
    func offsetInRangeIsAccepted(text: String, offset: Int) throws {
        let query = try RunQuery(parameters: [("offset", text), ("limit", "5")])
        #expect(query.paging == .window(limit: 5, offset: offset))
    }

    @Test("A negative or non-integer offset is refused naming offset", arguments: ["-1", "abc", "1.5", "2147483648"])
    func badOffsetIsRefused(text: String) {
        let issues = queryIssues([("offset", text)])
        #expect(issues.map(\.field) == ["offset"])
        #expect(issues.first?.location == .query)
    }

    @Test(
        "all_data reads the usual boolean spellings",
        arguments: [
            ("true", true), ("false", false), ("1", true), ("0", false), ("yes", true), ("no", false), ("TRUE", true), ("False", false),
            ("on", true), ("off", false),
        ]
    )
    func allDataBooleans(text: String, isAllData: Bool) throws {
        let query = try RunQuery(parameters: [("all_data", text), ("limit", "5"), ("offset", "3")])
        #expect(query.paging == (isAllData ? .all : .window(limit: 5, offset: 3)))
        #expect((query.paging.limit == nil) == isAllData)
    }

    @Test("all_data that is not a boolean is refused naming all_data", arguments: ["maybe", "2", "truee", "-1", "null"])
    func badAllDataIsRefused(text: String) {
        #expect(queryIssues([("all_data", text)]).map(\.field) == ["all_data"])
    }

    // MARK: - Parameter list handling

    @Test("An empty value counts as absent")
    func emptyValuesAreAbsent() throws {
        let names = RunQuery.parameters.map(\.rawValue)
        let query = try RunQuery(parameters: names.map { ($0, "") })
        #expect(query == RunQuery())
    }

    @Test("The last of repeated values wins, and an earlier bad value is not checked")
    func lastRepeatedValueWins() throws {
        let query = try RunQuery(parameters: [("limit", "5"), ("pipeline_name", "a"), ("limit", "0"), ("limit", "7"), ("pipeline_name", "b")])
        #expect(query.paging == .window(limit: 7, offset: 0))
        #expect(query.filter.pipelineName == "b")
        #expect(queryIssues([("limit", "7"), ("limit", "0")]).map(\.field) == ["limit"])
    }

    @Test("Every parameter name the query does not read is a 422 naming it, differently cased and empty ones included")
    func unknownParametersAreRefused() throws {
        let issues = queryIssues([("foo", "bar"), ("LIMIT", "0"), ("limit ", "0"), ("Pipeline_Name", "x"), ("statsu", ""), ("limit", "5")])
        #expect(issues.map(\.field) == ["foo", "LIMIT", "limit ", "Pipeline_Name", "statsu"])
        #expect(issues.allSatisfy { $0.kind == "extra_forbidden" && $0.message.contains("pipeline_name") })
        // A bad value and an unknown name are reported together.
        #expect(queryIssues([("limit", "0"), ("foo", "1")]).map(\.field) == ["limit", "foo"])
    }

    // MARK: - Filters

    @Test("Every filter parameter sets its condition")
    func everyFilterParameterIsRead() throws {
        let query = try RunQuery(parameters: [
            ("start_utc", "2025-09-02T12:07:02Z"),
            ("end_utc", "2025-09-03T00:00:00.5Z"),
            ("min_rowcount", "-5"),
            ("max_rowcount", "1000"),
            ("pipeline_name", "ingest lots"),
            ("script_name", "a&b=c.py"),
            ("pipeline_type", "batch"),
            ("environment", "prod"),
            ("status", "failed"),
            ("date_code", "20250902_050702"),
        ])
        let expected = RunFilter(
            startUTCFrom: sampleStart,
            endUTCTo: UTCInstant(microsecondsSinceEpoch: 1_756_857_600_500_000),
            minRowcount: -5,
            maxRowcount: 1000,
            pipelineName: "ingest lots",
            scriptName: "a&b=c.py",
            pipelineType: "batch",
            environment: "prod",
            dateCode: "20250902_050702",
            status: "failed"
        )
        #expect(query.filter == expected)
    }

    @Test(
        "start_utc and end_utc without an offset are taken as UTC",
        arguments: ["2025-09-02T12:07:02", "2025-09-02 12:07:02", "2025-09-02T12:07:02Z", "2025-09-02T14:07:02+02:00", "2025-09-02T06:37:02-0530"]
    )
    func instantsWithoutOffsetAreUTC(text: String) throws {
        let query = try RunQuery(parameters: [("start_utc", text), ("end_utc", text)])
        #expect(query.filter.startUTCFrom == sampleStart)
        #expect(query.filter.endUTCTo == sampleStart)
    }

    @Test("A bad date-time parameter is refused naming it", arguments: ["start_utc", "end_utc"])
    func badInstantIsRefused(name: String) {
        for text in ["2031-02-30", "not-a-date", "2025-09-02T24:00:00", "1756814822"] {
            let issues = queryIssues([(name, text)])
            #expect(issues.map(\.field) == [name], "\(text)")
            #expect(issues.first?.kind == "datetime_from_date_parsing")
        }
    }

    @Test("A non-integer row count bound is refused naming it", arguments: ["min_rowcount", "max_rowcount"])
    func badRowcountBoundIsRefused(name: String) {
        for text in ["abc", "1.5", "1e3", "true"] {
            #expect(queryIssues([(name, text)]).map(\.field) == [name], "\(text)")
        }
    }

    @Test("A row count bound with two signs is refused")
    func doublySignedRowcountIsRefused() {
        for text in ["+-5", "++5", "-+5"] {
            #expect(queryIssues([("min_rowcount", text)]).map(\.field) == ["min_rowcount"], "\(text)")
        }
    }

    @Test("A text filter with a NUL or over 4096 bytes is refused naming it")
    func badTextFilterIsRefused() {
        #expect(queryIssues([("pipeline_name", "a\u{0}b")]).map(\.field) == ["pipeline_name"])
        #expect(queryIssues([("environment", String(repeating: "e", count: 4097))]).map(\.field) == ["environment"])
        #expect(queryIssues([("environment", String(repeating: "e", count: 4096))]).isEmpty)
    }

    @Test("Every bad parameter is reported at once")
    func allBadParametersAreReported() {
        let issues = queryIssues([("limit", "0"), ("offset", "-1"), ("start_utc", "bad"), ("all_data", "maybe"), ("max_rowcount", "x")])
        #expect(Set(issues.map(\.field)) == ["limit", "offset", "start_utc", "all_data", "max_rowcount"])
        #expect(issues.count == 5)
        #expect(issues.allSatisfy { $0.location == .query })
    }

    // MARK: - Cursors

    @Test("A cursor from a page continues with the same filters")
    func cursorWithSameFiltersGivesKeysetPaging() throws {
        let (runs, filter) = try cursorFixture()
        let parameters = try #require(queryParameters(for: filter))
        let first = try RunQuery(parameters: parameters + [("limit", "10")]).evaluate(over: runs)
        let cursor = try #require(first.nextCursor)
        let next = try RunQuery(parameters: parameters + [("limit", "10"), ("cursor", cursor.description), ("offset", "0")])
        #expect(next.filter == filter)
        #expect(next.paging == .after(cursor.position, limit: 10))
        #expect(cursor.position == first.runs.last?.position)
    }

    @Test("A cursor used with other filters is refused as cursor_mismatch")
    func cursorWithOtherFiltersIsRefused() throws {
        let (runs, filter) = try cursorFixture()
        let page = try RunQuery(parameters: try #require(queryParameters(for: filter)) + [("limit", "10")]).evaluate(over: runs)
        let token = try #require(page.nextCursor).description
        var other = filter
        other.environment = "dev"
        var unfiltered = filter
        unfiltered.environment = nil
        var bounded = filter
        bounded.minRowcount = 0
        for changed in [other, unfiltered, bounded] {
            let issues = queryIssues(try #require(queryParameters(for: changed)) + [("cursor", token)])
            #expect(issues.map(\.field) == ["cursor"])
            #expect(issues.first?.kind == "cursor_mismatch")
        }
    }

    @Test("A cursor together with a non-zero offset is refused")
    func cursorWithOffsetIsRefused() throws {
        let (runs, filter) = try cursorFixture()
        let parameters = try #require(queryParameters(for: filter))
        let page = try RunQuery(parameters: parameters + [("limit", "10")]).evaluate(over: runs)
        let token = try #require(page.nextCursor).description
        let issues = queryIssues(parameters + [("cursor", token), ("offset", "10")])
        #expect(issues.map(\.field) == ["cursor"])
        #expect(issues.first?.kind == "cursor_with_offset")
    }

    @Test(
        "A token this endpoint did not make is refused as cursor_invalid",
        arguments: [
            "garbage!", "abc", "AAAA", "v1.1.2.3", "====", base64URL("v2.1756814822000000.3.ff"), base64URL("v1.x.3.ff"),
            base64URL("v1.1756814822000000.3"), base64URL("v1.1756814822000000.3.zz"), base64URL("v1.1.2.3.4"), base64URL("v1..3.ff"),
            String(repeating: "A", count: 200),
        ]
    )
    func garbageCursorIsRefused(token: String) {
        let issues = queryIssues([("cursor", token)])
        #expect(issues.map(\.field) == ["cursor"])
        #expect(issues.first?.kind == "cursor_invalid")
        #expect(RunCursor(token: token) == nil)
    }

    @Test("A cursor token is unpadded URL-safe base64 of its version, position and filter fingerprint")
    func cursorTokenFormat() throws {
        let cursor = RunCursor(position: RunPosition(startUTC: sampleStart, sequence: 3), filterFingerprint: 0xff)
        #expect(cursor.description == base64URL("v1.1756814822000000.3.ff"))
        #expect(RunCursor(token: base64URL("v1.1756814822000000.3.ff")) == cursor)
    }

    @Test("Cursor tokens round-trip and use only URL-safe characters", arguments: [1, 2] as [UInt64])
    func cursorTokensRoundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let first = NaiveCalendar.microseconds(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0, micro: 0)
        let last = NaiveCalendar.microseconds(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micro: 999_999)
        var cursors = [
            RunCursor(position: RunPosition(startUTC: UTCInstant(microsecondsSinceEpoch: first), sequence: .min), filterFingerprint: 0),
            RunCursor(position: RunPosition(startUTC: UTCInstant(microsecondsSinceEpoch: last), sequence: .max), filterFingerprint: .max),
        ]
        for _ in 0..<300 {
            let position = RunPosition(
                startUTC: UTCInstant(microsecondsSinceEpoch: Int64.random(in: first...last, using: &generator)),
                sequence: Int64.random(in: 0...Int64.max, using: &generator) >> Int64.random(in: 0...62, using: &generator)
            )
            cursors.append(RunCursor(position: position, filterFingerprint: generator.next()))
        }
        let urlSafe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for cursor in cursors {
            let token = cursor.description
            #expect(token.allSatisfy { urlSafe.contains($0) }, "\(token)")
            #expect(RunCursor(token: token) == cursor)
        }
    }

    @Test("A cursor whose position lies outside years 1-9999 is refused")
    func cursorOutsideTheCalendarIsRefused() {
        let first = NaiveCalendar.microseconds(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0, micro: 0)
        let last = NaiveCalendar.microseconds(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micro: 999_999)
        for start in [Int64.min, first - 1, last + 1, Int64.max] {
            let token = base64URL("v1.\(start).1.ff")
            // Compared as a Bool: describing such a cursor would itself need to write its instant.
            let isAccepted = RunCursor(token: token) != nil
            #expect(!isAccepted, "start \(start)")
            #expect(queryIssues([("cursor", token)]).map(\.kind) == ["cursor_invalid"])
        }
        #expect(RunCursor(token: base64URL("v1.\(first).1.ff"))?.position.startUTC.microsecondsSinceEpoch == first)
        #expect(RunCursor(token: base64URL("v1.\(last).1.ff"))?.position.startUTC.microsecondsSinceEpoch == last)
    }

    @Test("The filter fingerprint tells apart filters that differ in any condition", arguments: [3, 4] as [UInt64])
    func fingerprintsDistinguishFilters(seed: UInt64) {
        var runs = RandomRuns(seed: seed)
        var byFingerprint: [UInt64: RunFilter] = [:]
        for _ in 0..<400 {
            let filter = runs.query().filter
            if let earlier = byFingerprint[filter.fingerprint] {
                #expect(earlier == filter, "\(earlier) and \(filter) share a fingerprint")
            }
            byFingerprint[filter.fingerprint] = filter
        }
        let instant = sampleStart
        #expect(RunFilter(startUTCFrom: instant).fingerprint != RunFilter(endUTCTo: instant).fingerprint)
        #expect(RunFilter(minRowcount: 5).fingerprint != RunFilter(maxRowcount: 5).fingerprint)
        #expect(RunFilter(pipelineName: "a").fingerprint != RunFilter(scriptName: "a").fingerprint)
        #expect(RunFilter(pipelineType: "-").fingerprint != RunFilter().fingerprint)
        #expect(RunFilter(environment: "").fingerprint != RunFilter().fingerprint)
        #expect(RunFilter(status: "failed").fingerprint != RunFilter().fingerprint)
        #expect(RunFilter(status: "failed").fingerprint != RunFilter(dateCode: "failed").fingerprint)
        #expect(RunFilter(status: .isNull).fingerprint != RunFilter(status: "").fingerprint)
    }

    @Test("Filters whose names contain the fingerprint separator do not share a fingerprint")
    func fingerprintSeparatorIsNotAmbiguous() {
        let one = RunFilter(pipelineName: "a\u{1F}=b")
        let other = RunFilter(pipelineName: "a", scriptName: "b\u{1F}-")
        #expect(one != other)
        #expect(one.fingerprint != other.fingerprint)
        let three = RunFilter(pipelineName: "=1:a", scriptName: "b")
        let four = RunFilter(pipelineName: "", scriptName: "a\u{1F}=1:b")
        #expect(three.fingerprint != four.fingerprint)
    }

    // MARK: - From a raw query string

    @Test("A raw query string decodes into the query it spells")
    func rawQueryStringDecodes() throws {
        let pairs = QueryString.parse("start_utc=2025-09-02+12%3A07%3A02&limit=5&pipeline_name=a%26b&environment=&status=failed")
        let query = try RunQuery(parameters: pairs)
        #expect(query.filter == RunFilter(startUTCFrom: sampleStart, pipelineName: "a&b", status: "failed"))
        #expect(query.paging == .window(limit: 5, offset: 0))
        #expect(queryIssues(QueryString.parse("limit=5&foo")).map(\.field) == ["foo"])
    }
}

@Suite("QueryString")
struct QueryStringTests {
    @Test("Pairs split on & and =, with + and %20 as spaces")
    func pairsDecode() {
        let pairs = QueryString.parse("a=1&b=x+y&c=%20z&d=1=2&e%3Df=%2B&g=%C3%A9%e2%82%ac")
        #expect(pairs.map(\.name) == ["a", "b", "c", "d", "e=f", "g"])
        #expect(pairs.map(\.value) == ["1", "x y", " z", "1=2", "+", "\u{E9}\u{20AC}"])
    }

    @Test("Blank values are kept and empty pairs are skipped")
    func blankValuesAreKept() {
        let pairs = QueryString.parse("&&a=&b&&=c&")
        #expect(pairs.map(\.name) == ["a", "b", ""])
        #expect(pairs.map(\.value) == ["", "", "c"])
        #expect(QueryString.parse("").isEmpty)
    }

    @Test("Bad escapes are kept as written and invalid UTF-8 becomes U+FFFD")
    func badEscapesAndInvalidUTF8AreTolerated() {
        let pairs = QueryString.parse("%zz=%4&b=%&c=%FF&d=%C3&e=%E2%82&f=%4g1&g=%%41")
        #expect(pairs.map(\.name) == ["%zz", "b", "c", "d", "e", "f", "g"])
        #expect(pairs.map(\.value) == ["%4", "%", "\u{FFFD}", "\u{FFFD}", "\u{FFFD}", "%4g1", "%A"])
    }

    @Test("Encoded pairs decode back to themselves", arguments: [1, 2, 3] as [UInt64])
    func encodedPairsRoundTrip(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<200 {
            let pairs = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                (name: RandomJSON.string(using: &generator), value: RandomJSON.string(using: &generator))
            }
            let query = pairs.map { percentEncoded($0.name, using: &generator) + "=" + percentEncoded($0.value, using: &generator) }
                .joined(separator: "&")
            let decoded = QueryString.parse(query)
            #expect(decoded.map(\.name) == pairs.map(\.name), "\(query)")
            #expect(decoded.map(\.value) == pairs.map(\.value), "\(query)")
        }
    }

    @Test("Arbitrary text never crashes the parser and yields one pair per non-empty part", arguments: [5, 6] as [UInt64])
    func arbitraryTextIsTolerated(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let pieces = ["a", "=", "&", "%", "+", "2", "F", "G", "%FF", "%C3", "%", "\u{E9}", "\u{0}", "%00", "%2", " "]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...20, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let pairs = QueryString.parse(text)
            #expect(pairs.count == text.split(separator: "&").count, "\(text)")
            _ = try? RunQuery(parameters: pairs)
        }
    }
}

// MARK: - Helpers

/// Runs and a filter that matches more than ten of them, so that a first page has a cursor.
private func cursorFixture() throws -> ([StoredRun], RunFilter) {
    var random = RandomRuns(seed: 77)
    let runs = random.runs(200).enumerated().map { StoredRun(sequence: Int64($0.offset + 1), info: $0.element) }
    let filter = RunFilter(environment: "prod")
    try #require(runs.filter { filter.matches($0.info) }.count > 10)
    return (runs, filter)
}

/// The query parameters that spell `filter`; nil when it has a condition they cannot spell
/// (a null field, a date code).
func queryParameters(for filter: RunFilter) -> [(name: String, value: String)]? {
    var parameters: [(name: String, value: String)] = []
    if let value = filter.startUTCFrom { parameters.append(("start_utc", value.description)) }
    if let value = filter.endUTCTo { parameters.append(("end_utc", value.description)) }
    if let value = filter.minRowcount { parameters.append(("min_rowcount", String(value))) }
    if let value = filter.maxRowcount { parameters.append(("max_rowcount", String(value))) }
    for (field, condition) in filter.signatureConditions {
        guard case .equals(let value) = condition else { return nil }
        parameters.append((field.rawValue, value))
    }
    switch filter.status {
    case nil: break
    case .equals(let value)?: parameters.append(("status", value))
    case .isNull?: return nil
    }
    if let value = filter.dateCode { parameters.append(("date_code", value)) }
    return parameters
}

/// Unpadded base64url, written independently of the code under test.
func base64URL(_ text: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    var bits = ""
    for byte in text.utf8 {
        let binary = String(byte, radix: 2)
        bits += String(repeating: "0", count: 8 - binary.count) + binary
    }
    while bits.count % 6 != 0 { bits += "0" }
    var out = ""
    var index = bits.startIndex
    while index < bits.endIndex {
        let next = bits.index(index, offsetBy: 6)
        out.append(alphabet[Int(bits[index..<next], radix: 2)!])
        index = next
    }
    return out
}

/// Percent-encodes `text` for a query string, sometimes writing a space as `+`, sometimes as `%20`.
private func percentEncoded(_ text: String, using generator: inout SeededGenerator) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(byte)))
        case UInt8(ascii: " ") where Bool.random(using: &generator):
            out.append("+")
        default:
            let hex = String(byte, radix: 16, uppercase: Bool.random(using: &generator))
            out += "%" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return out
}
