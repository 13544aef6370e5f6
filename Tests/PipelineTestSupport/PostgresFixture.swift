import Foundation
public import Logging
public import PipelineStore
import PostgresNIO

extension Backend {
    /// A repository on a table of its own (`runs_<random hex>`) in the test server's database,
    /// so that tests running in parallel never share a table. Destroying it drops the table,
    /// its summary table and its migration records.
    func makePostgresFixture(limits: RepositoryLimits) async throws -> RepositoryFixture {
        let url = try PostgresTestDatabase.url()
        let table = PostgresTestDatabase.uniqueName("runs")
        let layout = try SQLTableLayout(table: table)
        return try await RepositoryFixture(
            location: table,
            open: { try PostgresTestDatabase.open(url: url, layout: layout, limits: limits) },
            destroy: { try await PostgresTestDatabase.dropTables(ownedBy: table) }
        )
    }
}

/// The PostgreSQL server tests use (`PIPELINE_TEST_POSTGRES_URL`): repositories with their
/// services running, plain SQL for building and inspecting tables, and throwaway servers of
/// a test's own, made with `scripts/postgres-test-server.sh`.
public enum PostgresTestDatabase {
    /// The test server's URL; throws when it is not configured.
    public static func url() throws -> String {
        guard let url = Backend.postgresTestURL else {
            throw FixtureError(
                "PIPELINE_TEST_POSTGRES_URL is not set: run `export PIPELINE_TEST_POSTGRES_URL=$(scripts/postgres-test-server.sh start)` first (scripts/test.sh does this)"
            )
        }
        return url
    }

    /// `<prefix>_<16 random hex digits>`, a valid identifier no other test uses.
    public static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Warnings and worse, or the level in `PIPELINE_TEST_LOG_LEVEL`.
    public static let logger: Logger = {
        var logger = Logger(label: "pipeline.tests.postgres")
        logger.logLevel = ProcessInfo.processInfo.environment["PIPELINE_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    /// A repository whose services run until `close` is called; `prepare()` is left to the caller.
    public static func open(
        url: String,
        layout: SQLTableLayout,
        limits: RepositoryLimits = .standard,
        timeout: Duration = .seconds(5),
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws -> RepositoryFixture.Opened {
        let repository = try PostgresRunRepository(url: url, layout: layout, limits: limits, timeout: timeout, logger: logger, onBatch: onBatch)
        let services = repository.services
        let running = Task {
            await withTaskGroup(of: Void.self) { group in
                for service in services {
                    group.addTask { try? await service.run() }
                }
            }
        }
        return (
            repository,
            {
                running.cancel()
                await running.value
            }
        )
    }

    /// Drops a table the service created, its summary table and its migration records.
    public static func dropTables(ownedBy table: String) async throws {
        try await execute(#"DROP TABLE IF EXISTS "\#(table)", "\#(table)_summary""#)
        try await execute(
            #"DO $$ BEGIN IF to_regclass('pipeline_service_migrations') IS NOT NULL THEN DELETE FROM pipeline_service_migrations WHERE table_name = '\#(table)'; END IF; END $$"#
        )
    }

    // MARK: - Plain SQL

    /// Runs one statement on the test server (or on another database of it).
    public static func execute(_ sql: String, database: String? = nil) async throws {
        _ = try await query(sql, database: database)
    }

    /// Runs one statement and returns its rows; every column must be text (cast with `::text`).
    public static func query(_ sql: String, database: String? = nil) async throws -> [[String?]] {
        let connection = try await PostgresConnection.connect(configuration: try configuration(database: database), id: 1, logger: logger)
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            let values = try rows.map { row in try row.map { cell in try cell.decode(String?.self) } }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The test server's URL pointing at another database.
    public static func url(database: String) throws -> String {
        guard var components = URLComponents(string: try url()) else { throw FixtureError("PIPELINE_TEST_POSTGRES_URL is not a URL") }
        components.path = "/" + database
        return components.string!
    }

    private static func configuration(database: String?) throws -> PostgresConnection.Configuration {
        guard let components = URLComponents(string: try url()), let host = components.host else {
            throw FixtureError("PIPELINE_TEST_POSTGRES_URL is not a URL")
        }
        return PostgresConnection.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: database ?? String(components.path.dropFirst()),
            tls: .disable
        )
    }

    // MARK: - Servers of a test's own

    /// A throwaway server of its own, for tests that stop and restart it (outages), so that
    /// other tests on the shared server are not disturbed.
    public struct DedicatedServer: Sendable {
        /// The server's state directory (`PIPELINE_TEST_PG_DIR` of the script).
        public let directory: String
        public let url: String

        /// Creates and starts the server.
        public static func start() throws -> DedicatedServer {
            let directory = "/tmp/pipeline-test-pg-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let url = try runScript("start", directory: directory).trimmingCharacters(in: .whitespacesAndNewlines)
            return DedicatedServer(directory: directory, url: url)
        }

        /// Stops the server, keeping its data.
        public func pause() throws { _ = try runScript("pause", directory: directory) }
        /// Starts a paused server again on the same port.
        public func resume() throws { _ = try runScript("resume", directory: directory) }
        /// Stops the server and deletes its data.
        public func stop() throws { _ = try runScript("stop", directory: directory) }
    }

    /// The path of the repository's root directory, found from this file's place in it.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let script = URL(fileURLWithPath: repositoryRoot).appendingPathComponent("scripts/postgres-test-server.sh")

    private static func runScript(_ command: String, directory: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment.merging(["PIPELINE_TEST_PG_DIR": directory]) { $1 }
        let result = try ChildProcess.run(script.path, [command], environment: environment)
        guard result.status == 0 else { throw FixtureError("\(script.path) \(command) failed: \(result.errors)") }
        return String(decoding: result.output, as: UTF8.self)
    }
}
