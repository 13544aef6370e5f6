import Foundation
import Hummingbird
import PipelineCore
import PipelineStore

/// `GET /pipelines/history`: runs per time bucket.
struct HistoryController<Repository: PipelineRunRepository, Context: RequestContext>: Sendable {
    let insights: InsightService<Repository>

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/pipelines/history", use: history)
    }

    @Sendable func history(_ request: Request, context: Context) async throws -> Response {
        let query = try HistoryQuery(parameters: QueryString.parse(request.uri.query ?? ""))
        do {
            let history = try await insights.history(filter: query.filter, bucket: query.bucket, zone: query.zone, from: query.from, to: query.to)
            return Response.json(history.jsonBytes)
        } catch let error as HistoryRangeError {
            throw APIError.validation(
                ValidationError(FieldIssue(.query, QueryParameter.bucket.rawValue, kind: "too_many_buckets", message: error.message))
            )
        }
    }
}

extension HistoryQuery {
    /// Parses the request's parameters, resolving IANA zone names from the system's time zone database.
    init(parameters: [(name: String, value: String)]) throws(ValidationError) {
        try self.init(parameters: parameters, zoneNamed: FoundationTimeZoneRule.named)
    }
}

/// A zone with daylight saving time, from the system's time zone database.
struct FoundationTimeZoneRule: UTCOffsetRule {
    let zone: TimeZone
    let name: String

    /// The IANA zone of this name (`Europe/Paris`); nil for anything else.
    static func named(_ name: String) -> (any UTCOffsetRule)? {
        guard name.utf8.count <= 64, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), name.contains("/"), let zone = TimeZone(identifier: name)
        else { return nil }
        return FoundationTimeZoneRule(zone: zone, name: name)
    }

    func offsetSeconds(at instant: UTCInstant) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant.secondsSinceEpoch))
    }
}
