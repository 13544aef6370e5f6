import PipelineCore

/// The insight part of the OpenAPI document: `GET /pipelines/history` and its schemas.
extension OpenAPIDocument {
    static var getHistory: JSONValue {
        operation(
            "Runs per time bucket (hour, day or ISO week, in UTC or a time zone): counts, failures, duration and rowcount",
            id: "pipeline_history",
            parameters: HistoryQuery.parameters.map { name in
                switch name {
                case .startUTC:
                    parameter(
                        name,
                        description: "Runs started at or after this instant "
                            + "(default: the earliest run, at most 14 days back for hour, 365 for day, 5 years for week)"
                    )
                case .endUTC: parameter(name, description: "Runs started at or before this instant (default: the latest run)")
                default: parameter(name)
                }
            },
            responses: [
                "200": jsonResponse("Every bucket of the range in order, empty ones included", ref: "RunHistory"),
                "422": validationResponse("Validation error naming the parameter (also: more than \(RunHistory.maximumBuckets) buckets)"),
                "503": errorResponse("Storage unavailable"),
            ]
        )
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
                    "buckets": .object(["type": "array", "items": ref("HistoryBucket")]),
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
