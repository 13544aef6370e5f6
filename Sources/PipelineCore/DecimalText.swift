/// A finite double as an exact decimal: the shortest decimal that reads back as the double (its
/// `description`), which can be rounded to a number of decimal places on its digits, as a SQL
/// `NUMERIC(p, s)` column rounds what it is given: half away from zero.
///
/// Rounding the digits rather than the double (`(x * 1000).rounded() / 1000`) keeps the value a
/// person wrote: 2424.879 stays 2424.879, where the multiplication would drift to another double
/// for some values.
public struct DecimalText: Sendable, Hashable, CustomStringConvertible {
    /// Whether the value is below zero (never for zero itself).
    public private(set) var isNegative: Bool
    /// The significant digits (0…9), without leading or trailing zeros; empty for zero.
    public private(set) var digits: [UInt8]
    /// Where the decimal point sits: the value is `0.digits × 10^exponent`, so a value of at
    /// least 1 has `exponent` digits before its point.
    public private(set) var exponent: Int

    /// The shortest decimal of `value`; nil for infinities and NaN, which no decimal holds.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        var text = Substring(value.description)
        isNegative = text.first == "-"
        if isNegative { text = text.dropFirst() }
        var shift = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let parsed = Int(text[text.index(after: e)...]) else { return nil }
            shift = parsed
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first ?? ""
        let fraction = parts.count > 1 ? parts[1] : ""
        var digits: [UInt8] = []
        for character in (whole + fraction).utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character) else { return nil }
            digits.append(character - UInt8(ascii: "0"))
        }
        self.digits = digits
        exponent = whole.count + shift
        normalize()
    }

    /// Whether the value is zero.
    public var isZero: Bool { digits.isEmpty }

    /// Drops leading zeros (moving the point) and trailing zeros; zero is never negative.
    private mutating func normalize() {
        let leading = digits.prefix { $0 == 0 }.count
        digits.removeFirst(leading)
        exponent -= leading
        while digits.last == 0 { digits.removeLast() }
        if digits.isEmpty {
            (isNegative, exponent) = (false, 0)
        }
    }

    /// The value rounded to `scale` decimal places (a negative scale rounds to tens, hundreds…),
    /// half away from zero, as PostgreSQL's `NUMERIC` and Oracle's `NUMBER` round.
    public func rounded(toScale scale: Int) -> DecimalText {
        let (kept, overflow) = exponent.addingReportingOverflow(scale)
        guard !overflow, kept < digits.count else { return self }
        var result = self
        guard kept >= 0 else {
            result.digits = []
            result.normalize()
            return result
        }
        let roundsUp = digits[kept] >= 5
        result.digits = Array(digits[..<kept])
        if roundsUp {
            var index = result.digits.count - 1
            while index >= 0, result.digits[index] == 9 {
                result.digits[index] = 0
                index -= 1
            }
            if index >= 0 {
                result.digits[index] += 1
            } else {
                result.digits.insert(1, at: 0)
                result.exponent += 1
            }
        }
        result.normalize()
        return result
    }

    /// Whether the value is below 10^`digits` in magnitude: whether it has at most `digits`
    /// digits before its point, as a `NUMERIC(p, s)` column holds `p - s` of them.
    public func fits(integerDigits limit: Int) -> Bool {
        isZero || exponent <= limit
    }

    /// The value as a plain decimal without an exponent (`2424.879`, `0.001`, `1000`), which
    /// every SQL database reads as an exact `NUMERIC`.
    public var description: String {
        guard !isZero else { return "0" }
        let characters = digits.map { Character(Unicode.Scalar($0 + UInt8(ascii: "0"))) }
        var text = isNegative ? "-" : ""
        if exponent <= 0 {
            text += "0." + String(repeating: "0", count: -exponent) + String(characters)
        } else if exponent >= characters.count {
            text += String(characters) + String(repeating: "0", count: exponent - characters.count)
        } else {
            text += String(characters[..<exponent]) + "." + String(characters[exponent...])
        }
        return text
    }

    /// The double nearest to this decimal: what a database gives back when it reads a `NUMERIC`
    /// as a double (it parses the decimal's text), and the double itself for an unrounded value.
    public var doubleValue: Double {
        Double(description) ?? .nan
    }

    /// The largest magnitude a `NUMERIC(precision, scale)` column holds, as a person writes it:
    /// `999999999.999` for (12, 3), `999999999999` for (12, 0), `99900` for (3, -2).
    public static func largest(precision: Int, scale: Int) -> String {
        let nines = String(repeating: "9", count: max(0, precision))
        if scale <= 0 { return nines + String(repeating: "0", count: -scale) }
        if scale >= precision { return "0." + String(repeating: "0", count: scale - precision) + nines }
        return String(nines.dropLast(scale)) + "." + String(nines.suffix(scale))
    }
}
