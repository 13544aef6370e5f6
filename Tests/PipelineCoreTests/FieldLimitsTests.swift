import PipelineCore
import PipelineTestSupport
import Testing

@Suite("Decimal text and field limits")
struct FieldLimitsTests {
    // MARK: - DecimalText

    @Test(
        "A double's decimal rounds on its digits, half away from zero, as NUMERIC(p, s) does",
        arguments: [
            (2424.879, 3, "2424.879"),
            (1325.571, 3, "1325.571"),
            (1.2345, 3, "1.235"),
            (1.0005, 3, "1.001"),
            (0.5005, 3, "0.501"),
            (0.0005, 3, "0.001"),
            (0.0004, 3, "0"),
            (999_999_999.9995, 3, "1000000000"),
            (-2.5, 0, "-3"),
            (1e-05, 3, "0"),
            (1e-05, 6, "0.00001"),
            (1.5e16, 3, "15000000000000000"),
            (12345.0, -2, "12300"),
            (12350.0, -2, "12400"),
            (0.1, 20, "0.1"),
        ] as [(Double, Int, String)]
    )
    func roundsOnDigits(value: Double, scale: Int, expected: String) throws {
        let decimal = try #require(DecimalText(value))
        #expect(decimal.rounded(toScale: scale).description == expected)
    }

    @Test("Rounding on the digits keeps every value a person wrote with three decimals, where scaling the double drifts")
    func digitsDoNotDrift() throws {
        for thousandths in stride(from: 0, through: 10_000_000, by: 997) {
            let value = Double(thousandths) / 1000
            let rounded = try #require(DecimalText(value)).rounded(toScale: 3)
            #expect(rounded.doubleValue == value, "\(value)")
        }
        // 0.5005 is 0.50049999… as a double: scaled by 1000 it rounds down, where the decimal a
        // person wrote (and NUMERIC(12,3) given that decimal) rounds up.
        #expect((0.5005 * 1000).rounded() / 1000 == 0.5)
        #expect(try #require(DecimalText(0.5005)).rounded(toScale: 3).doubleValue == 0.501)
    }

    @Test("A decimal's text is plain (no exponent), and infinities and NaN have none")
    func plainText() {
        #expect(DecimalText(1e-7)?.description == "0.0000001")
        #expect(DecimalText(1e21)?.description == "1000000000000000000000")
        #expect(DecimalText(-0.0)?.description == "0")
        #expect(DecimalText(5e-324)?.description.hasPrefix("0.000") == true)
        #expect(DecimalText(.infinity) == nil)
        #expect(DecimalText(.nan) == nil)
    }

    @Test("A decimal fits p - s digits before its point exactly when NUMERIC(p, s) holds it")
    func fitsIntegerDigits() throws {
        #expect(try #require(DecimalText(999_999_999.999)).fits(integerDigits: 9))
        #expect(try #require(DecimalText(1_000_000_000)).fits(integerDigits: 9) == false)
        #expect(try #require(DecimalText(0.009)).fits(integerDigits: -2))
        #expect(try #require(DecimalText(0.01)).fits(integerDigits: -2) == false)
        #expect(try #require(DecimalText(0)).fits(integerDigits: -5))
        #expect(DecimalText.largest(precision: 12, scale: 3) == "999999999.999")
        #expect(DecimalText.largest(precision: 12, scale: 0) == "999999999999")
        #expect(DecimalText.largest(precision: 3, scale: -2) == "99900")
        #expect(DecimalText.largest(precision: 2, scale: 4) == "0.0099")
    }

    // MARK: - FieldLimits

    /// The limits of the old service's table as ora2pg's exact translation has them.
    static let exactTable = FieldLimits([
        .environment: [.init(.characters(50, ignoringTrailingSpaces: false), column: "ENVIRONMENT", columnType: "varchar(50)")],
        .dateCode: [.init(.characters(15, ignoringTrailingSpaces: true), column: "DATE_CODE", columnType: "char(15)")],
        .rowcount: [.init(.integers(-999_999_999_999...999_999_999_999), column: "ROWCOUNT", columnType: "numeric(12)")],
        .elapsedSeconds: [.init(.decimal(precision: 12, scale: 3), column: "ELAPSED_SECONDS", columnType: "numeric(12,3)")],
        .pipelineName: [.init(.required, column: "PIPELINE_NAME", columnType: "NOT NULL")],
    ])

    @Test("A run within every limit has no issue")
    func fittingRunHasNoIssue() {
        let run = TestRun.make("etl", start: UTCInstant(microsecondsSinceEpoch: 0), seconds: 999_999_999.9994, code: "20250902_050702   ")
        #expect(Self.exactTable.issues(in: run).isEmpty)
        #expect(FieldLimits.none.issues(in: run).isEmpty)
    }

    @Test("Each value past its column is named with the limit and the column, in field order")
    func issuesNameFieldLimitAndColumn() {
        var run = TestRun.make(nil, start: UTCInstant(microsecondsSinceEpoch: 0), seconds: 999_999_999.9995, code: "20250902_0507021")
        run.rowcount = 1_000_000_000_000
        run.environment = String(repeating: "é", count: 51)
        let issues = Self.exactTable.issues(in: run)
        #expect(issues.map(\.field) == ["elapsed_seconds", "rowcount", "date_code", "pipeline_name", "environment"])
        #expect(issues.map(\.kind) == ["less_than_equal", "less_than_equal", "string_too_long", "missing", "string_too_long"])
        #expect(issues[0].message == "Input should be less than or equal to 999999999.999 (column ELAPSED_SECONDS is numeric(12,3))")
        #expect(issues[1].message == "Input should be less than or equal to 999999999999 (column ROWCOUNT is numeric(12))")
        #expect(issues[2].message == "String should have at most 15 characters (column DATE_CODE is char(15))")
        #expect(issues[3].message == "Field required (column PIPELINE_NAME is NOT NULL)")
        // Characters, not bytes: 51 two-byte characters are 102 bytes, within validation's 64-byte
        // limit of environment only because this run was made without validation.
        #expect(issues[4].message == "String should have at most 50 characters (column ENVIRONMENT is varchar(50))")
    }
}
