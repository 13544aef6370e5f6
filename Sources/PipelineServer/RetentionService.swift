public import Logging
public import PipelineCore
public import PipelineStore
public import ServiceLifecycle

/// The scheduled retention job (`PIPELINE_RETENTION_DAYS`): deletes the runs that started before
/// `now − period`, once as soon as the storage is ready, then every `interval`, in batches.
///
/// A failing pass is logged and tried again at the next one; it never stops the server. Graceful
/// shutdown ends the wait between passes at once, and a pass between two batches.
public struct RetentionService<Repository: PipelineRunRepository>: Service {
    /// Runs deleted per call, each call one transaction (one file rewrite on JSONL).
    public static var batchSize: Int { 10_000 }

    let repository: Repository
    let period: RetentionPeriod
    let interval: Duration
    let clock: @Sendable () -> UTCInstant
    let logger: Logger
    private let readiness: AsyncStream<Void>
    private let ready: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - interval: the time from the end of one pass to the start of the next.
    ///   - clock: the wall clock the cutoff is measured back from.
    public init(
        repository: Repository,
        period: RetentionPeriod,
        interval: Duration = .seconds(3_600),
        clock: @escaping @Sendable () -> UTCInstant = ServiceConfiguration.systemClock,
        logger: Logger
    ) {
        (self.repository, self.period, self.interval, self.clock) = (repository, period, interval, clock)
        self.logger = logger
        (readiness, ready) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Lets the first pass start: the storage is prepared (migrations applied, pool running).
    public func storageIsReady() {
        ready.yield()
        ready.finish()
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            // Ends early, without an element, when the service is cancelled before the storage is ready.
            var waiting = readiness.makeAsyncIterator()
            guard await waiting.next() != nil else { return }
            while !Task.isCancelled {
                await pass()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Deletes every run that started before the cutoff, a batch at a time, and logs the outcome.
    /// Returns the number deleted, or nil when the storage failed.
    @discardableResult
    public func pass() async -> Int? {
        let cutoff = period.cutoff(now: clock())
        var deleted = 0
        do {
            while !Task.isCancelled {
                let batch = try await repository.deleteRuns(startedBefore: cutoff, limit: Self.batchSize)
                deleted += batch
                if batch < Self.batchSize { break }
            }
        } catch {
            if Task.isCancelled { return deleted }
            logger.error(
                "Retention pass failed; it is tried again at the next pass",
                metadata: ["deleted": "\(deleted)", "cutoff": "\(cutoff)", "error": "\(error)"]
            )
            return nil
        }
        logger.info(
            "Retention pass deleted \(deleted) run(s) that started before \(cutoff)",
            metadata: ["deleted": "\(deleted)", "cutoff": "\(cutoff)", "retention": "\(period)"]
        )
        return deleted
    }
}

extension ServiceConfiguration {
    /// `retentionDays` as a period; nil when retention is off.
    public var retentionPeriod: RetentionPeriod? {
        retentionDays.flatMap { try? RetentionPeriod(amount: $0, unit: .days) }
    }
}
