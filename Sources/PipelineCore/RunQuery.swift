/// A run as stored: the record plus the position it was stored at.
///
/// `sequence` grows with every insert; it breaks ties between runs with the same `start_utc`
/// (newest insert first), so that paging never repeats or skips a run.
public struct StoredRun: Sendable, Hashable {
    public var sequence: Int64
    public var info: PipelineInfo

    public init(sequence: Int64, info: PipelineInfo) {
        (self.sequence, self.info) = (sequence, info)
    }

    /// The position of this run in result order (`start_utc` descending, then `sequence` descending).
    public var position: RunPosition { RunPosition(startUTC: info.startUTC, sequence: sequence) }
}

/// A point in result order. Smaller positions come later in results.
public struct RunPosition: Sendable, Hashable, Comparable {
    public var startUTC: UTCInstant
    public var sequence: Int64

    public init(startUTC: UTCInstant, sequence: Int64) {
        (self.startUTC, self.sequence) = (startUTC, sequence)
    }

    public static func < (lhs: RunPosition, rhs: RunPosition) -> Bool {
        (lhs.startUTC, lhs.sequence) < (rhs.startUTC, rhs.sequence)
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
        (self.filter, self.paging) = (filter, paging)
    }

    /// The run stored under `runID`, running or not: a page of at most one.
    public static func run(withID runID: String) -> RunQuery {
        RunQuery(filter: RunFilter(runID: runID), paging: .window(limit: 1, offset: 0))
    }
}

/// One page of results and the number of matches regardless of paging.
public struct RunPage: Sendable, Hashable {
    public var total: Int
    public var runs: [StoredRun]
    /// Where the next page starts, when the page was limited and more matches follow.
    public var nextCursor: RunCursor?

    public init(total: Int, runs: [StoredRun], nextCursor: RunCursor? = nil) {
        (self.total, self.runs, self.nextCursor) = (total, runs, nextCursor)
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
        (self.position, self.filterFingerprint) = (position, filterFingerprint)
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
