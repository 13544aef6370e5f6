import PipelineCore
import PostgresNIO

/// `PIPELINE_POSTGRES_URL` taken apart: `postgres://user:password@host:port/database?sslmode=…`
/// (also `postgresql://`, with percent-encoded parts).
///
/// Messages about the URL never repeat the password, nor anything before the last `@`, where
/// an unencoded password would sit.
struct PostgresURL: Sendable, CustomStringConvertible {
    /// libpq's `sslmode` values that apply here. `prefer` and `require` encrypt without checking
    /// the server's certificate, as libpq does; `verify-full` checks it and the host name.
    enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyFull = "verify-full"
    }

    static let shape = "expected postgres://user:password@host:port/database"

    var host: String
    var port: Int
    var username: String
    var password: String?
    /// Nil means the server's default: a database named like the user.
    var database: String?
    var tlsMode: TLSMode

    init(_ text: String) throws(ConfigurationError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard let schemeEnd = trimmed.firstRange(of: "://") else { throw Self.error(Self.shape) }
        guard ["postgres", "postgresql"].contains(trimmed[..<schemeEnd.lowerBound].lowercased()) else {
            throw Self.error("the scheme must be postgres:// or postgresql://")
        }
        let afterScheme = trimmed[schemeEnd.upperBound...]
        // Split at the last `@`: a password may hold any character, encoded or not.
        guard let at = afterScheme.lastIndex(of: "@") else {
            throw Self.error("the user name is missing (\(Self.shape))")
        }
        let userInfo = afterScheme[..<at]
        let location = afterScheme[afterScheme.index(after: at)...]

        let user: Substring
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = userInfo[..<colon]
            password = try Self.decoded(userInfo[userInfo.index(after: colon)...], part: "password")
        } else {
            user = userInfo
        }
        username = try Self.decoded(user, part: "user name")
        guard !username.isEmpty else { throw Self.error("the user name is missing (\(Self.shape))") }
        self.password = password

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
            guard name == "sslmode" else {
                throw Self.error("unknown parameter \"\(name)\" (supported: sslmode)")
            }
            guard let mode = TLSMode(rawValue: value) else {
                throw Self.error("sslmode \"\(value)\" is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            tlsMode = mode
        }
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
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = Self.startupParameters
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
        configuration.options.connectTimeout = TimeAmount(connectTimeout)
        configuration.options.additionalStartupParameters = Self.startupParameters
        return configuration
    }

    private static let startupParameters = [("TimeZone", "UTC"), ("application_name", "pipeline-service")]

    /// What `sslmode` asks of TLS: nil for none; otherwise the client TLS configuration (which
    /// checks the server's certificate only for `verify-full`) and whether a server without TLS is refused.
    private var tlsChoice: (configuration: TLSConfiguration, required: Bool)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyFull: break
        }
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
