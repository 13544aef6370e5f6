import PipelineCore
import PipelineStore
import PipelineTestSupport
import Testing

/// The query rules written out plainly, independently of `RunFilter.matches` and `RunQuery.page`.
enum QueryOracle {
    static func matches(_ filter: RunFilter, _ run: PipelineInfo) -> Bool {
        if let from = filter.startUTCFrom, !(run.startUTC.microsecondsSinceEpoch >= from.microsecondsSinceEpoch) { return false }
        if let to = filter.endUTCTo, !(run.endUTC.microsecondsSinceEpoch <= to.microsecondsSinceEpoch) { return false }
        if let minimum = filter.minRowcount, !(run.rowcount >= minimum) { return false }
        if let maximum = filter.maxRowcount, !(run.rowcount <= maximum) { return false }
        let exact: [(FieldCondition?, String?)] = [
            (filter.pipelineName, run.pipelineName), (filter.scriptName, run.scriptName),
            (filter.pipelineType, run.pipelineType), (filter.environment, run.environment), (filter.status, run.status),
        ]
        for (condition, actual) in exact {
            switch condition {
            case nil: continue
            case .equals(let wanted)?: if actual != wanted { return false }
            case .isNull?: if actual != nil { return false }
            }
        }
        if let dateCode = filter.dateCode, run.dateCode != dateCode { return false }
        return true
    }

    /// Whether `lhs` comes before `rhs` in results: later `start_utc` first, then later insert first.
    static func comesBefore(_ lhs: StoredRun, _ rhs: StoredRun) -> Bool {
        let left = lhs.info.startUTC.microsecondsSinceEpoch
        let right = rhs.info.startUTC.microsecondsSinceEpoch
        return left != right ? left > right : lhs.sequence > rhs.sequence
    }

    static func isAfter(_ run: StoredRun, _ position: RunPosition) -> Bool {
        let start = run.info.startUTC.microsecondsSinceEpoch
        let cursorStart = position.startUTC.microsecondsSinceEpoch
        return start < cursorStart || (start == cursorStart && run.sequence < position.sequence)
    }

    static func page(_ query: RunQuery, over runs: [StoredRun]) -> RunPage {
        let matching = runs.filter { matches(query.filter, $0.info) }.sorted(by: comesBefore)
        let selected: [StoredRun]
        let hasMore: Bool
        switch query.paging {
        case .all:
            selected = matching
            hasMore = false
        case .window(let limit, let offset):
            selected = Array(matching.dropFirst(offset).prefix(limit))
            hasMore = offset + selected.count < matching.count
        case .after(let position, let limit):
            let rest = matching.filter { isAfter($0, position) }
            selected = Array(rest.prefix(limit))
            hasMore = rest.count > selected.count
        }
        var cursor: RunCursor?
        if hasMore, let last = selected.last {
            cursor = RunCursor(
                position: RunPosition(startUTC: last.info.startUTC, sequence: last.sequence),
                filterFingerprint: query.filter.fingerprint
            )
        }
        return RunPage(total: matching.count, runs: selected, nextCursor: cursor)
    }

    /// Summaries: group by the 4-tuple (nil a value of its own), count, latest start, means of
    /// positive values in input order; sorted by `last_run` descending, then by the tuple.
    static func summaries(_ runs: [PipelineInfo]) -> [PipelineSummary] {
        var keys: [[String?]] = []
        var groups: [[String?]: [PipelineInfo]] = [:]
        for run in runs {
            let key = [run.pipelineName, run.scriptName, run.pipelineType, run.environment]
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(run)
        }
        let summaries = keys.map { key in
            let group = groups[key] ?? []
            var durationSum = 0.0
            var durationCount = 0
            var rowSum: Int64 = 0
            var rowCount = 0
            var lastRun = group[0].startUTC
            for run in group {
                if run.elapsedSeconds > 0 {
                    durationSum += run.elapsedSeconds
                    durationCount += 1
                }
                if run.rowcount > 0 {
                    rowSum += run.rowcount
                    rowCount += 1
                }
                if run.startUTC.microsecondsSinceEpoch > lastRun.microsecondsSinceEpoch { lastRun = run.startUTC }
            }
            return PipelineSummary(
                signature: PipelineSignature(pipelineName: key[0], scriptName: key[1], pipelineType: key[2], environment: key[3]),
                totalRuns: Int64(group.count),
                lastRun: lastRun,
                avgDuration: durationCount == 0 ? nil : durationSum / Double(durationCount),
                avgRowcount: rowCount == 0 ? nil : Double(rowSum) / Double(rowCount),
                failedRuns: Int64(group.count { $0.status == "failed" || ($0.status == nil && ($0.exitCode ?? 0) != 0) })
            )
        }
        return summaries.sorted { lhs, rhs in
            if lhs.lastRun != rhs.lastRun { return lhs.lastRun > rhs.lastRun }
            return tupleIsLess(fields(lhs.signature), fields(rhs.signature))
        }
    }

