import ArgumentParser
import Foundation
import PipelineCore
import PipelineServer
import PipelineStore

/// `pipeline-service import FILE`: loads NDJSON runs into the configured backend.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load runs from an NDJSON file (one JSON object per line) into the configured backend.",
        discussion: "Idempotent: runs already stored are counted, not stored twice, so an interrupted import can be run again."
    )

    @Argument(help: "The NDJSON file to load (a JSONL data file works as it is); - reads standard input.")
    var file: String

    @Option(name: .customLong("batch-size"), help: "Runs stored per transaction.")
    var batchSize = 2000

    @OptionGroup var storage: StorageOptions

    func validate() throws {
        guard (1...1_000_000).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and 1000000 (got \(batchSize))")
        }
    }

    func run() async throws {
        let file = self.file
        let importer = RunImporter(batchSize: batchSize)
        // Opened first: a file that cannot be read creates no store.
        let input = try await StartupFailure.reportingErrors { try RunImporter.Input(path: file) }
        let report = try await storage.withRepository(label: "pipeline-service.import", access: .readWrite) { repository, logger in
            try await importer.importLines(of: input, into: repository, logger: logger) { report in
                ProgressLine.show("\(report.linesRead) lines read, \(report.created) stored")
            }
        }
        ProgressLine.end()
        for refusal in report.refusals {
            FileHandle.standardError.write(Data("line \(refusal.line): \(refusal.reason)\n".utf8))
        }
        if report.invalid > report.refusals.count {
            FileHandle.standardError.write(Data("… and \(report.invalid - report.refusals.count) more refused lines\n".utf8))
        }
        print("import \(file == "-" ? "standard input" : file): \(report)")
        if report.invalid > 0 || report.conflicts > 0 { throw ExitCode(3) }
    }
}
