/// Why a history cannot be computed for the requested range: it would hold too many buckets.
public struct HistoryRangeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// How many buckets the range would hold (saturated at `Int64.max`).
    public var bucketCount: Int64
    public var bucketSize: HistoryBucketSize
    public var message: String

    public init(bucketCount: Int64, bucketSize: HistoryBucketSize) {
        self.bucketCount = bucketCount
        self.bucketSize = bucketSize
        let advice =
            switch bucketSize {
            case .hour: "use bucket=day or bucket=week, or a narrower start_utc/end_utc range"
            case .day: "use bucket=week, or a narrower start_utc/end_utc range"
            case .week: "use a narrower start_utc/end_utc range"
            }
        self.message =
            "The range spans \(bucketCount) \(bucketSize.rawValue) buckets, more than the \(RunHistory.maximumBuckets) allowed; \(advice)"
    }

    public var description: String { message }
}

/// A pipeline's runs counted per hour, day or ISO week of local time in some zone, with every
/// bucket of the range present (empty ones with zero runs) so that charts show gaps as zeros.
public struct RunHistory: Sendable, Hashable {
    /// The most buckets one history may hold.
    public static let maximumBuckets = 10_000

    public var pipelineName: String?
    public var bucketSize: HistoryBucketSize
    /// The zone's name as the request gave it (``UTCOffsetRule/name``).
    public var zoneName: String
    /// Every bucket of the range, ascending.
    public var buckets: [HistoryBucket]

    public init(pipelineName: String? = nil, bucketSize: HistoryBucketSize, zoneName: String, buckets: [HistoryBucket]) {
        self.pipelineName = pipelineName
        self.bucketSize = bucketSize
        self.zoneName = zoneName
        self.buckets = buckets
    }

    /// Buckets the samples by the local time of their start in `zone`.
    ///
    /// The range runs from `from` (or the earliest sample) to `to` (or the latest sample), both
    /// inclusive; samples outside it are ignored. Every bucket from the one holding the range's
    /// start to the one holding its end is emitted, stepping through local bucket starts in wall
    /// time (so a DST day has 23 or 25 hours and each local hour is one bucket; an hour skipped by
    /// the clock has no bucket, an hour repeated by it is one bucket covering both). With no
    /// samples and no range, or an empty range (`from` after `to`), there are no buckets.
    ///
    /// - Throws: ``HistoryRangeError`` when the range holds more than ``maximumBuckets`` buckets,
    ///   before any is built.
    public init(
        historySamples samples: [HistorySample],
        bucket: HistoryBucketSize,
        zone: any UTCOffsetRule,
        from: UTCInstant?,
        to: UTCInstant?,
        pipelineName: String? = nil
    ) throws(HistoryRangeError) {
        self.init(pipelineName: pipelineName, bucketSize: bucket, zoneName: zone.name, buckets: [])
        guard let lower = from ?? samples.lazy.map(\.startUTC).min(), let upper = to ?? samples.lazy.map(\.startUTC).max(), lower <= upper
        else { return }
        let clock = LocalClock(zone: zone, size: bucket)

        var groups: [Int64: [HistorySample]] = [:]
        for sample in samples where sample.startUTC >= lower && sample.startUTC <= upper {
            groups[clock.bucketStart(of: sample.startUTC), default: []].append(sample)
        }
        // Around a backward clock change a later instant can have an earlier local time, so the
        // samples' own buckets widen the range if they must.
        var first = clock.bucketStart(of: lower)
        var last = clock.bucketStart(of: upper)
        for key in groups.keys {
            first = Swift.min(first, key)
            last = Swift.max(last, key)
        }

        let (span, overflow) = last.subtractingReportingOverflow(first)
        let count = overflow ? Int64.max : span / clock.width + 1
        guard count <= Int64(Self.maximumBuckets) else { throw HistoryRangeError(bucketCount: count, bucketSize: bucket) }

        buckets.reserveCapacity(Int(count))
        for step in 0..<count {
            let localStart = first + step * clock.width
            let runs = groups[localStart] ?? []
            let (start, offset) = clock.firstInstant(atOrAfterLocal: localStart)
            let startLocal = Saturating.add(start.microsecondsSinceEpoch, Int64(offset) * 1_000_000)
            // A bucket wholly inside a forward clock change holds no instant at all.
            if runs.isEmpty, startLocal >= Saturating.add(localStart, clock.width) { continue }
            buckets.append(HistoryBucket(start: start, localStart: LocalDateTime(wallMicroseconds: startLocal), offsetSeconds: offset, runs: runs))
        }
    }

