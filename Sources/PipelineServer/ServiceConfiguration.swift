import Foundation
public import Logging
public import PipelineCore
public import PipelineStore

/// Every setting of the service: each is an environment variable and a flag of the same
/// meaning; a flag wins over the environment, the environment over the default (SPEC §6).
public enum Setting: String, CaseIterable, Sendable {
    case host
    case port
    case backend
    case jsonlPath
    case sqlitePath
    case postgresURL
    case table
    case columnMap
    case maxBodySize
    case archiveRoots
    case logLevel
    case logFormat
    case apiKeysFile
    case authReads
    case corsOrigins
    case basePath
    case idleTimeout
    case requestTimeout
    case anomalyK
    case retentionDays

    /// The environment variable.
    public var environmentName: String {
        switch self {
        case .host: "PIPELINE_HOST"
        case .port: "PIPELINE_PORT"
        case .backend: "PIPELINE_BACKEND"
        case .jsonlPath: "PIPELINE_JSONL_PATH"
        case .sqlitePath: "PIPELINE_SQLITE_PATH"
        case .postgresURL: "PIPELINE_POSTGRES_URL"
        case .table: "PIPELINE_TABLE"
        case .columnMap: "PIPELINE_COLUMN_MAP"
        case .maxBodySize: "PIPELINE_MAX_BODY_SIZE"
        case .archiveRoots: "PIPELINE_ARCHIVE_ROOTS"
        case .logLevel: "PIPELINE_LOG_LEVEL"
        case .logFormat: "PIPELINE_LOG_FORMAT"
        case .apiKeysFile: "PIPELINE_API_KEYS_FILE"
        case .authReads: "PIPELINE_AUTH_READS"
        case .corsOrigins: "PIPELINE_CORS_ORIGINS"
        case .basePath: "PIPELINE_BASE_PATH"
        case .idleTimeout: "PIPELINE_IDLE_TIMEOUT"
        case .requestTimeout: "PIPELINE_REQUEST_TIMEOUT"
        case .anomalyK: "PIPELINE_ANOMALY_K"
        case .retentionDays: "PIPELINE_RETENTION_DAYS"
        }
    }

    /// The flag, without its leading dashes.
    public var flagName: String {
        switch self {
        case .host: "host"
        case .port: "port"
        case .backend: "backend"
        case .jsonlPath: "jsonl-path"
        case .sqlitePath: "sqlite-path"
        case .postgresURL: "postgres-url"
        case .table: "table"
        case .columnMap: "column-map"
        case .maxBodySize: "max-body-size"
        case .archiveRoots: "archive-roots"
        case .logLevel: "log-level"
        case .logFormat: "log-format"
        case .apiKeysFile: "api-keys-file"
        case .authReads: "auth-reads"
        case .corsOrigins: "cors-origins"
        case .basePath: "base-path"
        case .idleTimeout: "idle-timeout"
        case .requestTimeout: "request-timeout"
        case .anomalyK: "anomaly-k"
        case .retentionDays: "retention-days"
        }
    }

    /// The default, as text; nil when the setting is unset by default.
    public var defaultValue: String? {
        switch self {
        case .host: "127.0.0.1"
        case .port: "8000"
        case .backend: "jsonl"
        case .jsonlPath: "pipeline_data.jsonl"
        case .sqlitePath: "pipeline_data.sqlite"
        case .postgresURL: nil
        case .table: SQLTableLayout.defaultTable
        case .columnMap: nil
        case .maxBodySize: "1048576"
        case .archiveRoots: nil
        case .logLevel: "info"
        case .logFormat: "text"
        case .apiKeysFile: nil
        case .authReads: "false"
        case .corsOrigins: nil
        case .basePath: nil
        case .idleTimeout: "75"
        case .requestTimeout: "30"
        case .anomalyK: "3.5"
        case .retentionDays: nil
        }
    }

