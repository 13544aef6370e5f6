import Logging
import PipelineCore
import PipelineStore

/// The audit trail of writes: one structured log line per accepted write, at `notice`, saying who
/// (the API key's label or key id, `anonymous` when keys are off — never the key), what (method and
/// route from the request's metadata, the run's `pipeline_name` and `date_code`, and whether it was
/// `created` or already `existing`) and when (the line's time).
enum WriteAudit {
    static let anonymous = "anonymous"

    /// Records one accepted run.
    static func record(_ outcome: InsertOutcome, logger: Logger) {
        let run = outcome.storedRun.info
        logger.notice(
            "write accepted",
            metadata: caller(of: logger).merging([
                "audit": "write",
                "pipeline_name": run.pipelineName.map { .string($0) } ?? "null",
                "date_code": .string(run.dateCode),
                "run_id": run.runID.map { .string($0) } ?? "null",
                "outcome": .string(outcome.label),
            ]) { _, new in new }
        )
    }

    /// Records one accepted batch of runs, stored all or none, as one line with its counts.
    static func record(batch outcomes: [InsertOutcome], logger: Logger) {
        let created = outcomes.filter(\.isWritten).count
        logger.notice(
            "write accepted",
            metadata: caller(of: logger).merging([
                "audit": "write",
                "runs": .stringConvertible(outcomes.count),
                "created": .stringConvertible(created),
                "existing": .stringConvertible(outcomes.count - created),
            ]) { _, new in new }
        )
    }

    private static func caller(of logger: Logger) -> Logger.Metadata {
        logger[metadataKey: LogMetadataKey.apiKey] == nil ? [LogMetadataKey.apiKey: .string(anonymous)] : [:]
    }
}
