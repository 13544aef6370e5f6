import Foundation
import Logging
import PipelineStore

extension Backend {
    func makeJSONLFixture(limits: RepositoryLimits) async throws -> RepositoryFixture {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/runs.jsonl"
        return try await RepositoryFixture(
            location: path,
            open: {
                let repository = try JSONLRunRepository(path: path, limits: limits, logger: testLogger("test.jsonl"))
                return (repository, { repository.close() })
            },
            destroy: { directory.remove() }
        )
    }
}

/// A directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
