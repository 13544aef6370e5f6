import PipelineCore
import PostgresNIO

/// `PIPELINE_POSTGRES_URL` taken apart: `postgres://user:password@host:port/database?sslmode=…`
/// (also `postgresql://`, with percent-encoded parts), with the libpq parameters users paste:
/// `sslmode`, `sslrootcert`, `application_name`, `connect_timeout` and `options` (`-c name=value`
/// settings for the session, such as `-csearch_path=legacy`).
///
/// The user and password are found as ``URLUserInfo`` finds them, the rule every redaction hides
/// them with. Messages about the URL never repeat the password, nor anything before the last `@`,
/// where an unencoded password would sit.
struct PostgresURL: Sendable, CustomStringConvertible {
    /// libpq's `sslmode` values that apply here. `prefer` and `require` encrypt without checking
    /// the server's certificate, as libpq does; `verify-full` checks it and the host name.
    enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        /// The certificate is checked against the trusted roots, not the host name.
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// The query parameters understood, as libpq names them.
    static let parameters = ["sslmode", "sslrootcert", "application_name", "connect_timeout", "options"]

    static let shape = "expected postgres://user:password@host:port/database"

    var host: String
    var port: Int
    var username: String
    var password: String?
    /// Nil means the server's default: a database named like the user.
    var database: String?
    var tlsMode: TLSMode
    /// A PEM file of the certificate authorities to trust (`sslrootcert`); nil: the system's.
    var rootCertificatePath: String?
    /// `application_name`, as the server's activity views show it.
    var applicationName = "pipeline-service"
    /// `connect_timeout`, when given (whole seconds, as libpq takes it).
    var connectTimeout: Duration?
    /// Session settings from `options` (`-c name=value`), sent at start-up.
    var sessionSettings: [(String, String)] = []

    /// Makes `schema` (the table's, ``SQLTableLayout/schema``) every session's search path, in place
    /// of a search_path the URL's options set; nil leaves the URL as it is.
    mutating func searchSchema(_ schema: String?) {
        guard let schema else { return }
        sessionSettings = sessionSettings.filter { $0.0.lowercased() != "search_path" } + [("search_path", SQLTableLayout.quote(schema))]
    }

    /// Reads the URL a setting other than `PIPELINE_POSTGRES_URL` gives, naming that setting in errors.
    init(_ text: String, setting: Setting) throws(ConfigurationError) {
        do {
            try self.init(text)
        } catch {
            throw ConfigurationError(setting, error.message)
        }
    }

