/// A run as stored: the record plus the position it was stored at.
///
/// `sequence` grows with every insert; it breaks ties between runs with the same `start_utc`
/// (newest insert first), so that paging never repeats or skips a run.
public struct StoredRun: Sendable, Hashable {
    public var sequence: Int64
    public var info: PipelineInfo

    public init(sequence: Int64, info: PipelineInfo) {
        self.sequence = sequence
        self.info = info
    }

    /// The position of this run in result order (`start_utc` descending, then `sequence` descending).
    public var position: RunPosition { RunPosition(startUTC: info.startUTC, sequence: sequence) }
}

/// A point in result order. Smaller positions come later in results.
public struct RunPosition: Sendable, Hashable, Comparable {
    public var startUTC: UTCInstant
    public var sequence: Int64

    public init(startUTC: UTCInstant, sequence: Int64) {
        self.startUTC = startUTC
        self.sequence = sequence
    }

    public static func < (lhs: RunPosition, rhs: RunPosition) -> Bool {
        (lhs.startUTC, lhs.sequence) < (rhs.startUTC, rhs.sequence)
    }
}

/// The filters of `GET /get_pipeline_info` (SPEC §3.1). Every condition is optional; all given ones must hold.
public struct RunFilter: Sendable, Hashable {
    /// Runs with `start_utc >= startUTCFrom`.
    public var startUTCFrom: UTCInstant?
    /// Runs with `end_utc <= endUTCTo` (and so, since a run ends after it starts, `start_utc <= endUTCTo`:
    /// that is checked too, so a stored run whose end precedes its start cannot slip into a window it starts after).
    public var endUTCTo: UTCInstant?
    /// Inclusive lower bound on `rowcount`.
    public var minRowcount: Int64?
    /// Inclusive upper bound on `rowcount`.
    public var maxRowcount: Int64?
    public var pipelineName: String?
    public var scriptName: String?
    public var pipelineType: String?
    public var environment: String?

    public init(
        startUTCFrom: UTCInstant? = nil,
        endUTCTo: UTCInstant? = nil,
        minRowcount: Int64? = nil,
        maxRowcount: Int64? = nil,
        pipelineName: String? = nil,
        scriptName: String? = nil,
        pipelineType: String? = nil,
        environment: String? = nil
    ) {
        self.startUTCFrom = startUTCFrom
        self.endUTCTo = endUTCTo
        self.minRowcount = minRowcount
        self.maxRowcount = maxRowcount
        self.pipelineName = pipelineName
        self.scriptName = scriptName
        self.pipelineType = pipelineType
        self.environment = environment
    }

    /// Whether the run satisfies every condition.
    @inlinable
    public func matches(_ run: PipelineInfo) -> Bool {
        if let startUTCFrom, run.startUTC < startUTCFrom { return false }
        if let endUTCTo, run.endUTC > endUTCTo || run.startUTC > endUTCTo { return false }
        if let minRowcount, run.rowcount < minRowcount { return false }
        if let maxRowcount, run.rowcount > maxRowcount { return false }
        if let pipelineName, run.pipelineName != pipelineName { return false }
        if let scriptName, run.scriptName != scriptName { return false }
        if let pipelineType, run.pipelineType != pipelineType { return false }
        if let environment, run.environment != environment { return false }
        return true
    }

