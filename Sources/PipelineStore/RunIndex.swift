public import PipelineCore

/// Runs held in memory with the indexes queries need, so that no request sorts or rescans
/// more than its filters require:
///
/// - the runs in result order as columns (`start_utc`, `end_utc`, `rowcount`, interned names),
///   so a filter scans a few contiguous arrays, and a time window is a binary search;
/// - per pipeline name, its runs in result order, so a name filter touches only that pipeline;
/// - idempotency keys, per-signature aggregates kept on insert, and the latest run per date code
///   (built on first use: only archived-file downloads ask for it).
///
/// Loading hashes each run's signature once (one lookup of its four strings together); the
/// interned ids of its fields, its aggregate and the per-name lists follow from that one slot.
///
/// Query semantics are the pure query module's (`RunFilter`, `RunPaging`, `RunQuery.nextCursor`);
/// the contract tests compare this type with `RunQuery.evaluate(over:)` on random data.
public struct RunIndex: Sendable {
    /// Every run in insertion order; `runs[i].sequence == i + 1`.
    public private(set) var runs: [StoredRun] = []

    // Columns in ascending result position (start_utc, then sequence); result order reads them backwards.
    private var order: [Int32] = []
    private var startColumn: [Int64] = []
    private var endColumn: [Int64] = []
    private var rowcountColumn: [Int64] = []
    private var nameColumn: [Int32] = []
    private var scriptColumn: [Int32] = []
    private var typeColumn: [Int32] = []
    private var environmentColumn: [Int32] = []

    /// Runs of each pipeline name (by name id), as indices into `runs`, ascending by position.
    private var runsByName: [Int32: [Int32]] = [:]
    private var byKey: [RunKey: Int32] = [:]
    /// Latest run per date code; nil until first asked for, then kept up to date.
    private var byDateCode: [String: Int32]?
    /// Per run (by index into `runs`), its signature's slot.
    private var signatureOfRun: [Int32] = []
    /// The slot of each signature seen.
    private var signatureSlots: [PipelineSignature: Int32] = [:]
    /// Per slot: the interned ids of the signature's fields, and its running totals.
    private var signatureIDs: [SignatureIDs] = []
    private var aggregates: [SignatureAggregate] = []
    private var names = StringTable()
    private var scripts = StringTable()
    private var types = StringTable()
    private var environments = StringTable()

    public init() {}

    /// Makes room for `count` runs in all, so loading does not grow (and rehash) the indexes step by step.
    public mutating func reserveCapacity(_ count: Int) {
        runs.reserveCapacity(count)
        signatureOfRun.reserveCapacity(count)
        byKey.reserveCapacity(count)
    }

    /// An index over runs in insertion order, built in one pass and one sort (start-up).
    public init(runs infos: some Sequence<PipelineInfo>) {
        for info in infos { appendUnordered(info) }
        restoreOrder()
    }

    /// Adds a run without ordering the columns (bulk loading); `restoreOrder()` must follow before any query.
    mutating func appendDeferringOrder(_ info: PipelineInfo) {
        appendUnordered(info)
    }

    /// Builds the ordered columns and per-name lists after bulk loading: one sort.
    mutating func restoreOrder() {
        runsByName = [:]
        let positions = runs.map(\.position)
        let sorted = (0..<Int32(runs.count)).sorted { positions[Int($0)] < positions[Int($1)] }
        rebuildColumns(order: sorted)
        for index in sorted {
            runsByName[ids(ofRun: index).name, default: []].append(index)
        }
    }

    public var count: Int { runs.count }

    /// The sequence the next inserted run will get.
    public var nextSequence: Int64 { Int64(runs.count + 1) }

    /// Adds a run at the next sequence and returns it as stored.
    @discardableResult
    public mutating func append(_ info: PipelineInfo) -> StoredRun {
        let index = appendUnordered(info)
        let stored = runs[Int(index)]
        let slot = upperSlot(for: stored.position)
        order.insert(index, at: slot)
        startColumn.insert(stored.info.startUTC.microsecondsSinceEpoch, at: slot)
        endColumn.insert(stored.info.endUTC.microsecondsSinceEpoch, at: slot)
        rowcountColumn.insert(stored.info.rowcount, at: slot)
        let ids = ids(ofRun: index)
        nameColumn.insert(ids.name, at: slot)
        scriptColumn.insert(ids.script, at: slot)
        typeColumn.insert(ids.type, at: slot)
        environmentColumn.insert(ids.environment, at: slot)
        let nameID = ids.name
        var list = runsByName[nameID, default: []]
        runsByName[nameID] = nil
        let position = stored.position
        var listSlot = list.count
        if let last = list.last, runs[Int(last)].position > position {
            listSlot = partition(list.count) { runs[Int(list[$0])].position < position }
        }
        list.insert(index, at: listSlot)
        runsByName[nameID] = list
        return stored
    }

