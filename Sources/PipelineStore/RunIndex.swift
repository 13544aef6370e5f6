public import PipelineCore

/// Runs held in memory with the indexes queries need: result order, idempotency keys,
/// date codes, and per-signature aggregates kept up to date on every insert.
///
/// Query semantics are the pure query module's (`RunFilter.matches`, `RunQuery.page`); this type
/// only avoids re-sorting and re-summarising on every request.
public struct RunIndex: Sendable {
    /// Every run in insertion order; `runs[i].sequence == i + 1`.
    public private(set) var runs: [StoredRun] = []
    /// Indices into `runs`, ascending by result position (`start_utc`, then sequence).
    private var ascending: [Int32] = []
    private var byKey: [RunKey: Int32] = [:]
    private var byDateCode: [String: Int32] = [:]
    private var aggregates: [PipelineSignature: SignatureAggregate] = [:]

    public init() {}

    public var count: Int { runs.count }

    /// The sequence the next inserted run will get.
    public var nextSequence: Int64 { Int64(runs.count + 1) }

    /// Adds a run at the next sequence and returns it as stored.
    @discardableResult
    public mutating func append(_ info: PipelineInfo) -> StoredRun {
        let stored = StoredRun(sequence: nextSequence, info: info)
        let index = Int32(runs.count)
        runs.append(stored)
        // New runs usually start last: find the slot from the end.
        let position = stored.position
        var slot = ascending.count
        if let last = ascending.last, runs[Int(last)].position > position {
            var low = 0
            var high = ascending.count
            while low < high {
                let mid = (low + high) / 2
                if runs[Int(ascending[mid])].position < position { low = mid + 1 } else { high = mid }
            }
            slot = low
        }
        ascending.insert(index, at: slot)
        if let key = info.runKey, byKey[key] == nil { byKey[key] = index }
        byDateCode[info.dateCode] = index
        aggregates[info.signature, default: SignatureAggregate(empty: info.signature)].add(info)
        return stored
    }

    /// The first stored run with this idempotency key.
    public func run(forKey key: RunKey) -> StoredRun? {
        byKey[key].map { runs[Int($0)] }
    }

    /// The most recently stored run with this date code.
    public func run(dateCode: String) -> StoredRun? {
        byDateCode[dateCode].map { runs[Int($0)] }
    }

    /// Summaries in API order, from the aggregates kept on insert.
    public func summaries() -> [PipelineSummary] {
        PipelineSummary.ordered(aggregates.values)
    }

    /// Evaluates a query: one pass over the runs in result order, no sorting.
    public func evaluate(_ query: RunQuery) -> RunPage {
        let filter = query.filter
        var total = 0
        var selected: [StoredRun] = []
        var skip = 0
        var limit = Int.max
        var cursor: RunPosition?
        switch query.paging {
        case .all: break
        case .window(let pageLimit, let offset):
            limit = pageLimit
            skip = offset
        case .after(let position, let pageLimit):
            limit = pageLimit
            cursor = position
        }
        var hasMore = false
        for index in ascending.reversed() {
            let run = runs[Int(index)]
            guard filter.matches(run.info) else { continue }
            total += 1
            if let cursor, run.position >= cursor { continue }
            if skip > 0 {
                skip -= 1
                continue
            }
            if selected.count < limit {
                selected.append(run)
            } else {
                hasMore = true
            }
        }
        return RunPage(total: total, runs: selected, nextCursor: query.nextCursor(after: selected, totalIsBeyond: hasMore))
    }
}
