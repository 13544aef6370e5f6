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
    /// How far the standby's replay is behind: the age of the last transaction it replayed, or 0
    /// when it has replayed all it received; nil when unreachable or not a standby.
    public var lagSeconds: Double?
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
            } catch let error as StorageError where error.isUnavailable {
                skip(index)
            }
        }
        return try await primary.withConnection(operation, body)
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

    /// Each standby's reachability and lag, asked now.
    func states() async -> [ReplicaState] {
        var states: [ReplicaState] = []
        for standby in standbys {
            let logger = standby.connections.logger
            let answer = try? await standby.connections.withConnection("replication lag") { connection in
                let rows = try await connection.rows(
                    """
                    SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
                    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8 END
                    """,
                    logger: logger
                )
                return try rows.first?.decode((Bool, Double?).self)
            }
            let reading = answer ?? nil
            states.append(
                ReplicaState(
                    server: standby.url.description,
                    isReachable: reading != nil,
                    isStandby: reading?.0 ?? false,
                    lagSeconds: reading.flatMap { $0.1.map { max(0, $0) } }
                )
            )
        }
        return states
    }
}