    /// One line for `--help`.
    public var summary: String {
        switch self {
        case .host: "Address to listen on."
        case .port: "TCP port to listen on."
        case .backend: "Storage backend: jsonl, sqlite or postgres."
        case .jsonlPath: "JSONL data file (jsonl backend)."
        case .sqlitePath: "SQLite database file (sqlite backend)."
        case .postgresURL: "postgres://user:pass@host:port/db (postgres backend)."
        case .table: "Table name (sql backends)."
        case .columnMap: "JSON object model field → column name, for an existing table (sql backends)."
        case .maxBodySize: "Largest accepted request body, in bytes (larger: 413)."
        case .archiveRoots: "Colon-separated directories archived files may be served from; unset: the endpoint is off."
        case .logLevel: "trace, debug, info, notice, warning, error or critical."
        case .logFormat: "text, or json for one JSON object per line on standard output."
        case .apiKeysFile: "File of API key SHA-256 hashes (see `keygen`); set: writes need a key."
        case .authReads: "true: reads need an API key too (/health, /, /docs and /openapi.json stay open)."
        case .corsOrigins: "Comma-separated browser origins allowed by CORS (https://host[:port]), or *; unset: none."
        case .basePath: "Path prefix every route is served under, e.g. /pipeline-service behind a reverse proxy."
        case .idleTimeout: "Seconds an idle connection is kept open."
        case .requestTimeout: "Seconds a request may take before it is answered 504."
        case .anomalyK: "Anomaly band width: a run is flagged outside median ± k·MAD of the previous 30 runs (0.5…20)."
        case .retentionDays:
            "Delete runs that started more than this many days ago, shortly after start and then hourly (1…36500); unset: keep every run."
        }
    }

    /// `--help` text: the summary, the variable and the default.
    public var help: String {
        "\(summary) (env: \(environmentName); default: \(defaultValue ?? "unset"))"
    }
}

/// Which backend to open, with its settings.
public enum BackendConfiguration: Sendable, Hashable {
    case jsonl(path: String)
    case sqlite(path: String, layout: SQLTableLayout)
    case postgres(url: String, layout: SQLTableLayout)

    public var name: String {
        switch self {
        case .jsonl: "jsonl"
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }
}

extension BackendConfiguration {
    /// A backend named on the command line: `jsonl:PATH`, `sqlite:PATH` or `postgres:URL`
    /// (SQL tables with the default name and columns). `setting` names the flag in errors.
    public init(spec: String, setting: String) throws(ConfigurationError) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw ConfigurationError(setting, "\"\(spec)\" is not jsonl:PATH, sqlite:PATH or postgres:URL")
        }
        switch parts[0].lowercased() {
        case "jsonl": self = .jsonl(path: parts[1])
        case "sqlite": self = .sqlite(path: parts[1], layout: .standard)
        case "postgres", "postgresql":
            self = .postgres(url: spec.hasPrefix("postgres") && parts[1].hasPrefix("//") ? spec : parts[1], layout: .standard)
        default: throw ConfigurationError(setting, "unknown backend \"\(parts[0])\" in \"\(spec)\"; use jsonl:, sqlite: or postgres:")
        }
    }
}

