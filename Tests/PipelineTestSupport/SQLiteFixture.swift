import Foundation
import Logging
public import PipelineStore

extension RepositoryFixture {
    /// A repository on a fresh SQLite file in a temporary directory of its own; `location` is the
    /// file's path. Restarting reopens the same file; tearing down deletes the directory with the
    /// file and its WAL files.
    ///
    /// - Parameters:
    ///   - layout: the table and columns the repository uses.
    ///   - setUp: runs with the file's path before the repository first opens it, e.g. to create
    ///     a table the service does not own.
    public static func sqlite(
        layout: SQLTableLayout = .standard,
        limits: RepositoryLimits = .standard,
        setUp: (String) throws -> Void = { _ in }
    ) async throws -> RepositoryFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-sqlite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/runs.sqlite"
        let destroy: @Sendable () async throws -> Void = { try FileManager.default.removeItem(atPath: directory) }
        do {
            try setUp(path)
            return try await RepositoryFixture(
                location: path,
                open: {
                    let repository = try SQLiteRunRepository(path: path, layout: layout, limits: limits, logger: Logger(label: "test.sqlite"))
                    return (repository, { try repository.close() })
                },
                destroy: destroy
            )
        } catch {
            // The fixture destroys its storage itself when `prepare()` fails; this covers the other failures.
            try? await destroy()
            throw error
        }
    }
}
