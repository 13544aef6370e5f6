/// `PipelineInfoResponse` (SPEC §2.3): one page of runs with its totals.
public struct PipelineInfoResponse: Sendable, Hashable {
    /// Every match regardless of paging.
    public var total: Int
    public var results: [PipelineInfo]
    /// Where the next page starts (keyset paging); nil on the last page and with `all_data`.
    public var nextCursor: RunCursor?

    public init(page: RunPage) {
        self.total = page.total
        self.results = page.runs.map(\.info)
        self.nextCursor = page.nextCursor
    }

    /// `len(results)`.
    public var count: Int { results.count }

    /// The distinct non-null pipeline names in `results`, sorted.
    public var pipelines: [String] { Set(results.compactMap(\.pipelineName)).sorted() }

    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256 + results.count * 640)
        writer.raw("{\"total\":")
        writer.integer(Int64(total))
        writer.raw(",\"count\":")
        writer.integer(Int64(count))
        writer.raw(",\"results\":[")
        for (position, run) in results.enumerated() {
            if position > 0 { writer.raw(",") }
            run.write(to: &writer)
        }
        writer.raw("],\"pipelines\":[")
        for (position, name) in pipelines.enumerated() {
            if position > 0 { writer.raw(",") }
            writer.string(name)
        }
        writer.raw("],\"next_cursor\":")
        writer.optionalString(nextCursor?.description)
        writer.raw("}")
        return writer.bytes
    }
}

/// `PipelineListResponse` (SPEC §2.3).
public struct PipelineListResponse: Sendable, Hashable {
    public var pipelines: [PipelineSummary]

    public init(pipelines: [PipelineSummary]) {
        self.pipelines = pipelines
    }

    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + pipelines.count * 300)
        writer.raw("{\"pipelines\":[")
        for (position, summary) in pipelines.enumerated() {
            if position > 0 { writer.raw(",") }
            summary.write(to: &writer)
        }
        writer.raw("]}")
        return writer.bytes
    }
}
