import PipelineCore

/// The pieces every part of the OpenAPI document is built from, so that an operation, a response
/// or a parameter is spelled one way everywhere.
extension OpenAPIDocument {
    static func operation(
        _ summary: String,
        id: String,
        parameters: [JSONValue] = [],
        requestBody: JSONValue? = nil,
        responses: [String: JSONValue]
    ) -> JSONValue {
        // Every operation can also meet these, whatever it does.
        let common: [String: JSONValue] = [
            "405": errorResponse("The path exists but not with this method; Allow lists the methods it has"),
            "500": errorResponse("An unexpected failure; the body gives only the request id (X-Request-ID), never SQL, a path or a trace"),
            "504": errorResponse("The request took longer than PIPELINE_REQUEST_TIMEOUT"),
        ]
        var members: [String: JSONValue] = [
            "summary": .string(summary), "operationId": .string(id), "responses": .object(responses.merging(common) { own, _ in own }),
            "tags": .array([.string(tag(of: id))]),
        ]
        if !parameters.isEmpty { members["parameters"] = .array(parameters) }
        if let requestBody { members["requestBody"] = requestBody }
        return .object(members)
    }

    /// The group an operation is listed under in `/docs`.
    static func tag(of operationID: String) -> String {
        switch operationID {
        case "list_pipelines", "pipeline_history": "pipelines"
        case "post_lineage": "openlineage"
        case "root", "health", "metrics": "service"
        case "get_archived_file": "files"
        default: "runs"
        }
    }

    /// A required request body, by media type.
    static func requestBody(_ schemas: [String: JSONValue]) -> JSONValue {
        .object(["required": true, "content": .object(schemas.mapValues { .object(["schema": $0]) })])
    }

    static func jsonResponse(_ description: String, ref name: String) -> JSONValue {
        jsonResponse(description, schema: ref(name))
    }

    static func jsonResponse(_ description: String, schema: JSONValue) -> JSONValue {
        .object(["description": .string(description), "content": .object(["application/json": .object(["schema": schema])])])
    }

    /// A response whose body is `{"detail": "…"}`.
    static func errorResponse(_ description: String) -> JSONValue {
        jsonResponse(description, ref: "ErrorDetail")
    }

    /// A 422 whose body lists each bad input at its `loc`.
    static func validationResponse(_ description: String = "Validation error naming the parameter") -> JSONValue {
        jsonResponse(description, ref: "HTTPValidationError")
    }

    /// A response that is not JSON: one schema-less string per media type.
    static func textResponse(_ description: String, mediaTypes: [String], format: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let format { schema["format"] = .string(format) }
        return .object([
            "description": .string(description),
            "content": .object(Dictionary(uniqueKeysWithValues: mediaTypes.map { ($0, .object(["schema": .object(schema)])) })),
        ])
    }

    static func ref(_ name: String) -> JSONValue {
        .object(["$ref": .string("#/components/schemas/\(name)")])
    }

    static func queryParameter(_ name: String, description: String, schema: JSONValue) -> JSONValue {
        .object(["name": .string(name), "in": "query", "required": false, "description": .string(description), "schema": schema])
    }

    /// A string of at most `maximumLength` characters.
    static func string(maximumLength: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let maximumLength { schema["maxLength"] = .number(String(maximumLength)) }
        return .object(schema)
    }

    static func integer(minimum: Int64, maximum: Int64, default value: Int64? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "integer", "minimum": .number(String(minimum)), "maximum": .number(String(maximum))]
        if let value { schema["default"] = .number(String(value)) }
        return .object(schema)
    }
}
