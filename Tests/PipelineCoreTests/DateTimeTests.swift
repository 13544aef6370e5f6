import PipelineCore
import PipelineTestSupport
import Testing

/// 2025-09-02T12:07:02Z, the sample record's `start_utc`.
private let sampleInstant: Int64 = 1_756_814_822_000_000

@Suite("Date-times")
struct DateTimeTests {
    // MARK: - Accepted forms

    @Test(
        "Every accepted ISO 8601 form of the same instant parses to that instant",
        arguments: [
            "2025-09-02T12:07:02Z",
            "2025-09-02 12:07:02Z",
            "2025-09-02t12:07:02Z",
            "2025-09-02T12:07:02z",
            "2025-09-02T12:07:02",
            "2025-09-02 12:07:02",
            "2025-09-02T12:07:02+00:00",
            "2025-09-02T12:07:02-00:00",
            "2025-09-02T14:07:02+02:00",
            "2025-09-02T14:07:02+0200",
            "2025-09-02T14:07:02+02",
            "2025-09-02T06:37:02-0530",
            "2025-09-02T06:37:02-05:30",
            "2025-09-03T01:07:02+13:00",
            "2025-09-01T23:07:02-13:00",
            "2025-09-02T12:07:02.0Z",
            "2025-09-02T12:07:02.000000000Z",
            "  2025-09-02T12:07:02Z\t",
        ]
    )
    func acceptedFormsGiveTheSameInstant(text: String) throws {
        let instant = try #require(UTCInstant(iso8601: text))
        #expect(instant.microsecondsSinceEpoch == sampleInstant)
        #expect(instant.description == "2025-09-02T12:07:02Z")
    }

    @Test(
        "Fractional seconds of 1 to 9 digits are read to the microsecond, extra digits truncated",
        arguments: [
            ("2025-09-02T12:07:02.5Z", 500_000),
            ("2025-09-02T12:07:02.25", 250_000),
            ("2025-09-02 12:07:02.125+00:00", 125_000),
            ("2025-09-02T12:07:02.0001Z", 100),
            ("2025-09-02T12:07:02.00001Z", 10),
            ("2025-09-02T12:07:02.000001Z", 1),
            ("2025-09-02T12:07:02.123456Z", 123_456),
            ("2025-09-02T12:07:02.1234567Z", 123_456),
            ("2025-09-02T12:07:02.12345678+00:00", 123_456),
            ("2025-09-02T12:07:02.999999999Z", 999_999),
            ("2025-09-02T12:07:02.000000999Z", 0),
            ("2025-09-02T12:07:02,5Z", 500_000),
        ]
    )
    func fractionalSecondsAreReadToTheMicrosecond(text: String, micros: Int64) throws {
        let instant = try #require(UTCInstant(iso8601: text))
        #expect(instant.microsecondsSinceEpoch == sampleInstant + micros)
    }

    @Test("A date without a time is midnight UTC")
    func dateOnlyIsMidnightUTC() throws {
        let instant = try #require(UTCInstant(iso8601: "2025-09-02"))
        #expect(instant.microsecondsSinceEpoch == 1_756_771_200_000_000)
        #expect(instant.description == "2025-09-02T00:00:00Z")
        let local = try #require(LocalDateTime(iso8601: "2025-09-02"))
        #expect(local.description == "2025-09-02T00:00:00")
    }

    @Test("A time without seconds is accepted with zero seconds")
    func timeWithoutSecondsIsAccepted() throws {
        let instant = try #require(UTCInstant(iso8601: "2025-09-02T12:07Z"))
        #expect(instant.microsecondsSinceEpoch == sampleInstant - 2_000_000)
    }

    @Test("An offset moves the wall clock to UTC across a date boundary")
    func offsetCrossesMidnight() throws {
        let instant = try #require(UTCInstant(iso8601: "2025-01-01T01:30:00+02:00"))
        #expect(instant.description == "2024-12-31T23:30:00Z")
        let west = try #require(UTCInstant(iso8601: "2024-12-31T20:00:00-05:00"))
        #expect(west.description == "2025-01-01T01:00:00Z")
    }

