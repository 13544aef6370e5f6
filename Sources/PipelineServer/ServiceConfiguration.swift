import Foundation
public import Logging
import NIOCore
public import PipelineCore
public import PipelineStore

/// The resolved, validated configuration of a server.
public struct ServiceConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var backend: BackendConfiguration
    /// Bounds the repository keeps (`PIPELINE_MAX_PIPELINES`).
    public var limits: RepositoryLimits
    public var maxBodySize: Int
    /// The largest body of a batch (`POST /pipelines/batch`), separate from single runs'.
    public var maxBatchBodySize: Int
    /// Directories archived files may be served from; empty turns the endpoint off.
    public var archiveRoots: [String]
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// The accepted API keys; nil (the default) leaves every endpoint open.
    public var apiKeys: APIKeySet?
    /// Which requests need a key when `apiKeys` is set.
    public var authenticationScope: AuthenticationScope
    public var corsOrigins: CORSOrigins
    /// The prefix every route is served under (`/pipeline-service`); empty for the root.
    public var basePath: String
    public var idleTimeout: Duration
    public var requestTimeout: Duration
    /// How long `serve` waits for a database that cannot be reached at start-up (zero: not at all).
    public var startupWait: Duration
    /// The definitions behind `/pipelines` health and trends (`PIPELINE_ANOMALY_K` sets `anomalyK`).
    public var insightSettings: InsightSettings
    /// Runs that started more than this many days ago are deleted by a background job; nil keeps every run.
    public var retentionDays: Int?
    /// How OpenLineage run events become runs (the zone of their local times).
    public var lineageMapping: LineageMapping
    /// How often the retention job runs (an hour; tests shorten it).
    public var retentionInterval: Duration = .seconds(3_600)
    /// The wall clock insight is judged by (overdue, runs in the last 24 h); tests fix it.
    public var clock: @Sendable () -> UTCInstant = ServiceConfiguration.systemClock

    /// The system's wall clock.
    @Sendable public static func systemClock() -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down)))
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        backend: BackendConfiguration = .jsonl(path: "pipeline_data.jsonl"),
        limits: RepositoryLimits = .standard,
        maxBodySize: Int = 1 << 20,
        maxBatchBodySize: Int = 32 << 20,
        archiveRoots: [String] = [],
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text,
        apiKeys: APIKeySet? = nil,
        authenticationScope: AuthenticationScope = .writes,
        corsOrigins: CORSOrigins = .none,
        basePath: String = "",
        idleTimeout: Duration = .seconds(75),
        requestTimeout: Duration = .seconds(30),
        startupWait: Duration = .seconds(60),
        insightSettings: InsightSettings = .standard,
        retentionDays: Int? = nil,
        lineageMapping: LineageMapping = LineageMapping(zone: FixedUTCOffset.utc)
    ) {
        self.host = host
        self.port = port
        self.backend = backend
        self.limits = limits
        self.maxBodySize = maxBodySize
        self.maxBatchBodySize = maxBatchBodySize
        self.archiveRoots = archiveRoots
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.apiKeys = apiKeys
        self.authenticationScope = authenticationScope
        self.corsOrigins = corsOrigins
        self.basePath = basePath
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.startupWait = startupWait
        self.insightSettings = insightSettings
        self.retentionDays = retentionDays
        self.lineageMapping = lineageMapping
    }

    /// Resolves every setting (a flag wins over the environment, the environment over the
    /// default; see ``SettingValues``) and validates each; the first bad one is reported as one
    /// line naming it as it was given.
    public static func resolve(flags: [Setting: String], environment: [String: String]) throws(ConfigurationError) -> ServiceConfiguration {
        let values = try SettingValues(flags: flags, environment: environment, readFile: readSettingFile)
        return try resolve(values)
    }

    /// Why a file a `…_FILE` variable names cannot be used, in a few words.
    public struct SettingFileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the file a `…_FILE` variable names (a mounted secret), failing with a short reason.
    @Sendable public static func readSettingFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw SettingFileError(description: "no such file") }
        guard !isDirectory.boolValue else { throw SettingFileError(description: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingFileError(description: "this process may not read it") }
        guard let text = String(validating: data, as: UTF8.self) else { throw SettingFileError(description: "it is not UTF-8 text") }
        return text
    }

    /// Builds the configuration from settings already read.
    public static func resolve(_ values: SettingValues) throws(ConfigurationError) -> ServiceConfiguration {
        func required<Value>(_ setting: Setting, _ read: (Setting) throws(ConfigurationError) -> Value?) throws(ConfigurationError) -> Value {
            guard let value = try read(setting) else { throw values.error(setting, "must be set") }
            return value
        }
        let host = try required(.host, values.text)
        guard !host.isEmpty else { throw values.error(.host, "must not be empty") }
        let storage = try StorageSettings.resolve(values)
        let archiveRoots = (values.text(.archiveRoots) ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        for root in archiveRoots {
            guard root.hasPrefix("/") else { throw values.error(.archiveRoots, "\"\(root)\" is not an absolute directory path") }
            // A mistyped root would otherwise turn every download into a silent 404.
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw values.error(.archiveRoots, "\"\(root)\" is not a directory this process can reach")
            }
        }
        let access = try AccessSettings.resolve(values)
        var insightSettings = InsightSettings.standard
        insightSettings.anomalyK = try required(.anomalyK, values.number)
        let zoneName = try required(.lineageTimezone, values.text)
        guard let lineageZone = FixedUTCOffset.fixedOffset(parsing: zoneName) ?? FoundationTimeZoneRule.named(zoneName) else {
            throw values.error(.lineageTimezone, "\"\(zoneName.prefix(100))\" is not UTC, an offset such as +05:30, or an IANA time zone name")
        }
        let configuration = ServiceConfiguration(
            host: host,
            port: try required(.port, values.integer),
            backend: storage.backend,
            limits: storage.limits,
            maxBodySize: try required(.maxBodySize, values.integer),
            maxBatchBodySize: try required(.maxBatchBodySize, values.integer),
            archiveRoots: archiveRoots,
            logLevel: storage.logLevel,
            logFormat: storage.logFormat,
            apiKeys: access.apiKeys,
            authenticationScope: access.authenticationScope,
            corsOrigins: access.corsOrigins,
            basePath: access.basePath,
            idleTimeout: .seconds(try required(.idleTimeout, values.integer)),
            requestTimeout: .seconds(try required(.requestTimeout, values.integer)),
            startupWait: .seconds(try required(.startupWait, values.integer)),
            insightSettings: insightSettings,
            retentionDays: try values.integer(.retentionDays),
            lineageMapping: LineageMapping(zone: lineageZone)
        )
        return configuration
    }

    /// The backend the storage settings name.
    public static func backend(_ values: SettingValues) throws(ConfigurationError) -> BackendConfiguration {
        func layout() throws(ConfigurationError) -> SQLTableLayout {
            do throws(ConfigurationError) {
                return try SQLTableLayout(table: values.text(.table) ?? SQLTableLayout.defaultTable, columnMapJSON: values.text(.columnMap))
            } catch {
                throw error.attributed(to: values.sources)
            }
        }
        switch try values.choice(.backend) {
        case "sqlite":
            guard let path = values.text(.sqlitePath) else { throw values.error(.sqlitePath, "must be set when the backend is sqlite") }
            return .sqlite(path: path, layout: try layout())
        case "postgres":
            guard let url = values.text(.postgresURL) else {
                throw values.error(.postgresURL, "must be set when the backend is postgres (postgres://user:pass@host:port/db)")
            }
            return .postgres(url: url, layout: try layout(), readURLs: Setting.postgresReadURLs(values.text(.postgresReadURL) ?? ""))
        default:
            guard let path = values.text(.jsonlPath) else { throw values.error(.jsonlPath, "must be set when the backend is jsonl") }
            return .jsonl(path: path)
        }
    }
}

