import ArgumentParser
import Foundation
import Logging
import PipelineCore
import PipelineServer
import PipelineStore
import ServiceLifecycle
import Synchronization

/// `pipeline-service`: the command-line entry point. Parsing only; the work lives in the libraries.
@main
struct PipelineServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-service",
        abstract: "Pipeline run metadata service: stores one record per pipeline run and serves run history and summaries.",
        version: pipelineServiceVersion,
        subcommands: [Serve.self, Settings.self, Keygen.self, Import.self, Export.self, Migrate.self, Report.self, Prune.self],
        defaultSubcommand: Serve.self
    )
}

// MARK: - Settings as flags

extension NameSpecification {
    /// The flag of a setting, `--jsonl-path`.
    static func setting(_ setting: Setting) -> NameSpecification { .customLong(setting.flagName) }
}

extension ArgumentHelp {
    /// The help of a setting: what it does, its values, its variable and its default.
    static func setting(_ setting: Setting) -> ArgumentHelp { ArgumentHelp(setting.help) }
}

/// The storage settings (``Setting/Scope/storage``), taken by every command that opens storage.
struct StorageOptions: ParsableArguments {
    @Option(name: .setting(.backend), help: .setting(.backend)) var backend: String?
    @Option(name: .setting(.jsonlPath), help: .setting(.jsonlPath)) var jsonlPath: String?
    @Option(name: .setting(.sqlitePath), help: .setting(.sqlitePath)) var sqlitePath: String?
    @Option(name: .setting(.postgresURL), help: .setting(.postgresURL)) var postgresURL: String?
    @Option(name: .setting(.postgresReadURL), help: .setting(.postgresReadURL)) var postgresReadURL: String?
    @Option(name: .setting(.table), help: .setting(.table)) var table: String?
    @Option(name: .setting(.columnMap), help: .setting(.columnMap)) var columnMap: String?
    @Option(name: .setting(.maxPipelines), help: .setting(.maxPipelines)) var maxPipelines: String?
    @Option(name: .setting(.logLevel), help: .setting(.logLevel)) var logLevel: String?
    @Option(name: .setting(.logFormat), help: .setting(.logFormat)) var logFormat: String?

    /// Runs `body` on the configured storage, for a command other than `serve`: the settings read,
    /// logs written to standard error (standard output carries the command's own result), the
    /// repository opened, its services run and the storage prepared. A start-up failure ends the
    /// process with one line. `access` says whether a missing store is created (only `import`).
    func withRepository<T: Sendable>(
        label: String,
        access: StorageAccess,
        _ body: @escaping @Sendable (any PipelineRunRepository, Logger) async throws -> T
    ) async throws -> T {
        try await StartupFailure.reporting(flags: flags) { values in
            let settings = try StorageSettings.resolve(values)
            let logger = bootstrapLogging(level: settings.logLevel, format: settings.logFormat, label: label, toStandardError: true)
            return try await PipelineStore.withRepository(settings.backend, limits: settings.limits, access: access, logger: logger) { repository in
                try await body(repository, logger)
            }
        }
    }

    /// The settings given as flags.
    var flags: [Setting: String] {
        [
            .backend: backend, .jsonlPath: jsonlPath, .sqlitePath: sqlitePath, .postgresURL: postgresURL, .postgresReadURL: postgresReadURL,
            .table: table,
            .columnMap: columnMap, .maxPipelines: maxPipelines, .logLevel: logLevel, .logFormat: logFormat,
        ].compactMapValues { $0 }
    }
}

/// The server's own settings (``Setting/Scope/server``).
struct ServerOptions: ParsableArguments {
    @Option(name: .setting(.host), help: .setting(.host)) var host: String?
    @Option(name: .setting(.port), help: .setting(.port)) var port: String?
    @Option(name: .setting(.maxBodySize), help: .setting(.maxBodySize)) var maxBodySize: String?
    @Option(name: .setting(.maxBatchBodySize), help: .setting(.maxBatchBodySize)) var maxBatchBodySize: String?
    @Option(name: .setting(.archiveRoots), help: .setting(.archiveRoots)) var archiveRoots: String?
    @Option(name: .setting(.apiKeysFile), help: .setting(.apiKeysFile)) var apiKeysFile: String?
    @Option(name: .setting(.authReads), help: .setting(.authReads)) var authReads: String?
    @Option(name: .setting(.corsOrigins), help: .setting(.corsOrigins)) var corsOrigins: String?
    @Option(name: .setting(.basePath), help: .setting(.basePath)) var basePath: String?
    @Option(name: .setting(.idleTimeout), help: .setting(.idleTimeout)) var idleTimeout: String?
    @Option(name: .setting(.requestTimeout), help: .setting(.requestTimeout)) var requestTimeout: String?
    @Option(name: .setting(.startupWait), help: .setting(.startupWait)) var startupWait: String?
    @Option(name: .setting(.anomalyK), help: .setting(.anomalyK)) var anomalyK: String?
    @Option(name: .setting(.retentionDays), help: .setting(.retentionDays)) var retentionDays: String?
    @Option(name: .setting(.lineageTimezone), help: .setting(.lineageTimezone)) var lineageTimezone: String?

