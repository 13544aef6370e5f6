import PipelineCore

/// How the dashboard writes numbers, durations and instants for people. Plain text: interpolated
/// into `HTML` it is escaped like any other value.
///
/// Every function is total. Stored runs can hold any `Double` a client once sent (an
/// `elapsed_seconds` of 1e308, from before validation was strict) and any `Int64` rowcount, and
/// insight numbers derived from them can be infinite or NaN, so nothing here converts a `Double` to
/// an integer without first checking that it fits: a number too large for the usual form is
/// written in exponent form instead.
enum DashboardFormat {
    /// The largest magnitude written digit by digit; larger ones are written like `1e+308`. Below
    /// it every whole number is exact in a `Double` and fits an `Int64` with room to spare.
    static let largestPlain = 1e15

    /// `2025-09-02 12:07 UTC`.
    static func timestamp(_ instant: UTCInstant) -> String {
        let iso = seconds(instant)
        return "\(iso.prefix(10)) \(iso.dropFirst(11).prefix(5)) UTC"
    }

    /// `2025-09-02 12:07`: the instant to the minute, where the column says UTC.
    static func minute(_ instant: UTCInstant) -> String {
        let iso = seconds(instant)
        return "\(iso.prefix(10)) \(iso.dropFirst(11).prefix(5))"
    }

    /// `2025-09-02T12:07:02Z`: the instant to the second, for `datetime` attributes and tooltips.
    static func seconds(_ instant: UTCInstant) -> String {
        let micros = instant.microsecondsSinceEpoch
        let fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000
        // Only an instant within a second of Int64.min cannot be rounded down; it keeps its fraction.
        let (whole, overflow) = micros.subtractingReportingOverflow(fraction)
        return UTCInstant(microsecondsSinceEpoch: overflow ? micros : whole).description
    }

    /// `09-02 12:07` or `09-02`: a chart tick label, with the time only when the span is short.
    static func tick(_ instant: UTCInstant, withTime: Bool) -> String {
        let iso = seconds(instant)
        let day = iso.dropFirst(5).prefix(5)
        return withTime ? "\(day) \(iso.dropFirst(11).prefix(5))" : String(day)
    }

    /// `just now`, `5 min ago`, `3 h ago`, `2 d ago`, or `in 4 h` for an instant after `now`.
    static func relative(_ instant: UTCInstant, now: UTCInstant) -> String {
        let delta = now.secondsSinceEpoch - instant.secondsSinceEpoch
        guard abs(delta) >= 60 else { return "just now" }
        return delta >= 0 ? "\(span(delta)) ago" : "in \(span(-delta))"
    }

    /// A coarse length of time: `5 min`, `3 h`, `2 d` (whole units, rounded down).
    static func span(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        let magnitude = abs(seconds)
        if magnitude < 3600 { return "\(whole((magnitude / 60).rounded(.down))) min" }
        if magnitude < 48 * 3600 { return "\(whole((magnitude / 3600).rounded(.down))) h" }
        return "\(whole((magnitude / 86_400).rounded(.down))) d"
    }

