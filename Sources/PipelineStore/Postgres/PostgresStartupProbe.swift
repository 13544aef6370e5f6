import Logging
import PipelineCore
import PostgresNIO

/// One direct connection at start-up, to say why the server cannot be used (refused, unknown
/// database, authentication failed) rather than only that the pool found no connection in time.
enum PostgresStartupProbe {
    /// Connects and disconnects. Throws a ``ConfigurationError`` naming `PIPELINE_POSTGRES_URL`
    /// with `host:port/database` and a short reason, never the password; wrapped in
    /// ``StorageUnreachable`` when the server may simply not be up yet (``isTransient(_:)``).
    static func check(_ url: PostgresURL, timeout: Duration, logger: Logger) async throws {
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
            let failure = ConfigurationError(.postgresURL, "cannot connect to \(url): \(reason(error, url: url, timeout: timeout))")
            guard isTransient(error) else {
                logger.error("Cannot connect to PostgreSQL", metadata: ["server": "\(url)", "error": "\(String(reflecting: error))"])
                throw failure
            }
            logger.debug("PostgreSQL is not reachable", metadata: ["server": "\(url)", "error": "\(String(reflecting: error))"])
            throw StorageUnreachable(failure)
        }
    }

    /// Whether a failed connection may succeed later without any setting changing: nothing
    /// listens yet, the host name does not resolve yet (a container not started), no answer, or
    /// the server says it is starting, stopping, or full. A refused password, a missing database
    /// or a TLS mismatch is not: waiting would only delay the same error.
    static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case is PostgresTimeout, is NIOConnectionError, is IOError, is ChannelError:
            return true
        case let error as PSQLError:
            switch error.code {
            case .server:
                // cannot_connect_now (starting up, shutting down, recovering), admin_shutdown,
                // crash_shutdown, too_many_connections.
                return ["57P03", "57P01", "57P02", "53300"].contains(error.serverInfo?[.sqlState] ?? "")
            case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest, .authMechanismRequiresPassword,
                .unsupportedAuthMechanism, .saslError:
                return false
            default:
                return error.underlying.map(isTransient) ?? true
            }
        default:
            return false
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