    init(_ text: String) throws(ConfigurationError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard let schemeEnd = trimmed.firstRange(of: "://") else { throw Self.error(Self.shape) }
        guard ["postgres", "postgresql"].contains(trimmed[..<schemeEnd.lowerBound].lowercased()) else {
            throw Self.error("the scheme must be postgres:// or postgresql://")
        }
        // The user part ends at the last `@`: a password may hold any character, encoded or not.
        guard let parts = URLUserInfo(Substring(trimmed)) else {
            throw Self.error("the user name is missing (\(Self.shape))")
        }
        username = try Self.decoded(parts.user, part: "user name")
        guard !username.isEmpty else { throw Self.error("the user name is missing (\(Self.shape))") }
        if let encoded = parts.password { password = try Self.decoded(encoded, part: "password") }
        let location = parts.location

        let query = location.firstIndex(of: "?").map { location[location.index(after: $0)...] }
        let beforeQuery = location[..<(location.firstIndex(of: "?") ?? location.endIndex)]
        let slash = beforeQuery.firstIndex(of: "/")
        let hostAndPort = beforeQuery[..<(slash ?? beforeQuery.endIndex)]
        if let slash {
            let name = try Self.decoded(beforeQuery[beforeQuery.index(after: slash)...], part: "database name")
            database = name.isEmpty ? nil : name
        } else {
            database = nil
        }
        (host, port) = try Self.hostAndPort(hostAndPort)

        tlsMode = .prefer
        for parameter in (query ?? "").split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decoded(pair[0], part: "parameter name")
            let value = try Self.decoded(pair.count > 1 ? pair[1] : "", part: "parameter value")
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw Self.error("sslmode \"\(value)\" is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tlsMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw Self.error("sslrootcert must name a PEM file") }
                rootCertificatePath = value
            case "application_name":
                guard !value.isEmpty, value.utf8.count <= 63, !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                    throw Self.error("application_name must be 1 to 63 printable bytes")
                }
                applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), (1...3600).contains(seconds) else {
                    throw Self.error("connect_timeout must be whole seconds from 1 to 3600")
                }
                connectTimeout = .seconds(seconds)
            case "options":
                sessionSettings += try Self.sessionSettings(value)
            default:
                throw Self.error("unknown parameter \"\(name)\" (supported: \(Self.parameters.joined(separator: ", ")))")
            }
        }
        if rootCertificatePath != nil, tlsMode != .verifyCA, tlsMode != .verifyFull {
            throw Self.error("sslrootcert is used only with sslmode=verify-ca or verify-full")
        }
    }

    /// The `-c name=value` settings of libpq's `options` (`-csearch_path=legacy`, `-c statement_timeout=5000`).
    private static func sessionSettings(_ options: String) throws(ConfigurationError) -> [(String, String)] {
        var settings: [(String, String)] = []
        var words = options.split(separator: " ").map(String.init)[...]
        while let word = words.popFirst() {
            let setting: String
            if word == "-c", let next = words.popFirst() {
                setting = next
            } else if word.hasPrefix("-c") {
                setting = String(word.dropFirst(2))
            } else {
                throw error("options supports only -c name=value settings (found \"\(word.prefix(40))\")")
            }
            let pair = setting.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, SQLTableLayout.isSafeIdentifier(String(pair[0])) else {
                throw error("options: \"\(setting.prefix(40))\" is not name=value")
            }
            settings.append((String(pair[0]), String(pair[1])))
        }
        return settings
    }

    /// `host:port/database`, safe to show: no user, no password.
    var description: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "\(hostText):\(port)/\(database ?? username)"
    }

    // MARK: - Configurations

    /// The pooled client's configuration. Every session runs in UTC, so that `timestamp` and
    /// `timestamptz` values convert into each other without shifting.
    func clientConfiguration(connectTimeout: Duration) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsChoice {
            case nil: .disable
            case let (configuration, required)?: required ? .require(configuration) : .prefer(configuration)
            }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = self.connectTimeout ?? connectTimeout
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// The configuration of one direct connection, used to probe the server at start-up.
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch tlsChoice {
            case nil: .disable
            case let (configuration, required)?:
                required ? .require(try NIOSSLContext(configuration: configuration)) : .prefer(try NIOSSLContext(configuration: configuration))
            }
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
        configuration.options.connectTimeout = TimeAmount(self.connectTimeout ?? connectTimeout)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// Every session runs in UTC and writes a float (`real`) as its shortest exact decimal (after
    /// the user's settings, which cannot change either), named. A `real` column is read through
    /// that text (``SQLTableLayout/selectExpression(_:)``); with fewer digits it would not read back
    /// the value stored.
    private var startupParameters: [(String, String)] {
        sessionSettings.filter { !["timezone", "extra_float_digits"].contains($0.0.lowercased()) }
            + [("TimeZone", "UTC"), ("extra_float_digits", "1"), ("application_name", applicationName)]
    }

    /// What `sslmode` asks of TLS: nil for none; otherwise the client TLS configuration (which
    /// checks the server's certificate only for `verify-full`) and whether a server without TLS is refused.
    private var tlsChoice: (configuration: TLSConfiguration, required: Bool)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: break
        }
        if let rootCertificatePath { configuration.trustRoots = .file(rootCertificatePath) }
        return (configuration, tlsMode != .prefer)
    }

    // MARK: - Parsing

    private static func error(_ message: String) -> ConfigurationError {
        ConfigurationError(.postgresURL, message)
    }

    private static func hostAndPort(_ text: Substring) throws(ConfigurationError) -> (String, Int) {
        var hostText: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            // An IPv6 literal: [::1]:5432
            guard let close = text.firstIndex(of: "]") else { throw error("the host's IPv6 address lacks its closing \"]\"") }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw error(shape) }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            hostText = text
        }
        let host = try decoded(hostText, part: "host")
        guard !host.isEmpty else { throw error("the host is missing (\(shape))") }
        var port = 5432
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw error("the port must be a number from 1 to 65535")
            }
            port = number
        }
        return (host, port)
    }

    /// Percent-decodes one part of the URL; the part's text never appears in the error.
    private static func decoded(_ text: Substring, part: String) throws(ConfigurationError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(HexDigit.value), let low = iterator.next().flatMap(HexDigit.value) else {
                throw error("the \(part) has an invalid percent-encoding (use %XX with two hex digits)")
            }
            bytes.append(high << 4 | low)
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw error("the \(part) is not valid UTF-8 once percent-decoded")
        }
        return string
    }

}