    /// `{"pipeline_name":…,"bucket":"day","tz":"UTC","buckets":[{"start_utc":…,"start_local":…,
    /// "utc_offset":"+01:00","runs":…,"failed_runs":…,"avg_duration":…,"p95_duration":…,
    /// "total_rowcount":…,"avg_rowcount":…}]}`.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 96 + buckets.count * 240)
        writer.object { writer in
            writer.key("pipeline_name")
            writer.optionalString(pipelineName)
            writer.key("bucket")
            writer.string(bucketSize.rawValue)
            writer.key("tz")
            writer.string(zoneName)
            writer.key("buckets")
            writer.array(buckets) { writer, bucket in bucket.write(to: &writer) }
        }
        return writer.bytes
    }
}

extension HistoryBucket {
    /// The statistics of `runs`, all of which start in the bucket: mean and p95 (linear) of
    /// `elapsed_seconds` over the runs where it is finite, the rowcount total (saturating at
    /// `Int64` bounds) and its mean per run.
    public init(start: UTCInstant, localStart: LocalDateTime, offsetSeconds: Int, runs: [HistorySample]) {
        let durations = runs.map(\.elapsedSeconds).filter(\.isFinite).sorted()
        var total: Int64 = 0
        for run in runs {
            total = Saturating.add(total, run.rowcount)
        }
        self.init(
            start: start,
            localStart: localStart,
            offsetSeconds: offsetSeconds,
            runs: runs.count,
            failedRuns: runs.count(where: \.isFailed),
            avgDuration: durations.isEmpty ? nil : durations.reduce(0, +) / Double(durations.count),
            p95Duration: Quantile.of(durations, 0.95),
            totalRowcount: total,
            avgRowcount: runs.isEmpty ? nil : Double(total) / Double(runs.count)
        )
    }

    /// `{"start_utc":…,"start_local":…,"utc_offset":…,"runs":…,"failed_runs":…,"avg_duration":…,
    /// "p95_duration":…,"total_rowcount":…,"avg_rowcount":…}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("start_utc")
            writer.instant(start)
            writer.key("start_local")
            writer.local(localStart)
            writer.key("utc_offset")
            writer.string(FixedUTCOffset.format(seconds: offsetSeconds))
            writer.key("runs")
            writer.integer(runs)
            writer.key("failed_runs")
            writer.integer(failedRuns)
            writer.key("avg_duration")
            writer.optionalDouble(avgDuration)
            writer.key("p95_duration")
            writer.optionalDouble(p95Duration)
            writer.key("total_rowcount")
            writer.integer(totalRowcount)
            writer.key("avg_rowcount")
            writer.optionalDouble(avgRowcount)
        }
    }
}

/// Local wall-clock arithmetic of one zone and bucket size.
private struct LocalClock {
    static let hour = UTCInstant.microsecondsPerHour
    static let day = UTCInstant.microsecondsPerDay

    var zone: any UTCOffsetRule
    var size: HistoryBucketSize

    /// The bucket width in wall-clock microseconds.
    var width: Int64 {
        switch size {
        case .hour: Self.hour
        case .day: Self.day
        case .week: 7 * Self.day
        }
    }

    /// Local times are kept within half the `Int64` range, so that flooring them to a bucket
    /// and stepping through buckets cannot overflow whatever instants the samples hold.
    static let localRange: ClosedRange<Int64> = (Int64.min / 2)...(Int64.max / 2)

    /// The zone's offset at `micros`, in microseconds (a nonsensical offset is clamped to a day).
    func offsetMicros(at micros: Int64) -> Int64 {
        let seconds = zone.offsetSeconds(at: UTCInstant(microsecondsSinceEpoch: micros))
        return Int64(Swift.min(Swift.max(seconds, -86_400), 86_400)) * 1_000_000
    }

    func local(_ micros: Int64) -> Int64 {
        Swift.min(Swift.max(Saturating.add(micros, offsetMicros(at: micros)), Self.localRange.lowerBound), Self.localRange.upperBound)
    }

    /// The local wall-clock start of the bucket holding `instant`.
    func bucketStart(of instant: UTCInstant) -> Int64 {
        let wall = local(instant.microsecondsSinceEpoch)
        switch size {
        case .hour, .day:
            return Self.floor(wall, width)
        case .week:
            // 1970-01-01 was a Thursday: three days after a Monday.
            let day = Self.floor(wall, Self.day)
            let sinceMonday = Self.floorModulo(day / Self.day + 3, 7)
            return day - sinceMonday * Self.day
        }
    }

