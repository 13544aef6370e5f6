public import PipelineCore

/// Runs held in memory with the indexes queries need, so that no request sorts or rescans
/// more than its filters require:
///
/// - the runs in result order as columns (`start_utc`, `end_utc`, `rowcount`, interned names),
///   so a filter scans a few contiguous arrays, and a time window is a binary search;
/// - per pipeline name, its runs in result order, so a name filter touches only that pipeline;
/// - idempotency keys (run ids), per-signature aggregates kept on insert, and the runs of each
///   date code (built on first use: only archived-file downloads and the date code filter ask for it);
/// - apart from all of these, the runs still `running`, by id: a handful at any time, replaced by
///   their later records and moved in with the finished runs when they end. Only a filter that
///   asks for `running` or names a run reads them, so no other query ever checks a status.

///
/// Loading hashes each run's signature once (one lookup of its four strings together); the
/// interned ids of its fields, its aggregate and the per-name lists follow from that one slot.
/// Every text key (signatures, names, ids, date codes) is told apart by its bytes, as SQL tells
/// them apart (``ExactText``): two spellings of one name are two pipelines, each kept as posted.
///
/// Query semantics are the pure query module's (`RunFilter`, `RunPaging`, `RunQuery.nextCursor`);
/// the contract tests compare this type with `RunQuery.evaluate(over:)` on random data.
public struct RunIndex: Sendable {
    /// Every run in insertion order; `runs[i].sequence == i + 1`.
    public private(set) var runs: [StoredRun] = []

    // Columns in ascending result position (start_utc, then sequence); result order reads them backwards.
    private(set) var order: [Int32] = []
    private(set) var startColumn: [Int64] = []
    private(set) var endColumn: [Int64] = []
    private(set) var rowcountColumn: [Int64] = []
    private(set) var nameColumn: [Int32] = []
    private(set) var scriptColumn: [Int32] = []
    private(set) var typeColumn: [Int32] = []
    private(set) var environmentColumn: [Int32] = []

    /// Runs of each pipeline name (by name id), as indices into `runs`, ascending by position.
    private(set) var runsByName: [Int32: [Int32]] = [:]
    /// The finished run of each id, as an index into `runs`.
    private(set) var byKey: [ExactText: Int32] = [:]
    /// The runs still `running`, by id; their sequences count apart from the finished runs'.
    public private(set) var openRuns: [ExactText: StoredRun] = [:]
    /// How many of the runs still `running` each signature has: a signature only they have
    /// counts against the pipeline cap like any other.
    private var openSignatures: [PipelineSignature: Int] = [:]
    /// The open runs in result order and counted by signature, built when first asked for after
    /// they changed (``indexOpenRuns()``): reads between two writes that start or end runs share
    /// them, however many runs are running.
    private(set) var openRunsInResultOrder: [StoredRun]?
    private(set) var openRunsBySignature: [RunningRuns]?
    /// The sequence the next `running` record will get.
    public private(set) var nextOpenSequence: Int64 = 1
    /// Whether any `running` record was ever recorded: only then can the file hold lines that are
    /// not finished runs and that a rewrite must look at.
    private(set) var hasRunningRecords = false
    /// Whether a loaded line had no `run_id` (written before ids): a rewrite then writes the id
    /// such a line was given, since it depends on the line's place, which the rewrite changes.
    private(set) var hasLinesWithoutIDs = false
    /// The runs of each date code, as indices into `runs`, in insertion order; nil until first
    /// asked for (only archived-file downloads and the date code filter use it), then kept up to date.
    private(set) var byDateCode: [ExactText: [Int32]]?
    /// Finished runs (indices into `runs`) that a later record of the same run replaced, since
    /// their start was not known (``PipelineInfo/isCompleted(startBy:)``): they keep their place in
    /// `runs`, so every later run keeps the sequence its line in the file gives it, and are in no
    /// column, list, key or total.
    private(set) var superseded: Set<Int32> = []
    /// Per run (by index into `runs`), its signature's slot.
    private var signatureOfRun: [Int32] = []
    /// The slot of each signature seen.
    private var signatureSlots: [PipelineSignature: Int32] = [:]
    /// Per slot: the interned ids of the signature's fields, and its running totals.
    private var signatureIDs: [SignatureIDs] = []
    private var aggregates: [SignatureAggregate] = []
    private(set) var names = StringTable()
    private(set) var scripts = StringTable()
    private(set) var types = StringTable()
    private(set) var environments = StringTable()