    @Test("Two instants written with different offsets compare equal and order by the time line")
    func offsetsCompareAsInstants() throws {
        let paris = try #require(UTCInstant(iso8601: "2025-09-02T14:07:02+02:00"))
        let utc = try #require(UTCInstant(iso8601: "2025-09-02T12:07:02Z"))
        let laterInNewYork = try #require(UTCInstant(iso8601: "2025-09-02T08:07:03-04:00"))
        #expect(paris == utc)
        #expect(paris.hashValue == utc.hashValue)
        #expect(utc < laterInNewYork)
        #expect(!(laterInNewYork < paris))
    }

    @Test("Leap days exist exactly in leap years", arguments: ["2024-02-29", "2000-02-29", "1600-02-29", "2400-02-29"])
    func leapDayInLeapYearIsAccepted(text: String) {
        #expect(UTCInstant(iso8601: text) != nil)
        #expect(LocalDateTime(iso8601: text + " 10:00:00") != nil)
    }

    @Test("Known instants match an independent calendar")
    func knownInstantsMatch() throws {
        let cases: [(String, Int64)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("1969-07-20T20:17:40Z", -14_182_940),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("0001-01-01T00:00:00Z", -62_135_596_800),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ]
        for (text, seconds) in cases {
            let instant = try #require(UTCInstant(iso8601: text))
            #expect(instant.microsecondsSinceEpoch == seconds * 1_000_000, "\(text)")
            #expect(instant.description == text)
        }
    }

    // MARK: - Rejected input

    @Test(
        "Text that is not a real date-time is rejected",
        arguments: [
            "2031-02-30",
            "2023-02-29",
            "1900-02-29",
            "2025-04-31",
            "2025-13-01",
            "2025-00-10",
            "2025-09-00",
            "0000-01-01",
            "2025-09-02T24:00:00",
            "2025-09-02T12:60:00",
            "2025-09-02T12:07:60",
            "2025-09-02T23:59:60Z",
            "not-a-date",
            "",
            "   ",
            "2025-09-02T12:07:02Zjunk",
            "2025-09-02T12:07:02 extra",
            "2025-09-02T12:07:02ZZ",
            "2025-09-02T12:07:02+02:00x",
            "2025-09-02T12:07:02 +02:00",
            "2025-09-02T12:07:02.",
            "2025-09-02T12:07:02.Z",
            "2025-09-02T12:07:02.1234567890Z",
            "2025-09-02T12:07:02+2",
            "2025-09-02T12:07:02+020",
            "2025-09-02T12:07:02+02:",
            "2025-09-02T12:07:02+24:00",
            "2025-09-02T12:07:02+02:60",
            "2025-09-02T12:07:02UTC",
            "2025-9-2",
            "25-09-02",
            "2025/09/02",
            "2025-09-02T",
            "2025-09-02T12",
            "2025-09-02T1:07:02",
            "2025-09-02T12:7:02",
            "2025-09-02T12:07:2",
            "2025-09-02X12:07:02",
            "+2025-09-02",
            "１２３４-01-01",
        ]
    )
    func invalidDateTimeIsRejected(text: String) {
        #expect(UTCInstant(iso8601: text) == nil)
        #expect(LocalDateTime(iso8601: text) == nil)
    }

    @Test("Overlong input is rejected rather than scanned")
    func overlongInputIsRejected() {
        #expect(UTCInstant(iso8601: "2025-09-02T12:07:02." + String(repeating: "0", count: 100) + "Z") == nil)
    }

    // MARK: - Formatting

