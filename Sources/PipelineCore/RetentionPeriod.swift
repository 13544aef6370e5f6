/// How long runs are kept before retention deletes them: a whole, positive number of minutes,
/// hours, days or weeks, written `30m`, `12h`, `90d` or `2w` (at most 100 years).
///
/// A run is kept while its `start_utc` is at or after the cutoff, `now` minus the period.
public struct RetentionPeriod: Sendable, Hashable, CustomStringConvertible {
    /// The unit of a period, by the letter that writes it.
    public enum Unit: String, Sendable, CaseIterable {
        case minutes = "m"
        case hours = "h"
        case days = "d"
        case weeks = "w"

        var seconds: Int64 {
            switch self {
            case .minutes: 60
            case .hours: 3_600
            case .days: 86_400
            case .weeks: 604_800
            }
        }
    }

    /// The longest period, in days (100 years): longer ones are surely a mistake.
    public static let maximumDays = 36_500

    public let amount: Int
    public let unit: Unit

    /// - Throws: ``RetentionPeriodError`` when `amount` is not positive or the period is longer than ``maximumDays``.
    public init(amount: Int, unit: Unit) throws(RetentionPeriodError) {
        let limit = Int64(Self.maximumDays) * Unit.days.seconds / unit.seconds
        guard amount > 0, Int64(amount) <= limit else {
            throw RetentionPeriodError("\"\(amount)\(unit.rawValue)\" is not a period of 1\(unit.rawValue) to \(limit)\(unit.rawValue)")
        }
        self.amount = amount
        self.unit = unit
    }

    /// Parses `<positive whole number><m|h|d|w>`, e.g. `90d`.
    public init(parsing text: String) throws(RetentionPeriodError) {
        let usage = "\"\(text)\" is not a retention period: a positive whole number and a unit, m, h, d or w (30m, 12h, 90d, 2w)"
        guard let last = text.last, let unit = Unit(rawValue: String(last)) else { throw RetentionPeriodError(usage) }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw RetentionPeriodError(usage)
        }
        guard let amount = Int(digits), amount > 0 else { throw RetentionPeriodError(usage) }
        try self.init(amount: amount, unit: unit)
    }

    /// The length of the period in seconds.
    public var seconds: Int64 { Int64(amount) * unit.seconds }

    /// The instant before which runs have outlived the period, measured back from `now`.
    public func cutoff(now: UTCInstant) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: now.microsecondsSinceEpoch - seconds * 1_000_000)
    }

    /// The period as it is written, `90d`.
    public var description: String { "\(amount)\(unit.rawValue)" }
}

/// A retention period that cannot be used, with a message saying what is accepted.
public struct RetentionPeriodError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
