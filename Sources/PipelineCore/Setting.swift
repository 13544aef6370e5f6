/// Every setting of the service, declared once: its flag, its environment variable, its default,
/// what values it takes and its help. The command line's flags and `--help`, the README's table,
/// the resolution of flags over variables over defaults, and every ``ConfigurationError`` come
/// from this table, so a setting cannot be documented in one place and missing in another.
public enum Setting: String, CaseIterable, Sendable, Hashable {
    case backend
    case jsonlPath
    case sqlitePath
    case postgresURL
    case postgresReadURL
    case table
    case columnMap
    case maxPipelines
    case logLevel
    case logFormat
    case host
    case port
    case maxBodySize
    case maxBatchBodySize
    case archiveRoots
    case apiKeysFile
    case authReads
    case corsOrigins
    case basePath
    case idleTimeout
    case requestTimeout
    case startupWait
    case anomalyK
    case lineageTimezone
    case retentionDays

    /// Which commands take a setting.
    public enum Scope: Sendable, Hashable {
        /// Every command that opens storage (`serve`, `import`, `export`, `prune`).
        case storage
        /// The server only.
        case server
    }

    /// What a setting's value may be. The resolver checks each value against its rule, and the
    /// help and the README say the same rule.
    public enum Rule: Sendable, Hashable {
        /// Any non-empty text (paths, URLs, JSON), checked further where it is used.
        case text
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        case choice([String])
        case flag
    }

    /// The flag, without its leading dashes: `--jsonl-path`. A run of capitals is one word
    /// (`postgresReadURL` → `postgres-read-url`).
    public var flagName: String {
        var name = ""
        var previousIsUppercase = true
        for scalar in rawValue.unicodeScalars {
            let isUppercase = scalar.properties.isUppercase
            if isUppercase, !previousIsUppercase { name += "-" }
            name += String(scalar).lowercased()
            previousIsUppercase = isUppercase
        }
        return name
    }

    /// The environment variable: `PIPELINE_` and the flag's name in capitals, `-` as `_`.
    public var environmentName: String {
        "PIPELINE_" + flagName.uppercased().replacingDashes(with: "_")
    }

    /// The variable naming a file that holds the value, for secrets that container platforms
    /// mount as files (`PIPELINE_POSTGRES_URL_FILE`); nil for settings that are not secret.
    public var fileEnvironmentName: String? {
        isSecret ? environmentName + "_FILE" : nil
    }

    /// Whether the value can hold a password: it is then redacted in every message and log, and
    /// can come from a file (``fileEnvironmentName``).
    public var isSecret: Bool { self == .postgresURL || self == .postgresReadURL }

    public var scope: Scope {
        switch self {
        case .backend, .jsonlPath, .sqlitePath, .postgresURL, .postgresReadURL, .table, .columnMap, .maxPipelines, .logLevel, .logFormat: .storage
        default: .server
        }
    }

    /// The default, as text; nil when the setting is unset by default.
    public var defaultValue: String? {
        switch self {
        case .backend: "jsonl"
        case .jsonlPath: "pipeline_data.jsonl"
        case .sqlitePath: "pipeline_data.sqlite"
        case .postgresURL, .postgresReadURL, .columnMap, .archiveRoots, .apiKeysFile, .corsOrigins, .basePath, .retentionDays: nil
        case .table: "pipeline_runs"
        case .maxPipelines: "10000"
        case .logLevel: "info"
        case .logFormat: "text"
        case .host: "127.0.0.1"
        case .port: "8000"
        case .maxBodySize: "1048576"
        case .maxBatchBodySize: "33554432"
        case .authReads: "false"
        case .idleTimeout: "75"
        case .requestTimeout: "30"
        case .startupWait: "60"
        case .anomalyK: "3.5"
        case .lineageTimezone: "UTC"
        }
    }

    public var rule: Rule {
        switch self {
        case .backend: .choice(["jsonl", "sqlite", "postgres"])
        case .maxPipelines: .integer(1...10_000_000)
        case .logLevel: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"])
        case .logFormat: .choice(["text", "json"])
        case .port: .integer(0...65535)
        case .maxBodySize: .integer(1024...(1 << 30))
        case .maxBatchBodySize: .integer(1024...(1 << 30))
        case .authReads: .flag
        case .idleTimeout: .integer(1...86_400)
        case .requestTimeout: .integer(1...3_600)
        case .startupWait: .integer(0...86_400)
        case .anomalyK: .number(0.5...20)
        case .retentionDays: .integer(1...RetentionPeriod.maximumDays)
        case .jsonlPath, .sqlitePath, .postgresURL, .postgresReadURL, .table, .columnMap, .host, .archiveRoots, .apiKeysFile, .corsOrigins, .basePath,
            .lineageTimezone:
            .text
        }
    }

