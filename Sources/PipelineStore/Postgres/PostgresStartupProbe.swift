import Logging
import PipelineCore
import PostgresNIO

/// One direct connection at start-up, to say why the server cannot be used (refused, unknown
/// database, authentication failed) rather than only that the pool found no connection in time.
enum PostgresStartupProbe {
    /// Connects and disconnects; throws a ``ConfigurationError`` naming `PIPELINE_POSTGRES_URL`
    /// with `host:port/database` and a short reason, never the password.
    static func check(_ url: PostgresURL, timeout: Duration, logger: Logger) async throws(ConfigurationError) {
        let configuration: PostgresConnection.Configuration
        do {
            configuration = try url.connectionConfiguration(connectTimeout: timeout)
        } catch {
            throw ConfigurationError(.postgresURL, "cannot set up TLS for \(url): \(error)")
        }
        do {
            let connection = try await PostgresConnections.withTimeout(timeout) {
                try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }
            try? await connection.close()
        } catch {
            logger.error("Cannot connect to PostgreSQL", metadata: ["server": "\(url)", "error": "\(String(reflecting: error))"])
            throw ConfigurationError(.postgresURL, "cannot connect to \(url): \(reason(error, url: url, timeout: timeout))")
        }
    }

    /// A short, password-free explanation of a failed connection: `connection refused`,
    /// `database "x" does not exist`, `password authentication failed for user "app"`.
    static func reason(_ error: any Error, url: PostgresURL, timeout: Duration) -> String {
        switch error {
        case is PostgresTimeout:
            return "no answer within \(timeout)"
        case let error as PSQLError:
            switch error.code {
            case .server:
                return error.serverInfo?[.message] ?? "the server refused the connection"
            case .sslUnsupported:
                return "the server does not offer TLS, which sslmode=\(url.tlsMode.rawValue) requires"
            case .authMechanismRequiresPassword:
                return "the server asks for a password and the URL has none"
            case .unsupportedAuthMechanism:
                return "the server asks for an authentication method this client does not support"
            default:
                return error.underlying.map { reason($0, url: url, timeout: timeout) } ?? "the connection failed (\(error.code))"
            }
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first { return reason(failure.error, url: url, timeout: timeout) }
            return error.dnsAError != nil || error.dnsAAAAError != nil ? "the host name cannot be resolved" : "the connection failed"
        case let error as IOError:
            return systemErrorText(error.errnoCode).lowercased()
        case let error as ChannelError:
            if case .connectTimeout = error { return "no answer within \(timeout)" }
            return "\(error)"
        default:
            return "\(error)"
        }
    }
}
