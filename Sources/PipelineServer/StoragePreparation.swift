public import Logging
public import PipelineCore
import PipelineStore
public import ServiceLifecycle
import Synchronization

/// Readies the storage (migrations, the checks of a mapped table) and says whether it is ready.
///
/// The first attempt runs before the server listens (``prepareBeforeServing()``), so a wrong
/// setting stops start-up before a port is taken, with one line naming it. Only a database that
/// cannot be reached yet (``StorageUnreachable``: nothing listens, the host does not resolve yet,
/// the server is still starting) is waited for, because containers start in any order: the
/// server then starts anyway and answers `/health`, and every request that needs storage, with
/// 503, while ``run()`` tries again, 1 s after the first try, doubling to at most 10 s apart,
/// with one log line per try, until `wait` has passed since start. Then the process stops with
/// the last reason, as it would have at once without a wait.
public final class StoragePreparation: Service, Sendable {
    /// Stopping the process when the wait for the database is over. Its owner connects it to the
    /// service group that runs the server (``connect(_:)``): giving up then shuts that group down
    /// gracefully, and the owner reads ``failure`` once it has stopped. Unconnected, giving up
    /// throws from ``run()``, which cancels the group, and Hummingbird logs the cancelled server
    /// as an error ("Waiting on child channel: CancellationError()"), a false alarm at 3 a.m.
    public final class GivingUp: Sendable {
        private let state = Mutex<(shutdown: (@Sendable () async -> Void)?, failure: ConfigurationError?)>((nil, nil))

        public init() {}

        /// How to shut the server's group down gracefully (`group.triggerGracefulShutdown()`).
        public func connect(_ shutdown: @escaping @Sendable () async -> Void) {
            state.withLock { $0.shutdown = shutdown }
        }

        /// Why the storage was given up, once it was: the process's failure.
        public var failure: ConfigurationError? { state.withLock { $0.failure } }

        /// Records the failure and shuts the group down; false when nothing is connected.
        fileprivate func giveUp(_ failure: ConfigurationError) async -> Bool {
            guard
                let shutdown = state.withLock({ state -> (@Sendable () async -> Void)? in
                    state.failure = failure
                    return state.shutdown
                })
            else { return false }
            await shutdown()
            return true
        }
    }

    /// The longest time between two tries.
    static let longestDelay: Duration = .seconds(10)

    private enum State {
        case preparing
        case waiting(attempts: Int)
        case ready
    }

    private let prepare: @Sendable () async throws -> Void
    private let onReady: @Sendable () -> Void
    private let givingUp: GivingUp
    private let wait: Duration
    private let logger: Logger
    private let started = ContinuousClock.now
    private let state = Mutex<State>(.preparing)
    /// Carries one element once the first attempt is over: whether ``run()`` must try again.
    private let firstOutcome: AsyncStream<Bool>
    private let firstOutcomeContinuation: AsyncStream<Bool>.Continuation

    /// - Parameters:
    ///   - wait: how long an unreachable database is waited for, from start; zero stops start-up
    ///     at the first failure.
    ///   - onReady: called once, when the storage is ready.
    ///   - givingUp: how the process stops when the wait is over.
    public init(
        wait: Duration,
        logger: Logger,
        prepare: @escaping @Sendable () async throws -> Void,
        onReady: @escaping @Sendable () -> Void = {},
        givingUp: GivingUp = GivingUp()
    ) {
        (self.wait, self.logger, self.prepare, self.onReady, self.givingUp) = (wait, logger, prepare, onReady, givingUp)
        (firstOutcome, firstOutcomeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Why the storage cannot be used yet, for `/health`, which is open to anyone: without the
    /// database's address (the log has it); nil once it is ready.
    public var notReadyReason: String? {
        switch state.withLock({ $0 }) {
        case .ready: nil
        case .preparing: "the storage is being prepared"
        case .waiting(let attempts):
            "waiting for the database to accept connections (\(attempts) \(attempts == 1 ? "try" : "tries") so far)"
        }
    }

    /// The first attempt, before the server listens. Throws what stops start-up: any failure,
    /// or an unreachable database when there is no time to wait for it.
    public func prepareBeforeServing() async throws {
        do {
            try await prepare()
            becomeReady(attempts: 1)
            firstOutcomeContinuation.yield(false)
        } catch let error as StorageUnreachable where wait > .zero {
            noteUnreachable(error, attempts: 1, retryIn: .seconds(1))
            firstOutcomeContinuation.yield(true)
        } catch let error as StorageUnreachable {
            firstOutcomeContinuation.finish()
            throw error.error
        } catch {
            firstOutcomeContinuation.finish()
            throw error
        }
        firstOutcomeContinuation.finish()
    }

    public func run() async throws {
        var outcome = firstOutcome.makeAsyncIterator()
        if await outcome.next() == true {
            do {
                // SIGTERM while waiting ends the wait at once: the process stops as asked.
                try await cancelWhenGracefulShutdown { try await self.retryUntilReady() }
            } catch is CancellationError where Task.isShuttingDownGracefully {
                logger.info("Shutting down while waiting for the database")
                return
            } catch let failure as ConfigurationError {
                guard await givingUp.giveUp(failure) else { throw failure }
                logger.info("Shutting down: the database could not be reached in time")
            }
        }
        // A service that returns would end the group: stay until shutdown.
        try await gracefulShutdown()
    }

    private func retryUntilReady() async throws {
        var delay: Duration = .seconds(1)
        var attempts = 1
        while true {
            let remaining = wait - started.duration(to: .now)
            try await Task.sleep(for: max(.zero, min(delay, remaining)))
            attempts += 1
            do {
                try await prepare()
                becomeReady(attempts: attempts)
                return
            } catch let error as StorageUnreachable {
                delay = min(delay * 2, Self.longestDelay)
                let remaining = wait - started.duration(to: .now)
                guard remaining > .zero else {
                    var failure = error.error
                    failure.message += " (still unreachable after \(attempts) tries in \(wait.components.seconds) s)"
                    throw failure
                }
                noteUnreachable(error, attempts: attempts, retryIn: min(delay, remaining))
            }
        }
    }

    private func noteUnreachable(_ error: StorageUnreachable, attempts: Int, retryIn: Duration) {
        state.withLock { $0 = .waiting(attempts: attempts) }
        let givesUpIn = max(.zero, wait - started.duration(to: .now))
        logger.warning(
            "The database cannot be reached yet; trying again",
            metadata: [
                "reason": "\(error.error.message)", "try": "\(attempts)",
                "retry_in_s": "\(Self.seconds(retryIn))", "gives_up_in_s": "\(Self.seconds(givesUpIn))",
            ]
        )
    }

    private func becomeReady(attempts: Int) {
        state.withLock { $0 = .ready }
        if attempts > 1 { logger.info("The database is reachable; the storage is ready", metadata: ["tries": "\(attempts)"]) }
        onReady()
    }

    private static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }
}
