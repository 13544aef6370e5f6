import PipelineCore

/// The bulk endpoints' part of the OpenAPI document: `POST /pipelines/batch` and `GET /export`.
extension OpenAPIDocument {
    static var postBatch: JSONValue {
        .object([
            "summary": .string(
                "Store up to \(BatchLimits.maximumRuns) runs at once, all or none: a JSON array, or NDJSON with Content-Type application/x-ndjson"
            ),
            "operationId": "create_pipeline_runs_batch",
            "requestBody": .object([
                "required": true,
                "content": .object([
                    "application/json": .object([
                        "schema": .object([
                            "type": "array", "maxItems": .number(String(BatchLimits.maximumRuns)), "items": schemaRef("PipelineInfoInput"),
                        ])
                    ]),
                    "application/x-ndjson": .object([
                        "schema": .object(["type": "string", "description": "One PipelineInfoInput JSON object per line; blank lines are skipped"])
                    ]),
                ]),
            ]),
            "responses": .object([
                "201": json("Every run is stored (some may have been stored already)", schema: batchResult),
                "200": json("Every run was already stored; nothing new was stored", schema: batchResult),
                "409": json("A different run is already stored under one run's pipeline_name and date_code; nothing was stored", ref: "ErrorDetail"),
                "413": json(
                    "Body larger than PIPELINE_MAX_BATCH_BODY_SIZE (default \(Setting.maxBatchBodySize.defaultValue ?? "")) bytes",
                    ref: "ErrorDetail"
                ),
                "415": json("Content-Type is neither application/json nor application/x-ndjson", ref: "ErrorDetail"),
                "422": json(
                    "Validation error: more than \(BatchLimits.maximumRuns) runs, or each bad field of each run at loc [body, index, field]; nothing was stored",
                    ref: "HTTPValidationError"
                ),
                "503": json("Storage unavailable or full; nothing was stored", ref: "ErrorDetail"),
            ]),
        ])
    }

    static var getExport: JSONValue {
        let filters = RunQueryParameter.filters
        let format: JSONValue = .object([
            "name": "format", "in": "query", "required": false,
            "description": "ndjson: one run per line; csv: header row, RFC 4180 quoting, null as empty",
            "schema": .object(["type": "string", "enum": .array(RunExportFormat.allCases.map { .string($0.rawValue) }), "default": "ndjson"]),
        ])
        return .object([
            "summary": "Every run matching the filters of /get_pipeline_info, newest start_utc first, streamed as NDJSON or CSV (no paging)",
            "operationId": "export_pipeline_runs",
            "parameters": .array([format] + filters.map(parameter)),
            "responses": .object([
                "200": .object([
                    "description": "The runs, as an attachment (pipeline_runs.ndjson or pipeline_runs.csv)",
                    "content": .object([
                        "application/x-ndjson": .object(["schema": .object(["type": "string"])]),
                        "text/csv": .object(["schema": .object(["type": "string"])]),
                    ]),
                ]),
                "414": json("Request URI longer than the server accepts", ref: "ErrorDetail"),
                "422": json("Validation error naming the parameter", ref: "HTTPValidationError"),
                "503": json("Storage unavailable", ref: "ErrorDetail"),
            ]),
        ])
    }

    private static var batchResult: JSONValue {
        .object([
            "type": "object",
            "properties": .object([
                "stored": .object(["type": "integer", "description": "Runs that were new and are now stored"]),
                "existing": .object(["type": "integer", "description": "Runs that were already stored, identical"]),
                "runs": .object(["type": "array", "items": schemaRef("PipelineInfo"), "description": "Every run of the batch, in request order"]),
            ]),
            "required": .array(["stored", "existing", "runs"]),
        ])
    }

    private static func json(_ description: String, ref name: String) -> JSONValue {
        json(description, schema: schemaRef(name))
    }

    private static func json(_ description: String, schema: JSONValue) -> JSONValue {
        .object(["description": .string(description), "content": .object(["application/json": .object(["schema": schema])])])
    }

    private static func schemaRef(_ name: String) -> JSONValue {
        .object(["$ref": .string("#/components/schemas/\(name)")])
    }
}
