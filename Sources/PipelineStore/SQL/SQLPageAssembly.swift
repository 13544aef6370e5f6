import PipelineCore

/// How both SQL backends answer `runs(matching:)`, in three steps around their own execution:
/// read the page with one run more than asked (``SQLStatements/page(_:walkingResultOrder:)``), count
/// the matches only when the page cannot tell their number (``knownTotal(fetched:)``), and make
/// the page (``page(fetched:total:)``), whose cursor says whether more runs follow.
///
/// Page and count are read in one snapshot by the caller, so they agree.
struct SQLPageAssembly {
    let query: RunQuery

    /// The number of matches when the fetched runs tell it without a count: the caller's known
    /// total, every match (`all_data`), or a window page that starts inside the matches and ends
    /// them. Nil when the matches must be counted.
    func knownTotal(fetched: Int) -> Int? {
        if let known = query.knownTotal { return known }
        switch query.paging {
        case .all:
            return fetched
        case .window(let limit, let offset):
            return fetched <= limit && (fetched > 0 || offset == 0) ? offset + fetched : nil
        case .after:
            return nil
        }
    }

    /// The page from the fetched runs (one more than the limit when more follow) and the total.
    func page(fetched: [StoredRun], total: Int) -> RunPage {
        guard let limit = query.paging.limit else { return RunPage(total: total, runs: fetched) }
        let runs = Array(fetched.prefix(max(0, limit)))
        return RunPage(total: total, runs: runs, nextCursor: query.nextCursor(after: runs, totalIsBeyond: fetched.count > runs.count))
    }
}

extension SQLStatements {
    /// The count of a filter's matches: from the summary table when there is one and the filter
    /// only names signature fields, else over the runs.
    func count(_ filter: RunFilter, summary: SQLSummaryTable?) -> SQLStatement {
        summary.flatMap { countFromSummary(filter, in: $0) } ?? count(filter)
    }
}
