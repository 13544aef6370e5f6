import PipelineCore

/// One measured run on a chart.
struct ChartPoint: Sendable, Hashable {
    var time: UTCInstant
    var value: Double
    var isFailed: Bool
}

/// A word-sized inline SVG trend: a line over the recent runs, failed runs as red dots, the
/// latest run marked.
enum Sparkline {
    /// The most runs a sparkline draws (the latest ones).
    static let maximumPoints = 60
    static let width = 110.0
    static let height = 26.0

    /// - Parameters:
    ///   - points: oldest first; only the last ``maximumPoints`` are drawn.
    ///   - label: what the line shows, for screen readers and the tooltip.
    ///   - lastClass: the CSS class of the latest point (its health colour).
    static func svg(_ points: [ChartPoint], label: String, lastClass: String) -> HTML {
        let shown = Array(points.suffix(maximumPoints))
        guard !shown.isEmpty else { return "<span class=\"muted\">—</span>" }
        let values = shown.map(\.value).map { $0.isFinite ? $0 : 0 }
        let low = min(values.min() ?? 0, 0)
        let high = values.max() ?? 0
        let pad = 3.0
        func x(_ index: Int) -> Double {
            shown.count == 1 ? width / 2 : pad + Double(index) / Double(shown.count - 1) * (width - 2 * pad)
        }
        // Halved before subtracting, so values near ±Double.greatestFiniteMagnitude do not make
        // the range infinite.
        let range = high / 2 - low / 2
        func y(_ value: Double) -> Double {
            guard range > 0 else { return height / 2 }
            let fraction: Double = (value / 2 - low / 2) / range
            return height - pad - fraction * (height - 2 * pad)
        }
        var svg: HTML =
            "<svg class=\"spark\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
            + " role=\"img\" aria-label=\"\(label)\"><title>\(label)</title>"
        let coordinates = values.indices.map { "\(SVGNumber.text(x($0))),\(SVGNumber.text(y(values[$0])))" }
        svg += "<polyline class=\"spark-line\" data-points=\"\(shown.count)\" points=\"\(coordinates.joined(separator: " "))\"/>"
        for (index, point) in shown.enumerated() where point.isFailed && index != shown.count - 1 {
            svg += "<circle class=\"pt-failed\" cx=\"\(SVGNumber.text(x(index)))\" cy=\"\(SVGNumber.text(y(values[index])))\" r=\"1.8\"/>"
        }
        let last = shown.count - 1
        svg += "<circle class=\"spark-last \(lastClass)\" cx=\"\(SVGNumber.text(x(last)))\" cy=\"\(SVGNumber.text(y(values[last])))\" r=\"2.6\"/>"
        return svg + "</svg>"
    }
}

/// A server-rendered line chart of one measure over time, with labelled axes, the expected band
/// of the latest run as a shaded area, failed runs in red and the latest run highlighted.
struct LineChart: Sendable {
    /// The band the latest run was expected in, over the runs it was derived from.
    struct Band: Sendable, Hashable {
        var low: Double
        var high: Double
        var median: Double
        var from: UTCInstant
        var to: UTCInstant
    }

    var title: String
    var metric: AnomalyMetric
    /// Oldest first.
    var points: [ChartPoint]
    var band: Band?
    /// Whether the latest run is outside its band (drawn in the anomaly colour).
    var isLatestAnomalous: Bool
    /// The time axis runs to here when it is after the latest run, so a silence shows as a gap.
    var now: UTCInstant? = nil
    /// When the next run was due, if that has passed: the time from it to `now` is shaded.
    var overdueSince: UTCInstant? = nil

    static let width = 640.0
    static let height = 220.0
    private static let left = 58.0
    private static let right = 18.0
    private static let top = 12.0
    private static let bottom = 26.0
    /// The value axis spans at most this far each side of zero, so the span between its ends and
    /// the tick steps stay finite however large a stored value is (larger values sit on the edge).
    private static let valueLimit = Double.greatestFiniteMagnitude / 4

