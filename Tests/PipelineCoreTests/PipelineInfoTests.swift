import PipelineCore
import PipelineTestSupport
import Testing

private let requiredFields = PipelineField.allCases.filter { !$0.isOptional }
private let optionalFields = PipelineField.allCases.filter(\.isOptional)
/// The optional fields a client may leave out and then reads as null (a run's id is made instead).
private let nullableFields = optionalFields.filter { $0 != .runID }
private let stringFields: [PipelineField] = [
    .elapsedHuman, .outputFile, .logFile, .dateCode, .pipelineName, .scriptName, .pipelineType, .environment, .archivedFile,
]

@Suite("PipelineInfo validation")
struct PipelineInfoTests {
    // MARK: - The sample record

    @Test("The sample record parses with every field")
    func specSampleParses() throws {
        let info = try PipelineInfo(jsonBytes: Array(sampleRecordJSON.utf8))
        #expect(info.startLocal.description == "2025-09-02T05:07:02")
        #expect(info.endLocal.description == "2025-09-02T05:47:27")
        #expect(info.startUTC == UTCInstant(microsecondsSinceEpoch: 1_756_814_822_000_000))
        #expect(info.endUTC.description == "2025-09-02T12:47:27Z")
        #expect(info.elapsedSeconds == 2424.879)
        #expect(info.elapsedHuman == "40m 24s")
        #expect(info.outputFile == "/apps/exensio_data/reference_data/SubconLotRefData-20250902_050702.subconLot")
        #expect(info.rowcount == 11060)
        #expect(info.logFile == "/apps/exensio_data/reference_data/jag_test/log/getSubconLotRefData_LOTGDB.log")
        #expect(info.archivedFile == "/apps/exensio_data/archives-yms/reference_data/lot/SubconLotRefData-20250902_050702.subconLot.gz")
        #expect(info.pid == 21788)
        #expect(info.dateCode == "20250902_050702")
        #expect(info.pipelineName == "subcon_lotg_to_refdb_ingest")
        #expect(info.scriptName == "get_subcon_lot_ref_data_LOTGDB_rc10.py")
        #expect(info.pipelineType == "batch")
        #expect(info.environment == "prod")
        // Posted without an id, the run gets the name-based one of its pipeline name and date code.
        let nameBased = RunID.nameBased(pipelineName: "subcon_lotg_to_refdb_ingest", dateCode: "20250902_050702")
        #expect(info.runID == nameBased)
        #expect(info.runKey == RunKey(pipelineName: "subcon_lotg_to_refdb_ingest", dateCode: "20250902_050702", runID: nameBased))
        #expect(info.runKey?.hasOwnID == false)
        #expect(
            info.signature
                == PipelineSignature(
                    pipelineName: "subcon_lotg_to_refdb_ingest",
                    scriptName: "get_subcon_lot_ref_data_LOTGDB_rc10.py",
                    pipelineType: "batch",
                    environment: "prod"
                )
        )
    }

    // MARK: - Missing and null fields

    @Test("A missing required field is reported by name", arguments: requiredFields)
    func missingRequiredFieldIsNamed(field: PipelineField) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = nil
        let issues = validationIssues(body)
        #expect(issues.count == 1)
        let issue = try #require(issues.first)
        #expect(issue.location == .body)
        #expect(issue.path == [.name(field.rawValue)])
        #expect(issue.field == field.rawValue)
        #expect(issue.kind == "missing")
        #expect(issue.description == "body.\(field.rawValue): Field required")
    }

    @Test("A required field sent as null is refused by name", arguments: requiredFields)
    func nullRequiredFieldIsRefused(field: PipelineField) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = .null
        #expect(validationIssues(body).map(\.field) == [field.rawValue])
        #expect(validationIssues(body, policy: .stored).map(\.field) == [field.rawValue])
    }

    @Test("An optional field that is null or missing reads as nil", arguments: nullableFields)
    func optionalFieldNullOrMissingIsNil(field: PipelineField) throws {
        let sample = try PipelineInfo(json: .object(try sampleRecordMembers()))
        for absent in [JSONValue?.none, .some(.null)] {
            var body = try sampleRecordMembers()
            body[field.rawValue] = absent
            let info = try PipelineInfo(json: .object(body))
            var expected = sample
            switch field {
            case .pipelineName:
                // Without a name the run gets a fresh time-ordered id rather than its name's.
                expected.pipelineName = nil
                expected.runID = info.runID
                #expect(info.runID.map { Array($0.utf8)[14] } == UInt8(ascii: "7"))
            case .scriptName: expected.scriptName = nil
            case .pipelineType: expected.pipelineType = nil
            case .environment: expected.environment = nil
            case .archivedFile: expected.archivedFile = nil
            case .status: expected.status = nil
            case .exitCode: expected.exitCode = nil
            default: Issue.record("\(field) is not optional")
            }
            #expect(info == expected)
        }
    }

    @Test("Every invalid field is reported at once")
    func allBadFieldsAreReportedTogether() throws {
        var body = try sampleRecordMembers()
        body["date_code"] = nil
        body["rowcount"] = "abc"
        body["pid"] = true
        body["start_utc"] = "not-a-date"
        body["end_local"] = "2031-02-30 10:00:00"
        body["elapsed_seconds"] = "NaN"
        body["pipeline_name"] = 5
        let issues = validationIssues(body)
        #expect(Set(issues.map(\.field)) == ["date_code", "rowcount", "pid", "start_utc", "end_local", "elapsed_seconds", "pipeline_name"])
        #expect(issues.count == 7)
        #expect(issues.allSatisfy { $0.location == .body })
        let kinds = Dictionary(issues.map { ($0.field, $0.kind) }, uniquingKeysWith: { first, _ in first })
        #expect(kinds["date_code"] == "missing")
        #expect(kinds["rowcount"] == "int_parsing")
        #expect(kinds["pid"] == "int_type")
        #expect(kinds["start_utc"] == "datetime_from_date_parsing")
        #expect(kinds["pipeline_name"] == "string_type")
        let echoed = Dictionary(issues.map { ($0.field, $0.input) }, uniquingKeysWith: { first, _ in first })
        #expect(echoed["rowcount"] == .some(.string("abc")))
        #expect(echoed["start_utc"] == .some(.string("not-a-date")))
    }

    @Test("An empty object names every required field and nothing else")
    func emptyObjectNamesEveryRequiredField() {
        let issues = validationIssues([:])
        #expect(issues.map(\.field) == requiredFields.map(\.rawValue))
        #expect(issues.allSatisfy { $0.kind == "missing" })
    }

    @Test("A body that is not an object is refused as a whole", arguments: ["[1]", "\"run\"", "42", "null"])
    func nonObjectBodyIsRefused(text: String) throws {
        let error = #expect(throws: ValidationError.self) { try PipelineInfo(jsonBytes: Array(text.utf8)) }
        #expect(error?.issues.count == 1)
        #expect(error?.issues.first?.path == [])
        #expect(error?.issues.first?.kind == "model_attributes_type")
    }

    @Test("Malformed JSON is a validation error, not a crash", arguments: ["{\"rowcount\":", "{\"a\":NaN}", "", "{'a':1}"])
    func malformedJSONIsRefused(text: String) {
        let error = #expect(throws: ValidationError.self) { try PipelineInfo(jsonBytes: Array(text.utf8)) }
        #expect(error?.issues.map(\.kind) == ["json_invalid"])
    }

    @Test("Unknown extra fields are ignored")
    func unknownFieldsAreIgnored() throws {
        let sample = try PipelineInfo(json: .object(try sampleRecordMembers()))
        var body = try sampleRecordMembers()
        body["id"] = 5
        body["extra"] = .object(["nested": .array([.number("1"), .null])])
        body["ROWCOUNT"] = "not checked"
        #expect(try PipelineInfo(json: .object(body)) == sample)
    }

    // MARK: - Integers

    @Test(
        "rowcount and pid accept a JSON integer, a string holding one, and an integral number",
        arguments: [PipelineField.rowcount, .pid],
        [
            JSONValue.number("42"), .string("42"), .string(" 42 "), .string("\t42\n"), .number("42.0"), .number("4.2e1"), .number("420E-1"),
        ]
    )
    func integerFieldAcceptsIntegers(field: PipelineField, value: JSONValue) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = value
        let info = try PipelineInfo(json: .object(body))
        #expect((field == .rowcount ? info.rowcount : info.pid) == 42)
    }

    @Test(
        "rowcount and pid refuse fractions, booleans, null, text and huge numbers",
        arguments: [PipelineField.rowcount, .pid],
        [
            JSONValue.number("1.5"), .string("1.5"), .bool(true), .bool(false), .null, .string("abc"), .number("1e300"),
            .string(""), .string("  "), .string("0x10"), .string("4 2"), .array([.number("42")]), .object([:]),
            .number("9223372036854775808"), .string("9223372036854775808"), .number("-1e300"),
        ]
    )
    func integerFieldRefusesNonIntegers(field: PipelineField, value: JSONValue) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = value
        #expect(validationIssues(body).map(\.field) == [field.rawValue])
        #expect(validationIssues(body, policy: .stored).map(\.field) == [field.rawValue])
    }

    @Test("A negative rowcount or pid is refused when strict and kept as stored", arguments: [PipelineField.rowcount, .pid])
    func negativeIntegerDependsOnPolicy(field: PipelineField) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = .number("-3")
        let issues = validationIssues(body)
        #expect(issues.map(\.field) == [field.rawValue])
        #expect(issues.first?.kind == "greater_than_equal")
        let stored = try PipelineInfo(json: .object(body), policy: .stored)
        #expect((field == .rowcount ? stored.rowcount : stored.pid) == -3)
    }

    @Test("rowcount and pid accept zero and their maximum and refuse one more")
    func integerBounds() throws {
        for (field, maximum) in [(PipelineField.rowcount, PipelineInfo.maximumRowcount), (.pid, PipelineInfo.maximumPID)] {
            for accepted in [0, maximum] {
                var body = try sampleRecordMembers()
                body[field.rawValue] = .number(String(accepted))
                #expect(validationIssues(body).isEmpty, "\(field) = \(accepted)")
            }
            var body = try sampleRecordMembers()
            body[field.rawValue] = .number(String(maximum + 1))
            #expect(validationIssues(body).map(\.kind) == ["less_than_equal"])
            let stored = try PipelineInfo(json: .object(body), policy: .stored)
            #expect((field == .rowcount ? stored.rowcount : stored.pid) == maximum + 1)
        }
    }

    @Test("Integer text has one optional sign and no other decoration")
    func integerTextRefusesDoubleSigns() {
        #expect(IntegerText.parse("42", allowIntegralFraction: false) == 42)
        #expect(IntegerText.parse("+42", allowIntegralFraction: false) == 42)
        #expect(IntegerText.parse("-42", allowIntegralFraction: false) == -42)
        #expect(IntegerText.parse(" 7 ", allowIntegralFraction: false) == 7)
        #expect(IntegerText.parse("7.0", allowIntegralFraction: false) == nil)
        #expect(IntegerText.parse("7.0", allowIntegralFraction: true) == 7)
        #expect(IntegerText.parse("7.5", allowIntegralFraction: true) == nil)
        #expect(IntegerText.parse("nan", allowIntegralFraction: true) == nil)
        #expect(IntegerText.parse("inf", allowIntegralFraction: true) == nil)
        for doubled in ["+-5", "++5", "-+5", "--5", "+", "-", "+ 5", "+ -5"] {
            #expect(IntegerText.parse(doubled, allowIntegralFraction: false) == nil, "\(doubled)")
            #expect(IntegerText.parse(doubled, allowIntegralFraction: true) == nil, "\(doubled)")
        }
    }

    @Test("Integer text surrounded by a CRLF line break, as a shell or Windows caller may send, is read")
    func integerTextTrimsCRLF() throws {
        #expect(" \t42\n\r".trimmingASCIIWhitespace() == "42")
        #expect("42\r\n".trimmingASCIIWhitespace() == "42")
        #expect(IntegerText.parse("\r\n42\r\n", allowIntegralFraction: false) == 42)
        var body = try sampleRecordMembers()
        body["rowcount"] = "11060\r\n"
        #expect(validationIssues(body).isEmpty)

    }

    // MARK: - elapsed_seconds

    @Test(
        "elapsed_seconds accepts finite non-negative numbers",
        arguments: [("0", 0.0), ("2424.879", 2424.879), ("1e3", 1000.0), ("10000000000", 1e10)]
    )
    func elapsedAcceptsFiniteNumbers(text: String, expected: Double) throws {
        var body = try sampleRecordMembers()
        body["elapsed_seconds"] = .number(text)
        #expect(try PipelineInfo(json: .object(body)).elapsedSeconds == expected)
    }

    @Test(
        "elapsed_seconds refuses non-finite and non-numeric values",
        arguments: [
            JSONValue.string("NaN"), .string("nan"), .string("Infinity"), .string("-Infinity"), .string("inf"), .number("1e400"),
            .number("-1e400"), .string("1e400"), .bool(true), .null, .string("abc"), .string(""), .array([]), .string("0x10"),
        ]
    )
    func elapsedRefusesNonFinite(value: JSONValue) throws {
        var body = try sampleRecordMembers()
        body["elapsed_seconds"] = value
        #expect(validationIssues(body).map(\.field) == ["elapsed_seconds"])
        #expect(validationIssues(body, policy: .stored).map(\.field) == ["elapsed_seconds"])
    }

    @Test("A negative or overlong elapsed_seconds is refused when strict and kept as stored")
    func elapsedBoundsDependOnPolicy() throws {
        for (text, expected) in [("-1.5", -1.5), ("10000000000.5", 10_000_000_000.5)] {
            var body = try sampleRecordMembers()
            body["elapsed_seconds"] = .number(text)
            #expect(validationIssues(body).map(\.field) == ["elapsed_seconds"], "\(text)")
            #expect(try PipelineInfo(json: .object(body), policy: .stored).elapsedSeconds == expected)
        }
    }

    // MARK: - Strings

    @Test("A string with a NUL character is refused under either policy", arguments: stringFields)
    func nulIsRefused(field: PipelineField) throws {
        var body = try sampleRecordMembers()
        body[field.rawValue] = .string("a\u{0}b")
        let issues = validationIssues(body)
        #expect(issues.map(\.field) == [field.rawValue])
        #expect(issues.first?.kind == "string_nul")
        #expect(validationIssues(body, policy: .stored).map(\.field) == [field.rawValue])
    }

    @Test("A NUL written as an escape in the body is refused too")
    func escapedNulIsRefused() throws {
        let text = replacingFirst("\"40m 24s\"", in: sampleRecordJSON, with: #""40m\u0000 24s""#)
        let error = #expect(throws: ValidationError.self) { try PipelineInfo(jsonBytes: Array(text.utf8)) }
        #expect(error?.issues.map(\.field) == ["elapsed_human"])
    }

    @Test("A string at its length cap in UTF-8 bytes is accepted and one byte more is refused when strict", arguments: stringFields)
    func lengthCapsAreInBytes(field: PipelineField) throws {
        let cap = field.maximumLength
        var body = try sampleRecordMembers()
        body[field.rawValue] = .string(String(repeating: "x", count: cap))
        #expect(validationIssues(body).isEmpty)
        body[field.rawValue] = .string(String(repeating: "x", count: cap + 1))
        #expect(validationIssues(body).map(\.kind) == ["string_too_long"])
        #expect(validationIssues(body, policy: .stored).isEmpty)
        // Two bytes per character: fewer characters than the cap, more bytes.
        body[field.rawValue] = .string(String(repeating: "\u{E9}", count: cap / 2 + 1))
        #expect(validationIssues(body).map(\.field) == [field.rawValue])
    }

    @Test("A string field of the wrong JSON type is refused by name", arguments: [JSONValue.number("1"), .bool(false), .array([]), .object([:])])
    func wrongTypeStringIsRefused(value: JSONValue) throws {
        for field in stringFields + [.startLocal, .endLocal, .startUTC, .endUTC] {
            var body = try sampleRecordMembers()
            body[field.rawValue] = value
            let issues = validationIssues(body)
            #expect(issues.map(\.field) == [field.rawValue])
            #expect(issues.first?.kind == "string_type")
        }
    }

    // MARK: - Date-times in a record

    @Test(
        "Date-time fields are refused when they are not real date-times",
        arguments: ["2031-02-30T00:00:00", "not-a-date", "", "2025-09-02T25:00:00Z"]
    )
    func invalidDateTimeFieldsAreRefused(text: String) throws {
        for field in [PipelineField.startLocal, .endLocal, .startUTC, .endUTC] {
            var body = try sampleRecordMembers()
            body[field.rawValue] = .string(text)
            #expect(validationIssues(body).map(\.field) == [field.rawValue], "\(field) = \(text)")
            #expect(validationIssues(body, policy: .stored).map(\.field) == [field.rawValue], "\(field) = \(text)")
        }
    }

    @Test("A *_utc value without an offset is UTC, and *_local keeps its wall clock")
    func utcWithoutOffsetAndLocalWallClock() throws {
        var body = try sampleRecordMembers()
        body["start_utc"] = "2025-09-02 12:07:02"
        body["end_utc"] = "2025-09-02T14:47:27+02:00"
        body["start_local"] = "2025-09-02T05:07:02-07:00"
        let info = try PipelineInfo(json: .object(body))
        #expect(info.startUTC.description == "2025-09-02T12:07:02Z")
        #expect(info.endUTC.description == "2025-09-02T12:47:27Z")
        #expect(info.startLocal.description == "2025-09-02T05:07:02")
    }

    @Test("end_utc before start_utc is refused when strict and kept as stored; equal is fine")
    func endBeforeStartDependsOnPolicy() throws {
        var body = try sampleRecordMembers()
        body["end_utc"] = "2025-09-02T12:07:01Z"
        let issues = validationIssues(body)
        #expect(issues.map(\.field) == ["end_utc"])
        #expect(issues.first?.kind == "end_before_start")
        let stored = try PipelineInfo(json: .object(body), policy: .stored)
        #expect(stored.endUTC < stored.startUTC)

        body["end_utc"] = "2025-09-02T14:07:02+02:00"
        #expect(validationIssues(body).isEmpty)
    }

    // MARK: - Writing

    @Test("The JSON output carries every field, null for absent optionals")
    func outputCarriesEveryField() throws {
        var body = try sampleRecordMembers()
        for field in optionalFields { body[field.rawValue] = nil }
        let info = try PipelineInfo(json: .object(body))
        let written = try #require(members(of: try parseWritten(info.jsonBytes)))
        #expect(Set(written.keys) == Set(PipelineField.allCases.map(\.rawValue)))
        for field in nullableFields { #expect(written[field.rawValue] == .null, "\(field)") }
        #expect(written["run_id"] == .string(info.runID ?? ""))
        #expect(written["start_local"] == "2025-09-02T05:07:02")
        #expect(written["start_utc"] == "2025-09-02T12:07:02Z")
        #expect(written["elapsed_seconds"] == .number("2424.879"))
        #expect(written["rowcount"] == 11060)
        #expect(written["pid"] == 21788)
    }

    @Test("The JSON output writes fields in model order")
    func outputIsInModelOrder() throws {
        let info = try PipelineInfo(jsonBytes: Array(sampleRecordJSON.utf8))
        let text = String(decoding: info.jsonBytes, as: UTF8.self)
        let positions = PipelineField.allCases.map { field in text.firstRange(of: "\"\(field.rawValue)\":")?.lowerBound }
        let found = positions.compactMap { $0 }
        #expect(found.count == PipelineField.allCases.count)
        #expect(found == found.sorted())
        #expect(text.hasPrefix("{\"start_local\":\"2025-09-02T05:07:02\",\"end_local\":\"2025-09-02T05:47:27\""))
    }

    @Test("The sample record re-parses from its output to an equal run")
    func sampleOutputRoundTrips() throws {
        let info = try PipelineInfo(jsonBytes: Array(sampleRecordJSON.utf8))
        #expect(try PipelineInfo(jsonBytes: info.jsonBytes) == info)
    }

    @Test("Random runs re-parse from their output to equal runs", arguments: [1, 2, 3] as [UInt64])
    func randomRunsRoundTrip(seed: UInt64) throws {
        var runs = RandomRuns(seed: seed)
        for index in 0..<200 {
            var info = runs.next()
            if index.isMultiple(of: 3) {
                info.elapsedHuman = withoutNUL(RandomJSON.string(using: &runs.generator))
                info.outputFile = "/data/" + withoutNUL(RandomJSON.string(using: &runs.generator))
                info.startLocal.wallMicroseconds += Int64.random(in: 0..<1_000_000, using: &runs.generator)
                info.startUTC.microsecondsSinceEpoch += Int64.random(in: 0..<1_000_000, using: &runs.generator)
                info.endUTC.microsecondsSinceEpoch = info.startUTC.microsecondsSinceEpoch + 1
            }
            #expect(try PipelineInfo(jsonBytes: info.jsonBytes) == info)
        }
    }

    @Test("A stored run with values strict validation refuses still re-parses as stored")
    func storedRunRoundTrips() throws {
        var runs = RandomRuns(seed: 9)
        var info = runs.next()
        info.rowcount = -7
        info.pid = -1
        info.elapsedSeconds = -0.25
        info.endUTC = UTCInstant(microsecondsSinceEpoch: info.startUTC.microsecondsSinceEpoch - 1)
        info.outputFile = String(repeating: "p", count: 5000)
        #expect(throws: ValidationError.self) { try PipelineInfo(jsonBytes: info.jsonBytes) }
        #expect(try PipelineInfo(jsonBytes: info.jsonBytes, policy: .stored) == info)
    }
}

private func replacingFirst(_ target: String, in text: String, with replacement: String) -> String {
    var text = text
    if let range = text.firstRange(of: target) { text.replaceSubrange(range, with: replacement) }
    return text
}

private func withoutNUL(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "0" : $0 }))
}