    public init() {}

    /// Makes room for `count` runs in all, so loading does not grow (and rehash) the indexes step by step.
    public mutating func reserveCapacity(_ count: Int) {
        runs.reserveCapacity(count)
        signatureOfRun.reserveCapacity(count)
        byKey.reserveCapacity(count)
    }

    /// An index over runs in insertion order, built in one pass and one sort (start-up).
    public init(runs infos: some Sequence<PipelineInfo>) {
        for info in infos { recordDeferringOrder(info) }
        restoreOrder()
    }

    /// Records a run without ordering the columns (bulk loading); `restoreOrder()` must follow
    /// before any query. A run stored before ids existed gets its id here (``RunID``).
    mutating func recordDeferringOrder(_ original: PipelineInfo) {
        if original.runID == nil { hasLinesWithoutIDs = true }
        let info = Self.identified(original, sequence: nextSequence)
        if openRecord(info) { return }
        appendUnordered(info)
    }

    /// A stored run with its id: a run stored before ids existed gets the one the finished runs
    /// before it give it (``RunID/nameBased(pipelineName:dateCode:sequence:)``, `sequence` being
    /// the next finished run's), the same at every load and rewrite.
    static func identified(_ info: PipelineInfo, sequence: Int64) -> PipelineInfo {
        guard info.runID == nil else { return info }
        var run = info
        run.runID = RunID.nameBased(pipelineName: info.pipelineName, dateCode: info.dateCode, sequence: sequence)
        return run
    }

    /// Records a run as its latest state: a `running` one among the open runs, a finished one
    /// after the others (ending its open record). Returns the run as stored.
    @discardableResult
    public mutating func record(_ info: PipelineInfo) -> StoredRun {
        if openRecord(info) { return openRuns[ExactText(info.runID ?? "")] ?? StoredRun(sequence: 0, info: info) }
        return append(info)
    }

    /// Keeps a running run among the open runs and returns true; for a finished run, ends its open
    /// record if there is one and returns false.
    private mutating func openRecord(_ info: PipelineInfo) -> Bool {
        guard let id = info.runID.map(ExactText.init) else { return false }
        if openRuns[id] != nil || info.isRunning { (openRunsInResultOrder, openRunsBySignature) = (nil, nil) }
        if let ended = openRuns[id]?.info.signature {
            openSignatures[ended, default: 0] -= 1
            if openSignatures[ended] == 0 { openSignatures[ended] = nil }
        }
        guard info.isRunning else {
            openRuns[id] = nil
            return false
        }
        openSignatures[info.signature, default: 0] += 1
        openRuns[id] = StoredRun(sequence: nextOpenSequence, info: info)
        nextOpenSequence += 1
        hasRunningRecords = true
        return true
    }

    /// Builds the ordered columns and per-name lists after bulk loading: one sort.
    mutating func restoreOrder() {
        runsByName = [:]
        let positions = runs.map(\.position)
        let live = superseded.isEmpty ? Array(0..<Int32(runs.count)) : (0..<Int32(runs.count)).filter { !superseded.contains($0) }
        let sorted = live.sorted { positions[Int($0)] < positions[Int($1)] }
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
        placeInOrder([index])
        return runs[Int(index)]
    }

    /// Records runs in their order, as ``record(_:)`` would one by one, then places them all in
    /// the ordered columns at once. One by one, each run that starts before the newest stored one
    /// (a backfill of old runs) moved every column entry after it: 1.6 ms per run at a million runs.
    public mutating func record(contentsOf infos: [PipelineInfo]) {
        var added: [Int32] = []
        for info in infos where !openRecord(info) { added.append(appendUnordered(info)) }
        placeInOrder(added)
    }

