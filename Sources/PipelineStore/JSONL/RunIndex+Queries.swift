public import PipelineCore

// MARK: - Queries

extension RunIndex {
    /// Evaluates a query without sorting: candidates come from the narrowest index the filter
    /// allows (a pipeline's own runs, a date code's runs, or a binary-searched time window), in
    /// result order. A query with a date code is fast once ``indexDateCodes()`` has built its index.
    public func evaluate(_ query: RunQuery) -> RunPage {
        let filter = query.filter
        if filter.selectsOnlyRunning, filter.runID == nil, let ordered = openRunsInResultOrder {
            // Already in result order: filtered (when the filter asks more than the status), not sorted again.
            let onlyRunning = filter == RunFilter(status: .equals(RunStatus.running))
            return query.page(fromOrderedMatches: onlyRunning ? ordered : ordered.filter { filter.matches($0.info) })
        }
        if let candidates = namedOrOpenCandidates(filter) { return query.evaluate(over: candidates) }
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

        // The two cases where every candidate matches: only the page itself is read, the count is arithmetic.
        if let name = filter.pipelineName, filter == RunFilter(startUTCFrom: filter.startUTCFrom, pipelineName: name) {
            guard let list = runsByName[nameID(name)] else { return RunPage(total: query.knownTotal ?? 0, runs: []) }
            return page(ofAll: list, from: lowerBound(of: list, filter), query: query, limit: limit, skip: skip, cursor: cursor)
        }
        if filter == RunFilter(startUTCFrom: filter.startUTCFrom) {
            let lower = filter.startUTCFrom.map { bound in partition(startColumn.count) { startColumn[$0] < bound.microsecondsSinceEpoch } } ?? 0
            return page(ofAll: order, from: lower, query: query, limit: limit, skip: skip, cursor: cursor)
        }

        var total = 0
        var selected: [StoredRun] = []
        var hasMore = false
        forEachMatch(filter) { runIndex in
            total += 1
            if let cursor, runs[Int(runIndex)].position >= cursor { return true }
            if skip > 0 {
                skip -= 1
            } else if selected.count < limit {
                selected.append(runs[Int(runIndex)])
            } else {
                hasMore = true
            }
            return true
        }
        return RunPage(total: query.knownTotal ?? total, runs: selected, nextCursor: query.nextCursor(after: selected, totalIsBeyond: hasMore))
    }

    /// How many runs match the filter (a page of none, whose total is the count).
    public func count(matching filter: RunFilter) -> Int {
        evaluate(RunQuery(filter: filter, paging: .window(limit: 0, offset: 0))).total
    }

    /// The first `limit` runs matching the filter, in result order, as samples.
    public func samples(matching filter: RunFilter, limit: Int) -> [RunSample] {
        var samples: [RunSample] = []
        guard limit > 0 else { return samples }
        if let candidates = namedOrOpenCandidates(filter) {
            return RunQuery(filter: filter, paging: .window(limit: limit, offset: 0)).evaluate(over: candidates).runs.map { RunSample($0.info) }
        }
        forEachMatch(filter) { runIndex in
            samples.append(RunSample(runs[Int(runIndex)].info))
            return samples.count < limit
        }
        return samples
    }

    /// Every run matching the filter, in result order, as history samples — read field by field
    /// from the stored runs (history reads tens of thousands; copying whole runs would retain every string).
    public func historySamples(matching filter: RunFilter) -> [HistorySample] {
        if let candidates = namedOrOpenCandidates(filter) {
            return RunQuery(filter: filter, paging: .all).evaluate(over: candidates).runs.map { HistorySample($0.info) }
        }
        var matches: [Int32] = []
        forEachMatch(filter) { index in
            matches.append(index)
            return true
        }
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

    /// The only runs a filter can match when it names a run (at most two: its finished record and
    /// an open one cannot both exist, but both places are looked in) or asks for runs still
    /// `running` (the open runs); nil for every other filter, which only finished runs can match.
    private func namedOrOpenCandidates(_ filter: RunFilter) -> [StoredRun]? {
        if let id = filter.runID.map(ExactText.init) { return [byKey[id].map { runs[Int($0)] }, openRuns[id]].compactMap { $0 } }
        if filter.selectsOnlyRunning { return openRunsInResultOrder ?? Array(openRuns.values) }
        return nil
    }

    /// The name id a condition asks for: -1 for a missing name, -2 for a name no run has.
    private func nameID(_ condition: FieldCondition) -> Int32 {
        Self.id(condition, in: names)
    }

    private static func id(_ condition: FieldCondition, in table: StringTable) -> Int32 {
        switch condition {
        case .equals(let value): table.existingID(value) ?? -2
        case .isNull: -1
        }
    }

    /// Visits the index (into `runs`) of every run matching `filter`, in result order, until
    /// `visit` returns false, taking the candidates from the narrowest index the filter allows: a
    /// date code's runs, a pipeline's own runs, or the binary-searched start window of the columns.
    private func forEachMatch(_ filter: RunFilter, _ visit: (Int32) -> Bool) {
        if let dateCode = filter.dateCode {
            // A date code holds a run or a few: check each of them, newest first. Without the index
            // (not asked for yet) every run is looked at.
            let key = ExactText(dateCode)
            let listed = byDateCode.map { $0[key] ?? [] } ?? runs.indices.filter { ExactText(runs[$0].info.dateCode) == key }.map { Int32($0) }
            let candidates = listed.sorted { runs[Int($0)].position > runs[Int($1)].position }
            for index in candidates where filter.matches(runs[Int(index)].info) {
                if !visit(index) { return }
            }
            return
        }
        if let name = filter.pipelineName {
            guard let list = runsByName[nameID(name)] else { return }
            var filterWithoutName = filter
            filterWithoutName.pipelineName = nil
            let isNameOnly = filterWithoutName == RunFilter(startUTCFrom: filter.startUTCFrom)
            var position = list.count - 1
            let lower = lowerBound(of: list, filter)
            // Through the buffer: checking a run reads its fields in place instead of copying it
            // (and retaining each of its strings) for every candidate.
            runs.withUnsafeBufferPointer { stored in
                while position >= lower {
                    let runIndex = list[position]
                    if isNameOnly || filterWithoutName.matches(stored[Int(runIndex)].info) {
                        if !visit(runIndex) { return }
                    }
                    position -= 1
                }
            }
            return
        }
        // Every run that can match starts in [startFrom, endTo], since end_utc >= start_utc is not
        // guaranteed for stored data: only the start bound narrows, the end bound is checked per run.
        let lower = filter.startUTCFrom.map { bound in partition(startColumn.count) { startColumn[$0] < bound.microsecondsSinceEpoch } } ?? 0
        let endTo = filter.endUTCTo?.microsecondsSinceEpoch
        let minRows = filter.minRowcount ?? .min
        let maxRows = filter.maxRowcount ?? .max
        let script = filter.scriptName.map { Self.id($0, in: scripts) }
        let type = filter.pipelineType.map { Self.id($0, in: types) }
        let environment = filter.environment.map { Self.id($0, in: environments) }
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
            // No column for status: the stored field itself, read in place.
            if let status = filter.status, !status.matches(runs[Int(order[position])].info.status) { continue }
            if !visit(order[position]) { return }
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
}