    /// The first stored run with this idempotency key.
    public func run(forKey key: RunKey) -> StoredRun? {
        byKey[key].map { runs[Int($0)] }
    }

    /// The most recently stored run with this date code (the first call builds the date-code index).
    public mutating func run(dateCode: String) -> StoredRun? {
        if byDateCode == nil {
            var built: [String: Int32] = [:]
            built.reserveCapacity(runs.count)
            for (index, run) in runs.enumerated() { built[run.info.dateCode] = Int32(index) }
            byDateCode = built
        }
        return byDateCode?[dateCode].map { runs[Int($0)] }
    }

    /// Summaries in API order, from the aggregates kept on insert.
    public func summaries() -> [PipelineSummary] {
        PipelineSummary.ordered(aggregates)
    }

    // MARK: - Insight

    /// The `limit` most recent runs of exactly this signature, in result order.
    public func recentSamples(of signature: PipelineSignature, limit: Int) -> [RunSample] {
        var samples: [RunSample] = []
        forEachRun(of: signature, newestFirst: true) { run in
            guard samples.count < limit else { return false }
            samples.append(RunSample(runs[run].info))
            return true
        }
        return samples
    }

    /// How many runs of exactly this signature started at or after `since`.
    public func countRuns(of signature: PipelineSignature, since: UTCInstant) -> Int {
        var count = 0
        forEachRun(of: signature, newestFirst: true) { run in
            guard runs[run].info.startUTC >= since else { return false }
            count += 1
            return true
        }
        return count
    }

    /// Visits the runs (indices into `runs`) of one signature from its pipeline's own list (newest
    /// first when asked) until `body` returns false.
    private func forEachRun(of signature: PipelineSignature, newestFirst: Bool, _ body: (Int) -> Bool) {
        let nameID: Int32
        if let name = signature.pipelineName {
            guard let id = names.existingID(name) else { return }
            nameID = id
        } else {
            nameID = -1
        }
        guard let list = runsByName[nameID] else { return }
        let positions = newestFirst ? stride(from: list.count - 1, through: 0, by: -1) : stride(from: 0, through: list.count - 1, by: 1)
        for position in positions {
            let run = Int(list[position])
            guard runs[run].info.scriptName == signature.scriptName, runs[run].info.pipelineType == signature.pipelineType,
                runs[run].info.environment == signature.environment
            else { continue }
            if !body(run) { return }
        }
    }

    // MARK: - Queries

    /// Evaluates a query without sorting: candidates come from the narrowest index the filter
    /// allows (a pipeline's own runs, or a binary-searched time window), in result order.
    public func evaluate(_ query: RunQuery) -> RunPage {
        let filter = query.filter
        var limit = Int.max
        var skip = 0
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
        var total = 0
        var selected: [StoredRun] = []
        var hasMore = false
        func consider(_ runIndex: Int32) {
            total += 1
            if let cursor, runs[Int(runIndex)].position >= cursor { return }
            if skip > 0 {
                skip -= 1
            } else if selected.count < limit {
                selected.append(runs[Int(runIndex)])
            } else {
                hasMore = true
            }
        }

        // The two cases where every candidate matches: only the page itself is read, the count is arithmetic.
        if let name = filter.pipelineName, filter == RunFilter(startUTCFrom: filter.startUTCFrom, pipelineName: name) {
            guard let nameID = names.existingID(name), let list = runsByName[nameID] else { return RunPage(total: query.knownTotal ?? 0, runs: []) }
            return page(ofAll: list, from: lowerBound(of: list, filter), query: query, limit: limit, skip: skip, cursor: cursor)
        }
        if filter == RunFilter(startUTCFrom: filter.startUTCFrom) {
            let lower = filter.startUTCFrom.map { bound in partition(startColumn.count) { startColumn[$0] < bound.microsecondsSinceEpoch } } ?? 0
            return page(ofAll: order, from: lower, query: query, limit: limit, skip: skip, cursor: cursor)
        }
        forEachMatch(filter, consider)
        return RunPage(total: query.knownTotal ?? total, runs: selected, nextCursor: query.nextCursor(after: selected, totalIsBeyond: hasMore))
    }