    private static func fields(_ signature: PipelineSignature) -> [String?] {
        [signature.pipelineName, signature.scriptName, signature.pipelineType, signature.environment]
    }

    /// Field by field, nil before any string.
    private static func tupleIsLess(_ lhs: [String?], _ rhs: [String?]) -> Bool {
        for (left, right) in zip(lhs, rhs) {
            switch (left, right) {
            case (nil, nil): continue
            case (nil, _): return true
            case (_, nil): return false
            case (let left?, let right?):
                if left != right { return left < right }
            }
        }
        return false
    }
}

/// The ways to drop one condition from a filter.
private let looseningSteps: [(name: String, loosen: @Sendable (inout RunFilter) -> Void)] = [
    ("start_utc", { $0.startUTCFrom = nil }),
    ("end_utc", { $0.endUTCTo = nil }),
    ("min_rowcount", { $0.minRowcount = nil }),
    ("max_rowcount", { $0.maxRowcount = nil }),
    ("pipeline_name", { $0.pipelineName = nil }),
    ("script_name", { $0.scriptName = nil }),
    ("pipeline_type", { $0.pipelineType = nil }),
    ("environment", { $0.environment = nil }),
]

@Suite("Query module properties over random runs")
struct QueryPropertyTests {
    @Test("Every random query gives the page the plain reading of the query rules gives", arguments: RunDataSet.all)
    func queriesMatchOracle(dataSet: RunDataSet) {
        let (runs, queries) = dataSet.make()
        for query in queries {
            #expect(query.evaluate(over: runs) == QueryOracle.page(query, over: runs), "\(query)")
            #expect(query.evaluate(over: runs.reversed()) == QueryOracle.page(query, over: runs), "\(query) over reversed input")
        }
    }

    @Test("RunFilter.matches agrees with the plain reading of each condition", arguments: RunDataSet.all)
    func filterMatchesOracle(dataSet: RunDataSet) {
        let (runs, queries) = dataSet.make()
        var matchedSome = false
        for query in queries {
            for run in runs {
                let expected = QueryOracle.matches(query.filter, run.info)
                #expect(query.filter.matches(run.info) == expected, "\(query.filter) on run \(run.sequence)")
                matchedSome = matchedSome || (expected && query.filter != RunFilter())
            }
        }
        #expect(matchedSome, "the data set exercises no filter that matches anything")
    }

    @Test("total counts exactly the runs the filter matches, and every result matches", arguments: RunDataSet.all)
    func totalCountsMatches(dataSet: RunDataSet) {
        let (runs, queries) = dataSet.make()
        for query in queries {
            let page = query.evaluate(over: runs)
            #expect(page.total == runs.filter { query.filter.matches($0.info) }.count)
            #expect(page.runs.allSatisfy { query.filter.matches($0.info) })
            #expect(page.runs.count <= (query.paging.limit ?? .max))
            if query.paging == .all {
                #expect(Set(page.runs.map(\.sequence)) == Set(runs.filter { query.filter.matches($0.info) }.map(\.sequence)))
                #expect(page.nextCursor == nil)
            }
        }
    }

