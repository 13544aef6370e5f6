import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Runs a `PostgresClient` as a service, at most once however often it is asked to.
///
/// `PostgresClient.run()` traps when called a second time. A repository's services can be run by
/// more than one owner (a command-line tool's task group, then an application built on the same
/// repository); a later `run()` here simply waits for cancellation or graceful shutdown while the
/// first one keeps the pool running.
final class PostgresClientService: Service, Sendable {
    let client: PostgresClient
    private let isStarted = Atomic(false)

    init(client: PostgresClient) {
        self.client = client
    }

    func run() async throws {
        if isStarted.exchange(true, ordering: .acquiringAndReleasing) {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .seconds(365 * 86_400))
            }
            return
        }
        await client.run()
    }
}