    /// Every run matching the filter, in result order, as history samples — read field by field
    /// from the stored runs (history reads tens of thousands; copying whole runs would retain every string).
    public func historySamples(matching filter: RunFilter) -> [HistorySample] {
        var matches: [Int32] = []
        forEachMatch(filter) { matches.append($0) }
        // Through the buffer: element reads retain neither the array nor the fields not read.
        return runs.withUnsafeBufferPointer { stored in
            matches.map { index in
                let run = Int(index)
                return HistorySample(
                    startUTC: stored[run].info.startUTC,
                    elapsedSeconds: stored[run].info.elapsedSeconds,
                    rowcount: stored[run].info.rowcount,
                    // The stored fields, not the computed property: that would copy (and retain) the whole run.
                    isFailed: RunStatus.isFailed(status: stored[run].info.status, exitCode: stored[run].info.exitCode)
                )
            }
        }
    }

    /// Visits the index (into `runs`) of every run matching `filter`, in result order, taking the
    /// candidates from the narrowest index the filter allows: a pipeline's own runs, or the
    /// binary-searched start window of the columns.
    private func forEachMatch(_ filter: RunFilter, _ visit: (Int32) -> Void) {
        if let name = filter.pipelineName {
            guard let nameID = names.existingID(name), let list = runsByName[nameID] else { return }
            var filterWithoutName = filter
            filterWithoutName.pipelineName = nil
            let isNameOnly = filterWithoutName == RunFilter(startUTCFrom: filter.startUTCFrom)
            var position = list.count - 1
            let lower = lowerBound(of: list, filter)
            while position >= lower {
                let runIndex = list[position]
                if isNameOnly || filterWithoutName.matches(runs[Int(runIndex)].info) { visit(runIndex) }
                position -= 1
            }
            return
        }
        // Every run that can match starts in [startFrom, endTo], since end_utc >= start_utc is not
        // guaranteed for stored data: only the start bound narrows, the end bound is checked per run.
        let lower = filter.startUTCFrom.map { bound in partition(startColumn.count) { startColumn[$0] < bound.microsecondsSinceEpoch } } ?? 0
        let endTo = filter.endUTCTo?.microsecondsSinceEpoch
        let minRows = filter.minRowcount ?? .min
        let maxRows = filter.maxRowcount ?? .max
        // A value never seen means no run can match it.
        let script = filter.scriptName.map { scripts.existingID($0) ?? -2 }
        let type = filter.pipelineType.map { types.existingID($0) ?? -2 }
        let environment = filter.environment.map { environments.existingID($0) ?? -2 }
        // A run that ends by `endTo` started by then too (RunFilter.matches checks both).
        let upper = endTo.map { bound in partition(startColumn.count) { startColumn[$0] <= bound } } ?? startColumn.count
        var position = upper - 1
        while position >= lower {
            defer { position -= 1 }
            if let endTo, endColumn[position] > endTo { continue }
            let rows = rowcountColumn[position]
            if rows < minRows || rows > maxRows { continue }
            if let script, scriptColumn[position] != script { continue }
            if let type, typeColumn[position] != type { continue }
            if let environment, environmentColumn[position] != environment { continue }
            visit(order[position])
        }
    }

    /// The first position in a pipeline's list that can match the filter's start bound.
    private func lowerBound(of list: [Int32], _ filter: RunFilter) -> Int {
        guard let bound = filter.startUTCFrom?.microsecondsSinceEpoch else { return 0 }
        return partition(list.count) { runs[Int(list[$0])].info.startUTC.microsecondsSinceEpoch < bound }
    }

