import Foundation
import Hummingbird
import PipelineCore
import PipelineStore

/// `GET /pipelines/history`: runs per time bucket (issue #7).
struct HistoryController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let insights: InsightService<Repository>

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/pipelines/history", use: history)
    }

    @Sendable func history(_ request: Request, context: Context) async throws -> Response {
        let query: HistoryQuery
        do {
            query = try HistoryQuery(parameters: QueryString.parse(request.uri.query ?? ""))
        } catch {
            throw APIError.validation(error)
        }
        do {
            let history = try await insights.history(filter: query.filter, bucket: query.bucket, zone: query.zone, from: query.from, to: query.to)
            return RunController<Repository, Context>.json(history.jsonBytes)
        } catch let error as HistoryRangeError {
            throw APIError.validation(
                ValidationError(FieldIssue(.query, HistoryParameter.bucket.rawValue, kind: "too_many_buckets", message: error.message))
            )
        }
    }
}

/// The query parameters of `GET /pipelines/history`.
enum HistoryParameter: String, CaseIterable {
    case pipelineName = "pipeline_name"
    case scriptName = "script_name"
    case pipelineType = "pipeline_type"
    case environment
    case bucket
    case startUTC = "start_utc"
    case endUTC = "end_utc"
    case tz

    var description: String {
        switch self {
        case .pipelineName, .scriptName, .pipelineType, .environment: "Only runs with exactly this value"
        case .bucket: "Bucket width: hour, day (default) or ISO week (Monday 00:00 local time)"
        case .startUTC:
            "Runs started at or after this instant (default: the earliest run, at most 14 days back for hour, 365 for day, 5 years for week)"
        case .endUTC: "Runs started at or before this instant (default: the latest run)"
        case .tz: "Time zone the buckets follow: UTC (default), a fixed offset such as +05:30, or an IANA name such as Europe/Paris"
        }
    }
}

/// A validated history request.
struct HistoryQuery {
    var filter: RunFilter
    var bucket: HistoryBucketSize
    var zone: any UTCOffsetRule
    var from: UTCInstant?
    var to: UTCInstant?

    init(parameters: [(name: String, value: String)]) throws(ValidationError) {
        var values: [HistoryParameter: String] = [:]
        for (name, value) in parameters {
            guard let parameter = HistoryParameter(rawValue: name), !value.isEmpty else { continue }
            values[parameter] = value
        }
        var issues: [FieldIssue] = []
        func fail(_ parameter: HistoryParameter, _ kind: String, _ message: String) {
            issues.append(FieldIssue(.query, parameter.rawValue, kind: kind, message: message, input: values[parameter].map(JSONValue.string)))
        }
        func instant(_ parameter: HistoryParameter) -> UTCInstant? {
            guard let text = values[parameter] else { return nil }
            guard let instant = UTCInstant(iso8601: text) else {
                fail(parameter, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. 2025-09-02T12:07:02Z")
                return nil
            }
            return instant
        }
        from = instant(.startUTC)
        to = instant(.endUTC)
        if let from, let to, to < from {
            fail(.endUTC, "end_before_start", "end_utc must not be before start_utc")
        }
        bucket = .day
        if let text = values[.bucket] {
            if let size = HistoryBucketSize(rawValue: text.lowercased()) {
                bucket = size
            } else {
                fail(.bucket, "enum", "Input should be \(HistoryBucketSize.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
            }
        }
        zone = FixedUTCOffset.utc
        if let name = values[.tz] {
            if let rule = Self.zone(named: name) {
                zone = rule
            } else {
                fail(.tz, "time_zone", "Input should be UTC, an offset such as +05:30, or an IANA time zone name such as Europe/Paris")
            }
        }
        for parameter in [HistoryParameter.pipelineName, .scriptName, .pipelineType, .environment] {
            if let value = values[parameter], value.utf8.count > 256 {
                fail(parameter, "string_too_long", "String should have at most 256 bytes")
            }
        }
        guard issues.isEmpty else { throw ValidationError(issues) }
        filter = RunFilter(
            pipelineName: values[.pipelineName],
            scriptName: values[.scriptName],
            pipelineType: values[.pipelineType],
            environment: values[.environment]
        )
    }

    /// A fixed offset, or an IANA zone from the system's time zone database.
    static func zone(named name: String) -> (any UTCOffsetRule)? {
        // An unencoded `+` in a query string decodes to a space: `tz=+02:00` arrives as " 02:00".
        let name = name.hasPrefix(" ") && name.dropFirst().first?.isNumber == true ? "+" + name.dropFirst() : name
        if let fixed = FixedUTCOffset.fixedOffset(parsing: name) { return fixed }
        guard name.utf8.count <= 64, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), name.contains("/"),
            let zone = TimeZone(identifier: name)
        else { return nil }
        return FoundationTimeZoneRule(zone: zone, name: name)
    }
}

/// A zone with daylight saving time, from the system's time zone database.
struct FoundationTimeZoneRule: UTCOffsetRule {
    let zone: TimeZone
    let name: String

    func offsetSeconds(at instant: UTCInstant) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant.secondsSinceEpoch))
    }
}
