import Foundation
import PipelineCore

/// How the dashboard writes numbers, durations and instants for people. Plain text: the caller
/// escapes it like any other value.
enum DashboardFormat {
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
        let whole = micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000
        return UTCInstant(microsecondsSinceEpoch: whole).description
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
        let magnitude = abs(seconds)
        if magnitude < 3600 { return "\(Int(magnitude / 60)) min" }
        if magnitude < 48 * 3600 { return "\(Int(magnitude / 3600)) h" }
        return "\(Int(magnitude / 86_400)) d"
    }

    /// A run's duration: `0.4 s`, `42 s`, `12m 04s`, `3h 07m`, `2d 04h`; an em dash when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        let value = max(seconds, 0)
        if value < 10 { return value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value) }
        if value < 60 { return "\(Int(value.rounded())) s" }
        let whole = Int(value.rounded())
        func two(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }
        if whole < 3600 { return "\(whole / 60)m \(two(whole % 60))s" }
        if whole < 86_400 { return "\(whole / 3600)h \(two(whole % 3600 / 60))m" }
        return "\(whole / 86_400)d \(two(whole % 86_400 / 3600))h"
    }

    /// A round duration on a chart axis: `45 s`, `30m`, `2h`, `1h 30m`, `2d`.
    static func durationTick(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        let whole = Int(seconds.rounded())
        if Double(whole) != seconds || whole < 60 { return duration(seconds) }
        if whole % 86_400 == 0 { return "\(whole / 86_400)d" }
        if whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole < 3600 && whole % 60 == 0 { return "\(whole / 60)m" }
        return duration(seconds)
    }

    /// A typical gap between runs: `45 s`, `15 min`, `1 h`, `1.5 h`, `7 d`.
    static func interval(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "—" }
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
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
        if value.rounded() == value, abs(value) < 1e15 { return count(Int64(value)) }
        return String(format: "%.1f", value)
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
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int64(rounded)) }
        return String(format: "%.1f", rounded)
    }

    /// How a measure is written in a cell and a tooltip.
    static func measure(_ metric: AnomalyMetric, _ value: Double) -> String {
        switch metric {
        case .duration: duration(value)
        case .rowcount: value.isFinite && abs(value) < 1e15 ? count(Int64(value.rounded())) : number(value)
        }
    }

    /// `rowcount 1,020 outside expected 9,500 – 11,200 (median 10,300)`.
    static func finding(_ finding: AnomalyFinding) -> String {
        let band = "\(measure(finding.metric, max(finding.expectedLow, 0))) – \(measure(finding.metric, finding.expectedHigh))"
        let verdict = finding.isOutside ? "outside" : "within"
        return "\(finding.metric.rawValue) \(measure(finding.metric, finding.observed)) \(verdict) expected \(band)"
            + " (median \(measure(finding.metric, finding.median)))"
    }
}
