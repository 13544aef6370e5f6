import PipelineCore

/// The insight part of the OpenAPI document: `GET /pipelines/history` and its schemas.
extension OpenAPIDocument {
    static var getHistory: JSONValue {
        .object([
            "summary": "Runs per time bucket (hour, day or ISO week, in UTC or a time zone): counts, failures, duration and rowcount",
            "operationId": "pipeline_history",
            "parameters": .array(
                HistoryParameter.allCases.map { parameter in
                    var schema: [String: JSONValue] = ["type": "string"]
                    switch parameter {
                    case .bucket:
                        schema["enum"] = .array(HistoryBucketSize.allCases.map { .string($0.rawValue) })
                        schema["default"] = "day"
                    case .startUTC, .endUTC: schema["format"] = "date-time"
                    case .tz: schema["default"] = "UTC"
                    case .pipelineName, .scriptName, .pipelineType, .environment: schema["maxLength"] = 256
                    }
                    return .object([
                        "name": .string(parameter.rawValue), "in": "query", "required": false,
                        "description": .string(parameter.description), "schema": .object(schema),
                    ])
                }
            ),
            "responses": .object([
                "200": .object([
                    "description": "Every bucket of the range in order, empty ones included",
                    "content": .object(["application/json": .object(["schema": .object(["$ref": "#/components/schemas/RunHistory"])])]),
                ]),
                "422": .object([
                    "description": .string("Validation error naming the parameter (also: more than \(RunHistory.maximumBuckets) buckets)"),
                    "content": .object(["application/json": .object(["schema": .object(["$ref": "#/components/schemas/HTTPValidationError"])])]),
                ]),
                "503": .object([
                    "description": "Storage unavailable",
                    "content": .object(["application/json": .object(["schema": .object(["$ref": "#/components/schemas/ErrorDetail"])])]),
                ]),
            ]),
        ])
    }

    static var insightSchemas: [String: JSONValue] {
        let optionalNumber: JSONValue = .object(["type": .array(["number", "null"])])
        let integer: JSONValue = .object(["type": "integer"])
        return [
            "RunHistory": .object([
                "type": "object",
                "properties": .object([
                    "pipeline_name": .object(["type": .array(["string", "null"])]),
                    "bucket": .object(["type": "string", "enum": .array(HistoryBucketSize.allCases.map { .string($0.rawValue) })]),
                    "tz": .object(["type": "string"]),
                    "buckets": .object(["type": "array", "items": .object(["$ref": "#/components/schemas/HistoryBucket"])]),
                ]),
                "required": .array(["pipeline_name", "bucket", "tz", "buckets"]),
            ]),
            "HistoryBucket": .object([
                "type": "object",
                "properties": .object([
                    "start_utc": .object(["type": "string", "format": "date-time"]),
                    "start_local": .object(["type": "string", "description": "The bucket's start as wall-clock time in tz"]),
                    "utc_offset": .object(["type": "string", "description": "tz's offset at the bucket's start, e.g. +02:00"]),
                    "runs": integer, "failed_runs": integer,
                    "avg_duration": optionalNumber, "p95_duration": optionalNumber,
                    "total_rowcount": integer, "avg_rowcount": optionalNumber,
                ]),
                "required": .array([
                    "start_utc", "start_local", "utc_offset", "runs", "failed_runs", "avg_duration", "p95_duration", "total_rowcount",
                    "avg_rowcount",
                ]),
            ]),
        ]
    }
}
