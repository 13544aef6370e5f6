// MARK: - GET /get_pipeline_info

/// The query parameters of `GET /get_pipeline_info`, with the bounds the API documents.
public enum RunQueryParameter: String, Sendable, CaseIterable {
    case startUTC = "start_utc"
    case endUTC = "end_utc"
    case minRowcount = "min_rowcount"
    case maxRowcount = "max_rowcount"
    case pipelineName = "pipeline_name"
    case scriptName = "script_name"
    case pipelineType = "pipeline_type"
    case environment
    case limit
    case offset
    case allData = "all_data"
    case cursor

    /// The parameters that filter runs (every one but paging).
    public static let filters: [RunQueryParameter] = [
        .startUTC, .endUTC, .minRowcount, .maxRowcount, .pipelineName, .scriptName, .pipelineType, .environment,
    ]
}

extension RunFilter {
    /// The filter parameters of `GET /get_pipeline_info` (also `/export` and the dashboard),
    /// read from `parameters`; bad values are recorded there.
    public init(reading parameters: inout QueryParameters) {
        self.init(
            startUTCFrom: parameters.instant(RunQueryParameter.startUTC.rawValue),
            endUTCTo: parameters.instant(RunQueryParameter.endUTC.rawValue),
            minRowcount: parameters.integer(RunQueryParameter.minRowcount.rawValue),
            maxRowcount: parameters.integer(RunQueryParameter.maxRowcount.rawValue)
        )
        parameters.signatureConditions(into: &self)
    }
}

extension RunQuery {
    /// Builds a query from URL query parameters; unknown names are ignored (as the old service did).
    public init(parameters pairs: [(name: String, value: String)]) throws(ValidationError) {
        var parameters = QueryParameters(pairs)
        self.init(reading: &parameters)
        try parameters.validate()
    }

    /// Reads the query's parameters from `parameters`, recording bad values there for the caller
    /// to validate. `adjust` completes the filter before a cursor is checked against it (a caller
    /// that adds conditions of its own, like the dashboard's exact signature).
    public init(reading parameters: inout QueryParameters, adjustingFilter adjust: (inout RunFilter) -> Void = { _ in }) {
        var filter = RunFilter(reading: &parameters)
        adjust(&filter)
        let limit = parameters.integer(RunQueryParameter.limit.rawValue, in: 1...Int64(Self.maximumLimit)).map(Int.init) ?? Self.defaultLimit
        let offset = parameters.integer(RunQueryParameter.offset.rawValue, in: 0...Int64(Int32.max)).map(Int.init)
        let isAllData = parameters.flag(RunQueryParameter.allData.rawValue) ?? false
        var cursor: RunCursor?
        let cursorName = RunQueryParameter.cursor.rawValue
        if let token = parameters.raw(cursorName) {
            if let decoded = RunCursor(token: token) {
                if decoded.filterFingerprint != filter.fingerprint {
                    parameters.fail(cursorName, "cursor_mismatch", "This cursor belongs to a different set of filters; start again without a cursor")
                } else if offset != nil, offset != 0 {
                    parameters.fail(cursorName, "cursor_with_offset", "Use either cursor or offset, not both")
                } else {
                    cursor = decoded
                }
            } else {
                parameters.fail(cursorName, "cursor_invalid", "Input should be a next_cursor value returned by this endpoint")
            }
        }
        let paging: RunPaging =
            if isAllData {
                .all
            } else if let cursor {
                .after(cursor.position, limit: limit)
            } else {
                .window(limit: limit, offset: offset ?? 0)
            }
        self.init(filter: filter, paging: paging)
    }
}

// MARK: - GET /pipelines

/// Which summaries `GET /pipelines` lists: optional exact signature filters and paging. Without
/// parameters it lists every signature, as the old service did.
public struct SummaryQuery: Sendable, Hashable {
    public static let maximumLimit = 10_000

    /// Conditions on the signature fields only.
    public var filter: RunFilter
    public var limit: Int?
    public var offset: Int

    public init(filter: RunFilter = RunFilter(), limit: Int? = nil, offset: Int = 0) {
        self.filter = filter
        self.limit = limit
        self.offset = offset
    }

    public init(parameters pairs: [(name: String, value: String)]) throws(ValidationError) {
        var parameters = QueryParameters(pairs)
        var filter = RunFilter()
        parameters.signatureConditions(into: &filter)
        let limit = parameters.integer(RunQueryParameter.limit.rawValue, in: 1...Int64(Self.maximumLimit)).map(Int.init)
        let offset = parameters.integer(RunQueryParameter.offset.rawValue, in: 0...Int64(Int32.max)).map(Int.init) ?? 0
        try parameters.validate()
        self.init(filter: filter, limit: limit, offset: offset)
    }

    /// The summaries this query selects, in the order given.
    public func select(_ summaries: [PipelineSummary]) -> [PipelineSummary] {
        let conditions = filter.signatureConditions
        let matching = summaries.filter { summary in conditions.allSatisfy { $0.condition.matches(summary.signature[$0.field]) } }
        let start = min(offset, matching.count)
        let end = limit.map { min(matching.count, start + $0) } ?? matching.count
        return Array(matching[start..<end])
    }
}

// MARK: - GET /pipelines/history

/// The query parameters of `GET /pipelines/history`.
public enum HistoryParameter: String, Sendable, CaseIterable {
    case pipelineName = "pipeline_name"
    case scriptName = "script_name"
    case pipelineType = "pipeline_type"
    case environment
    case bucket
    case startUTC = "start_utc"
    case endUTC = "end_utc"
    case tz

    public var description: String {
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
public struct HistoryQuery: Sendable {
    /// Conditions on the signature fields only; the time range is `from`/`to`.
    public var filter: RunFilter
    public var bucket: HistoryBucketSize
    public var zone: any UTCOffsetRule
    public var from: UTCInstant?
    public var to: UTCInstant?

    /// - Parameter zoneNamed: resolves a zone name that is not a fixed offset (an IANA name); nil when unknown.
    public init(
        parameters pairs: [(name: String, value: String)],
        zoneNamed: (String) -> (any UTCOffsetRule)?
    ) throws(ValidationError) {
        var parameters = QueryParameters(pairs)
        var filter = RunFilter()
        parameters.signatureConditions(into: &filter)
        from = parameters.instant(HistoryParameter.startUTC.rawValue)
        to = parameters.instant(HistoryParameter.endUTC.rawValue)
        if let from, let to, to < from {
            parameters.fail(HistoryParameter.endUTC.rawValue, "end_before_start", "end_utc must not be before start_utc")
        }
        bucket = parameters.choice(HistoryParameter.bucket.rawValue, of: HistoryBucketSize.self) ?? .day
        zone = FixedUTCOffset.utc
        if let name = parameters.raw(HistoryParameter.tz.rawValue) {
            // An unencoded `+` in a query string decodes to a space: `tz=+02:00` arrives as " 02:00".
            let spelled = name.hasPrefix(" ") && name.dropFirst().first?.isNumber == true ? "+" + name.dropFirst() : name
            if let rule = FixedUTCOffset.fixedOffset(parsing: spelled) ?? zoneNamed(spelled) {
                zone = rule
            } else {
                parameters.fail(
                    HistoryParameter.tz.rawValue,
                    "time_zone",
                    "Input should be UTC, an offset such as +05:30, or an IANA time zone name such as Europe/Paris"
                )
            }
        }
        try parameters.validate()
        self.filter = filter
    }
}