    @Test("Formatting writes Z and fractional seconds only when they are not zero, as six digits")
    func formattingWritesZAndSixFractionDigits() {
        #expect(UTCInstant(microsecondsSinceEpoch: 0).description == "1970-01-01T00:00:00Z")
        #expect(UTCInstant(microsecondsSinceEpoch: sampleInstant).description == "2025-09-02T12:07:02Z")
        #expect(UTCInstant(microsecondsSinceEpoch: sampleInstant + 500_000).description == "2025-09-02T12:07:02.500000Z")
        #expect(UTCInstant(microsecondsSinceEpoch: sampleInstant + 1).description == "2025-09-02T12:07:02.000001Z")
        #expect(UTCInstant(microsecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999999Z")
        #expect(UTCInstant(microsecondsSinceEpoch: -1_000_000).description == "1969-12-31T23:59:59Z")
        #expect(UTCInstant(microsecondsSinceEpoch: -86_400_000_000).description == "1969-12-31T00:00:00Z")
    }

    @Test("A zero fraction written in the input is not written back")
    func zeroFractionIsDropped() throws {
        let instant = try #require(UTCInstant(iso8601: "2025-09-02T12:07:02.000Z"))
        #expect(instant.description == "2025-09-02T12:07:02Z")
    }

    @Test("seconds since the epoch carry the fraction")
    func secondsSinceEpochCarryFraction() {
        #expect(UTCInstant(microsecondsSinceEpoch: 1_500_000).secondsSinceEpoch == 1.5)
        #expect(UTCInstant(microsecondsSinceEpoch: -250_000).secondsSinceEpoch == -0.25)
    }

    // MARK: - Local date-times

    @Test(
        "A local date-time keeps its wall clock and drops any offset",
        arguments: [
            ("2025-09-02 05:07:02", "2025-09-02T05:07:02"),
            ("2025-09-02T05:07:02", "2025-09-02T05:07:02"),
            ("2025-09-02T05:07:02+02:00", "2025-09-02T05:07:02"),
            ("2025-09-02T05:07:02-0800", "2025-09-02T05:07:02"),
            ("2025-09-02T05:07:02Z", "2025-09-02T05:07:02"),
            ("2025-09-02 05:07:02.25", "2025-09-02T05:07:02.250000"),
            ("2025-09-02 05:07:02.000", "2025-09-02T05:07:02"),
            ("2025-12-31T23:30:00+14:00", "2025-12-31T23:30:00"),
        ]
    )
    func localDateTimeKeepsWallClock(text: String, written: String) throws {
        let local = try #require(LocalDateTime(iso8601: text))
        #expect(local.description == written)
        #expect(LocalDateTime(iso8601: written) == local)
    }

    @Test("Local date-times order by wall clock, ignoring offsets")
    func localDateTimesOrderByWallClock() throws {
        let earlier = try #require(LocalDateTime(iso8601: "2025-09-02T05:07:02-10:00"))
        let later = try #require(LocalDateTime(iso8601: "2025-09-02T05:07:03+10:00"))
        #expect(earlier < later)
        #expect(later.wallMicroseconds - earlier.wallMicroseconds == 1_000_000)
    }

    // MARK: - Properties

    @Test("Random civil date-times in every accepted form parse to the instant an independent calendar gives", arguments: [1, 2, 3] as [UInt64])
    func randomTextsMatchIndependentCalendar(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<400 {
            let sample = RandomDateTimeText(using: &generator)
            let instant = try #require(UTCInstant(iso8601: sample.text), "\(sample.text)")
            #expect(instant.microsecondsSinceEpoch == sample.wallMicroseconds - Int64(sample.offsetSeconds) * 1_000_000, "\(sample.text)")
            #expect(UTCInstant(iso8601: instant.description) == instant, "\(sample.text) → \(instant)")
            let local = try #require(LocalDateTime(iso8601: sample.text), "\(sample.text)")
            #expect(local.wallMicroseconds == sample.wallMicroseconds, "\(sample.text)")
            #expect(local.description == sample.canonicalWallText, "\(sample.text)")
            if sample.offsetSeconds == 0 {
                #expect(instant.description == sample.canonicalWallText + "Z", "\(sample.text)")
            }
        }
    }

