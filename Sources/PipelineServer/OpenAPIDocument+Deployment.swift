import PipelineCore

/// What the API description must say about how this server is deployed.
struct APIDeployment: Sendable, Hashable {
    /// The prefix every route is served under (`/pipeline-service`), or empty.
    var basePath: String = ""
    /// Which operations need an API key; nil when keys are off.
    var authentication: AuthenticationScope?
}

extension OpenAPIDocument {
    /// The document as this server serves it: with its base path as the server URL, the
    /// `/metrics` operation, and — when keys are on — the key schemes, each protected operation's
    /// `security` and its 401 and 403 answers.
    static func json(version: String, deployment: APIDeployment) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 16_384)
        writer.value(document(version: version, deployment: deployment))
        return writer.bytes
    }

    static func document(version: String, deployment: APIDeployment) -> JSONValue {
        guard case .object(var members) = document(version: version), case .object(var paths)? = members["paths"] else {
            return document(version: version)
        }
        if !deployment.basePath.isEmpty {
            members["servers"] = .array([.object(["url": .string(deployment.basePath)])])
        }
        paths["/metrics"] = .object(["get": metricsOperation])
        if let scope = deployment.authentication {
            for (path, item) in paths {
                guard case .object(var operations) = item else { continue }
                for (method, operation) in operations
                where method != "get" || (scope == .writesAndReads && !AuthenticationScope.openRoutes.contains(path)) {
                    operations[method] = protected(operation)
                }
                paths[path] = .object(operations)
            }
            if case .object(var components)? = members["components"] {
                components["securitySchemes"] = securitySchemes
                members["components"] = .object(components)
            }
        }
        members["paths"] = .object(paths)
        return .object(members)
    }

    private static var metricsOperation: JSONValue {
        operation(
            "Metrics in the Prometheus text format: requests, storage latency, per-pipeline gauges",
            id: "metrics",
            responses: ["200": textResponse("Prometheus text exposition format 0.0.4", mediaTypes: ["text/plain"])]
        )
    }

    private static var securitySchemes: JSONValue {
        .object([
            "bearerAuth": .object([
                "type": "http", "scheme": "bearer", "description": "An API key from `pipeline-service keygen`, as a Bearer token",
            ]),
            "apiKeyHeader": .object(["type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The same API key in X-API-Key"]),
        ])
    }

    private static func protected(_ operation: JSONValue) -> JSONValue {
        guard case .object(var members) = operation else { return operation }
        members["security"] = .array([.object(["bearerAuth": .array([])]), .object(["apiKeyHeader": .array([])])])
        if case .object(var responses)? = members["responses"] {
            responses["401"] = errorResponse("No API key was sent")
            responses["403"] = errorResponse("The API key sent is not valid")
            members["responses"] = .object(responses)
        }
        return .object(members)
    }
}
