import Foundation
public import Logging
public import PipelineStore

/// A storage backend the contract suite runs against.
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case jsonl
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The PostgreSQL server tests use: `PIPELINE_TEST_POSTGRES_URL`, set by `scripts/test.sh`.
    public static var postgresTestURL: String? {
        ProcessInfo.processInfo.environment["PIPELINE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether this run is CI's (`CI=true`), where no backend may be skipped.
    public static var isCI: Bool {
        ["true", "1", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
    }

    /// The backends to test: all of them, except PostgreSQL outside CI when no server is configured.
    /// In CI PostgreSQL is always included, so a missing server fails loudly instead of skipping.
    /// `PIPELINE_TEST_BACKENDS` (comma-separated names) narrows the list, for a pass over one
    /// backend in another shape (`PIPELINE_TEST_POSTGRES_TABLE`).
    public static var underTest: [Backend] {
        let chosen = ProcessInfo.processInfo.environment["PIPELINE_TEST_BACKENDS"].map { $0.split(separator: ",").map(String.init) }
        return allCases.filter { ($0 != .postgres || postgresTestURL != nil || isCI) && (chosen?.contains($0.rawValue) ?? true) }
    }

    /// A fresh, empty, prepared repository on this backend.
    public func makeFixture(limits: RepositoryLimits = .standard) async throws -> RepositoryFixture {
        switch self {
        case .jsonl: try await makeJSONLFixture(limits: limits)
        case .sqlite: try await RepositoryFixture.sqlite(limits: limits)
        case .postgres: try await makePostgresFixture(limits: limits)
        }
    }
}

/// Runs `body` with a fresh repository on `backend`, tearing it down afterwards, even on failure.
public func withFixture<T>(
    _ backend: Backend,
    limits: RepositoryLimits = .standard,
    _ body: (RepositoryFixture) async throws -> T
) async throws -> T {
    let fixture = try await backend.makeFixture(limits: limits)
    do {
        let result = try await body(fixture)
        try await fixture.tearDown()
        return result
    } catch {
        try? await fixture.tearDown()
        throw error
    }
}

/// Fails a test with a message when a fixture cannot be made.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A logger for tests: warnings and worse by default, `PIPELINE_TEST_LOG_LEVEL` to see more.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["PIPELINE_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}
