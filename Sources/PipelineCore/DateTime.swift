/// An instant on the UTC time line, with microsecond precision.
///
/// Written as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; parsed from any ISO 8601 form the spec allows,
/// where a value without a zone is taken as UTC. Two instants written with different offsets
/// compare as the same instant.
public struct UTCInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Parses an ISO 8601 date-time; an offset moves it to UTC, no zone means UTC.
    public init?(iso8601 text: some StringProtocol) {
        guard let parsed = ParsedDateTime(text) else { return nil }
        self.init(parsed)
    }

    /// Parses UTF-8 bytes holding an ISO 8601 date-time.
    public init?(iso8601Bytes bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = ParsedDateTime(bytes: bytes) else { return nil }
        self.init(parsed)
    }

    private init?(_ parsed: ParsedDateTime) {
        let micros = parsed.wallMicroseconds - Int64(parsed.offsetSeconds ?? 0) * 1_000_000
        // An offset can move a date at the edge of the calendar out of years 1…9999, which could
        // then not be written back as ISO 8601 (or stored as a SQL timestamp).
        guard CivilTime.supportedMicroseconds.contains(micros) else { return nil }
        self.init(microsecondsSinceEpoch: micros)
    }

    public static let microsecondsPerSecond: Int64 = 1_000_000
    public static let microsecondsPerHour: Int64 = 3_600_000_000
    public static let microsecondsPerDay: Int64 = 86_400_000_000

    /// The instants this service accepts and stores: years 1 to 9999.
    public static var supportedMicroseconds: ClosedRange<Int64> { CivilTime.supportedMicroseconds }

    public static func < (lhs: UTCInstant, rhs: UTCInstant) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// Seconds since the epoch, as a floating-point number.
    public var secondsSinceEpoch: Double { Double(microsecondsSinceEpoch) / 1_000_000 }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, fractional seconds only when not zero.
    public var description: String { CivilTime.format(microseconds: microsecondsSinceEpoch) + "Z" }
}