    /// A page when every candidate from `lower` on matches (the filter was only a name or a start
    /// bound): the count is the candidates' number, and only the page itself is read.
    /// `candidates` are indices into `runs`, ascending by position.
    private func page(ofAll candidates: [Int32], from lower: Int, query: RunQuery, limit: Int, skip: Int, cursor: RunPosition?) -> RunPage {
        let first = cursor.map { cursor in partition(candidates.count) { runs[Int(candidates[$0])].position < cursor } } ?? candidates.count
        var selected: [StoredRun] = []
        var position = first - 1 - skip
        while position >= lower, selected.count < limit {
            selected.append(runs[Int(candidates[position])])
            position -= 1
        }
        return RunPage(
            total: query.knownTotal ?? candidates.count - lower,
            runs: selected,
            nextCursor: query.nextCursor(after: selected, totalIsBeyond: position >= lower)
        )
    }

    // MARK: - Maintenance

    /// Appends to `runs` and the key, date-code and aggregate indexes, not to the ordered columns.
    @discardableResult
    private mutating func appendUnordered(_ original: PipelineInfo) -> Int32 {
        var info = original
        let signature = info.signature
        let signatureSlot: Int32
        if let known = signatureSlots[signature] {
            signatureSlot = known
        } else {
            signatureSlot = Int32(signatureIDs.count)
            signatureSlots[signature] = signatureSlot
            signatureIDs.append(
                SignatureIDs(
                    name: names.id(signature.pipelineName),
                    script: scripts.id(signature.scriptName),
                    type: types.id(signature.pipelineType),
                    environment: environments.id(signature.environment)
                )
            )
            aggregates.append(SignatureAggregate(empty: signature))
        }
        // Identical strings share one storage: a million runs of fifty pipelines hold fifty names.
        let ids = signatureIDs[Int(signatureSlot)]
        info.pipelineName = names.value(ids.name)
        info.scriptName = scripts.value(ids.script)
        info.pipelineType = types.value(ids.type)
        info.environment = environments.value(ids.environment)
        let stored = StoredRun(sequence: nextSequence, info: info)
        let index = Int32(runs.count)
        runs.append(stored)
        signatureOfRun.append(signatureSlot)
        if let key = info.runKey, byKey[key] == nil { byKey[key] = index }
        if byDateCode != nil { byDateCode![info.dateCode] = index }
        aggregates[Int(signatureSlot)].add(info)
        return index
    }

    private mutating func rebuildColumns(order sorted: [Int32]) {
        order = sorted
        startColumn = sorted.map { runs[Int($0)].info.startUTC.microsecondsSinceEpoch }
        endColumn = sorted.map { runs[Int($0)].info.endUTC.microsecondsSinceEpoch }
        rowcountColumn = sorted.map { runs[Int($0)].info.rowcount }
        nameColumn = sorted.map { ids(ofRun: $0).name }
        scriptColumn = sorted.map { ids(ofRun: $0).script }
        typeColumn = sorted.map { ids(ofRun: $0).type }
        environmentColumn = sorted.map { ids(ofRun: $0).environment }
    }

    /// The interned ids of a run's signature fields.
    private func ids(ofRun index: Int32) -> SignatureIDs {
        signatureIDs[Int(signatureOfRun[Int(index)])]
    }

    /// The slot after every run positioned at or before `position` (new runs usually go last).
    private func upperSlot(for position: RunPosition) -> Int {
        guard let last = order.last, runs[Int(last)].position > position else { return order.count }
        return partition(order.count) { runs[Int(order[$0])].position < position }
    }
}

/// The first index in `0..<count` for which `isBefore` is false (`isBefore` must be true then false).
private func partition(_ count: Int, _ isBefore: (Int) -> Bool) -> Int {
    var low = 0
    var high = count
    while low < high {
        let mid = (low + high) / 2
        if isBefore(mid) { low = mid + 1 } else { high = mid }
    }
    return low
}

/// Interns the values of one optional string field: a small integer id per distinct value
/// (`-1` for nil), and one shared storage per distinct string.
private struct StringTable: Sendable {
    private var ids: [String: Int32] = [:]
    private var values: [String] = []

    mutating func id(_ value: String?) -> Int32 {
        guard let value else { return -1 }
        if let id = ids[value] { return id }
        let id = Int32(values.count)
        ids[value] = id
        values.append(value)
        return id
    }

    func existingID(_ value: String) -> Int32? { ids[value] }

    /// The shared storage of an id's value (nil for -1).
    func value(_ id: Int32) -> String? {
        id < 0 ? nil : values[Int(id)]
    }
}

/// The interned ids of a signature's four fields.
private struct SignatureIDs: Hashable, Sendable {
    var name: Int32
    var script: Int32
    var type: Int32
    var environment: Int32
}