/// The settings every command that opens storage takes (`serve`, `import`, `export`, `prune`):
/// which backend, its bounds, and how to log.
public struct StorageSettings: Sendable {
    public var backend: BackendConfiguration
    public var limits: RepositoryLimits
    public var logLevel: Logger.Level
    public var logFormat: LogFormat

    public static func resolve(_ values: SettingValues) throws(ConfigurationError) -> StorageSettings {
        guard let levelName = try values.choice(.logLevel), let logLevel = Logger.Level(rawValue: levelName) else {
            throw values.error(.logLevel, "must be set")
        }
        guard let formatName = try values.choice(.logFormat), let logFormat = LogFormat(rawValue: formatName) else {
            throw values.error(.logFormat, "must be set")
        }
        guard let maximumSignatures = try values.integer(.maxPipelines) else { throw values.error(.maxPipelines, "must be set") }
        return StorageSettings(
            backend: try ServiceConfiguration.backend(values),
            limits: RepositoryLimits(maximumSignatures: maximumSignatures),
            logLevel: logLevel,
            logFormat: logFormat
        )
    }
}

extension ServiceConfiguration {
    /// A failure to start listening, told as the setting behind it: a host that does not resolve
    /// or is not an address of this machine (`--host`), a port already taken or reserved
    /// (`--port`). Nil for any other error.
    public func listeningProblem(_ error: any Error) -> ConfigurationError? {
        if let unknown = error as? SocketAddressError.UnknownHost {
            return ConfigurationError(.host, "cannot resolve \"\(host)\": \(unknown.errorDescription)")
        }
        if error is SocketAddressError {
            return ConfigurationError(.host, "\"\(host)\" is not an address to listen on")
        }
        guard let failure = error as? IOError else { return nil }
        switch failure.errnoCode {
        case EADDRINUSE: return ConfigurationError(.port, "\(host):\(port) is already in use by another process")
        case EACCES: return ConfigurationError(.port, "listening on port \(port) needs privileges this process lacks")
        case EADDRNOTAVAIL: return ConfigurationError(.host, "\"\(host)\" is not an address of this machine")
        default: return nil
        }
    }
}
