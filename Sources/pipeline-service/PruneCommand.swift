import ArgumentParser
import Foundation
import Logging
import PipelineCore
import PipelineServer
import PipelineStore

/// `pipeline-service prune --older-than 90d`: deletes old runs from the configured backend.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete the runs that started longer ago than a period from the configured backend.",
        discussion: """
            A period is a positive whole number and a unit: 30m, 12h, 90d or 2w; the cutoff is now minus the period. \
            Runs are deleted oldest first, in batches of one transaction each (one rewrite of the file for JSONL), \
            so an interrupted prune can be run again. Stop the service that uses a JSONL file first (the file is \
            locked while it runs), or let the service prune itself with PIPELINE_RETENTION_DAYS. \
            Exits 0 on success, 64 on a usage error, 2 on a bad setting and 1 when the storage fails.
            """
    )

    @Option(name: .customLong("older-than"), help: "Delete runs that started longer ago than this: 30m, 12h, 90d or 2w.")
    var olderThan: String

    @Flag(name: .customLong("dry-run"), help: "Count the runs that would be deleted; delete nothing.")
    var dryRun = false

    @Option(name: .customLong("batch-size"), help: "Runs deleted per transaction (1…1000000).")
    var batchSize = 10_000

    @OptionGroup var storage: StorageOptions

    private func period() throws -> RetentionPeriod {
        do {
            return try RetentionPeriod(parsing: olderThan)
        } catch {
            throw ArgumentParser.ValidationError("--older-than: \(error)")
        }
    }

    func validate() throws {
        _ = try period()
        guard (1...1_000_000).contains(batchSize) else {
            throw ArgumentParser.ValidationError("--batch-size must be between 1 and 1000000 (got \(batchSize))")
        }
    }

    func run() async throws {
        let period = try self.period()
        let cutoff = period.cutoff(now: ServiceConfiguration.systemClock())
        let (dryRun, batchSize) = (self.dryRun, self.batchSize)
        let count = try await storage.withRepository(label: "pipeline-service.prune", access: .readWriteExisting) { repository, _ in
            let total = try await repository.countRuns(startedBefore: cutoff)
            guard !dryRun else { return total }
            var deleted = 0
            while true {
                let batch = try await repository.deleteRuns(startedBefore: cutoff, limit: batchSize)
                deleted += batch
                ProgressLine.show("\(deleted) of \(total) runs deleted")
                if batch < batchSize { break }
            }
            ProgressLine.end()
            return deleted
        }
        if dryRun {
            print("prune --dry-run: \(count) runs started before \(cutoff) (older than \(period)); nothing was deleted")
        } else {
            print("prune: deleted \(count) runs that started before \(cutoff) (older than \(period))")
        }
    }
}