    @Test("Results are ordered by start_utc descending, then sequence descending", arguments: RunDataSet.all)
    func resultsAreOrdered(dataSet: RunDataSet) {
        let (runs, queries) = dataSet.make()
        var sawTie = false
        for query in queries {
            let results = query.evaluate(over: runs).runs
            for (earlier, later) in zip(results, results.dropFirst()) {
                let earlierStart = earlier.info.startUTC
                let laterStart = later.info.startUTC
                #expect(earlierStart > laterStart || (earlierStart == laterStart && earlier.sequence > later.sequence))
                sawTie = sawTie || earlierStart == laterStart
            }
        }
        if dataSet.hasManyTies { #expect(sawTie) }
    }

    @Test("Removing any one condition never shrinks total and keeps every match", arguments: RunDataSet.all)
    func looseningNeverShrinks(dataSet: RunDataSet) {
        let (runs, queries) = dataSet.make()
        for query in queries {
            let page = RunQuery(filter: query.filter, paging: .all).evaluate(over: runs)
            let matched = Set(page.runs.map(\.sequence))
            for step in looseningSteps {
                var looser = query.filter
                step.loosen(&looser)
                guard looser != query.filter else { continue }
                let loosePage = RunQuery(filter: looser, paging: .all).evaluate(over: runs)
                #expect(loosePage.total >= page.total, "dropping \(step.name) from \(query.filter)")
                #expect(matched.isSubset(of: Set(loosePage.runs.map(\.sequence))), "dropping \(step.name) from \(query.filter)")
            }
        }
    }

    @Test("Offset pages of any size concatenate to the full result, no run repeated or missing", arguments: RunDataSet.all)
    func windowPagesConcatenateToAll(dataSet: RunDataSet) {
        var generator = SeededGenerator(seed: dataSet.seed ^ 0x5EED)
        let (runs, queries) = dataSet.make(queryCount: 12)
        for query in queries {
            let all = RunQuery(filter: query.filter, paging: .all).evaluate(over: runs)
            // Pages of one run only where that stays cheap: a page costs a pass over every run.
            let sizes = (all.total <= 40 ? [1] : []) + [Int.random(in: 2...60, using: &generator), all.total + 1]
            for size in sizes {
                var collected: [StoredRun] = []
                var offset = 0
                while true {
                    let page = RunQuery(filter: query.filter, paging: .window(limit: size, offset: offset)).evaluate(over: runs)
                    #expect(page.total == all.total)
                    #expect(page.runs.count == min(size, max(0, all.total - offset)))
                    #expect((page.nextCursor != nil) == (offset + size < all.total), "size \(size), offset \(offset)")
                    collected += page.runs
                    offset += size
                    if page.runs.count < size || offset >= all.total { break }
                }
                #expect(collected == all.runs, "size \(size) for \(query.filter)")
                #expect(Set(collected.map(\.sequence)).count == collected.count)
            }
            let beyond = RunQuery(filter: query.filter, paging: .window(limit: 5, offset: all.total + 3)).evaluate(over: runs)
            #expect(beyond == RunPage(total: all.total, runs: []))
        }
    }

    @Test("Walking pages with next cursors gives the full result exactly", arguments: RunDataSet.all)
    func cursorWalkEqualsAll(dataSet: RunDataSet) {
        var generator = SeededGenerator(seed: dataSet.seed ^ 0xC0C0)
        let (runs, queries) = dataSet.make(queryCount: 12)
        for query in queries {
            let all = RunQuery(filter: query.filter, paging: .all).evaluate(over: runs)
            let sizes: [Int?] = (all.total <= 40 ? [1] : []) + [Int.random(in: 2...40, using: &generator), nil]
            for fixedSize in sizes {
                var collected: [StoredRun] = []
                var size = fixedSize ?? Int.random(in: 3...30, using: &generator)
                var page = RunQuery(filter: query.filter, paging: .window(limit: size, offset: 0)).evaluate(over: runs)
                var pageCount = 1
                while true {
                    #expect(page.total == all.total)
                    collected += page.runs
                    guard let cursor = page.nextCursor else { break }
                    #expect(cursor.filterFingerprint == query.filter.fingerprint)
                    #expect(cursor.position == page.runs.last?.position)
                    size = fixedSize ?? Int.random(in: 3...30, using: &generator)
                    page = RunQuery(filter: query.filter, paging: .after(cursor.position, limit: size)).evaluate(over: runs)
                    pageCount += 1
                    if pageCount > runs.count + 2 {
                        Issue.record("cursor walk does not end for \(query.filter)")
                        break
                    }
                }
                #expect(collected == all.runs, "page size \(fixedSize.map(String.init) ?? "random") for \(query.filter)")
            }
        }
    }

    @Test("Walking pages with cursor tokens through query parameters gives the full result exactly", arguments: RunDataSet.all)
    func cursorTokenWalkEqualsAll(dataSet: RunDataSet) throws {
        let (runs, queries) = dataSet.make(queryCount: 15)
        for query in queries {
            guard let parameters = queryParameters(for: query.filter) else { continue }
            #expect(try RunQuery(parameters: parameters).filter == query.filter)
            let all = try RunQuery(parameters: parameters + [("all_data", "true")]).evaluate(over: runs)
            var collected: [StoredRun] = []
            var token: String?
            repeat {
                let pageParameters = parameters + [("limit", "25")] + (token.map { [("cursor", $0)] } ?? [])
                let page = try RunQuery(parameters: pageParameters).evaluate(over: runs)
                collected += page.runs
                token = page.nextCursor?.description
            } while token != nil && collected.count <= runs.count
            #expect(collected == all.runs, "\(query.filter)")
        }
    }

    @Test("Runs stored between cursor pages never make a page repeat or skip an earlier run", arguments: RunDataSet.all)
    func cursorWalkSurvivesInserts(dataSet: RunDataSet) {
        let made = dataSet.make(queryCount: 6)
        var runs = made.runs
        var newcomers = RandomRuns(seed: dataSet.seed &+ 1000)
        for query in made.queries {
            let before = RunQuery(filter: query.filter, paging: .all).evaluate(over: runs)
            var collected: [StoredRun] = []
            var page = RunQuery(filter: query.filter, paging: .window(limit: 12, offset: 0)).evaluate(over: runs)
            collected += page.runs
            while let cursor = page.nextCursor, collected.count <= runs.count {
                var info = newcomers.next()
                if dataSet.hasManyTies { info.startUTC = cursor.position.startUTC }
                runs.append(StoredRun(sequence: Int64(runs.count + 1), info: info))
                page = RunQuery(filter: query.filter, paging: .after(cursor.position, limit: 12)).evaluate(over: runs)
                collected += page.runs
            }
            let sequences = collected.map(\.sequence)
            #expect(Set(sequences).count == sequences.count, "a run was repeated for \(query.filter)")
            #expect(Set(before.runs.map(\.sequence)).isSubset(of: Set(sequences)), "a run was skipped for \(query.filter)")
        }
    }

    // MARK: - Summaries

    @Test("summarize equals an independent grouping of the same runs, exactly", arguments: RunDataSet.all)
    func summariesMatchOracle(dataSet: RunDataSet) {
        let infos = dataSet.make(queryCount: 0).runs.map(\.info)
        let summaries = PipelineSummary.summarize(infos)
        #expect(summaries == QueryOracle.summaries(infos))
        #expect(summaries.map(\.totalRuns).reduce(0, +) == Int64(infos.count))
        #expect(summaries.contains { $0.signature.pipelineName == nil })
        #expect(summaries.contains { $0.avgDuration != nil })
        for subset in [Array(infos.prefix(1)), infos.filter { $0.rowcount == 0 }, infos.filter { $0.elapsedSeconds == 0 }, []] {
            #expect(PipelineSummary.summarize(subset) == QueryOracle.summaries(subset))
        }
    }

    @Test("summarize gives the same numbers whatever order the runs come in", arguments: RunDataSet.all)
    func summariesDoNotDependOnOrder(dataSet: RunDataSet) throws {
        var generator = SeededGenerator(seed: dataSet.seed)
        let infos = dataSet.make(queryCount: 0).runs.map(\.info)
        let expected = QueryOracle.summaries(infos)
        let shuffled = PipelineSummary.summarize(infos.shuffled(using: &generator))
        try #require(shuffled.count == expected.count)
        for (actual, wanted) in zip(shuffled, expected) {
            #expect(actual.signature == wanted.signature)
            #expect(actual.totalRuns == wanted.totalRuns)
            #expect(actual.lastRun == wanted.lastRun)
            #expect(actual.avgRowcount == wanted.avgRowcount)
            switch (actual.avgDuration, wanted.avgDuration) {
            case (nil, nil): break
            case (let actual?, let wanted?): #expect(abs(actual - wanted) <= 1e-12 * abs(wanted), "\(actual) vs \(wanted)")
            default: Issue.record("avg_duration \(String(describing: actual.avgDuration)) vs \(String(describing: wanted.avgDuration))")
            }
        }
    }

    @Test("Averages skip zero values and are null when nothing is positive")
    func averagesSkipZeros() throws {
        var random = RandomRuns(seed: 3)
        var runs: [PipelineInfo] = []
        for (index, elapsed) in [0.0, 10, 20].enumerated() {
            var run = random.next()
            run.pipelineName = "p"
            run.scriptName = nil
            run.pipelineType = "batch"
            run.environment = nil
            run.startUTC = UTCInstant(microsecondsSinceEpoch: Int64(index) * 1_000_000)
            run.elapsedSeconds = elapsed
            run.rowcount = 0
            runs.append(run)
        }
        let summaries = PipelineSummary.summarize(runs)
        let summary = try #require(summaries.first)
        #expect(summaries.count == 1)
        #expect(summary.totalRuns == 3)
        #expect(summary.avgDuration == 15)
        #expect(summary.avgRowcount == nil)
        #expect(summary.lastRun == UTCInstant(microsecondsSinceEpoch: 2_000_000))
        #expect(summary.signature == PipelineSignature(pipelineName: "p", scriptName: nil, pipelineType: "batch", environment: nil))
    }

    // MARK: - RunIndex (PipelineStore) against the pure module

    @Test("RunIndex evaluates every query exactly like RunQuery.evaluate", arguments: RunDataSet.all)
    func runIndexMatchesEvaluate(dataSet: RunDataSet) {
        var generator = SeededGenerator(seed: dataSet.seed ^ 0x1DE)
        let (runs, queries) = dataSet.make()
        var appended = RunIndex()
        for run in runs {
            let stored = appended.append(run.info)
            #expect(stored == run)
        }
        #expect(appended.runs == runs)
        #expect(appended.count == runs.count)
        let bulk = RunIndex(runs: runs.map(\.info))
        #expect(bulk.runs == runs)
        // Bulk-loaded, then grown one run at a time.
        var mixed = RunIndex(runs: runs.prefix(runs.count / 2).map(\.info))
        for run in runs.dropFirst(runs.count / 2) { mixed.append(run.info) }

        for query in indexQueries(from: queries, over: runs, using: &generator) {
            let expected = query.evaluate(over: runs)
            #expect(appended.evaluate(query) == expected, "appended: \(query)")
            #expect(bulk.evaluate(query) == expected, "bulk: \(query)")
            #expect(mixed.evaluate(query) == expected, "mixed: \(query)")
        }
    }

    /// The random queries, each also continued from cursor positions, plus queries aimed at the
    /// index's shortcuts: a pipeline name alone (or with a start bound), no filter, unknown values.
    private func indexQueries(from queries: [RunQuery], over runs: [StoredRun], using generator: inout SeededGenerator) -> [RunQuery] {
        var filters = queries.map(\.filter)
        let someStart = runs[runs.count / 2].info.startUTC
        for name in RandomRuns.pipelineNames.compactMap({ $0 }) + ["never_seen"] {
            filters.append(RunFilter(pipelineName: .equals(name)))
            filters.append(RunFilter(startUTCFrom: someStart, pipelineName: .equals(name)))
            filters.append(RunFilter(endUTCTo: someStart, pipelineName: .equals(name)))
            filters.append(RunFilter(pipelineName: .equals(name), environment: "prod"))
        }
        filters += [
            RunFilter(), RunFilter(startUTCFrom: someStart), RunFilter(scriptName: "never_seen"), RunFilter(pipelineType: "never_seen"),
            RunFilter(environment: "never_seen"), RunFilter(minRowcount: 0, maxRowcount: 0), RunFilter(endUTCTo: someStart),
        ]
        var result = queries
        for filter in filters {
            let anchor = runs.randomElement(using: &generator)!.position
            let nearby = RunPosition(startUTC: anchor.startUTC, sequence: anchor.sequence + Int64.random(in: -2...2, using: &generator))
            let limit = Int.random(in: 1...40, using: &generator)
            result += [
                RunQuery(filter: filter, paging: .all),
                RunQuery(filter: filter, paging: .window(limit: limit, offset: Int.random(in: 0...60, using: &generator))),
                RunQuery(filter: filter, paging: .window(limit: 3, offset: runs.count + 5)),
                RunQuery(filter: filter, paging: .after(anchor, limit: limit)),
                RunQuery(filter: filter, paging: .after(nearby, limit: limit)),
            ]
        }
        return result
    }

    @Test("RunIndex summaries equal PipelineSummary.summarize", arguments: RunDataSet.all)
    func runIndexSummariesMatch(dataSet: RunDataSet) {
        let runs = dataSet.make(queryCount: 0).runs
        var index = RunIndex()
        for (count, run) in runs.enumerated() {
            index.append(run.info)
            if count.isMultiple(of: 50) {
                #expect(index.summaries() == PipelineSummary.summarize(runs.prefix(count + 1).map(\.info)))
            }
        }
        #expect(index.summaries() == PipelineSummary.summarize(runs.map(\.info)))
    }
}
