import PipelineCore
import PipelineTestSupport
import Testing

private let hour: Int64 = 3_600_000_000
private let day: Int64 = 24 * hour

private func utc(_ text: String) -> UTCInstant { UTCInstant(iso8601: text)! }
private func wall(_ text: String) -> LocalDateTime { LocalDateTime(iso8601: text)! }

private func run(
    _ start: String,
    elapsed: Double = 60,
    rowcount: Int64 = 100,
    status: String? = "success",
    exitCode: Int64? = nil
) -> RunSample {
    TestRun.sample(at: utc(start), seconds: elapsed, rowcount: rowcount, status: status, exitCode: exitCode, code: start)
}

private func isClose(_ actual: Double?, _ expected: Double) -> Bool {
    guard let actual else { return false }
    return abs(actual - expected) <= 1e-9 * max(1, abs(expected))
}

private func number(of value: JSONValue?) -> Double? {
    guard case .number(let text) = value else { return nil }
    return Double(text)
}

/// A zone whose offset changes once, at `change` (a DST transition).
private struct SwitchingOffset: UTCOffsetRule {
    var before: Int
    var after: Int
    var change: UTCInstant

    var name: String { "Test/Switching" }

    func offsetSeconds(at instant: UTCInstant) -> Int { instant < change ? before : after }
}

/// Paris in 2025: CET → CEST at 2025-03-30T01:00Z (local 02:00 → 03:00).
private let parisSpring = SwitchingOffset(before: 3600, after: 7200, change: utc("2025-03-30T01:00:00Z"))
/// Paris in 2025: CEST → CET at 2025-10-26T01:00Z (local 03:00 → 02:00).
private let parisAutumn = SwitchingOffset(before: 7200, after: 3600, change: utc("2025-10-26T01:00:00Z"))
/// São Paulo in 2018: −03:00 → −02:00 at local midnight of 2018-11-04, which never happened.
private let saoPauloGap = SwitchingOffset(before: -10_800, after: -7200, change: utc("2018-11-04T03:00:00Z"))

/// What tests check of a bucket: where it starts and how many runs it holds.
struct BucketShape: Equatable, Sendable, CustomStringConvertible {
    var start: UTCInstant
    var localStart: LocalDateTime
    var offsetSeconds: Int
    var runs: Int

    init(_ start: String, _ localStart: String, _ offsetSeconds: Int, runs: Int) {
        self.start = utc(start)
        self.localStart = wall(localStart)
        self.offsetSeconds = offsetSeconds
        self.runs = runs
    }

    init(_ bucket: HistoryBucket) {
        start = bucket.start
        localStart = bucket.localStart
        offsetSeconds = bucket.offsetSeconds
        runs = bucket.runs
    }

    var description: String { "\(start) \(localStart) \(offsetSeconds) runs=\(runs)" }
}

private func shapes(_ history: RunHistory) -> [BucketShape] { history.buckets.map(BucketShape.init) }

@Suite("Run history buckets")
struct RunHistoryTests {
    // MARK: - Bucketing in UTC