    /// One line for `--help` and the README.
    public var summary: String {
        switch self {
        case .backend: "Storage backend."
        case .jsonlPath: "JSONL data file (jsonl backend)."
        case .sqlitePath: "SQLite database file (sqlite backend)."
        case .postgresURL:
            "postgres://user:pass@host:port/db[?sslmode=disable|prefer|require|verify-ca|verify-full&sslrootcert=…&application_name=…&connect_timeout=…&options=-csearch_path%3D…] (postgres backend); a secret, also read from the file PIPELINE_POSTGRES_URL_FILE names."
        case .postgresReadURL:
            "Comma-separated postgres:// URLs of hot standbys that serve reads (queries, summaries, history, /ui, export), a failed one skipped for 10 s; writes, and what a write reads, stay on the primary (postgres backend). A secret, also read from the file PIPELINE_POSTGRES_READ_URL_FILE names."
        case .table:
            "Table name (sql backends; at most 51 characters for a table the service creates); on postgres also schema.table, e.g. legacy.pipeline_runs."
        case .columnMap: "JSON object model field → column name, for an existing table (sql backends)."
        case .maxPipelines: "Most distinct pipeline signatures stored; a run that would add one more is refused with 422."
        case .logLevel: "Least severe log level written."
        case .logFormat: "text (control characters escaped), or json for one JSON object per line."
        case .host: "Address to listen on (0.0.0.0: every interface)."
        case .port: "TCP port to listen on (0: any free port)."
        case .maxBodySize: "Largest accepted body of POST /pipelines, in bytes (larger: 413)."
        case .maxBatchBodySize: "Largest accepted body of POST /pipelines/batch, in bytes (larger: 413)."
        case .archiveRoots:
            "Colon-separated absolute directories archived files may be served from, each existing at start-up; unset: the endpoint is off."
        case .apiKeysFile: "File of API key SHA-256 hashes (see `keygen`); set: writes need a key."
        case .authReads: "true: reads need an API key too (/health, /, /docs and /openapi.json stay open)."
        case .corsOrigins: "Comma-separated browser origins allowed by CORS (https://host[:port]), or *; unset: none."
        case .basePath: "Path prefix every route is served under, e.g. /pipeline-service behind a reverse proxy."
        case .idleTimeout: "Seconds an idle connection is kept open."
        case .requestTimeout: "Seconds a request may take before it is answered 504."
        case .startupWait:
            "Seconds serve waits for a PostgreSQL that cannot be reached at start-up, trying again 1 s, 2 s, 4 s… (at most 10 s) apart while /health answers 503; 0: exit at once."
        case .anomalyK: "Anomaly band width: a run is flagged outside median ± k·MAD of the previous 30 runs."
        case .lineageTimezone:
            "Zone of start_local, end_local and date_code for runs reported as OpenLineage events: UTC, an offset such as +05:30, or an IANA name."
        case .retentionDays: "Delete runs that started more than this many days ago, shortly after start and then hourly; unset: keep every run."
        }
    }

    /// The values the rule allows, in words: `0…65535`, `jsonl, sqlite, postgres`, `true or false`.
    public var allowedValues: String? {
        switch rule {
        case .text: nil
        case .integer(let range): "\(range.lowerBound)…\(range.upperBound)"
        case .number(let range): "\(Self.plain(range.lowerBound))…\(Self.plain(range.upperBound))"
        case .choice(let words): words.joined(separator: ", ")
        case .flag: "true or false (also 1 or 0, yes or no, on or off)"
        }
    }

    /// `--help` text: the summary, the allowed values, the variable and the default.
    public var help: String {
        let allowed = allowedValues.map { " (\($0))" } ?? ""
        return "\(summary)\(allowed) (env: \(environmentName); default: \(defaultValue ?? "unset"))"
    }

