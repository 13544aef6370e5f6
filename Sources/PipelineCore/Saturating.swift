/// Saturating arithmetic on 64-bit counts (microseconds, runs, rows), so that values at the edges
/// of `Int64` — legacy data, a corrupt summary row — clamp instead of trapping.
public enum Saturating {
    public static func add(_ lhs: Int64, _ rhs: Int64) -> Int64 {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        guard overflow else { return sum }
        return rhs > 0 ? .max : .min
    }

    public static func subtract(_ lhs: Int64, _ rhs: Int64) -> Int64 {
        let (difference, overflow) = lhs.subtractingReportingOverflow(rhs)
        guard overflow else { return difference }
        return rhs < 0 ? .max : .min
    }

    /// `value` rounded to the nearest integer and clamped to `Int64`; nil when it is not a number.
    public static func clamped(_ value: Double) -> Int64? {
        guard !value.isNaN else { return nil }
        if value >= Double(Int64.max) { return .max }
        if value <= Double(Int64.min) { return .min }
        return Int64(value.rounded())
    }
}