    @Test("parse(format(x)) == x for random instants from year 1 to 9999", arguments: [11, 12, 13] as [UInt64])
    func formatThenParseRoundTrips(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let first = NaiveCalendar.microseconds(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0, micro: 0)
        let last = NaiveCalendar.microseconds(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micro: 999_999)
        var values: [Int64] = [first, last, -1, 0, 1, -1_000_000, 951_782_400_000_000]
        for _ in 0..<500 {
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: values.append(Int64.random(in: first...last, using: &generator))
            case 1: values.append(Int64.random(in: -5_000_000_000_000_000...0, using: &generator))
            default: values.append(Int64.random(in: first...last, using: &generator) / 1_000_000 * 1_000_000)
            }
        }
        for micros in values {
            let instant = UTCInstant(microsecondsSinceEpoch: micros)
            #expect(UTCInstant(iso8601: instant.description) == instant, "\(micros) → \(instant)")
            let local = LocalDateTime(wallMicroseconds: micros)
            #expect(LocalDateTime(iso8601: local.description) == local, "\(micros) → \(local)")
            #expect(instant.description == local.description + "Z")
            #expect(instant.description.contains(".") == (micros % 1_000_000 != 0))
        }
    }

    @Test("An offset that moves an instant out of years 1-9999 is refused; the last instants inside are accepted")
    func offsetsAtTheCalendarEdgesStayInside() throws {
        #expect(UTCInstant(iso8601: "9999-12-31T23:00:00-02:00") == nil)
        #expect(UTCInstant(iso8601: "0001-01-01T00:30:00+01:00") == nil)
        let last = try #require(UTCInstant(iso8601: "9999-12-31T23:59:59.999999+00:00"))
        let first = try #require(UTCInstant(iso8601: "0001-01-01T01:00:00+01:00"))
        #expect(last.description == "9999-12-31T23:59:59.999999Z")
        #expect(first.description == "0001-01-01T00:00:00Z")
        // A local wall clock is never shifted, so its offset cannot push it out.
        #expect(LocalDateTime(iso8601: "9999-12-31T23:00:00-02:00")?.description == "9999-12-31T23:00:00")
    }

    @Test("Every accepted date-time near the calendar edges is written in a form that parses back to it")
    func acceptedEdgeInstantsRoundTrip() {
        var acceptedCount = 0
        for date in ["0001-01-01T00:00:00", "0001-01-01T23:59:59", "9999-12-31T00:00:00", "9999-12-31T23:59:59.999999"] {
            for zone in ["", "Z", "+14:00", "-14:00", "+23:59", "-23:59", "+01", "-0100"] {
                guard let instant = UTCInstant(iso8601: date + zone) else { continue }
                acceptedCount += 1
                #expect(UTCInstant(iso8601: instant.description) == instant, "\(date + zone) is written as \(instant)")
            }
        }
        // Without an offset, or with one pointing inwards, every one of these is inside the calendar.
        #expect(acceptedCount >= 4 * 2 + 2 * 4)
    }

    @Test("An instant after year 9999 is written with its real year, never as a different date")
    func instantsBeyondTheCalendarKeepTheirYear() {
        let beyond = NaiveCalendar.microseconds(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micro: 999_999) + 1
        let fourHundredYears: Int64 = 146_097 * 86_400_000_000
        let cases: [(Int64, String)] = [
            (beyond, "10000-01-01T00:00:00Z"),
            (beyond + fourHundredYears, "10400-01-01T00:00:00Z"),
            (Int64.max, "294247-01-10T04:00:54.775807Z"),
        ]
        for (micros, expected) in cases {
            let text = UTCInstant(microsecondsSinceEpoch: micros).description
            // ISO 8601 writes a five-digit year with a sign; either spelling of the right year will do.
            #expect(text == expected || text == "+" + expected, "\(micros) is written as \(text)")

        }
    }

    /// Runs in a child process: today formatting traps on these values, which would end the whole test run.
    @Test("Writing an instant before year 0, such as PostgreSQL's -infinity timestamp, does not crash")
    func instantsBeforeYearZeroCanBeWritten() async {
        await #expect(processExitsWith: .success) {
            _ = UTCInstant(microsecondsSinceEpoch: .min).description
            _ = LocalDateTime(wallMicroseconds: -62_167_219_200_000_001).description
        }

    }
}

