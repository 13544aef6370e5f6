import PipelineCore
import Testing

@Suite("Retention periods")
struct RetentionPeriodTests {
    @Test(
        "Minutes, hours, days and weeks parse to their length",
        arguments: [("30m", 1_800), ("12h", 43_200), ("90d", 7_776_000), ("2w", 1_209_600), ("1d", 86_400), ("36500d", 3_153_600_000)]
    )
    func periodsParse(text: String, seconds: Int64) throws {
        let period = try RetentionPeriod(parsing: text)
        #expect(period.seconds == seconds)
        #expect(period.description == text)
    }

    @Test(
        "Zero, negatives, other units, spaces, garbage and periods over 100 years are refused",
        arguments: [
            "0d", "00h", "-5d", "+5d", "5", "d", "", "5x", "5 d", " 5d", "5d ", "5D", "1.5d", "ninety days", "36501d", "5215w",
            "99999999999999999999d",
        ]
    )
    func badPeriodsAreRefused(text: String) {
        let error = #expect(throws: RetentionPeriodError.self) { try RetentionPeriod(parsing: text) }
        #expect(error?.description.contains("\"\(text)\"") == true)
    }

    @Test("The cutoff is now minus the period")
    func cutoffIsNowMinusThePeriod() throws {
        let now = try #require(UTCInstant(iso8601: "2025-09-02T12:07:02Z"))
        #expect(try RetentionPeriod(parsing: "90d").cutoff(now: now) == UTCInstant(iso8601: "2025-06-04T12:07:02Z"))
        #expect(try RetentionPeriod(parsing: "30m").cutoff(now: now) == UTCInstant(iso8601: "2025-09-02T11:37:02Z"))
        #expect(try RetentionPeriod(amount: 2, unit: .weeks).cutoff(now: now) == UTCInstant(iso8601: "2025-08-19T12:07:02Z"))
    }

    @Test("A period is built from a positive amount of at most 100 years")
    func amountIsChecked() {
        #expect(throws: RetentionPeriodError.self) { try RetentionPeriod(amount: 0, unit: .days) }
        #expect(throws: RetentionPeriodError.self) { try RetentionPeriod(amount: -1, unit: .hours) }
        #expect(throws: RetentionPeriodError.self) { try RetentionPeriod(amount: Int.max, unit: .minutes) }
        #expect((try? RetentionPeriod(amount: 36_500, unit: .days))?.seconds == 3_153_600_000)
    }
}