    /// The settings given as flags.
    var flags: [Setting: String] {
        [
            .host: host, .port: port, .maxBodySize: maxBodySize, .maxBatchBodySize: maxBatchBodySize, .archiveRoots: archiveRoots,
            .apiKeysFile: apiKeysFile, .authReads: authReads, .corsOrigins: corsOrigins, .basePath: basePath, .idleTimeout: idleTimeout,
            .requestTimeout: requestTimeout, .startupWait: startupWait, .anomalyK: anomalyK, .retentionDays: retentionDays,
            .lineageTimezone: lineageTimezone,
        ].compactMapValues { $0 }
    }
}

/// `pipeline-service serve` (the default): runs the HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server (the default command).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await StartupFailure.reporting(flags: server.flags.merging(storage.flags) { first, _ in first }) { values in
            let configuration = try ServiceConfiguration.resolve(values)
            let logger = bootstrapLogging(level: configuration.logLevel, format: configuration.logFormat)
            let givingUp = StoragePreparation.GivingUp()
            let app = try await buildApplication(configuration: configuration, logger: logger, givingUp: givingUp)
            let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            // A database that never answered stops the server gracefully, then the process with its reason.
            givingUp.connect { await group.triggerGracefulShutdown() }
            do {
                try await group.run()
            } catch {
                throw configuration.listeningProblem(error) ?? error
            }
            if let failure = givingUp.failure { throw failure }
        }
    }
}

/// Sets up swift-log once for the process and returns a logger named `label`. Commands whose
/// standard output carries data (an export, a result line) log to standard error instead.
func bootstrapLogging(
    level: Logger.Level,
    format: LogFormat = .text,
    label name: String = "pipeline-service",
    toStandardError: Bool = false
) -> Logger {
    let output: LogLineOutput = toStandardError ? .standardError : .standardOutput
    LoggingSystem.bootstrap { label in
        var handler = LineLogHandler(label: label, format: format, output: output)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: name)
    logger.logLevel = level
    return logger
}

/// Start-up failures end the process with one clear line on standard error, never a stack trace
/// nor a password.
enum StartupFailure {
    /// Reads the settings (`flags` over the environment over defaults) and runs `body` with them;
    /// a bad setting, even one found later (a database that refuses), is named as it was given.
    static func reporting<T>(flags: [Setting: String], _ body: (SettingValues) async throws -> T) async throws -> T {
        var sources: [Setting: SettingSource] = [:]
        do {
            let values = try SettingValues(
                flags: flags,
                environment: ProcessInfo.processInfo.environment,
                readFile: ServiceConfiguration.readSettingFile
            )
            sources = values.sources
            return try await body(values)
        } catch {
            throw exit(for: error, sources: sources)
        }
    }

    /// Runs `body`, ending the process with one line for any error it throws; a command that reads
    /// no setting (`migrate`) uses this alone, so an unrelated bad variable cannot stop it.
    static func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw exit(for: error, sources: [:])
        }
    }

    /// Writes the one line for `error` and gives the exit status: 2 for a setting or argument, 1
    /// for anything else.
    private static func exit(for error: any Error, sources: [Setting: SettingSource]) -> ExitCode {
        switch error {
        case let error as ConfigurationError:
            FileHandle.standardError.write(Data("error: \(Redaction.credentials(in: error.attributed(to: sources).description))\n".utf8))
            return ExitCode(2)
        case let error as ExitCode:
            return error
        default:
            let text = Redaction.credentials(in: String(describing: error)).replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
            return ExitCode(1)
        }
    }
}

/// The one line of standard error a long load rewrites as it goes, leaving standard output to
/// the command's result.
enum ProgressLine {
    /// Whether standard error is a terminal: only there is a line rewritten in place (`\r`);
    /// a log file or a pipe gets plain lines, at most one per ``interval``.
    static let isTerminal = isatty(STDERR_FILENO) == 1
    static let interval: Duration = .seconds(5)
    /// Off a terminal: when the last line was written, and the latest text not written yet.
    private static let state = Mutex<(written: ContinuousClock.Instant?, pending: String?)>((nil, nil))

    static func show(_ text: String) {
        if isTerminal {
            FileHandle.standardError.write(Data("\r\(text)".utf8))
            return
        }
        let now = ContinuousClock.now
        let due = state.withLock { state in
            guard state.written.map({ now - $0 >= interval }) ?? true else {
                state.pending = text
                return false
            }
            state = (now, nil)
            return true
        }
        if due { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
    }

    /// Ends the line once the work is done: on a terminal a newline, elsewhere the latest
    /// progress when it was not written yet.
    static func end() {
        if isTerminal {
            FileHandle.standardError.write(Data("\n".utf8))
        } else if let pending = state.withLock({ state in
            defer { state.pending = nil }
            return state.pending
        }) {
            FileHandle.standardError.write(Data("\(pending)\n".utf8))
        }
    }
}