    /// A stable text form of the filter set, so a cursor can prove it belongs to these filters.
    public var fingerprint: UInt64 {
        let parts: [String] = [
            startUTCFrom.map { String($0.microsecondsSinceEpoch) } ?? "-",
            endUTCTo.map { String($0.microsecondsSinceEpoch) } ?? "-",
            minRowcount.map { String($0) } ?? "-",
            maxRowcount.map { String($0) } ?? "-",
            // Length-prefixed, so no value can imitate a separator.
            pipelineName.map { "=\($0.utf8.count):" + $0 } ?? "-",
            scriptName.map { "=\($0.utf8.count):" + $0 } ?? "-",
            pipelineType.map { "=\($0.utf8.count):" + $0 } ?? "-",
            environment.map { "=\($0.utf8.count):" + $0 } ?? "-",
        ]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parts.joined(separator: "\u{1F}").utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Which slice of the ordered matches a query wants.
public enum RunPaging: Sendable, Hashable {
    /// Every match (`all_data=true`).
    case all
    /// `limit` matches after skipping `offset`.
    case window(limit: Int, offset: Int)
    /// `limit` matches that come after a cursor's position (keyset paging).
    case after(RunPosition, limit: Int)

    public var limit: Int? {
        switch self {
        case .all: nil
        case .window(let limit, _), .after(_, let limit): limit
        }
    }
}

/// A complete history query: filters, then order (`start_utc` desc, insertion desc), then paging.
public struct RunQuery: Sendable, Hashable {
    public static let defaultLimit = 100
    public static let maximumLimit = 10_000

    public var filter: RunFilter
    public var paging: RunPaging
    /// The number of matches, when the caller already knows it: a later page of one stream
    /// (`all_data`, exports), whose first page counted them. Every backend then reports it as the
    /// page's `total` instead of counting the matches again. Nil (the default): count.
    public var knownTotal: Int?

    public init(filter: RunFilter = RunFilter(), paging: RunPaging = .window(limit: RunQuery.defaultLimit, offset: 0)) {
        self.filter = filter
        self.paging = paging
    }
}

/// One page of results and the number of matches regardless of paging.
public struct RunPage: Sendable, Hashable {
    public var total: Int
    public var runs: [StoredRun]
    /// Where the next page starts, when the page was limited and more matches follow.
    public var nextCursor: RunCursor?

    public init(total: Int, runs: [StoredRun], nextCursor: RunCursor? = nil) {
        self.total = total
        self.runs = runs
        self.nextCursor = nextCursor
    }
}

// MARK: - In-memory evaluation (the oracle every backend is compared against)

extension RunQuery {
    /// Evaluates the query over stored runs held in memory: filter, order, count, page.
    public func evaluate(over runs: some Sequence<StoredRun>) -> RunPage {
        var matches = runs.filter { filter.matches($0.info) }
        matches.sort { $0.position > $1.position }
        return page(fromOrderedMatches: matches)
    }

    /// Pages matches that are already filtered and in result order.
    public func page(fromOrderedMatches matches: [StoredRun]) -> RunPage {
        let total = matches.count
        let selected: ArraySlice<StoredRun>
        switch paging {
        case .all:
            selected = matches[...]
        case .window(let limit, let offset):
            let start = min(offset, total)
            selected = matches[start..<min(total, start + limit)]
        case .after(let position, let limit):
            // Matches are in descending position order: skip those at or before the cursor.
            var low = 0
            var high = matches.count
            while low < high {
                let mid = (low + high) / 2
                if matches[mid].position >= position { low = mid + 1 } else { high = mid }
            }
            selected = matches[low..<min(total, low + limit)]
        }
        return RunPage(
            total: knownTotal ?? total,
            runs: Array(selected),
            nextCursor: nextCursor(after: Array(selected), totalIsBeyond: selected.endIndex < total)
        )
    }

    /// The cursor for the page after `runs`, when the query is limited and more matches follow.
    public func nextCursor(after runs: [StoredRun], totalIsBeyond: Bool) -> RunCursor? {
        guard paging != .all, totalIsBeyond, let last = runs.last else { return nil }
        return RunCursor(position: last.position, filterFingerprint: filter.fingerprint)
    }
}

// MARK: - Cursors

/// An opaque keyset cursor: the position of the last run returned, bound to its filter set.
public struct RunCursor: Sendable, Hashable, CustomStringConvertible {
    public var position: RunPosition
    public var filterFingerprint: UInt64

    public init(position: RunPosition, filterFingerprint: UInt64) {
        self.position = position
        self.filterFingerprint = filterFingerprint
    }

    /// The token handed to clients (URL-safe, no padding).
    public var description: String {
        let text = "v1.\(position.startUTC.microsecondsSinceEpoch).\(position.sequence).\(String(filterFingerprint, radix: 16))"
        return Base64URL.encode(Array(text.utf8))
    }

    /// Decodes a token; nil when it was not made by `description`.
    public init?(token: String) {
        guard token.utf8.count <= 128, let bytes = Base64URL.decode(token), let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let start = Int64(parts[1]), let sequence = Int64(parts[2]),
            let fingerprint = UInt64(parts[3], radix: 16), CivilTime.supportedMicroseconds.contains(start)
        else { return nil }
        self.init(position: RunPosition(startUTC: UTCInstant(microsecondsSinceEpoch: start), sequence: sequence), filterFingerprint: fingerprint)
    }
}

/// Base64 with the URL-safe alphabet and no padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for byte in chunk { value = value << 8 | Int(byte) }
            value <<= 8 * (3 - chunk.count)
            for position in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * position)) & 0x3F]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var value = 0
        var bits = 0
        var out = [UInt8]()
        for byte in text.utf8 {
            guard let digit = alphabet.firstIndex(of: byte) else { return nil }
            value = (value << 6 | digit) & 0xFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((value >> bits) & 0xFF))
            }
        }
        return out
    }
}