/// A wall-clock date-time without a zone, as a host's local clock showed it.
///
/// Kept exactly as given: an offset written after it is dropped, never applied.
public struct LocalDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00 on the same wall clock.
    public var wallMicroseconds: Int64

    public init(wallMicroseconds: Int64) {
        self.wallMicroseconds = wallMicroseconds
    }

    public init?(iso8601 text: some StringProtocol) {
        guard let parsed = ParsedDateTime(text) else { return nil }
        self.init(wallMicroseconds: parsed.wallMicroseconds)
    }

    /// Parses UTF-8 bytes holding an ISO 8601 date-time (an offset is dropped).
    public init?(iso8601Bytes bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = ParsedDateTime(bytes: bytes) else { return nil }
        self.init(wallMicroseconds: parsed.wallMicroseconds)
    }

    public static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool {
        lhs.wallMicroseconds < rhs.wallMicroseconds
    }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]`, fractional seconds only when not zero.
    public var description: String { CivilTime.format(microseconds: wallMicroseconds) }
}

// MARK: - Parsing

/// The parts of an ISO 8601 date-time: `YYYY-MM-DD`, then optionally `T` or a space and
/// `HH:MM[:SS[.f…]]`, then optionally `Z` or an offset `±HH[:MM]`.
struct ParsedDateTime {
    var wallMicroseconds: Int64
    var offsetSeconds: Int?

    init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let parsed = text.withUTF8({ ParsedDateTime(bytes: $0) }) else { return nil }
        self = parsed
    }

    init?(bytes buffer: UnsafeBufferPointer<UInt8>) {
        // Surrounding white space is tolerated, as the old service's parser did.
        var end = buffer.count
        while end > 0, buffer[end - 1] == UInt8(ascii: " ") || buffer[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        var cursor = ByteCursor(bytes: UnsafeBufferPointer(rebasing: buffer[0..<end]))
        while cursor.consume(" ") || cursor.consume("\t") {}
        guard cursor.remaining <= 64 else { return nil }

        guard let year = cursor.digits(4), cursor.consume("-"), let month = cursor.digits(2), cursor.consume("-"), let day = cursor.digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilTime.daysIn(month: month, year: year), year >= 1 else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var micros = 0
        if cursor.consume("T") || cursor.consume("t") || cursor.consume(" ") {
            guard let h = cursor.digits(2), cursor.consume(":"), let m = cursor.digits(2) else { return nil }
            hour = h
            minute = m
            if cursor.consume(":") {
                guard let s = cursor.digits(2) else { return nil }
                second = s
                if cursor.consume(".") || cursor.consume(",") {
                    var fractionDigits = 0
                    while let digit = cursor.digit() {
                        if fractionDigits < 6 { micros = micros * 10 + digit }
                        fractionDigits += 1
                    }
                    guard (1...9).contains(fractionDigits) else { return nil }
                    for _ in min(fractionDigits, 6)..<6 { micros *= 10 }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { return nil }
        }
        var offset: Int?
        if !cursor.isAtEnd {
            if cursor.consume("Z") || cursor.consume("z") {
                offset = 0
            } else if let sign = cursor.consume("+") ? 1 : cursor.consume("-") ? -1 : nil {
                guard let offsetHours = cursor.digits(2) else { return nil }
                var offsetMinutes = 0
                if !cursor.isAtEnd {
                    _ = cursor.consume(":")
                    guard let m = cursor.digits(2) else { return nil }
                    offsetMinutes = m
                }
                guard offsetHours < 24, offsetMinutes < 60 else { return nil }
                offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
            } else {
                return nil
            }
        }
        guard cursor.isAtEnd else { return nil }
        let days = CivilTime.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.wallMicroseconds = seconds * 1_000_000 + Int64(micros)
        self.offsetSeconds = offset
    }
}

/// Reads a date-time's bytes front to back. A struct with mutating methods rather than helpers
/// capturing a mutable index: start-up parses two million of these, and captured variables are
/// boxed and checked for exclusive access on every use.
private struct ByteCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var isAtEnd: Bool { index == bytes.count }
    var remaining: Int { bytes.count - index }

    /// `count` ASCII digits as a number, consumed; nil (consuming nothing) otherwise.
    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for offset in 0..<count {
            let byte = bytes[index + offset]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += count
        return value
    }

    /// One ASCII digit, consumed; nil when the next byte is not one.
    mutating func digit() -> Int? {
        guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else { return nil }
        index += 1
        return Int(bytes[index - 1] - UInt8(ascii: "0"))
    }

    mutating func consume(_ ascii: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: ascii) else { return false }
        index += 1
        return true
    }
}

// MARK: - Civil calendar arithmetic

/// Proleptic Gregorian calendar conversions (Howard Hinnant's algorithms), no Foundation.
enum CivilTime {
    /// 0001-01-01T00:00:00 … 9999-12-31T23:59:59.999999, as microseconds since the epoch.
    static let supportedMicroseconds: ClosedRange<Int64> =
        Int64(daysFromCivil(year: 1, month: 1, day: 1)) * UTCInstant.microsecondsPerDay...Int64(daysFromCivil(year: 10_000, month: 1, day: 1))
        * UTCInstant.microsecondsPerDay - 1

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]` for microseconds since the epoch on some clock.
    static func format(microseconds: Int64) -> String {
        var out = [UInt8]()
        out.reserveCapacity(26)
        write(microseconds: microseconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS[.ffffff]` to `out` without intermediate strings (responses write
    /// four of these per run).
    static func write(microseconds: Int64, into out: inout [UInt8]) {
        var seconds = microseconds / 1_000_000
        var micros = microseconds % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: Int(days))
        // Years outside 0…9999 use ISO 8601's expanded form (a sign and all digits) rather than
        // a wrong four-digit year; such values only come from storage, never from validated input.
        if year > 9999 {
            out.append(UInt8(ascii: "+"))
            out.append(contentsOf: String(year).utf8)
        } else if year < 0 {
            out.append(UInt8(ascii: "-"))
            appendDigits(-year, width: 4, to: &out)
        } else {
            appendDigits(year, width: 4, to: &out)
        }
        out.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(Int(secondOfDay / 3600), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(secondOfDay % 3600 / 60), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(secondOfDay % 60), width: 2, to: &out)
        if micros != 0 {
            out.append(UInt8(ascii: "."))
            appendDigits(Int(micros), width: 6, to: &out)
        }
    }

    /// Appends `value` (0 ≤ value < 10^width) as exactly `width` decimal digits, zero-padded.
    private static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor &*= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / divisor % 10))
            divisor /= 10
        }
    }
}