    /// The first instant whose local time is `localStart` (the earlier one when the clock shows
    /// it twice), or, when the clock skips it, the first instant after the skip; with the
    /// zone's offset at that instant.
    func firstInstant(atOrAfterLocal localStart: Int64) -> (UTCInstant, Int) {
        // The candidate offsets: the ones found by iterating from the wall time read as UTC, and
        // the ones a day either side, so that both offsets of a nearby clock change are tried.
        var offsets: [Int64] = []
        var guess = offsetMicros(at: localStart)
        for _ in 0..<3 where !offsets.contains(guess) {
            offsets.append(guess)
            guess = offsetMicros(at: Saturating.subtract(localStart, guess))
        }
        for probe in [Saturating.subtract(localStart, Self.day), Saturating.add(localStart, Self.day)] {
            let offset = offsetMicros(at: probe)
            if !offsets.contains(offset) { offsets.append(offset) }
        }
        let valid = offsets.filter { local(Saturating.subtract(localStart, $0)) == localStart }
        if let largest = valid.max() {
            return resolved(Saturating.subtract(localStart, largest))
        }
        // A gap: local time jumps over `localStart` between these two instants. (`offsets` holds
        // at least the first guess.)
        var low = Saturating.subtract(localStart, offsets.max() ?? guess)
        var high = Saturating.subtract(localStart, offsets.min() ?? guess)
        if local(high) < localStart { return resolved(high) }
        while low < high {
            let middle = low + (high - low) / 2
            if local(middle) >= localStart { high = middle } else { low = middle + 1 }
        }
        return resolved(high)
    }

    private func resolved(_ micros: Int64) -> (UTCInstant, Int) {
        let instant = UTCInstant(microsecondsSinceEpoch: micros)
        return (instant, zone.offsetSeconds(at: instant))
    }

    static func floor(_ value: Int64, _ unit: Int64) -> Int64 {
        value - floorModulo(value, unit)
    }

    static func floorModulo(_ value: Int64, _ unit: Int64) -> Int64 {
        let remainder = value % unit
        return remainder < 0 ? remainder + unit : remainder
    }
}

extension FixedUTCOffset {
    /// The largest offset accepted, 18 hours (as ISO 8601 and java.time allow).
    public static let maximumSeconds = 18 * 3600

    /// Parses a fixed offset: `UTC` or `Z` (any case), or `±HH:MM`, `±HHMM`, `±HH` up to ±18:00.
    /// The offset keeps `text` as its name. Nil for anything else (IANA zone names are resolved by
    /// the server, not here).
    public static func fixedOffset(parsing text: String) -> FixedUTCOffset? {
        let upper = text.uppercased()
        if upper == "UTC" || upper == "Z" { return FixedUTCOffset(seconds: 0, name: text) }
        let bytes = Array(text.utf8)
        guard bytes.count == 3 || bytes.count == 5 || bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-")
        else { return nil }
        func digit(_ index: Int) -> Int? {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            return Int(byte - UInt8(ascii: "0"))
        }
        guard let h1 = digit(1), let h2 = digit(2) else { return nil }
        var minutes = 0
        if bytes.count > 3 {
            let minuteStart = bytes.count == 6 ? 4 : 3
            guard bytes.count == 5 || bytes[3] == UInt8(ascii: ":"), let m1 = digit(minuteStart), let m2 = digit(minuteStart + 1) else { return nil }
            minutes = m1 * 10 + m2
        }
        guard minutes < 60 else { return nil }
        let magnitude = (h1 * 10 + h2) * 3600 + minutes * 60
        guard magnitude <= maximumSeconds else { return nil }
        return FixedUTCOffset(seconds: bytes[0] == UInt8(ascii: "-") ? -magnitude : magnitude, name: text)
    }

    /// `+HH:MM` (or `+HH:MM:SS` for an offset with seconds), `+00:00` for UTC.
    public static func format(seconds: Int) -> String {
        let magnitude = seconds.magnitude
        func two(_ value: UInt) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = (seconds < 0 ? "-" : "+") + two(magnitude / 3600) + ":" + two(magnitude % 3600 / 60)
        if magnitude % 60 != 0 { text += ":" + two(magnitude % 60) }
        return text
    }
}