    /// Puts newly appended runs (indices into `runs`) into the ordered columns and the per-name
    /// lists: appended when they all come after the last stored run, as new runs usually do, else
    /// merged in one pass over each column, a new run after every stored run at or before its position.
    private mutating func placeInOrder(_ added: [Int32]) {
        guard !added.isEmpty else { return }
        let sorted = added.sorted { runs[Int($0)].position < runs[Int($1)].position }
        let slots = sorted.map { upperSlot(in: order, for: runs[Int($0)].position) }
        let stored = sorted.map { runs[Int($0)].info }
        let fieldIDs = sorted.map { ids(ofRun: $0) }
        Self.merge(sorted, at: slots, into: &order)
        Self.merge(stored.map(\.startUTC.microsecondsSinceEpoch), at: slots, into: &startColumn)
        Self.merge(stored.map(\.endUTC.microsecondsSinceEpoch), at: slots, into: &endColumn)
        Self.merge(stored.map(\.rowcount), at: slots, into: &rowcountColumn)
        Self.merge(fieldIDs.map(\.name), at: slots, into: &nameColumn)
        Self.merge(fieldIDs.map(\.script), at: slots, into: &scriptColumn)
        Self.merge(fieldIDs.map(\.type), at: slots, into: &typeColumn)
        Self.merge(fieldIDs.map(\.environment), at: slots, into: &environmentColumn)
        for (nameID, indices) in Dictionary(grouping: sorted, by: { ids(ofRun: $0).name }) {
            // Moved out of the dictionary first, so that adding to it does not copy it.
            var list = runsByName.removeValue(forKey: nameID) ?? []
            let listSlots = indices.map { upperSlot(in: list, for: runs[Int($0)].position) }
            Self.merge(indices, at: listSlots, into: &list)
            runsByName[nameID] = list
        }
    }

    /// Inserts each of `values` into `column` at its slot (slots ascending, all within the column;
    /// several values at one slot in their order), in place: the column grows by `values.count`,
    /// then, from the back, each entry at or after the first slot moves right by the number of new
    /// values before it. Only the entries after the first slot move, so a run a little out of order
    /// (posted when it ended, sorted by when it started) moves a few entries, not the column.
    private static func merge<Value>(_ values: [Value], at slots: [Int], into column: inout [Value]) {
        var read = column.count - 1
        column.append(contentsOf: values)
        var write = column.count - 1
        for (slot, value) in zip(slots, values).reversed() {
            while read >= slot {
                column[write] = column[read]
                write -= 1
                read -= 1
            }
            column[write] = value
            write -= 1
        }
    }

    /// The run with this id, finished or still running.
    public func run(withID id: String) -> StoredRun? {
        let key = ExactText(id)
        return byKey[key].map { runs[Int($0)] } ?? openRuns[key]
    }

    /// Summaries in API order, from the aggregates kept on insert.
    public func summaries() -> [PipelineSummary] {
        PipelineSummary.ordered(aggregates)
    }

    /// Builds the open runs' result order and counts when they changed since last asked for.
    mutating func indexOpenRuns() {
        guard openRunsInResultOrder == nil || openRunsBySignature == nil else { return }
        openRunsInResultOrder = openRuns.values.sorted { $0.position > $1.position }
        openRunsBySignature = countOpenRuns()
    }

    /// The runs still running, by signature, with the oldest start of each.
    func runningRuns() -> [RunningRuns] {
        openRunsBySignature ?? countOpenRuns()
    }

    private func countOpenRuns() -> [RunningRuns] {
        var bySignature: [PipelineSignature: RunningRuns] = [:]
        for run in openRuns.values {
            let info = run.info
            if var known = bySignature[info.signature] {
                known.count += 1
                known.oldestStart = min(known.oldestStart, info.startUTC)
                bySignature[info.signature] = known
            } else {
                bySignature[info.signature] = RunningRuns(signature: info.signature, count: 1, oldestStart: info.startUTC)
            }
        }
        return Array(bySignature.values)
    }

    /// How many distinct signatures the runs have, finished or still running.
    var signatureCount: Int { signatureSlots.count + openSignatures.keys.count { signatureSlots[$0] == nil } }

    /// Whether some run, finished or still running, has this signature.
    func hasSignature(_ signature: PipelineSignature) -> Bool { signatureSlots[signature] != nil || openSignatures[signature] != nil }