// MARK: - Parsing query parameters

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
}

extension RunQuery {
    /// Builds a query from URL query parameters; the last value of a repeated name wins,
    /// an empty value counts as absent, unknown names are ignored (as the old service did).
    public init(parameters: [(name: String, value: String)]) throws(ValidationError) {
        var values: [RunQueryParameter: String] = [:]
        for (name, value) in parameters {
            guard let parameter = RunQueryParameter(rawValue: name) else { continue }
            values[parameter] = value.isEmpty ? nil : value
        }
        var issues: [FieldIssue] = []
        func fail(_ parameter: RunQueryParameter, _ kind: String, _ message: String) {
            issues.append(FieldIssue(.query, parameter.rawValue, kind: kind, message: message, input: values[parameter].map(JSONValue.string)))
        }
        func instant(_ parameter: RunQueryParameter) -> UTCInstant? {
            guard let text = values[parameter] else { return nil }
            guard let instant = UTCInstant(iso8601: text) else {
                fail(parameter, "datetime_from_date_parsing", "Input should be a valid ISO 8601 date-time, e.g. 2025-09-02T12:07:02Z")
                return nil
            }
            return instant
        }
        func integer(_ parameter: RunQueryParameter, minimum: Int64, maximum: Int64 = .max) -> Int64? {
            guard let text = values[parameter] else { return nil }
            guard let number = IntegerText.parse(text, allowIntegralFraction: false) else {
                fail(parameter, "int_parsing", "Input should be a valid integer, unable to parse string as an integer")
                return nil
            }
            if number < minimum {
                fail(parameter, "greater_than_equal", "Input should be greater than or equal to \(minimum)")
                return nil
            }
            if number > maximum {
                fail(parameter, "less_than_equal", "Input should be less than or equal to \(maximum)")
                return nil
            }
            return number
        }
        func text(_ parameter: RunQueryParameter) -> String? {
            guard let text = values[parameter] else { return nil }
            guard text.utf8.count <= 4096, !text.utf8.contains(0) else {
                fail(parameter, "string_invalid", "Input should be a string of at most 4096 bytes without NUL characters")
                return nil
            }
            return text
        }

        let filter = RunFilter(
            startUTCFrom: instant(.startUTC),
            endUTCTo: instant(.endUTC),
            minRowcount: integer(.minRowcount, minimum: .min),
            maxRowcount: integer(.maxRowcount, minimum: .min),
            pipelineName: text(.pipelineName),
            scriptName: text(.scriptName),
            pipelineType: text(.pipelineType),
            environment: text(.environment)
        )
        let limit = integer(.limit, minimum: 1, maximum: Int64(Self.maximumLimit)).map(Int.init) ?? Self.defaultLimit
        let offset = integer(.offset, minimum: 0, maximum: Int64(Int32.max)).map(Int.init)
        var isAllData = false
        if let flag = values[.allData] {
            switch flag.lowercased() {
            case "true", "1", "yes", "on", "t", "y": isAllData = true
            case "false", "0", "no", "off", "f", "n": isAllData = false
            default: fail(.allData, "bool_parsing", "Input should be a valid boolean, unable to interpret input")
            }
        }
        var cursor: RunCursor?
        if let token = values[.cursor] {
            if let decoded = RunCursor(token: token) {
                if decoded.filterFingerprint != filter.fingerprint {
                    fail(.cursor, "cursor_mismatch", "This cursor belongs to a different set of filters; start again without a cursor")
                } else if offset != nil, offset != 0 {
                    fail(.cursor, "cursor_with_offset", "Use either cursor or offset, not both")
                } else {
                    cursor = decoded
                }
            } else {
                fail(.cursor, "cursor_invalid", "Input should be a next_cursor value returned by this endpoint")
            }
        }
        guard issues.isEmpty else { throw ValidationError(issues) }

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
