public import Logging
import PipelineCore

/// Copies every run from one repository to another — between any two backends — in batches,
/// oldest first, so the destination keeps the source's order (including ties in `start_utc`):
/// the finished runs, then the runs still running.
///
/// Resumable: inserts are idempotent, so a copy that was interrupted can be run again and only
/// stores what is missing. Verifiable: at the end the two sides' counts and order-independent
/// checksums of every run are compared.
public struct RunMigrator: Sendable {
    /// Counts so far, and the verification once the copy is done.
    public struct Report: Sendable, CustomStringConvertible {
        public var sourceRuns = 0
        public var copied = 0
        public var alreadyPresent = 0
        public var conflicts = 0
        public var sourceChecksum: UInt64 = 0
        public var destinationRuns = 0
        public var destinationChecksum: UInt64 = 0

        /// Whether the destination now holds exactly the source's runs.
        public var isVerified: Bool { destinationRuns == sourceRuns && destinationChecksum == sourceChecksum && conflicts == 0 }

        public var description: String {
            let verdict =
                isVerified
                ? "verified: \(destinationRuns) runs on both sides, checksum \(String(sourceChecksum, radix: 16))"
                : "NOT verified: source \(sourceRuns) runs (checksum \(String(sourceChecksum, radix: 16))), "
                    + "destination \(destinationRuns) runs (checksum \(String(destinationChecksum, radix: 16)))"
            return "\(copied) copied, \(alreadyPresent) already present, \(conflicts) conflicting; \(verdict)"
        }
    }

    public let batchSize: Int

    public init(batchSize: Int = 2000) {
        self.batchSize = max(1, batchSize)
    }

    public func migrate(
        from source: any PipelineRunRepository,
        to destination: any PipelineRunRepository,
        logger: Logger = Logger(label: "pipeline-service.migrate"),
        progress: (Report) -> Void = { _ in }
    ) async throws -> Report {
        var report = Report()
        // Runs still running are read only when asked for: they are copied after the finished runs.
        let sets = [RunFilter(), RunFilter(status: .equals(RunStatus.running))]
        // What the destination already holds, by checksum: a run is copied only if the destination does
        // not hold an identical one yet, so a second run copies nothing — also for runs without a
        // pipeline_name, which the idempotency key does not cover.
        var present: [UInt64: Int] = [:]
        for filter in sets {
            for try await page in RunPages(of: destination, matching: filter, pageSize: batchSize) {
                for run in page.runs { present[Self.checksum(run.info), default: 0] += 1 }
            }
        }
        for filter in sets {
            try await copy(matching: filter, from: source, to: destination, present: &present, report: &report, progress: progress)
        }
        if report.copied > 0 { await destination.refreshStatisticsAfterLoading(logger: logger) }
        // Verification: read the destination back in full.
        for filter in sets {
            for try await page in RunPages(of: destination, matching: filter, pageSize: batchSize) {
                if page.nextCursor == nil { report.destinationRuns += page.total }
                for run in page.runs { report.destinationChecksum &+= Self.checksum(run.info) }
            }
        }
        return report
    }

    /// Copies the runs `filter` selects, oldest first, skipping those `present` holds.
    private func copy(
        matching filter: RunFilter,
        from source: any PipelineRunRepository,
        to destination: any PipelineRunRepository,
        present: inout [UInt64: Int],
        report: inout Report,
        progress: (Report) -> Void
    ) async throws {
        // Pass 1: where each page of the newest-first order starts (after the last run of the page
        // before), not the runs themselves.
        var starts: [RunPosition?] = [nil]
        var total = 0
        for try await page in RunPages(of: source, matching: filter, pageSize: batchSize) {
            total = page.total
            if page.nextCursor != nil, let last = page.runs.last { starts.append(last.position) }
        }
        report.sourceRuns += total
        // Pass 2: the pages from the oldest, each oldest run first, so insertion order matches the source's.
        for start in starts.reversed() {
            let paging: RunPaging = start.map { .after($0, limit: batchSize) } ?? .window(limit: batchSize, offset: 0)
            var missing: [PipelineInfo] = []
            for run in try await source.runs(matching: RunQuery(filter: filter, paging: paging)).runs.reversed().map(\.info) {
                let checksum = Self.checksum(run)
                report.sourceChecksum &+= checksum
                if let count = present[checksum], count > 0 {
                    present[checksum] = count - 1
                    report.alreadyPresent += 1
                } else {
                    missing.append(run)
                }
            }
            let counts = try await destination.insertCounting(missing)
            report.copied += counts.created + counts.updated
            report.alreadyPresent += counts.existing
            report.conflicts += counts.conflicts
            progress(report)
        }
    }

    /// FNV-1a of a run's canonical JSON; summed over runs it does not depend on order.
    static func checksum(_ run: PipelineInfo) -> UInt64 {
        FNV1a.hash(run.jsonBytes)
    }
}
