import PipelineCore
import PipelineTestSupport
import Testing

/// Values no client may send but storage may hold (the old service's files and shared tables),
/// and hostile input: nothing of it may trap, and every answer stays well-formed.
@Suite("Hostile values in the core")
struct HardeningTests {
    static func run(rowcount: Int64, seconds: Double, code: String) -> PipelineInfo {
        TestRun.make("legacy", start: UTCInstant(microsecondsSinceEpoch: 1_700_000_000_000_000), seconds: seconds, rowcount: rowcount, code: code)
    }

    // MARK: - Sums

    @Test("Two legacy rowcounts of 5e18 sum exactly, past Int64")
    func rowcountSumsPastInt64() throws {
        let summary = try #require(
            PipelineSummary.summarize([
                Self.run(rowcount: 5_000_000_000_000_000_000, seconds: 1, code: "a"),
                Self.run(rowcount: 5_000_000_000_000_000_000, seconds: 1, code: "b"),
            ]).first
        )
        #expect(summary.avgRowcount == 5e18)
        var aggregate = SignatureAggregate(empty: Self.run(rowcount: 1, seconds: 1, code: "x").signature)
        aggregate.add(Self.run(rowcount: .max, seconds: 1, code: "a"))
        aggregate.add(Self.run(rowcount: .max, seconds: 1, code: "b"))
        #expect(aggregate.positiveRowcountSum == 2 * Int128(Int64.max))
    }

    @Test("Counts saturate at Int64.max instead of trapping, and a full rowcount sum stays at its maximum")
    func countsSaturate() {
        let run = Self.run(rowcount: 10, seconds: 1, code: "a")
        var aggregate = SignatureAggregate(
            signature: run.signature,
            totalRuns: .max,
            lastRun: run.startUTC,
            positiveDurationSum: 1,
            positiveDurationCount: .max,
            positiveRowcountSum: .max,
            positiveRowcountCount: .max,
            failedRuns: .max
        )
        var failed = run
        failed.status = RunStatus.failed
        aggregate.add(failed)
        #expect(aggregate.totalRuns == .max)
        #expect(aggregate.positiveDurationCount == .max)
        #expect(aggregate.positiveRowcountCount == .max)
        #expect(aggregate.failedRuns == .max)
        #expect(aggregate.positiveRowcountSum == .max)
    }

    @Test("Durations whose sum overflows give an infinite mean, written as null")
    func overflowingDurationsAreNull() throws {
        let summaries = PipelineSummary.summarize([
            Self.run(rowcount: 1, seconds: 1e308, code: "a"), Self.run(rowcount: 1, seconds: 1e308, code: "b"),
        ])
        let summary = try #require(summaries.first)
        #expect(summary.avgDuration == .infinity)
        var writer = JSONWriter()
        summary.write(to: &writer)
        let written = try #require(members(of: try parseWritten(writer.bytes)))
        #expect(written["avg_duration"] == .null)
        #expect(written["avg_rowcount"] == .number("1.0"))
    }

    @Test("The writer turns NaN and the infinities into null wherever they appear")
    func writerNeverTrapsOnNonFinite() throws {
        var writer = JSONWriter()
        writer.array([Double.nan, .infinity, -.infinity, 1.5]) { writer, value in writer.double(value) }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[null,null,null,1.5]")
        var run = Self.run(rowcount: 1, seconds: 1, code: "a")
        run.elapsedSeconds = .nan
        let written = members(of: try parseWritten(run.jsonBytes))
        #expect(written?["elapsed_seconds"] == .null)
    }

    @Test("Integers at the edges of Int64 are written exactly")
    func writerIntegersAtTheEdges() {
        for value in [Int64.min, .min + 1, -1, 0, 9, 10, 999_999_999_999_999_999, 1_000_000_000_000_000_000, .max] {
            var writer = JSONWriter()
            writer.integer(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        }
    }

    // MARK: - Field order

    /// Records the fields a decoder is asked for and the kind each is asked as.
    struct RecordingDecoder: FieldDecoder {
        var asked: [(PipelineField, PipelineField.Kind)] = []
        mutating func localDateTime(_ field: PipelineField) -> LocalDateTime { record(field, .localDateTime, LocalDateTime(wallMicroseconds: 0)) }
        mutating func instant(_ field: PipelineField) -> UTCInstant { record(field, .instant, UTCInstant(microsecondsSinceEpoch: 0)) }
        mutating func number(_ field: PipelineField) -> Double { record(field, .number, 0) }
        mutating func text(_ field: PipelineField) -> String { record(field, .text, "") }
        mutating func optionalText(_ field: PipelineField) -> String? { record(field, .optionalText, nil) }
        mutating func integer(_ field: PipelineField) -> Int64 { record(field, .integer, 0) }
        mutating func optionalInteger(_ field: PipelineField) -> Int64? { record(field, .optionalInteger, nil) }

        private mutating func record<Value>(_ field: PipelineField, _ kind: PipelineField.Kind, _ value: Value) -> Value {
            asked.append((field, kind))
            return value
        }
    }

    @Test("A run is decoded field by field in PipelineField order, each as its own kind")
    func decodingFollowsFieldOrder() {
        var decoder = RecordingDecoder()
        _ = PipelineInfo(decoding: &decoder)
        #expect(decoder.asked.map(\.0) == PipelineField.allCases)
        #expect(decoder.asked.allSatisfy { $0.0.kind == $0.1 })
    }

    @Test("Every field's value has the type its kind says, and the JSON object lists the fields in order")
    func valuesFollowKinds() throws {
        let run = try PipelineInfo(jsonBytes: Array(sampleRecordJSON.utf8))
        for field in PipelineField.allCases {
            switch (field.kind, run.value(of: field)) {
            case (.localDateTime, .local), (.instant, .instant), (.number, .double), (.text, .text(_?)), (.optionalText, .text),
                (.integer, .integer(_?)), (.optionalInteger, .integer):
                continue
            default: Issue.record("\(field) has a value of another kind")
            }
        }
        let text = String(decoding: run.jsonBytes, as: UTF8.self)
        let positions = PipelineField.allCases.compactMap { text.range(of: "\"\($0.rawValue)\":")?.lowerBound }
        #expect(positions.count == PipelineField.allCases.count)
        #expect(positions == positions.sorted())
    }

    // MARK: - Splitting a batch as it arrives

    /// Splits `text` fed in pieces of `chunk` bytes: as slices of an array (bytes in memory, as a
    /// request body arrives), or with `contiguous` false as a sequence that only iterates.
    private static func split(
        _ text: String,
        format: JSONSequenceSplitter.Format,
        chunk: Int,
        contiguous: Bool = true
    ) -> (elements: [String], error: JSONSequenceSplitter.SyntaxError?) {
        var splitter = JSONSequenceSplitter(format: format)
        var elements: [String] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            let piece = bytes[start..<min(start + chunk, bytes.count)]
            let found = { (element: [UInt8]) in elements.append(String(decoding: element, as: UTF8.self)) }
            if let error = contiguous ? splitter.feed(piece, found: found) : splitter.feed(piece.lazy.map { $0 }, found: found) {
                return (elements, error)
            }
        }
        let error = splitter.finish { elements.append(String(decoding: $0, as: UTF8.self)) }
        return (elements, error)
    }

    @Test("Bytes in memory split exactly as bytes read one at a time: the same elements, the same error at the same offset")
    func contiguousBytesSplitAlike() {
        let documents: [(String, JSONSequenceSplitter.Format)] = [
            (#" [ {"a":[1,{"b":"]},\"x"}]}, 12 ,"s,t\\" , true,null,[],{} ,-1.5e3 ] "#, .array),
            (#"[{"path":"C:\\runs\\a \"b\".csv","n":"é😀"},{"q":"\\"}]"#, .array),
            (#"[{"a":"unterminated]"#, .array), (#"[{"a":1}} ]"#, .array), (#"[1,2] {"#, .array), ("  {\"a\":1}", .array),
            ("{\"a\":\"x\\ny\"}\r\n\n  \n[2]\n3", .lines), ("\n\n{\"a\":[1,\n2]}", .lines),
        ]
        for (text, format) in documents {
            for chunk in [1, 2, 3, 5, 8, 13, 64, 4096] {
                let inMemory = Self.split(text, format: format, chunk: chunk)
                let iterated = Self.split(text, format: format, chunk: chunk, contiguous: false)
                #expect(inMemory.elements == iterated.elements, "\(text) in pieces of \(chunk)")
                #expect(inMemory.error == iterated.error, "\(text) in pieces of \(chunk)")
            }
        }
    }

    @Test("An array's elements are found whole however the bytes are cut", arguments: [1, 2, 3, 7, 64])
    func arrayElementsAcrossChunks(chunk: Int) {
        let text = #" [ {"a":[1,{"b":"]},\"x"}]}, 12 ,"s,t\\" , true,null,[],{} ,-1.5e3 ] "#
        let result = Self.split(text, format: .array, chunk: chunk)
        #expect(result.error == nil)
        #expect(result.elements == [#"{"a":[1,{"b":"]},\"x"}]}"#, "12", #""s,t\\""#, "true", "null", "[]", "{}", "-1.5e3"])
    }

    @Test("Lines are split on LF, blank lines skipped, a last line without LF kept")
    func ndjsonLines() {
        let result = Self.split("{\"a\":1}\r\n\n  \n[2]\n3", format: .lines, chunk: 2)
        #expect(result.error == nil)
        #expect(result.elements == ["{\"a\":1}\r", "[2]", "3"])
    }

    @Test(
        "A document that is not one well-formed array is refused with its position",
        arguments: [
            ("{\"a\":1}", true), ("7", true), ("", true), ("[1,2", false), ("[1,]", false), ("[1 2]", false), ("[1] x", false), ("[}", false),
        ]
    )
    func arraySyntaxErrors(text: String, isNotAnArray: Bool) {
        let result = Self.split(text, format: .array, chunk: 3)
        #expect(result.error != nil, "\(text)")
        #expect(result.error?.isNotAnArray == isNotAnArray, "\(text)")
    }

    // MARK: - Secrets and text

    @Test(
        "Passwords in URLs are replaced by *** in any text, a mistyped scheme included",
        arguments: [
            ("postgres://admin:S3cret@db:5432/runs", "postgres://admin:***@db:5432/runs"),
            ("postgress://admin:S3cret@db/runs?sslmode=require", "postgress://admin:***@db/runs?sslmode=require"),
            ("from postgres://a:b@h/d to sqlite:/tmp/x", "from postgres://a:***@h/d to sqlite:/tmp/x"),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("postgres://u:p@ss:w@rd@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p/ss@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p?ss@host/db?sslmode=require", "postgres://u:***@host/db?sslmode=require"),
            ("postgres://u:p#ss@host:5433/db", "postgres://u:***@host:5433/db"),
            ("postgres://u:p ss@host/db", "postgres://u:***@host/db"),
            ("postgress://u:se/cret@h/db", "postgress://u:***@h/db"),
            ("unknown backend \"postgress\" in \"postgress://u:se/cret@h/db\"", "unknown backend \"postgress\" in \"postgress://u:***@h/db\""),
            ("no url here", "no url here"),
        ]
    )
    func credentialsAreRedacted(text: String, expected: String) {
        #expect(Redaction.credentials(in: text) == expected)
        // Hiding twice changes nothing.
        #expect(Redaction.credentials(in: expected) == expected)
    }

    @Test(
        "A secret setting's value is shown with each URL's password hidden; a list cut inside a password is hidden as one text",
        arguments: [
            (Setting.postgresURL, "postgres://u:p,ss@h/db", "postgres://u:***@h/db"),
            (.postgresReadURL, "postgres://a:p/1@h1/db, postgres://b:p 2@h2/db", "postgres://a:***@h1/db,postgres://b:***@h2/db"),
            (.postgresReadURL, "postgres://u:p,ss@h/db", "postgres://u:***@h/db"),
            (.postgresReadURL, "postgres://u@h/db", "postgres://u@h/db"),
            (.jsonlPath, "/data/a:b@c", "/data/a:b@c"),
        ]
    )
    func secretValuesAreRedacted(setting: Setting, value: String, expected: String) {
        #expect(Redaction.value(value, of: setting) == expected)
    }

    @Test("CSV text cells a spreadsheet would run as formulas start with a quote; numbers and raw exports are left as they are")
    func csvFormulasAreNeutralised() throws {
        var run = try PipelineInfo(jsonBytes: Array(sampleRecordJSON.utf8))
        run.pipelineName = "=HYPERLINK(\"http://x\",\"y\")"
        run.scriptName = "+cmd"
        run.pipelineType = "-2+3"
        run.environment = "@SUM(A1)"
        run.status = "\tx"
        run.archivedFile = "\rx"
        run.exitCode = -9
        let safe = String(decoding: RunExportEncoder(format: .csv).document([run]), as: UTF8.self)
        #expect(safe.contains(#"'=HYPERLINK(""http://x"",""y"")"#))
        for cell in ["'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "\"'\rx\""] { #expect(safe.contains(cell), "\(cell)") }
        #expect(safe.hasSuffix(",-9,\(run.runID ?? "")\r\n"))
        let raw = String(decoding: RunExportEncoder(format: .csv, neutralisesFormulas: false).document([run]), as: UTF8.self)
        #expect(!raw.contains("'"))
        #expect(RunExportEncoder(format: .ndjson).document([run]) == run.jsonBytes + [0x0A])
    }

    // MARK: - Settings

    @Test("Every setting's variable is PIPELINE_ and its flag in capitals")
    func settingNames() {
        for setting in Setting.allCases {
            #expect(setting.environmentName == "PIPELINE_" + setting.flagName.uppercased().replacingOccurrences(of: "-", with: "_"))
            #expect(setting.flagName == setting.flagName.lowercased())
        }
        #expect(Setting.postgresURL.flagName == "postgres-url")
        #expect(Setting.anomalyK.environmentName == "PIPELINE_ANOMALY_K")
    }

    @Test("A secret is read from the file its _FILE variable names; both at once is an error; a bad secret is never quoted")
    func secretsFromFiles() throws {
        let files = ["/run/secrets/url": "postgres://app:S3cret@db/runs\n"]
        let read: (String) throws -> String = { path in
            guard let text = files[path] else { throw HardeningFailure("no such file") }
            return text
        }
        let fromFile = try SettingValues(flags: [:], environment: ["PIPELINE_POSTGRES_URL_FILE": "/run/secrets/url"], readFile: read)
        #expect(fromFile.text(.postgresURL) == "postgres://app:S3cret@db/runs")
        #expect(fromFile.sources[.postgresURL] == .file)
        let both = #expect(throws: ConfigurationError.self) {
            try SettingValues(
                flags: [:],
                environment: ["PIPELINE_POSTGRES_URL_FILE": "/run/secrets/url", "PIPELINE_POSTGRES_URL": "x"],
                readFile: read
            )
        }
        #expect(both?.name == "PIPELINE_POSTGRES_URL_FILE")
        let missing = #expect(throws: ConfigurationError.self) {
            try SettingValues(flags: [:], environment: ["PIPELINE_POSTGRES_URL_FILE": "/nowhere"], readFile: read)
        }
        #expect(missing?.description.contains("/nowhere") == true)
        // A flag still wins over the file.
        let flagged = try SettingValues(
            flags: [.postgresURL: "postgres://a@b/c"],
            environment: ["PIPELINE_POSTGRES_URL_FILE": "/run/secrets/url"],
            readFile: read
        )
        #expect(flagged.text(.postgresURL) == "postgres://a@b/c")
    }

    // MARK: - One parser for every endpoint's signature filters

    @Test("A NUL in a signature filter is refused by every endpoint's parser, naming the parameter")
    func nulInFiltersIsRefusedEverywhere() {
        let pairs = [(name: "pipeline_name", value: "a\u{0}b")]
        #expect(queryIssues(pairs).map(\.field) == ["pipeline_name"])
        #expect(throws: ValidationError.self) { try SummaryQuery(parameters: pairs) }
        let history = #expect(throws: ValidationError.self) { try HistoryQuery(parameters: pairs, zoneNamed: { _ in nil }) }
        #expect(history?.issues.map(\.field) == ["pipeline_name"])
    }
}

private struct HardeningFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
