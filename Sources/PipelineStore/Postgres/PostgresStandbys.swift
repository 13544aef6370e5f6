import Logging
import PipelineCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A read replica as `/health` and `/metrics` show it.
public struct ReplicaState: Sendable, Hashable {
    /// `host:port/database`, never a password.
    public var server: String
    public var isReachable: Bool
    /// Whether the server is in recovery, as a streaming standby is; false for a primary named as
    /// a read URL by mistake.
    public var isStandby: Bool
    /// Whether its WAL receiver is streaming from the primary; a standby that is not has stopped
    /// receiving writes, and falls further behind until its link is repaired.
    public var isStreaming: Bool
    /// How far the standby's replay is behind: 0 while it streams and has replayed all it
    /// received, else the age of the last transaction it replayed; nil when unreachable or not a
    /// standby.
    public var lagSeconds: Double? = nil
}

/// The hot standbys that serve reads (`PIPELINE_POSTGRES_READ_URL`), taken in turn.
///
/// A standby that fails is skipped for ``pause``, so one that is down costs one wait for a
/// connection, not one per read; when every standby is skipped or fails, the primary answers. A
/// standby is behind the primary by its replication lag, so what a reader sees may be that stale:
/// writes, and everything a write reads (idempotency checks, the record it echoes), stay on the
/// primary.
struct PostgresStandbys: Sendable {
    static let pause: Duration = .seconds(10)

    struct Standby: Sendable {
        let url: PostgresURL
        let connections: PostgresConnections
    }

    let standbys: [Standby]
    private let turns = Turns()

    /// Which standby reads next, and until when each failed one is skipped.
    private final class Turns: Sendable {
        let state = Mutex<(next: Int, skippedUntil: [Int: ContinuousClock.Instant])>((0, [:]))
    }

    /// - Parameter schema: the table's schema, which standby sessions search as the primary's do.
    init(urls: [String], schema: String?, timeout: Duration, logger: Logger) throws(ConfigurationError) {
        var standbys: [Standby] = []
        for text in urls {
            var url = try PostgresURL(text, setting: .postgresReadURL)
            url.searchSchema(schema)
            let client = PostgresClient(configuration: url.clientConfiguration(connectTimeout: timeout), backgroundLogger: logger)
            standbys.append(Standby(url: url, connections: PostgresConnections(client: client, timeout: timeout, logger: logger)))
        }
        self.standbys = standbys
    }

    /// The connection pools, which must run while the repository is used.
    var services: [any Service] { standbys.map(\.connections.client) }

    /// Runs `body` on the next standby that answers, else on `primary`.
    func withConnection<Value: Sendable>(
        _ operation: String,
        primary: PostgresConnections,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        for index in order() {
            do {
                return try await standbys[index].connections.withConnection(operation, body)
            } catch let error as StorageError where error == .unavailable(PostgresConnections.notReachable) && !Task.isCancelled {
                // Only a standby that cannot be reached is skipped: a request cancelled (its client
                // gone, its time up) or a statement the server refused says nothing about it, and
                // trying that statement on every other server would only multiply its cost.
                skip(index)
            }
        }
        return try await primary.withConnection(operation, body)
    }