/// The resolved, validated configuration of a server.
public struct ServiceConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var backend: BackendConfiguration
    public var maxBodySize: Int
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
    /// The definitions behind `/pipelines` health and trends (`PIPELINE_ANOMALY_K` sets `anomalyK`).
    public var insightSettings: InsightSettings
    /// Runs that started more than this many days ago are deleted by a background job; nil keeps every run.
    public var retentionDays: Int?
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
        maxBodySize: Int = 1 << 20,
        archiveRoots: [String] = [],
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text,
        apiKeys: APIKeySet? = nil,
        authenticationScope: AuthenticationScope = .writes,
        corsOrigins: CORSOrigins = .none,
        basePath: String = "",
        idleTimeout: Duration = .seconds(75),
        requestTimeout: Duration = .seconds(30),
        insightSettings: InsightSettings = .standard,
        retentionDays: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.backend = backend
        self.maxBodySize = maxBodySize
        self.archiveRoots = archiveRoots
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.apiKeys = apiKeys
        self.authenticationScope = authenticationScope
        self.corsOrigins = corsOrigins
        self.basePath = basePath
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.insightSettings = insightSettings
        self.retentionDays = retentionDays
    }

    /// Resolves every setting from flags (which win), then the environment, then defaults,
    /// and validates each; the first bad one is reported as one line naming it.
    public static func resolve(flags: [Setting: String], environment: [String: String]) throws(ConfigurationError) -> ServiceConfiguration {
        func value(_ setting: Setting) -> String? {
            if let flag = flags[setting] { return flag }
            if let fromEnvironment = environment[setting.environmentName], !fromEnvironment.isEmpty { return fromEnvironment }
            return setting.defaultValue
        }
        func name(_ setting: Setting) -> String {
            flags[setting] != nil ? "--\(setting.flagName)" : setting.environmentName
        }
        func integer(_ setting: Setting, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            let text = value(setting) ?? ""
            guard let number = Int(text.trimmingASCIIWhitespace()), range.contains(number) else {
                throw ConfigurationError(name(setting), "\"\(text)\" is not a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return number
        }

        let host = value(.host) ?? "127.0.0.1"
        guard !host.isEmpty else { throw ConfigurationError(name(.host), "must not be empty") }
        let port = try integer(.port, in: 0...65535)
        let maxBodySize = try integer(.maxBodySize, in: 1024...(1 << 30))
        let levelText = (value(.logLevel) ?? "info").lowercased()
        guard let logLevel = Logger.Level(rawValue: levelText) else {
            throw ConfigurationError(name(.logLevel), "\"\(levelText)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        let archiveRoots = (value(.archiveRoots) ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        for root in archiveRoots where !root.hasPrefix("/") {
            throw ConfigurationError(name(.archiveRoots), "\"\(root)\" is not an absolute directory path")
        }
        let formatText = (value(.logFormat) ?? "text").lowercased()
        guard let logFormat = LogFormat(rawValue: formatText) else {
            throw ConfigurationError(name(.logFormat), "\"\(formatText)\" is not one of text, json")
        }
        let access = try AccessSettings.resolve(
            keysFile: value(.apiKeysFile).map { (path: $0, setting: name(.apiKeysFile)) },
            authReads: (value(.authReads) ?? "false", name(.authReads)),
            corsOrigins: (value(.corsOrigins) ?? "", name(.corsOrigins)),
            basePath: (value(.basePath) ?? "", name(.basePath))
        )
        let idleTimeout = try integer(.idleTimeout, in: 1...86_400)
        let requestTimeout = try integer(.requestTimeout, in: 1...3_600)
        let anomalyText = value(.anomalyK) ?? "3.5"
        guard let anomalyK = Double(anomalyText.trimmingASCIIWhitespace()), anomalyK.isFinite, (0.5...20).contains(anomalyK) else {
            throw ConfigurationError(name(.anomalyK), "\"\(anomalyText)\" is not a number in 0.5…20")
        }
        let retentionDays = value(.retentionDays) == nil ? nil : try integer(.retentionDays, in: 1...RetentionPeriod.maximumDays)
        var insightSettings = InsightSettings.standard
        insightSettings.anomalyK = anomalyK

        let layout: () throws(ConfigurationError) -> SQLTableLayout = { () throws(ConfigurationError) in
            do throws(ConfigurationError) {
                return try SQLTableLayout(table: value(.table) ?? SQLTableLayout.defaultTable, columnMapJSON: value(.columnMap))
            } catch {
                let setting: Setting = error.setting == "PIPELINE_TABLE" ? .table : .columnMap
                throw ConfigurationError(name(setting), error.message)
            }
        }
        let backendName = (value(.backend) ?? "jsonl").lowercased()
        let backend: BackendConfiguration
        switch backendName {
        case "jsonl":
            backend = .jsonl(path: value(.jsonlPath) ?? "pipeline_data.jsonl")
        case "sqlite":
            backend = .sqlite(path: value(.sqlitePath) ?? "pipeline_data.sqlite", layout: try layout())
        case "postgres", "postgresql":
            guard let url = value(.postgresURL) else {
                throw ConfigurationError(
                    Setting.postgresURL.environmentName,
                    "must be set when the backend is postgres (postgres://user:pass@host:port/db)"
                )
            }
            backend = .postgres(url: url, layout: try layout())
        default:
            throw ConfigurationError(name(.backend), "unknown backend \"\(backendName)\"; choose jsonl, sqlite or postgres")
        }
        return ServiceConfiguration(
            host: host,
            port: port,
            backend: backend,
            maxBodySize: maxBodySize,
            archiveRoots: archiveRoots,
            logLevel: logLevel,
            logFormat: logFormat,
            apiKeys: access.apiKeys,
            authenticationScope: access.authenticationScope,
            corsOrigins: access.corsOrigins,
            basePath: access.basePath,
            idleTimeout: .seconds(idleTimeout),
            requestTimeout: .seconds(requestTimeout),
            insightSettings: insightSettings,
            retentionDays: retentionDays
        )
    }
}