/// A random date-time in one of the accepted textual forms, with what it must parse to.
private struct RandomDateTimeText {
    var text: String
    var wallMicroseconds: Int64
    var offsetSeconds: Int
    var canonicalWallText: String

    init(using generator: inout SeededGenerator) {
        // Years 2...9998 so that no offset moves the instant out of the four-digit range.
        let year =
            Int.random(in: 0..<4, using: &generator) == 0
            ? Int.random(in: 2...9998, using: &generator) : Int.random(in: 1900...2100, using: &generator)
        let month = Int.random(in: 1...12, using: &generator)
        let day = Int.random(in: 1...NaiveCalendar.monthLengths(year)[month - 1], using: &generator)
        let isDateOnly = Int.random(in: 0..<10, using: &generator) == 0
        let hour = isDateOnly ? 0 : Int.random(in: 0...23, using: &generator)
        let minute = isDateOnly ? 0 : Int.random(in: 0...59, using: &generator)
        let second = isDateOnly ? 0 : Int.random(in: 0...59, using: &generator)
        var micro = 0
        var text = "\(zeroPadded(year, 4))-\(zeroPadded(month, 2))-\(zeroPadded(day, 2))"
        if !isDateOnly {
            text += ["T", " ", "t"].randomElement(using: &generator)!
            text += "\(zeroPadded(hour, 2)):\(zeroPadded(minute, 2)):\(zeroPadded(second, 2))"
            let fractionDigits = [0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9].randomElement(using: &generator)!
            if fractionDigits > 0 {
                var digits = ""
                for _ in 0..<fractionDigits { digits += String(Int.random(in: 0...9, using: &generator)) }
                text += "." + digits
                micro = Int((digits + "000000").prefix(6))!
            }
        }
        var offset = 0
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: break
        case 1: text += ["Z", "z"].randomElement(using: &generator)!
        default:
            let hours = Int.random(in: 0...23, using: &generator)
            let minutes = Bool.random(using: &generator) ? 0 : Int.random(in: 0...59, using: &generator)
            let sign = Bool.random(using: &generator) ? 1 : -1
            offset = sign * (hours * 3600 + minutes * 60)
            let signText = sign > 0 ? "+" : "-"
            switch Int.random(in: 0..<3, using: &generator) {
            case 0 where minutes == 0: text += signText + zeroPadded(hours, 2)
            case 1: text += signText + zeroPadded(hours, 2) + zeroPadded(minutes, 2)
            default: text += signText + zeroPadded(hours, 2) + ":" + zeroPadded(minutes, 2)
            }
        }
        self.text = text
        self.offsetSeconds = offset
        self.wallMicroseconds = NaiveCalendar.microseconds(
            year: year,
            month: month,
            day: day,
            hour: hour,
            minute: minute,
            second: second,
            micro: micro
        )
        var canonical = "\(zeroPadded(year, 4))-\(zeroPadded(month, 2))-\(zeroPadded(day, 2))T"
        canonical += "\(zeroPadded(hour, 2)):\(zeroPadded(minute, 2)):\(zeroPadded(second, 2))"
        if micro != 0 { canonical += "." + zeroPadded(micro, 6) }
        self.canonicalWallText = canonical
    }
}