    func svg() -> HTML {
        let width = Self.width
        let height = Self.height
        let plotWidth = width - Self.left - Self.right
        let plotHeight = height - Self.top - Self.bottom
        var svg: HTML =
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\""
            + " aria-label=\"\(title)\"><title>\(title)</title>"
        guard let first = points.first, let last = points.last else {
            svg += "<text class=\"axis\" x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\">No runs yet</text>"
            return svg + "</svg>"
        }

        let values = points.map(\.value).filter(\.isFinite)
        let bandHigh = band.map(\.high).flatMap { $0.isFinite ? $0 : nil } ?? 0
        var high = min(max(values.max() ?? 0, bandHigh), Self.valueLimit)
        let low = max(min(values.min() ?? 0, 0), -Self.valueLimit)
        if high <= low { high = low + 1 }
        let ticks = metric == .duration ? Self.niceDurationTicks(high: high) : Self.niceTicks(low: low, high: high)
        let top = ticks.last ?? high
        let bottom = ticks.first ?? low

        // Instants outside years 1…9999 never come from validated input; clamping them keeps the
        // time arithmetic below far from Int64's limits.
        let supported = UTCInstant.supportedMicroseconds
        func clamped(_ micros: Int64) -> Int64 { min(max(micros, supported.lowerBound), supported.upperBound) }
        var start = clamped(first.time.microsecondsSinceEpoch)
        var end = clamped(max(last.time.microsecondsSinceEpoch, now?.microsecondsSinceEpoch ?? .min))
        if end <= start {
            start -= 3_600_000_000
            end += 3_600_000_000
        }
        let timeSpan = Double(end - start)
        func x(_ instant: UTCInstant) -> Double {
            let offset: Double = Double(instant.microsecondsSinceEpoch) - Double(start)
            return Self.left + offset / timeSpan * plotWidth
        }
        func y(_ value: Double) -> Double {
            guard top > bottom else { return Self.top + plotHeight / 2 }
            let clamped = min(max(value.isFinite ? value : 0, bottom), top)
            // Halved before subtracting, so the ends of a range near ±Double.greatestFiniteMagnitude
            // do not make it infinite.
            let fraction: Double = (clamped / 2 - bottom / 2) / (top / 2 - bottom / 2)
            return Self.top + plotHeight - fraction * plotHeight
        }

        // Grid and value axis.
        for tick in ticks {
            let position = SVGNumber.text(y(tick))
            svg += "<line class=\"grid\" x1=\"\(Int(Self.left))\" x2=\"\(Int(width - Self.right))\" y1=\"\(position)\" y2=\"\(position)\"/>"
            let label = metric == .duration ? DashboardFormat.durationTick(tick) : DashboardFormat.compact(tick)
            svg += "<text class=\"axis\" x=\"\(Int(Self.left - 6))\" y=\"\(position)\" dy=\"0.32em\" text-anchor=\"end\">\(label)</text>"
        }
        // Time axis: about five dates, rounded to the hour (or to the day for long spans) so they
        // read 11-20 11:00 rather than 11-20 10:53, with the time of day when the span is short.
        let span = end - start
        let withTime = span < 3 * 86_400_000_000
        let unit: Int64 = withTime ? (span >= 12 * 3_600_000_000 ? 3_600_000_000 : 60_000_000) : 86_400_000_000
        let tickCount = 5
        var labelled = Set<Int64>()
        for index in 0..<tickCount {
            let raw = start + span * Int64(index) / Int64(tickCount - 1)
            let rounded = (raw + unit / 2) / unit * unit
            let tick = (start...end).contains(rounded) ? rounded : raw
            guard labelled.insert(tick).inserted else { continue }
            let instant = UTCInstant(microsecondsSinceEpoch: tick)
            let position = Double(tick - start) / Double(span)
            let anchor = position < 0.06 ? "start" : position > 0.94 ? "end" : "middle"
            svg += "<text class=\"axis\" x=\"\(SVGNumber.text(x(instant)))\" y=\"\(Int(height - 8))\" text-anchor=\"\(anchor)\">"
            svg += "\(DashboardFormat.tick(instant, withTime: withTime))</text>"
        }

        if let overdueSince, let now, overdueSince < now {
            let x1 = max(x(overdueSince), Self.left)
            let x2 = x(now)
            svg += "<rect class=\"overdue\" x=\"\(SVGNumber.text(x1))\" y=\"\(Int(Self.top))\" width=\"\(SVGNumber.text(max(x2 - x1, 1)))\""
            svg += " height=\"\(SVGNumber.text(plotHeight))\"><title>overdue since \(DashboardFormat.timestamp(overdueSince))</title></rect>"
        }
        if let now, overdueSince.map({ $0 < now }) == true {
            let position = SVGNumber.text(x(now))
            svg +=
                "<line class=\"now\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(Int(Self.top))\" y2=\"\(SVGNumber.text(Self.top + plotHeight))\"/>"
            svg += "<text class=\"axis\" x=\"\(position)\" y=\"\(Int(Self.top - 2))\" text-anchor=\"end\" dx=\"-3\" dy=\"9\">now</text>"
        }
        if let band {
            let x1 = max(x(band.from), Self.left)
            let x2 = max(x(band.to), x1 + 2)
            let y1 = y(band.high)
            let y2 = y(max(band.low, bottom))
            let tooltip = "expected \(DashboardFormat.measure(metric, max(band.low, 0))) – \(DashboardFormat.measure(metric, band.high))"
            svg += "<rect class=\"band\" x=\"\(SVGNumber.text(x1))\" y=\"\(SVGNumber.text(y1))\" width=\"\(SVGNumber.text(x2 - x1))\""
            svg += " height=\"\(SVGNumber.text(max(y2 - y1, 1)))\"><title>\(tooltip)</title></rect>"
            let median = SVGNumber.text(y(band.median))
            svg += "<line class=\"band-median\" x1=\"\(SVGNumber.text(x1))\" x2=\"\(SVGNumber.text(x2))\" y1=\"\(median)\" y2=\"\(median)\"/>"
        }

        let line = points.map { "\(SVGNumber.text(x($0.time))),\(SVGNumber.text(y($0.value)))" }
        svg += "<polyline class=\"line\" data-points=\"\(points.count)\" points=\"\(line.joined(separator: " "))\"/>"
        for point in points.dropLast() where point.isFailed {
            svg += "<circle class=\"pt-failed\" cx=\"\(SVGNumber.text(x(point.time)))\" cy=\"\(SVGNumber.text(y(point.value)))\" r=\"3\">"
            svg += "<title>failed run \(DashboardFormat.timestamp(point.time))</title></circle>"
        }
        let latestClass = last.isFailed ? "pt-latest failed" : isLatestAnomalous ? "pt-latest anomaly" : "pt-latest"
        svg += "<circle class=\"\(latestClass)\" cx=\"\(SVGNumber.text(x(last.time)))\" cy=\"\(SVGNumber.text(y(last.value)))\" r=\"5\">"
        svg += "<title>latest run \(DashboardFormat.timestamp(last.time)): "
        svg += "\(DashboardFormat.measure(metric, last.value))</title></circle>"
        return svg + "</svg>"
    }

