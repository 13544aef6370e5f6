import ArgumentParser
import Foundation
import Logging
import PipelineServer
import PipelineStore

/// `pipeline-service`: the command-line entry point. Parsing only; the work lives in the libraries.
@main
struct PipelineServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-service",
        abstract: "Pipeline run metadata service: stores one record per pipeline run and serves run history and summaries.",
        version: pipelineServiceVersion,
        subcommands: [Serve.self, Keygen.self, Import.self, Export.self, Migrate.self, Report.self, Prune.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by every command that opens storage.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("backend"), help: ArgumentHelp(Setting.backend.help))
    var backend: String?

    @Option(name: .customLong("jsonl-path"), help: ArgumentHelp(Setting.jsonlPath.help))
    var jsonlPath: String?

    @Option(name: .customLong("sqlite-path"), help: ArgumentHelp(Setting.sqlitePath.help))
    var sqlitePath: String?

    @Option(name: .customLong("postgres-url"), help: ArgumentHelp(Setting.postgresURL.help))
    var postgresURL: String?

    @Option(name: .customLong("table"), help: ArgumentHelp(Setting.table.help))
    var table: String?

    @Option(name: .customLong("column-map"), help: ArgumentHelp(Setting.columnMap.help))
    var columnMap: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(Setting.logLevel.help))
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: ArgumentHelp(Setting.logFormat.help))
    var logFormat: String?

    var flags: [Setting: String] {
        var flags: [Setting: String] = [:]
        flags[.backend] = backend
        flags[.jsonlPath] = jsonlPath
        flags[.sqlitePath] = sqlitePath
        flags[.postgresURL] = postgresURL
        flags[.table] = table
        flags[.columnMap] = columnMap
        flags[.logLevel] = logLevel
        flags[.logFormat] = logFormat
        return flags
    }
}

/// `pipeline-service serve` (the default): runs the HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server (the default command).")

    @Option(name: .customLong("host"), help: ArgumentHelp(Setting.host.help))
    var host: String?

    @Option(name: .customLong("port"), help: ArgumentHelp(Setting.port.help))
    var port: String?

    @Option(name: .customLong("max-body-size"), help: ArgumentHelp(Setting.maxBodySize.help))
    var maxBodySize: String?

    @Option(name: .customLong("archive-roots"), help: ArgumentHelp(Setting.archiveRoots.help))
    var archiveRoots: String?

    @Option(name: .customLong("api-keys-file"), help: ArgumentHelp(Setting.apiKeysFile.help))
    var apiKeysFile: String?

    @Option(name: .customLong("auth-reads"), help: ArgumentHelp(Setting.authReads.help))
    var authReads: String?

    @Option(name: .customLong("cors-origins"), help: ArgumentHelp(Setting.corsOrigins.help))
    var corsOrigins: String?

    @Option(name: .customLong("base-path"), help: ArgumentHelp(Setting.basePath.help))
    var basePath: String?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(Setting.idleTimeout.help))
    var idleTimeout: String?

    @Option(name: .customLong("request-timeout"), help: ArgumentHelp(Setting.requestTimeout.help))
    var requestTimeout: String?

    @Option(name: .customLong("retention-days"), help: ArgumentHelp(Setting.retentionDays.help))
    var retentionDays: String?

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        var flags = storage.flags
        flags[.host] = host
        flags[.port] = port
        flags[.maxBodySize] = maxBodySize
        flags[.archiveRoots] = archiveRoots
        flags[.apiKeysFile] = apiKeysFile
        flags[.authReads] = authReads
        flags[.corsOrigins] = corsOrigins
        flags[.basePath] = basePath
        flags[.idleTimeout] = idleTimeout
        flags[.requestTimeout] = requestTimeout
        flags[.retentionDays] = retentionDays
        try await StartupFailure.reporting {
            let configuration = try ServiceConfiguration.resolve(flags: flags, environment: ProcessInfo.processInfo.environment)
            let logger = bootstrapLogging(level: configuration.logLevel, format: configuration.logFormat)
            let app = try await buildApplication(configuration: configuration, logger: logger)
            try await app.runService()
        }
    }
}

/// Sets up swift-log once for the process and returns a logger named `label`. Commands whose
/// standard output carries data (an export, a result line) log text to standard error instead.
func bootstrapLogging(
    level: Logger.Level,
    format: LogFormat = .text,
    label name: String = "pipeline-service",
    toStandardError: Bool = false
) -> Logger {
    LoggingSystem.bootstrap { label in
        switch format {
        case .text:
            var handler = toStandardError ? StreamLogHandler.standardError(label: label) : StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
    var logger = Logger(label: name)
    logger.logLevel = level
    return logger
}

/// Start-up failures end the process with one clear line on standard error, never a stack trace.
enum StartupFailure {
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as ExitCode {
            throw error
        } catch {
            let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
            throw ExitCode(1)
        }
    }
}
