import PipelineCore
import PipelineTestSupport
import Testing

@Suite("JSON parser and writer")
struct JSONTests {
    // MARK: - Valid documents

    @Test("Valid documents parse to the expected values")
    func validDocumentsParse() throws {
        let cases: [(String, JSONValue)] = [
            ("{}", .object([:])),
            ("[]", .array([])),
            ("0", .number("0")),
            ("-0", .number("-0")),
            ("-12.5e+3", .number("-12.5e+3")),
            ("1E-2", .number("1E-2")),
            ("true", .bool(true)),
            ("false", .bool(false)),
            ("null", .null),
            ("\"\"", .string("")),
            (" \t\r\n[1 , \"a\" ]\n ", .array([.number("1"), .string("a")])),
            (
                "{\"a\":[1,-2.5e3,true,false,null,\"x\"],\"b\":{\"c\":{}}}",
                .object([
                    "a": .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("x")]),
                    "b": .object(["c": .object([:])]),
                ])
            ),
            ("\"h\u{E9}llo \u{4E2D} \u{1F600}\"", .string("h\u{E9}llo \u{4E2D} \u{1F600}")),
            ("\"\u{7F}\"", .string("\u{7F}")),
        ]
        for (text, expected) in cases {
            #expect(try JSONParser.parse(text) == expected, "\(text)")
            #expect(try JSONParser.parse(Array(text.utf8)) == expected, "\(text) as bytes")
        }
    }

    @Test("A repeated key keeps its last value")
    func repeatedKeyKeepsLastValue() throws {
        #expect(try JSONParser.parse("{\"a\":1,\"b\":2,\"a\":3}") == .object(["a": .number("3"), "b": .number("2")]))
    }

    @Test("Input without contiguous storage parses like an array")
    func nonContiguousInputParses() throws {
        let bytes = Array("{\"k\":[\"v\",2]}".utf8)
        #expect(try JSONParser.parse(bytes.lazy.map { $0 }) == .object(["k": .array([.string("v"), .number("2")])]))
    }

    @Test("Every escape decodes to its character")
    func escapesDecode() throws {
        #expect(try JSONParser.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try JSONParser.parse(#""\u0041\u00e9\u00E9\u4e2d\u0000""#) == .string("A\u{E9}\u{E9}\u{4E2D}\u{0}"))
        #expect(try JSONParser.parse(#""plain \u0041 then more \n""#) == .string("plain A then more \n"))
        #expect(try JSONParser.parse(#""\u00e9 and raw é""#) == .string("\u{E9} and raw \u{E9}"))
    }

    @Test("Surrogate pairs decode to one supplementary character")
    func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("\u{1F600}"))
        #expect(try JSONParser.parse(#""\uD834\uDD1E!""#) == .string("\u{1D11E}!"))
        #expect(try JSONParser.parse(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
        #expect(try JSONParser.parse(#""\ud800\udc00""#) == .string("\u{10000}"))
    }

    // MARK: - Rejected documents

    @Test(
        "Text that is not strict JSON is rejected",
        arguments: [
            "NaN", "Infinity", "-Infinity", "[NaN]", "{\"a\":Infinity}", "nan", "inf",
            "[1,]", "{\"a\":1,}", "[,1]", "{,}", "[1,,2]",
            "'a'", "{'a':1}", "['a']",
            "\"abc", "[\"abc", "\"abc\\", "\"abc\\\"",
            "\"a\nb\"", "\"a\tb\"", "\"a\u{1}b\"", "\"a\u{1F}\"", "\"\\u0041\n\"",
            "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\\udfff\\ud800\"", "\"\\ud800\\ud800\"",
            "01", "-01", "00", "[00]", "{\"a\":012}", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "0x10", "1.e5",
            "tru", "nul", "True", "NULL", "undefined",
            "[1 2]", "{\"a\" 1}", "{\"a\":}", "{1:2}", "{a:1}", "[", "{", "]", "}",
            "", "   ", "1 2", "{}x", "[]]", "{}{}", "\"a\" \"b\"",
            "\"\\u12G4\"", "\"\\u12\"", "\"\\x41\"", "\"\\a\"", "\"\\'\"",
        ]
    )
    func nonJSONIsRejected(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test(
        "Invalid UTF-8 inside a string is rejected, with or without escapes",
        arguments: [
            [0x22, 0xFF, 0x22],
            [0x22, 0xC0, 0xAF, 0x22],
            [0x22, 0xE4, 0xB8, 0x22],
            [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
            [0x22, 0x80, 0x22],
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],
            [0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22],
            [0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D],
        ] as [[UInt8]]
    )
    func invalidUTF8IsRejected(bytes: [UInt8]) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
    }

    @Test("A syntax error reports the byte where it went wrong")
    func syntaxErrorReportsOffset() {
        let trailing = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("[1,2] x") }
        #expect(trailing?.offset == 6)
        let badValue = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("{\"a\": ?}") }
        #expect(badValue?.offset == 6)
    }

    @Test("Nesting exactly at the limit is accepted, one level deeper is rejected")
    func nestingLimit() throws {
        let depth = JSONParser.maximumDepth
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: Never.self) { try JSONParser.parse(arrays) }
        let tooDeepArrays = "[" + arrays + "]"
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(tooDeepArrays) }

        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(throws: Never.self) { try JSONParser.parse(objects) }
        let tooDeepObjects = String(repeating: "{\"a\":", count: depth + 1) + "1" + String(repeating: "}", count: depth + 1)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(tooDeepObjects) }

        let mixed = String(repeating: "[{\"k\":", count: depth / 2) + "null" + String(repeating: "}]", count: depth / 2)
        #expect(throws: Never.self) { try JSONParser.parse(mixed) }
        let tooDeepMixed = "[" + mixed + "]"
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(tooDeepMixed) }
    }

    @Test("Hostile nesting is refused without exhausting the stack")
    func hostileNestingIsRefused() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(String(repeating: "[", count: 200_000)) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(String(repeating: "{\"a\":", count: 100_000)) }
    }

    // MARK: - Writer

    @Test("The writer escapes quotes, backslashes and control characters")
    func writerEscapes() throws {
        var writer = JSONWriter()
        writer.string("q\" b\\ n\n r\r t\t nul\u{0} us\u{1F} del\u{7F} é \u{1F600} /")
        let written = String(decoding: writer.bytes, as: UTF8.self)
        #expect(written == #""q\" b\\ n\n r\r t\t nul\u0000 us\u001f del"# + "\u{7F} \u{E9} \u{1F600} /\"")
        #expect(try JSONParser.parse(writer.bytes) == .string("q\" b\\ n\n r\r t\t nul\u{0} us\u{1F} del\u{7F} é \u{1F600} /"))
    }

    @Test("Every control character survives writing and parsing")
    func everyControlCharacterRoundTrips() throws {
        for code in 0..<0x20 {
            let text = "a" + String(Character(Unicode.Scalar(UInt8(code)))) + "b"
            var writer = JSONWriter()
            writer.string(text)
            #expect(!writer.bytes.contains { $0 < 0x20 }, "U+\(code) written raw")
            #expect(try JSONParser.parse(writer.bytes) == .string(text))
        }
    }

    @Test("The writer writes object members in sorted key order")
    func writerSortsKeys() {
        var writer = JSONWriter()
        writer.value(.object(["b": .number("2"), "a": .array([.null, .bool(true)]), "c": .string("x")]))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":[null,true],"b":2,"c":"x"}"#)
    }

    @Test("Doubles are written in their shortest round-trip form")
    func doublesAreShortest() throws {
        for value in [2424.879, 5.0, 0.1, 1e-7, 123_456_789.125, 10_000_000_000.0, -0.5] {
            var writer = JSONWriter()
            writer.double(value)
            let parsed = try JSONParser.parse(writer.bytes)
            guard case .number(let text) = parsed else {
                Issue.record("\(value) was not written as a number")
                continue
            }
            #expect(Double(text) == value)
        }
        var writer = JSONWriter()
        writer.beginArray()
        writer.double(2424.879)
        writer.double(5)
        writer.optionalDouble(nil)
        writer.integer(-42)
        writer.optionalString(nil)
        writer.endArray()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[2424.879,5.0,null,-42,null]")
    }

    @Test("Written values parse back to the same value", arguments: [1, 2, 3, 4] as [UInt64])
    func writtenValuesRoundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<150 {
            let value = RandomJSON.value(depth: 0, using: &generator)
            var writer = JSONWriter()
            writer.value(value)
            let parsed = try JSONParser.parse(writer.bytes)
            #expect(parsed == value)
            let text = String(decoding: writer.bytes, as: UTF8.self)
            #expect(try JSONParser.parse(text) == value)
        }
    }

    @Test("Written values nested to the limit parse back")
    func valuesNestedToTheLimitRoundTrip() throws {
        var value = JSONValue.string("\u{1F600}\"")
        for level in 0..<JSONParser.maximumDepth {
            value = level.isMultiple(of: 2) ? .array([value, .null]) : .object(["k\(level)": value])
        }
        var writer = JSONWriter()
        writer.value(value)
        #expect(try JSONParser.parse(writer.bytes) == value)
        writer = JSONWriter()
        writer.value(.array([value]))
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(writer.bytes) }
    }
}