    /// Ticks for durations from zero, a step of whole seconds, minutes or hours so labels read
    /// `5m 00s`, `10m 00s` rather than `3m 20s`, `6m 40s`.
    static func niceDurationTicks(high: Double) -> [Double] {
        guard high > 0, high.isFinite else { return [0, 1] }
        let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400]
        guard let step = steps.first(where: { $0 >= high / 5 }) else { return niceTicks(low: 0, high: high) }
        var ticks: [Double] = []
        for index in 0..<12 {
            ticks.append(Double(index) * step)
            if Double(index) * step >= high { break }
        }
        return ticks
    }

    /// Round tick values from `low` to at least `high`, about five of them; just the two ends when
    /// the span is not a positive normal number.
    static func niceTicks(low: Double, high: Double) -> [Double] {
        let span = high - low
        guard span.isFinite, span >= Double.leastNormalMagnitude * 50 else { return span > 0 ? [low, high] : [low] }
        let rough = span / 5
        let magnitude = powerOfTen(atMost: rough)
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = (low / step).rounded(.down)
        var ticks: [Double] = []
        for index in 0..<12 {
            // Multiples of the step rather than a running sum, so 0.6 does not come out as 0.6000000000000001.
            let value = (first + Double(index)) * step
            ticks.append(value)
            if value >= high { break }
        }
        return ticks.allSatisfy(\.isFinite) ? ticks : [low, high]
    }

    /// The largest power of ten not above `value` (a positive number), as `10^⌊log10 value⌋`
    /// gives it, found by multiplying and dividing rather than with the C maths library. A value
    /// too small for any power of ten gives 0.
    static func powerOfTen(atMost value: Double) -> Double {
        if value >= 1 {
            var power = 1.0
            while power * 10 <= value { power *= 10 }
            return power
        }
        // 1 / 10^k rather than repeated division by 10, which would gather rounding errors.
        var divisor = 1.0
        while divisor.isFinite, 1 / divisor > value { divisor *= 10 }
        return 1 / divisor
    }
}

/// Short, locale-independent numbers for SVG coordinates.
enum SVGNumber {
    /// `12`, `12.5`; coordinates are inside the drawing, so a value that is not (a NaN from a
    /// degenerate scale, or beyond a billion) is written as 0 or the nearest bound.
    static func text(_ value: Double) -> String {
        guard !value.isNaN else { return "0" }
        let bounded = min(max(value, -1e9), 1e9)
        let rounded = (bounded * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int64(rounded)) }
        return DashboardFormat.oneDecimal(rounded)
    }
}