    /// `body`'s answer from the first standby, in the order they were given, that gives one within
    /// the connect timeout; nil when none does (each failure is logged).
    func firstAnswer<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value?) async -> Value? {
        for standby in standbys {
            do {
                if let value = try await standby.connections.withBoundedLease(body) { return value }
            } catch {
                standby.connections.logger.warning(
                    "A standby did not answer",
                    metadata: ["standby": "\(standby.url)", "error": "\(String(reflecting: error))"]
                )
            }
        }
        return nil
    }

    /// The standbys not being skipped, starting with the one whose turn it is.
    private func order() -> [Int] {
        guard !standbys.isEmpty else { return [] }
        let now = ContinuousClock.now
        return turns.state.withLock { state in
            let first = state.next
            state.next = (state.next + 1) % standbys.count
            return (0..<standbys.count).map { (first + $0) % standbys.count }.filter { index in
                guard let until = state.skippedUntil[index] else { return true }
                if until <= now { state.skippedUntil[index] = nil }
                return until <= now
            }
        }
    }

    private func skip(_ index: Int) {
        turns.state.withLock { $0.skippedUntil[index] = ContinuousClock.now + Self.pause }
    }

    /// The longest `/health` and `/metrics` wait for a standby's state.
    static let stateLimit: Duration = .seconds(2)

    /// Each standby's reachability and lag, asked of all at once, each within ``stateLimit``, so a
    /// standby that does not answer cannot hold up a health check.
    ///
    /// The lag is 0 while a streaming standby has replayed all it received. A standby whose WAL
    /// receiver is not streaming (its link broken) has stopped receiving, so that comparison says
    /// nothing: its lag is then the age of the last transaction it replayed.
    func states() async -> [ReplicaState] {
        await withTaskGroup(of: (Int, ReplicaState).self) { group in
            for (index, standby) in standbys.enumerated() {
                group.addTask {
                    var state = ReplicaState(server: standby.url.description, isReachable: false, isStandby: false, isStreaming: false)
                    do {
                        let reading = try await PostgresConnections.withTimeout(Self.stateLimit) {
                            try await standby.connections.withConnection("replication state") { connection in
                                try await ReplicationReading.read(on: connection, logger: standby.connections.logger)
                            }
                        }
                        reading.describe(&state)
                    } catch {
                        // Unreachable, or no answer in time: down, with no lag to show.
                    }
                    return (index, state)
                }
            }
            var states = [ReplicaState?](repeating: nil, count: standbys.count)
            for await (index, state) in group { states[index] = state }
            return states.compactMap { $0 }
        }
    }
}

/// What a server says of its replication, each value read from its own column by type: the
/// values a standby's state is made of.
struct ReplicationReading: Sendable, Hashable {
    /// `pg_is_in_recovery()`: a streaming standby is; a primary named as a read URL by mistake is not.
    var isInRecovery: Bool
    /// Whether its WAL receiver is streaming from a primary.
    var isStreaming: Bool
    /// Seconds since the last transaction it replayed was committed; nil when it replayed none
    /// (and always on a server not in recovery).
    var replayAgeSeconds: Double?
    /// Whether it has replayed everything it received.
    var isCaughtUp: Bool

    static let statement: PostgresQuery = """
        SELECT pg_is_in_recovery(), \
        EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'), \
        EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, \
        COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false)
        """

    /// Reads the server's replication state; throws when it gives no row of four such columns.
    static func read(on connection: PostgresConnection, logger: Logger) async throws -> ReplicationReading {
        guard let row = try await connection.rows(statement, logger: logger).first else {
            throw StorageError.unavailable(PostgresConnections.notCompleted)
        }
        let cells = row.makeRandomAccess()
        guard cells.count == 4 else { throw StorageError.unavailable(PostgresConnections.notCompleted) }
        return ReplicationReading(
            isInRecovery: try cells[0].decode(Bool.self),
            isStreaming: try cells[1].decode(Bool.self),
            replayAgeSeconds: try cells[2].decode(Double?.self),
            isCaughtUp: try cells[3].decode(Bool.self)
        )
    }

    /// A reachable server's state: a standby's lag is 0 while it streams and has replayed all it
    /// received, else the age of the last transaction it replayed (0 when it replayed none); a
    /// server that is not a standby has no lag.
    func describe(_ state: inout ReplicaState) {
        state.isReachable = true
        state.isStandby = isInRecovery
        state.isStreaming = isInRecovery && isStreaming
        guard isInRecovery else { return }
        if isStreaming && isCaughtUp {
            state.lagSeconds = 0
        } else if let age = replayAgeSeconds, age.isFinite {
            state.lagSeconds = max(0, age)
        } else {
            state.lagSeconds = 0
        }
    }
}