/// Random JSON values with awkward strings: quotes, backslashes, control characters, NUL,
/// non-BMP scalars and the characters next to the surrogate range.
enum RandomJSON {
    static let maximumDepth = 6

    static func value(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let kind = Int.random(in: 0..<(depth >= maximumDepth ? 4 : 7), using: &generator)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(number(using: &generator))
        case 3: return .string(string(using: &generator))
        case 4, 5:
            let count = Int.random(in: 0...4, using: &generator)
            return .array((0..<count).map { _ in value(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[string(using: &generator)] = value(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    static func number(using generator: inout SeededGenerator) -> String {
        var text = Bool.random(using: &generator) ? "-" : ""
        text += Int.random(in: 0..<4, using: &generator) == 0 ? "0" : String(Int.random(in: 1...999_999_999, using: &generator))
        if Bool.random(using: &generator) { text += "." + String(Int.random(in: 0...99_999, using: &generator)) }
        if Int.random(in: 0..<3, using: &generator) == 0 {
            text += ["e", "E"].randomElement(using: &generator)! + ["", "+", "-"].randomElement(using: &generator)!
            text += String(Int.random(in: 0...400, using: &generator))
        }
        return text
    }

    static func string(using generator: inout SeededGenerator) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &generator) {
            let code: UInt32 =
                switch Int.random(in: 0..<6, using: &generator) {
                case 0: UInt32.random(in: 0..<0x20, using: &generator)
                case 1: [0x22, 0x5C, 0x2F, 0x7F, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10FFFF, 0x2028].randomElement(using: &generator)!
                case 2: UInt32.random(in: 0x10000...0x10FFFF, using: &generator)
                case 3: UInt32.random(in: 0x80...0xD7FF, using: &generator)
                default: UInt32.random(in: 0x20..<0x7F, using: &generator)
                }
            scalars.append(Unicode.Scalar(code)!)
        }
        return String(scalars)
    }
}
