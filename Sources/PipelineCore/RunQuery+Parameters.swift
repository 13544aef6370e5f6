// MARK: - Names

/// Every query parameter the API reads, by its name. Each endpoint reads the ones its query type
/// lists (``RunQuery/parameters``, ``SummaryQuery/parameters``, ``HistoryQuery/parameters``), and
/// the OpenAPI document describes exactly those.
public enum QueryParameter: String, Sendable, CaseIterable {
    case startUTC = "start_utc"
    case endUTC = "end_utc"
    case minRowcount = "min_rowcount"
    case maxRowcount = "max_rowcount"
    case pipelineName = "pipeline_name"
    case scriptName = "script_name"
    case pipelineType = "pipeline_type"
    case environment
    case status
    case dateCode = "date_code"
    case runID = "run_id"
    case limit
    case offset
    case allData = "all_data"
    case cursor
    case bucket
    case tz
    case format
    case raw

    /// The exact-match filters on the ``PipelineField/signatureFields``, in their order.
    public static let signatureFilters: [QueryParameter] = PipelineField.signatureFields.compactMap { QueryParameter(rawValue: $0.rawValue) }

    /// The parameters that filter runs: the time and rowcount bounds, the signature filters, then
    /// exact `status`, `date_code` and `run_id`.
    public static let filters: [QueryParameter] = [.startUTC, .endUTC, .minRowcount, .maxRowcount] + signatureFilters + [.status, .dateCode, .runID]
}

// MARK: - GET /get_pipeline_info

extension RunFilter {
    /// The filter parameters of `GET /get_pipeline_info` (also `/export` and the dashboard),
    /// read from `parameters`; bad values are recorded there.
    public init(reading parameters: inout QueryParameters) {
        self.init(
            startUTCFrom: parameters.instant(QueryParameter.startUTC.rawValue),
            endUTCTo: parameters.instant(QueryParameter.endUTC.rawValue),
            minRowcount: parameters.integer(QueryParameter.minRowcount.rawValue),
            maxRowcount: parameters.integer(QueryParameter.maxRowcount.rawValue),
            dateCode: parameters.text(QueryParameter.dateCode.rawValue),
            status: parameters.text(QueryParameter.status.rawValue).map(FieldCondition.equals),
            runID: parameters.runID(QueryParameter.runID.rawValue)
        )
        parameters.signatureConditions(into: &self)
    }
}

extension RunQuery {
    /// The parameters of `GET /get_pipeline_info`.
    public static let parameters: [QueryParameter] = QueryParameter.filters + [.limit, .offset, .allData, .cursor]

    /// Builds a query from URL query parameters; a name it does not read is refused.
    public init(parameters pairs: [(name: String, value: String)]) throws(ValidationError) {
        var parameters = QueryParameters(pairs)
        self.init(reading: &parameters)
        try parameters.validate(reading: Self.parameters)
    }

    /// Reads the query's parameters from `parameters`, recording bad values there for the caller
    /// to validate. `adjust` completes the filter before a cursor is checked against it (a caller
    /// that adds conditions of its own, like the dashboard's exact signature).
    public init(reading parameters: inout QueryParameters, adjustingFilter adjust: (inout RunFilter) -> Void = { _ in }) {
        var filter = RunFilter(reading: &parameters)
        adjust(&filter)
        let limit = parameters.integer(QueryParameter.limit.rawValue, in: 1...Int64(Self.maximumLimit)).map(Int.init) ?? Self.defaultLimit
        let offset = parameters.integer(QueryParameter.offset.rawValue, in: 0...Int64(Int32.max)).map(Int.init)
        let isAllData = parameters.flag(QueryParameter.allData.rawValue) ?? false
        var cursor: RunCursor?
        let cursorName = QueryParameter.cursor.rawValue
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

    /// The parameters of `GET /pipelines`.
    public static let parameters: [QueryParameter] = QueryParameter.signatureFilters + [.limit, .offset]

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
        let limit = parameters.integer(QueryParameter.limit.rawValue, in: 1...Int64(Self.maximumLimit)).map(Int.init)
        let offset = parameters.integer(QueryParameter.offset.rawValue, in: 0...Int64(Int32.max)).map(Int.init) ?? 0
        try parameters.validate(reading: Self.parameters)
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

/// A validated history request.
public struct HistoryQuery: Sendable {
    /// Conditions on the signature fields only; the time range is `from`/`to`.
    public var filter: RunFilter
    public var bucket: HistoryBucketSize
    public var zone: any UTCOffsetRule
    public var from: UTCInstant?
    public var to: UTCInstant?

    /// The parameters of `GET /pipelines/history`.
    public static let parameters: [QueryParameter] = QueryParameter.signatureFilters + [.bucket, .startUTC, .endUTC, .tz]

    /// - Parameter zoneNamed: resolves a zone name that is not a fixed offset (an IANA name); nil when unknown.
    public init(
        parameters pairs: [(name: String, value: String)],
        zoneNamed: (String) -> (any UTCOffsetRule)?
    ) throws(ValidationError) {
        var parameters = QueryParameters(pairs)
        var filter = RunFilter()
        parameters.signatureConditions(into: &filter)
        from = parameters.instant(QueryParameter.startUTC.rawValue)
        to = parameters.instant(QueryParameter.endUTC.rawValue)
        if let from, let to, to < from {
            parameters.fail(QueryParameter.endUTC.rawValue, "end_before_start", "end_utc must not be before start_utc")
        }
        bucket = parameters.choice(QueryParameter.bucket.rawValue, of: HistoryBucketSize.self) ?? .day
        zone = FixedUTCOffset.utc
        if let name = parameters.raw(QueryParameter.tz.rawValue) {
            // An unencoded `+` in a query string decodes to a space: `tz=+02:00` arrives as " 02:00".
            let spelled = name.hasPrefix(" ") && name.dropFirst().first?.isNumber == true ? "+" + name.dropFirst() : name
            if let rule = FixedUTCOffset.fixedOffset(parsing: spelled) ?? zoneNamed(spelled) {
                zone = rule
            } else {
                parameters.fail(
                    QueryParameter.tz.rawValue,
                    "time_zone",
                    "Input should be UTC, an offset such as +05:30, or an IANA time zone name such as Europe/Paris"
                )
            }
        }
        try parameters.validate(reading: Self.parameters)
        self.filter = filter
    }
}