    private static func plain(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

extension String {
    fileprivate func replacingDashes(with replacement: String) -> String {
        split(separator: "-", omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Where a setting's value came from.
public enum SettingSource: Sendable, Hashable {
    case flag
    case environment
    /// The file a `…_FILE` variable names.
    case file
    case defaultValue
}

/// A setting or argument that stops start-up, reported as one line naming it as the user gave
/// it (`--port: …` for a flag, `PIPELINE_PORT: …` for a variable).
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the error is about.
    public enum Subject: Sendable, Hashable {
        case setting(Setting)
        /// A command-line argument that is not a setting (`--from` of `migrate`).
        case argument(String)
    }

    public var subject: Subject
    public var message: String
    /// Where the setting's value came from, when known: it decides the name the error shows.
    public var source: SettingSource?

    public init(_ setting: Setting, _ message: String, source: SettingSource? = nil) {
        self.subject = .setting(setting)
        self.message = message
        self.source = source
    }

    public init(argument: String, _ message: String) {
        self.subject = .argument(argument)
        self.message = message
    }

    /// The setting, when the error is about one.
    public var setting: Setting? {
        if case .setting(let setting) = subject { return setting }
        return nil
    }

    /// The name the user gave: the flag, the variable, or the file variable.
    public var name: String {
        switch subject {
        case .argument(let argument): argument
        case .setting(let setting):
            switch source {
            case .flag: "--" + setting.flagName
            case .file: setting.fileEnvironmentName ?? setting.environmentName
            case .environment, .defaultValue, nil: setting.environmentName
            }
        }
    }

    /// The same error, naming the setting as it was given (`sources` holds where each setting came from).
    public func attributed(to sources: [Setting: SettingSource]) -> ConfigurationError {
        guard source == nil, let setting else { return self }
        var attributed = self
        attributed.source = sources[setting]
        return attributed
    }

    public var description: String { "\(name): \(message)" }
}

/// Where a URL keeps its user and password (`scheme://user:password@location`), by the one rule
/// the PostgreSQL URL parser reads them with and every redaction hides them with: the scheme ends
/// at the first `://`, the user part at the last `@` after it (so a password may hold any
/// character, `@`, `/`, `?`, `#` and spaces included, encoded or not), and the user name at the
/// user part's first `:`.
public struct URLUserInfo: Sendable {
    /// Everything before the first `://`.
    public var scheme: Substring
    public var user: Substring
    /// Nil when the user part has no `:`.
    public var password: Substring?
    /// Everything after the last `@`: host, port, path and query.
    public var location: Substring

    /// Nil when `url` has no `://`, or no `@` after it (then it holds no user by this rule).
    public init?(_ url: Substring) {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let afterScheme = url[schemeEnd.upperBound...]
        guard let at = afterScheme.lastIndex(of: "@") else { return nil }
        scheme = url[..<schemeEnd.lowerBound]
        let userPart = afterScheme[..<at]
        if let colon = userPart.firstIndex(of: ":") {
            user = userPart[..<colon]
            password = userPart[userPart.index(after: colon)...]
        } else {
            user = userPart
            password = nil
        }
        location = afterScheme[afterScheme.index(after: at)...]
    }
}

/// Secrets kept out of messages and logs.
public enum Redaction {
    /// `text` with the password of the `scheme://user:password@location` in it replaced by `***`,
    /// found as ``URLUserInfo`` finds it, so a URL — a mistyped scheme included — can be shown or
    /// quoted in an error without giving its password away, whatever characters the password
    /// holds. In text holding several URLs, everything from the first one's password to the last
    /// `@` is hidden: more than the password, never less.
    public static func credentials(in text: String) -> String {
        let substring = Substring(text)
        guard let parts = URLUserInfo(substring), parts.password != nil else { return text }
        return "\(parts.scheme)://\(parts.user):***@\(parts.location)"
    }

    /// A secret setting's value as it may be shown (`settings`): each URL of a list
    /// (``Setting/postgresReadURLs(_:)``) with its password hidden; a list with a piece that is no
    /// `scheme://user@…` URL (it may be a password cut at a comma) is hidden as one text instead.
    public static func value(_ text: String, of setting: Setting) -> String {
        guard setting.isSecret else { return text }
        if setting == .postgresReadURL {
            let urls = Setting.postgresReadURLs(text)
            if urls.allSatisfy({ URLUserInfo(Substring($0)) != nil }) {
                return urls.map(credentials(in:)).joined(separator: ",")
            }
        }
        return credentials(in: text)
    }
}

extension Setting {
    /// The URLs `PIPELINE_POSTGRES_READ_URL` lists: separated by commas, blanks dropped.
    public static func postgresReadURLs(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
    }
}
