import ArgumentParser
import Foundation
import Logging
import PipelineCore
import PipelineServer
import PipelineStore

/// `pipeline-service migrate --from BACKEND --to BACKEND`: copies every run between two backends.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy every run from one backend to another, then verify counts and a checksum.",
        discussion: """
            A backend spec is jsonl:PATH, sqlite:PATH or postgres:URL (postgres://user:pass@host:port/db). \
            A JSONL source is read as it is at that moment, without the lock of a service that holds \
            it; runs stored meanwhile are copied by running migrate again. SQL backends use the \
            service's own table (pipeline_runs) and columns; for another table, serve the source \
            and use GET /export with import. \
            Resumable: an interrupted copy can be run again; runs already present are skipped. \
            Exits 0 when the destination holds exactly the source's runs, 3 otherwise.
            """
    )

    @Option(name: .customLong("from"), help: "The source backend (jsonl:PATH, sqlite:PATH, postgres:URL).")
    var source: String

    @Option(name: .customLong("to"), help: "The destination backend (jsonl:PATH, sqlite:PATH, postgres:URL).")
    var destination: String

    @Option(name: .customLong("batch-size"), help: "Runs copied per transaction.")
    var batchSize = 2000

    @Option(name: .customLong("log-level"), help: "trace … critical.")
    var logLevel = "warning"

    func validate() throws {
        guard (1...1_000_000).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and 1000000 (got \(batchSize))")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (got \(logLevel))")
        }
    }

    /// A backend that cannot be opened is named as the user named it (`--to`), not by the setting
    /// that would have opened it for serve.
    private static func naming(_ argument: String, _ error: ConfigurationError) -> ConfigurationError {
        error.setting == nil ? error : ConfigurationError(argument: argument, error.message)
    }

    func run() async throws {
        try await StartupFailure.reportingErrors {
            let from = try BackendConfiguration(spec: source, argument: "--from")
            let to = try BackendConfiguration(spec: destination, argument: "--to")
            let logger = bootstrapLogging(level: Logger.Level(rawValue: logLevel) ?? .warning, toStandardError: true)
            let migrator = RunMigrator(batchSize: batchSize)
            // The source is only read: a JSONL file can be copied while its service runs.
            let report: RunMigrator.Report
            do {
                report = try await withRepository(from, access: .readOnly, logger: logger) { source in
                    do {
                        return try await withRepository(to, logger: logger) { destination in
                            try await migrator.migrate(from: source, to: destination, logger: logger) { report in
                                ProgressLine.show("\(report.copied + report.alreadyPresent) of \(report.sourceRuns) runs")
                            }
                        }
                    } catch let error as ConfigurationError {
                        throw Self.naming("--to", error)
                    }
                }
            } catch let error as ConfigurationError {
                throw Self.naming("--from", error)
            }
            ProgressLine.end()
            print("migrate \(from.redactedDescription) → \(to.redactedDescription): \(report)")
            if !report.isVerified { throw ExitCode(3) }
        }
    }
}