    /// Builds the date-code index when it is first needed.
    mutating func indexDateCodes() {
        guard byDateCode == nil else { return }
        var built: [ExactText: [Int32]] = [:]
        built.reserveCapacity(runs.count)
        for (index, run) in runs.enumerated() where !superseded.contains(Int32(index)) {
            built[ExactText(run.info.dateCode), default: []].append(Int32(index))
        }
        byDateCode = built
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
        let key = info.runID.map(ExactText.init)
        if let key, let previous = byKey[key], runs[Int(previous)].info.isCompleted(startBy: info) {
            supersede(previous)
            byKey[key] = nil
        }
        runs.append(stored)
        signatureOfRun.append(signatureSlot)
        if let key, byKey[key] == nil { byKey[key] = index }
        if byDateCode != nil { byDateCode?[ExactText(info.dateCode), default: []].append(index) }
        aggregates[Int(signatureSlot)].add(info)
        return index
    }

    /// Takes a finished run out of every column, list and total, keeping its place in `runs`
    /// (``superseded``). Its signature's totals are folded again from the runs left, in insertion
    /// order, as they were built: a share cannot be taken out of a sum exactly.
    private mutating func supersede(_ index: Int32) {
        superseded.insert(index)
        let run = runs[Int(index)]
        let nameID = ids(ofRun: index).name
        if let slot = order.firstIndex(of: index), !order.isEmpty {
            order.remove(at: slot)
            startColumn.remove(at: slot)
            endColumn.remove(at: slot)
            rowcountColumn.remove(at: slot)
            nameColumn.remove(at: slot)
            scriptColumn.remove(at: slot)
            typeColumn.remove(at: slot)
            environmentColumn.remove(at: slot)
        }
        if var list = runsByName.removeValue(forKey: nameID) {
            list.removeAll { $0 == index }
            if !list.isEmpty { runsByName[nameID] = list }
        }
        byDateCode?[ExactText(run.info.dateCode)]?.removeAll { $0 == index }
        let slot = signatureOfRun[Int(index)]
        var totals = SignatureAggregate(empty: aggregates[Int(slot)].signature)
        for (other, otherSlot) in signatureOfRun.enumerated() where otherSlot == slot && !superseded.contains(Int32(other)) {
            totals.add(runs[other].info)
        }
        aggregates[Int(slot)] = totals
    }

    /// The sequences of the ``superseded`` runs.
    var supersededSequences: Set<Int64> { Set(superseded.map { runs[Int($0)].sequence }) }

    /// The finished runs in insertion order, without those a later record replaced.
    var finishedRuns: [StoredRun] {
        superseded.isEmpty ? runs : runs.indices.filter { !superseded.contains(Int32($0)) }.map { runs[$0] }
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
    func ids(ofRun index: Int32) -> SignatureIDs {
        signatureIDs[Int(signatureOfRun[Int(index)])]
    }

    /// The slot in `indices` (runs ascending by position) after every run positioned at or before
    /// `position` (new runs usually go last).
    private func upperSlot(in indices: [Int32], for position: RunPosition) -> Int {
        guard let last = indices.last, runs[Int(last)].position > position else { return indices.count }
        return partition(indices.count) { runs[Int(indices[$0])].position < position }
    }
}

/// The first index in `0..<count` for which `isBefore` is false (`isBefore` must be true then false).
func partition(_ count: Int, _ isBefore: (Int) -> Bool) -> Int {
    var low = 0
    var high = count
    while low < high {
        let mid = (low + high) / 2
        if isBefore(mid) { low = mid + 1 } else { high = mid }
    }
    return low
}

/// Interns the values of one optional string field: a small integer id per distinct value
/// (`-1` for nil), and one shared storage per distinct string; values are distinct when their
/// bytes are (``ExactText``), so each keeps the spelling it was stored with.
struct StringTable: Sendable {
    private var ids: [ExactText: Int32] = [:]
    private var values: [String] = []

    mutating func id(_ value: String?) -> Int32 {
        guard let value else { return -1 }
        let key = ExactText(value)
        if let id = ids[key] { return id }
        let id = Int32(values.count)
        ids[key] = id
        values.append(value)
        return id
    }

    func existingID(_ value: String) -> Int32? { ids[ExactText(value)] }

    /// The shared storage of an id's value (nil for -1).
    func value(_ id: Int32) -> String? {
        id < 0 ? nil : values[Int(id)]
    }
}

/// The interned ids of a signature's four fields.
struct SignatureIDs: Hashable, Sendable {
    var name: Int32
    var script: Int32
    var type: Int32
    var environment: Int32
}