    /// A run's duration: `0.4 s`, `42 s`, `12m 04s`, `3h 07m`, `2d 04h`; an em dash when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        let value = max(seconds, 0)
        if value < 10 { return value == value.rounded() ? "\(Int(value)) s" : oneDecimal(value) + " s" }
        if value < 60 { return "\(Int(value.rounded())) s" }
        // A duration of more than thirty million years is a stored oddity, not a run length.
        guard value < largestPlain else { return exponent(value) + " s" }
        let whole = Int64(value.rounded())
        func two(_ number: Int64) -> String { number < 10 ? "0\(number)" : "\(number)" }
        if whole < 3600 { return "\(whole / 60)m \(two(whole % 60))s" }
        if whole < 86_400 { return "\(whole / 3600)h \(two(whole % 3600 / 60))m" }
        return "\(whole / 86_400)d \(two(whole % 86_400 / 3600))h"
    }

    /// A round duration on a chart axis: `45 s`, `30m`, `2h`, `1h 30m`, `2d`.
    static func durationTick(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < largestPlain else { return duration(seconds) }
        let whole = Int64(seconds.rounded())
        if Double(whole) != seconds || whole < 60 { return duration(seconds) }
        if whole % 86_400 == 0 { return "\(whole / 86_400)d" }
        if whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole < 3600 && whole % 60 == 0 { return "\(whole / 60)m" }
        return duration(seconds)
    }

    /// A typical gap between runs: `45 s`, `15 min`, `1 h`, `1.5 h`, `7 d`.
    static func interval(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        if seconds < 120 { return "\(whole(seconds.rounded())) s" }
        if seconds < 7200 { return "\(whole((seconds / 60).rounded())) min" }
        if seconds < 48 * 3600 { return trimmed(seconds / 3600) + " h" }
        return trimmed(seconds / 86_400) + " d"
    }

    /// `11,060`; an em dash when unknown.
    static func count(_ value: Int64?) -> String {
        guard let value else { return "—" }
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// A measure as a whole count when it is one (`11,060`), else with one decimal.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        if value.rounded() == value, abs(value) < largestPlain { return count(Int64(value)) }
        return oneDecimal(value)
    }

    /// `950`, `12.5k`, `1.2M`: an axis label.
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let magnitude = abs(value)
        for (scale, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where magnitude >= scale {
            return trimmed(value / scale) + suffix
        }
        return trimmed(value)
    }

    /// A number with at most one decimal, without a trailing `.0`.
    static func trimmed(_ value: Double) -> String {
        guard value.isFinite, abs(value) < largestPlain else { return exponent(value) }
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int64(rounded)) }
        return oneDecimal(rounded)
    }

    /// How a measure is written in a cell and a tooltip.
    static func measure(_ metric: AnomalyMetric, _ value: Double) -> String {
        switch metric {
        case .duration: duration(value)
        case .rowcount: value.isFinite && abs(value) < largestPlain ? count(Int64(value.rounded())) : number(value)
        }
    }

    /// `rowcount 1,020 outside expected 9,500 – 11,200 (median 10,300)`.
    static func finding(_ finding: AnomalyFinding) -> String {
        let band = "\(measure(finding.metric, max(finding.expectedLow, 0))) – \(measure(finding.metric, finding.expectedHigh))"
        let verdict = finding.isOutside ? "outside" : "within"
        return "\(finding.metric.rawValue) \(measure(finding.metric, finding.observed)) \(verdict) expected \(band)"
            + " (median \(measure(finding.metric, finding.median)))"
    }

    // MARK: - Numbers

    /// A whole `Double` as an integer, clamped to the range of `Int64` (NaN as 0).
    static func whole(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        // 2^63 is the first Double above Int64.max; every Double below it converts exactly.
        if value >= 9_223_372_036_854_775_808.0 { return .max }
        if value <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(value)
    }

    /// `1e+308`, `-2.5e+20`, `inf`, `nan`: Swift's shortest exact form, for numbers too large for
    /// digits.
    static func exponent(_ value: Double) -> String {
        "\(value)"
    }

    /// `value` with exactly one decimal, rounded to nearest with ties to even on its exact binary
    /// value, as C's `%.1f` writes it (`0.05` is just above a half tenth, so `0.1`; `0.35` is just
    /// below, so `0.3`; `0.25` is a tie, so `0.2`). Magnitudes from ``largestPlain`` on are written
    /// in exponent form.
    static func oneDecimal(_ value: Double) -> String {
        guard value.isFinite, abs(value) < largestPlain else { return exponent(value) }
        let magnitude = abs(value)
        let whole = magnitude.rounded(.down)
        // Exact: the fraction bits of a double form a double.
        let fraction = magnitude - whole
        // fraction × 10 = product + error exactly (the fused multiply-add gives the product's
        // rounding error without rounding it again).
        let product = fraction * 10
        let error = (-product).addingProduct(fraction, 10)
        let tenths = product.rounded(.down)
        // Exact, and like 0.5 a multiple of the product's last place, so when it is not 0.5 it is
        // at least a last place away, more than the error can make up.
        let rest = product - tenths
        var units = Int64(whole) * 10 + Int64(tenths)
        let isTie = rest == 0.5 && error == 0
        if rest > 0.5 || (rest == 0.5 && error > 0) || (isTie && units % 2 == 1) { units += 1 }
        let sign = value.sign == .minus ? "-" : ""
        return "\(sign)\(units / 10).\(units % 10)"
    }
}
