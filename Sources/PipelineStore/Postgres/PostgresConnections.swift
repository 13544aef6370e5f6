import Logging
import PipelineCore
import PostgresNIO
import Synchronization

/// The pooled client, with the two things every operation needs: a bounded wait for a
/// connection, and failures turned into `StorageError`s that are safe to show.
///
/// `PostgresClient` waits for a connection for as long as the server is unreachable; here that
/// wait ends after `timeout`, so a request fails fast while the database is down, and the pool
/// keeps reconnecting in the background so that service resumes when the database is back.
struct PostgresConnections: Sendable {
    static let notReachable = "the database is not reachable"
    static let notCompleted = "the database could not complete the request"

    let client: PostgresClient
    let timeout: Duration
    let logger: Logger

    /// Runs `body` on a pooled connection. Throws a `StorageError` (or a `ConfigurationError` that
    /// `body` threw) and logs the underlying failure.
    func withConnection<Value: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        do {
            return try await withOpenConnection(body)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw storageError(for: error, during: operation)
        }
    }

    /// Runs `body` on a pooled connection, failing with `PostgresTimeout` when none comes in time.
    ///
    /// Races the lease against the timeout. Whichever settles the shared state first wins, so a
    /// connection leased just after the timeout fired is handed back unused.
    func withBoundedLease<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let lease = LeaseRace()
        return try await withThrowingTaskGroup(of: LeaseOutcome<Value>.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    guard lease.settle(.leased) else { throw PostgresTimeout() }
                    return .finished(try await body(connection))
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                guard !lease.settle(.timedOut) else { throw PostgresTimeout() }
                return .leasedInTime
            }
            while let outcome = try await group.next() {
                if case .finished(let value) = outcome {
                    group.cancelAll()
                    return value
                }
            }
            throw PostgresTimeout()
        }
    }

    /// Runs `body` on a pooled connection, as ``withBoundedLease(_:)``, and gives up on it after
    /// `limit`: the caller then gets `PostgresTimeout` and the connection is closed, which fails
    /// a statement still waiting if the connection is still open.
    ///
    /// For the writer, which all writes wait behind. PostgresNIO drops, without failing it, a
    /// statement written to a connection whose channel has just closed (the pool hands out such a
    /// connection for a moment after the server restarts), and a waiting statement does not
    /// answer task cancellation. Such a statement would otherwise stop every later write of the
    /// process while reads and `/health` still answered (a replica test saw it in about one
    /// database restart in three). A connection found closed when leased is handed back and
    /// another one leased, once; the deadline catches the rest, leaving the stuck task behind.
    func withBoundedOperation<Value: Sendable>(
        _ operation: String,
        limit: Duration,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let race = OperationRace<Value>()
        let leased = LeasedConnection()
        let logger = logger
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let work = Task {
                    do {
                        let value = try await withOpenConnection { connection in
                            // Known to the deadline only while this operation holds it: once handed
                            // back, the pool may lease it to the next write.
                            leased.connection.withLock { $0 = connection }
                            defer { leased.connection.withLock { $0 = nil } }
                            return try await body(connection)
                        }
                        race.finish(.success(value))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: limit)
                    guard race.finish(.failure(PostgresTimeout())) else { return }
                    logger.error("PostgreSQL \(operation) got no answer in time; its connection is closed", metadata: ["limit": "\(limit)"])
                    work.cancel()
                    if let connection = leased.connection.withLock({ $0 }) { try? await connection.close() }
                }
                race.onFinish { timer.cancel() }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// ``withBoundedLease(_:)`` on a connection that is open when leased: one found closed (the pool
    /// still hands one out for a moment after the server went away, and a statement written to it
    /// is dropped unanswered) is handed back and another one leased, once.
    private func withOpenConnection<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let onOpen: @Sendable (PostgresConnection) async throws -> Value = { connection in
            guard !connection.isClosed else { throw ClosedConnection() }
            return try await body(connection)
        }
        do {
            return try await withBoundedLease(onOpen)
        } catch is ClosedConnection {
            return try await withBoundedLease(onOpen)
        }
    }

    /// The client-safe form of a failure; the failure itself is logged.
    func storageError(for error: any Error, during operation: String) -> StorageError {
        if let error = error as? StorageError { return error }
        let mapped: StorageError
        switch error {
        case let error as PSQLError where error.code == .server:
            switch error.serverInfo?[.sqlState] ?? "" {
            case "53100": mapped = .storageFull  // disk_full
            case "25006": mapped = .readOnly  // read_only_sql_transaction
            case let state where state.hasPrefix("08") || state.hasPrefix("57P"):
                // connection_exception; admin_shutdown, crash_shutdown, cannot_connect_now
                mapped = .unavailable(Self.notReachable)
            default: mapped = .unavailable(Self.notCompleted)
            }
        case is PSQLError, is PostgresTimeout:
            mapped = .unavailable(Self.notReachable)
        case is PostgresDecodingError:
            mapped = .corrupt("a stored run could not be read")
        default:
            mapped = .unavailable(Self.notReachable)
        }
        logger.error(
            "PostgreSQL \(operation) failed",
            metadata: ["error": "\(String(reflecting: error))", "answer": "\(mapped)"]
        )
        return mapped
    }

    /// Runs `body` and gives up after `limit`, cancelling it.
    static func withTimeout<Value: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        try await withThrowingTaskGroup(of: Value.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw PostgresTimeout()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw PostgresTimeout() }
            return first
        }
    }
}

/// No connection could be had in time.
struct PostgresTimeout: Error, CustomStringConvertible {
    var description: String { "no database connection within the time limit" }
}

private enum LeaseOutcome<Value: Sendable>: Sendable {
    case finished(Value)
    case leasedInTime
}

/// A pooled connection that was already closed when leased.
private struct ClosedConnection: Error {}

/// The connection an operation leased, for closing it when the operation is given up.
private final class LeasedConnection: Sendable {
    let connection = Mutex<PostgresConnection?>(nil)
}

/// The first of an operation's result and its deadline, delivered once.
private final class OperationRace<Value: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<Value, any Error>?, isFinished: Bool, onFinish: (@Sendable () -> Void)?)>(
        (nil, false, nil)
    )

    /// Takes the caller's continuation; resumes it at once when the caller was cancelled first.
    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let isOver = state.withLock { state in
            if !state.isFinished { state.continuation = continuation }
            return state.isFinished
        }
        if isOver { continuation.resume(throwing: CancellationError()) }
    }

    /// Runs `action` once the race is over (at once if it already is).
    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let isFinished = state.withLock { state in
            if !state.isFinished { state.onFinish = action }
            return state.isFinished
        }
        if isFinished { action() }
    }

    /// Delivers `result` if nothing was delivered yet; false when the race was already over.
    @discardableResult
    func finish(_ result: Result<Value, any Error>) -> Bool {
        let (continuation, action) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, (@Sendable () -> Void)?) in
            guard !state.isFinished else { return (nil, nil) }
            state.isFinished = true
            defer { (state.continuation, state.onFinish) = (nil, nil) }
            return (state.continuation, state.onFinish)
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        action?()
        return true
    }
}

private final class LeaseRace: Sendable {
    enum State {
        case waiting
        case leased
        case timedOut
    }

    private let state = Mutex(State.waiting)

    /// Moves from waiting to `end`; false when the other side settled first.
    func settle(_ end: State) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = end
            return true
        }
    }
}