    @Test("Hourly buckets in UTC, with the empty hour in the middle present")
    func hourlyUTC() throws {
        let samples = [run("2025-03-03T12:05:00Z", elapsed: 5), run("2025-03-03T10:45:00Z", elapsed: 30), run("2025-03-03T10:15:00Z", elapsed: 10)]
        let history = try RunHistory(samples: samples, bucket: .hour, zone: FixedUTCOffset.utc, from: nil, to: nil)
        #expect(history.bucketSize == .hour)
        #expect(history.zoneName == "UTC")
        #expect(
            shapes(history) == [
                BucketShape("2025-03-03T10:00:00Z", "2025-03-03T10:00:00", 0, runs: 2),
                BucketShape("2025-03-03T11:00:00Z", "2025-03-03T11:00:00", 0, runs: 0),
                BucketShape("2025-03-03T12:00:00Z", "2025-03-03T12:00:00", 0, runs: 1),
            ]
        )
        #expect(history.buckets[0].avgDuration == 20)
        #expect(isClose(history.buckets[0].p95Duration, 29))
        let empty = history.buckets[1]
        #expect(empty.failedRuns == 0)
        #expect(empty.avgDuration == nil)
        #expect(empty.p95Duration == nil)
        #expect(empty.totalRowcount == 0)
        #expect(empty.avgRowcount == nil)
        #expect(history.buckets[2].p95Duration == 5)
    }

    @Test("Daily buckets over a given range: inclusive ends, samples outside ignored, statistics per bucket")
    func dailyOverAGivenRange() throws {
        let samples = [
            run("2025-03-06T00:00:00.000001Z"),
            run("2025-03-02T09:00:00Z", elapsed: 30, rowcount: 300, status: nil, exitCode: 3),
            run("2025-02-28T23:59:59Z"),
            run("2025-03-04T12:00:00Z", elapsed: 7, rowcount: 5),
            run("2025-03-02T01:00:00Z", elapsed: 10, rowcount: 100),
            run("2025-03-06T00:00:00Z", elapsed: 1, rowcount: 1),
            run("2025-03-02T23:59:59.999999Z", elapsed: 40, rowcount: 400, status: "success", exitCode: 1),
            run("2025-03-02T05:00:00Z", elapsed: 20, rowcount: 200, status: "failed"),
        ]
        let history = try RunHistory(
            samples: samples,
            bucket: .day,
            zone: FixedUTCOffset.utc,
            from: utc("2025-03-01T12:00:00Z"),
            to: utc("2025-03-06T00:00:00Z")
        )
        #expect(
            shapes(history) == [
                BucketShape("2025-03-01T00:00:00Z", "2025-03-01T00:00:00", 0, runs: 0),
                BucketShape("2025-03-02T00:00:00Z", "2025-03-02T00:00:00", 0, runs: 4),
                BucketShape("2025-03-03T00:00:00Z", "2025-03-03T00:00:00", 0, runs: 0),
                BucketShape("2025-03-04T00:00:00Z", "2025-03-04T00:00:00", 0, runs: 1),
                BucketShape("2025-03-05T00:00:00Z", "2025-03-05T00:00:00", 0, runs: 0),
                BucketShape("2025-03-06T00:00:00Z", "2025-03-06T00:00:00", 0, runs: 1),
            ]
        )
        let busy = history.buckets[1]
        #expect(busy.failedRuns == 2)
        #expect(busy.avgDuration == 25)
        // Durations 10, 20, 30, 40: h = 3 · 0.95 = 2.85 → 30 + 0.85 · 10.
        #expect(isClose(busy.p95Duration, 38.5))
        #expect(busy.totalRowcount == 1000)
        #expect(busy.avgRowcount == 250)

        let single = history.buckets[3]
        #expect(single.failedRuns == 0)
        #expect(single.avgDuration == 7)
        #expect(single.p95Duration == 7)
        #expect(single.totalRowcount == 5)
        #expect(single.avgRowcount == 5)
        #expect(history.buckets[5].totalRowcount == 1)

        // Without a range, the range runs from the earliest sample to the latest.
        let derived = try RunHistory(samples: samples, bucket: .day, zone: FixedUTCOffset.utc, from: nil, to: nil)
        #expect(
            derived.buckets.map(\.start)
                == (0..<7).map { UTCInstant(microsecondsSinceEpoch: utc("2025-02-28T00:00:00Z").microsecondsSinceEpoch + Int64($0) * day) }
        )
        #expect(derived.buckets.map(\.runs) == [1, 0, 4, 0, 1, 0, 2])

        // One end given, the other derived.
        let fromOnly = try RunHistory(samples: samples, bucket: .day, zone: FixedUTCOffset.utc, from: utc("2025-03-04T00:00:00Z"), to: nil)
        #expect(fromOnly.buckets.map(\.runs) == [1, 0, 2])
        let toOnly = try RunHistory(samples: samples, bucket: .day, zone: FixedUTCOffset.utc, from: nil, to: utc("2025-03-01T00:00:00Z"))
        #expect(toOnly.buckets.map(\.runs) == [1, 0])
    }

    @Test("With no samples, a given range is all empty buckets; with no range, there are none")
    func emptyHistories() throws {
        let range = try RunHistory(
            samples: [],
            bucket: .day,
            zone: FixedUTCOffset.utc,
            from: utc("2025-03-01T00:00:00Z"),
            to: utc("2025-03-03T23:00:00Z")
        )
        #expect(
            shapes(range) == [
                BucketShape("2025-03-01T00:00:00Z", "2025-03-01T00:00:00", 0, runs: 0),
                BucketShape("2025-03-02T00:00:00Z", "2025-03-02T00:00:00", 0, runs: 0),
                BucketShape("2025-03-03T00:00:00Z", "2025-03-03T00:00:00", 0, runs: 0),
            ]
        )
        #expect(try RunHistory(samples: [], bucket: .hour, zone: FixedUTCOffset.utc, from: nil, to: nil).buckets.isEmpty)
        #expect(try RunHistory(samples: [], bucket: .hour, zone: FixedUTCOffset.utc, from: utc("2025-03-01T00:00:00Z"), to: nil).buckets.isEmpty)
        let inverted = try RunHistory(
            samples: [run("2025-03-02T00:00:00Z")],
            bucket: .hour,
            zone: FixedUTCOffset.utc,
            from: utc("2025-03-03T00:00:00Z"),
            to: utc("2025-03-01T00:00:00Z")
        )
        #expect(inverted.buckets.isEmpty)
    }

    /// One bucket layout to check: runs starting at `starts`, bucketed by `bucket` in `zone`.
    struct LayoutCase: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var starts: [String]
        var bucket: HistoryBucketSize
        var zone: any UTCOffsetRule
        var from: String? = nil
        var to: String? = nil
        var expected: [BucketShape]
    }

    static let layouts: [LayoutCase] = [
        LayoutCase(
            testDescription: "weeks start on Monday 00:00",
            starts: ["2025-03-05T08:00:00Z", "2025-03-09T23:59:59Z", "2025-03-10T00:00:00Z", "2025-03-26T12:00:00Z"],
            bucket: .week,
            zone: FixedUTCOffset.utc,
            expected: [
                BucketShape("2025-03-03T00:00:00Z", "2025-03-03T00:00:00", 0, runs: 2),
                BucketShape("2025-03-10T00:00:00Z", "2025-03-10T00:00:00", 0, runs: 1),
                BucketShape("2025-03-17T00:00:00Z", "2025-03-17T00:00:00", 0, runs: 0),
                BucketShape("2025-03-24T00:00:00Z", "2025-03-24T00:00:00", 0, runs: 1),
            ]
        ),
        // 1970-01-01 was a Thursday: its week began on Monday 1969-12-29.
        LayoutCase(
            testDescription: "weeks before the epoch",
            starts: ["1969-12-31T12:00:00Z", "1970-01-04T23:00:00Z", "1970-01-05T00:00:00Z"],
            bucket: .week,
            zone: FixedUTCOffset.utc,
            expected: [
                BucketShape("1969-12-29T00:00:00Z", "1969-12-29T00:00:00", 0, runs: 2),
                BucketShape("1970-01-05T00:00:00Z", "1970-01-05T00:00:00", 0, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "a fixed +05:30 offset moves days to local midnight",
            starts: ["2025-03-03T18:30:00Z", "2025-03-03T18:29:59Z"],
            bucket: .day,
            zone: FixedUTCOffset(seconds: 19_800, name: "+05:30"),
            expected: [
                BucketShape("2025-03-02T18:30:00Z", "2025-03-03T00:00:00", 19_800, runs: 1),
                BucketShape("2025-03-03T18:30:00Z", "2025-03-04T00:00:00", 19_800, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "a fixed +05:30 offset moves hours to the local hour",
            starts: ["2025-03-03T10:10:00Z"],
            bucket: .hour,
            zone: FixedUTCOffset(seconds: 19_800, name: "+05:30"),
            expected: [BucketShape("2025-03-03T09:30:00Z", "2025-03-03T15:00:00", 19_800, runs: 1)]
        ),
        // Monday 2025-03-10T03:00Z is still Sunday evening at −05:00.
        LayoutCase(
            testDescription: "a week in a zone behind UTC",
            starts: ["2025-03-10T03:00:00Z"],
            bucket: .week,
            zone: FixedUTCOffset(seconds: -18_000, name: "-05:00"),
            expected: [BucketShape("2025-03-03T05:00:00Z", "2025-03-03T00:00:00", -18_000, runs: 1)]
        ),
        LayoutCase(
            testDescription: "spring forward: the day has 23 hours",
            starts: ["2025-03-29T12:00:00Z", "2025-03-30T12:00:00Z", "2025-03-31T12:00:00Z"],
            bucket: .day,
            zone: parisSpring,
            expected: [
                BucketShape("2025-03-28T23:00:00Z", "2025-03-29T00:00:00", 3600, runs: 1),
                BucketShape("2025-03-29T23:00:00Z", "2025-03-30T00:00:00", 3600, runs: 1),
                BucketShape("2025-03-30T22:00:00Z", "2025-03-31T00:00:00", 7200, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "spring forward: the skipped local hour has no bucket",
            starts: ["2025-03-30T00:59:59Z", "2025-03-30T01:00:00Z"],
            bucket: .hour,
            zone: parisSpring,
            from: "2025-03-30T00:00:00Z",
            to: "2025-03-30T01:30:00Z",
            expected: [
                BucketShape("2025-03-30T00:00:00Z", "2025-03-30T01:00:00", 3600, runs: 1),
                BucketShape("2025-03-30T01:00:00Z", "2025-03-30T03:00:00", 7200, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "fall back: the day has 25 hours",
            starts: ["2025-10-25T12:00:00Z", "2025-10-26T12:00:00Z", "2025-10-27T12:00:00Z"],
            bucket: .day,
            zone: parisAutumn,
            expected: [
                BucketShape("2025-10-24T22:00:00Z", "2025-10-25T00:00:00", 7200, runs: 1),
                BucketShape("2025-10-25T22:00:00Z", "2025-10-26T00:00:00", 7200, runs: 1),
                BucketShape("2025-10-26T23:00:00Z", "2025-10-27T00:00:00", 3600, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "fall back: the repeated local hour is one bucket starting at its first occurrence",
            starts: ["2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z", "2025-10-26T02:10:00Z"],
            bucket: .hour,
            zone: parisAutumn,
            from: "2025-10-26T00:00:00Z",
            to: "2025-10-26T02:30:00Z",
            expected: [
                BucketShape("2025-10-26T00:00:00Z", "2025-10-26T02:00:00", 7200, runs: 2),
                BucketShape("2025-10-26T02:00:00Z", "2025-10-26T03:00:00", 3600, runs: 1),
            ]
        ),
        LayoutCase(
            testDescription: "a day whose midnight the clock skips starts at the first instant after the skip",
            starts: ["2018-11-03T12:00:00Z", "2018-11-04T12:00:00Z"],
            bucket: .day,
            zone: saoPauloGap,
            expected: [
                BucketShape("2018-11-03T03:00:00Z", "2018-11-03T00:00:00", -10_800, runs: 1),
                BucketShape("2018-11-04T03:00:00Z", "2018-11-04T01:00:00", -7200, runs: 1),
            ]
        ),
    ]

    @Test("Buckets start at local boundaries, across weeks, offsets and clock changes", arguments: layouts)
    func layout(_ layout: LayoutCase) throws {
        let history = try RunHistory(
            samples: layout.starts.map { run($0) },
            bucket: layout.bucket,
            zone: layout.zone,
            from: layout.from.map(utc),
            to: layout.to.map(utc)
        )
        #expect(history.zoneName == layout.zone.name)
        #expect(shapes(history) == layout.expected)
    }

    // MARK: - Limits

    @Test("More than maximumBuckets buckets is refused before any is built")
    func maximumBuckets() throws {
        let start = utc("2025-01-01T00:00:00Z")
        func later(_ micros: Int64) -> UTCInstant { UTCInstant(microsecondsSinceEpoch: start.microsecondsSinceEpoch + micros) }

        let largest = try RunHistory(samples: [], bucket: .hour, zone: FixedUTCOffset.utc, from: start, to: later(9999 * hour))
        #expect(largest.buckets.count == RunHistory.maximumBuckets)
        #expect(largest.buckets.last?.start == later(9999 * hour))
        let days = try RunHistory(samples: [], bucket: .day, zone: FixedUTCOffset.utc, from: start, to: later(9999 * day + day - 1))
        #expect(days.buckets.count == 10_000)

        let error = #expect(throws: HistoryRangeError.self) {
            try RunHistory(samples: [], bucket: .hour, zone: FixedUTCOffset.utc, from: start, to: later(10_000 * hour))
        }
        #expect(error?.bucketCount == 10_001)
        #expect(error?.message.contains("10001 hour buckets") == true)
        #expect(error?.message.contains("10000") == true)
        #expect(error?.message.contains("bucket=day") == true)
        #expect(error?.message.contains("start_utc/end_utc") == true)

        // Samples widen a derived range just the same.
        let spread = [run("2025-01-01T00:00:00Z"), run("2026-03-01T00:00:00Z")]
        #expect(throws: HistoryRangeError.self) { try RunHistory(samples: spread, bucket: .hour, zone: FixedUTCOffset.utc, from: nil, to: nil) }
        #expect(try RunHistory(samples: spread, bucket: .day, zone: FixedUTCOffset.utc, from: nil, to: nil).buckets.count == 425)

        // The widest ranges neither trap nor allocate.
        let widest = #expect(throws: HistoryRangeError.self) {
            try RunHistory(
                samples: [],
                bucket: .week,
                zone: FixedUTCOffset.utc,
                from: UTCInstant(microsecondsSinceEpoch: .min),
                to: UTCInstant(microsecondsSinceEpoch: .max)
            )
        }
        #expect((widest?.bucketCount ?? 0) > 10_000_000)
        #expect(widest?.message.contains("narrower start_utc/end_utc") == true)
    }

    @Test("Rowcount totals saturate instead of overflowing")
    func rowcountSaturates() throws {
        let samples = [run("2025-03-03T10:00:00Z", rowcount: .max), run("2025-03-03T10:30:00Z", rowcount: .max)]
        let bucket = try #require(try RunHistory(samples: samples, bucket: .hour, zone: FixedUTCOffset.utc, from: nil, to: nil).buckets.first)
        #expect(bucket.totalRowcount == .max)
        #expect(bucket.avgRowcount == Double(Int64.max) / 2)
    }

    // MARK: - JSON

    @Test("JSON: pipeline name, bucket, zone and every bucket's members")
    func jsonShape() throws {
        let zone = try #require(FixedUTCOffset.fixedOffset(parsing: "+05:30"))
        let samples = [
            run("2025-03-02T19:00:00Z", elapsed: 10, rowcount: 10),
            run("2025-03-03T01:00:00Z", elapsed: 30, rowcount: 20, status: "failed"),
            run("2025-03-04T19:00:00Z", elapsed: 2.5, rowcount: 3),
        ]
        let history = try RunHistory(samples: samples, bucket: .day, zone: zone, from: nil, to: nil, pipelineName: "nightly")
        #expect(history.pipelineName == "nightly")
        let body = try #require(members(of: try parseWritten(history.jsonBytes)))
        #expect(Set(body.keys) == ["pipeline_name", "bucket", "tz", "buckets"])
        #expect(body["pipeline_name"] == "nightly")
        #expect(body["bucket"] == "day")
        #expect(body["tz"] == "+05:30")
        let buckets = try #require(elements(of: body["buckets"]))
        #expect(buckets.count == 3)

        let first = try #require(members(of: buckets[0]))
        #expect(
            Set(first.keys) == [
                "start_utc", "start_local", "utc_offset", "runs", "failed_runs", "avg_duration", "p95_duration", "total_rowcount", "avg_rowcount",
            ]
        )
        #expect(first["start_utc"] == "2025-03-02T18:30:00Z")
        #expect(first["start_local"] == "2025-03-03T00:00:00")
        #expect(first["utc_offset"] == "+05:30")
        #expect(first["runs"] == 2)
        #expect(first["failed_runs"] == 1)
        #expect(number(of: first["avg_duration"]) == 20)
        #expect(isClose(number(of: first["p95_duration"]), 29))
        #expect(first["total_rowcount"] == 30)
        #expect(number(of: first["avg_rowcount"]) == 15)

        let empty = try #require(members(of: buckets[1]))
        #expect(empty["start_utc"] == "2025-03-03T18:30:00Z")
        #expect(empty["start_local"] == "2025-03-04T00:00:00")
        #expect(empty["runs"] == 0)
        #expect(empty["failed_runs"] == 0)
        #expect(empty["avg_duration"] == .null)
        #expect(empty["p95_duration"] == .null)
        #expect(empty["total_rowcount"] == 0)
        #expect(empty["avg_rowcount"] == .null)

        let last = try #require(members(of: buckets[2]))
        #expect(number(of: last["avg_duration"]) == 2.5)
        #expect(last["total_rowcount"] == 3)
    }

    @Test("JSON text of a one-bucket history without a pipeline name")
    func jsonText() throws {
        let history = try RunHistory(
            samples: [run("2025-03-03T10:20:00Z", elapsed: 5, rowcount: 7)],
            bucket: .hour,
            zone: FixedUTCOffset.utc,
            from: nil,
            to: nil
        )
        #expect(
            String(decoding: history.jsonBytes, as: UTF8.self)
                == #"{"pipeline_name":null,"bucket":"hour","tz":"UTC","buckets":[{"start_utc":"2025-03-03T10:00:00Z","start_local":"2025-03-03T10:00:00","#
                + #""utc_offset":"+00:00","runs":1,"failed_runs":0,"avg_duration":5.0,"p95_duration":5.0,"total_rowcount":7,"avg_rowcount":7.0}]}"#
        )
        #expect(
            String(decoding: RunHistory(bucketSize: .week, zoneName: "Z", buckets: []).jsonBytes, as: UTF8.self)
                == #"{"pipeline_name":null,"bucket":"week","tz":"Z","buckets":[]}"#
        )
    }

    // MARK: - Offsets

    @Test(
        "Fixed offsets parse from UTC, Z and ±HH[:MM]",
        arguments: [
            ("UTC", 0), ("utc", 0), ("Z", 0), ("z", 0), ("+00:00", 0), ("-00:00", 0), ("+02:00", 7200), ("+0200", 7200), ("+02", 7200),
            ("-0530", -19_800), ("-05:30", -19_800), ("+05:45", 20_700), ("+18:00", 64_800), ("-18:00", -64_800), ("-18", -64_800),
        ]
    )
    func offsetsParse(text: String, seconds: Int) throws {
        let offset = try #require(FixedUTCOffset.fixedOffset(parsing: text))
        #expect(offset.seconds == seconds)
        #expect(offset.name == text)
        #expect(offset.offsetSeconds(at: UTCInstant(microsecondsSinceEpoch: 0)) == seconds)
    }

    @Test(
        "Anything else is not a fixed offset",
        arguments: [
            "", "+", "+2", "+2:00", "02:00", "0200", "+18:01", "+19", "+19:00", "+02:60", "+02:0", "+02:000", "+0200x", "+02-00", " +02:00",
            "+02:00 ", "Europe/Paris", "GMT+2", "UTC+02:00", "+٠٢:٠٠", "−02:00",
        ]
    )
    func offsetsRefused(text: String) {
        #expect(FixedUTCOffset.fixedOffset(parsing: text) == nil)
    }

    @Test("Offsets are written ±HH:MM, with seconds only when there are any")
    func offsetFormat() {
        #expect(FixedUTCOffset.format(seconds: 0) == "+00:00")
        #expect(FixedUTCOffset.format(seconds: 19_800) == "+05:30")
        #expect(FixedUTCOffset.format(seconds: -19_800) == "-05:30")
        #expect(FixedUTCOffset.format(seconds: -34_200) == "-09:30")
        #expect(FixedUTCOffset.format(seconds: 64_800) == "+18:00")
        #expect(FixedUTCOffset.format(seconds: 561) == "+00:09:21")
    }
}
