import PipelineCore

/// The bulk endpoints' part of the OpenAPI document: `POST /pipelines/batch` and `GET /export`.
extension OpenAPIDocument {
    static var postBatch: JSONValue {
        operation(
            "Store up to \(BatchLimits.maximumRuns) runs at once, all or none: a JSON array, or NDJSON with Content-Type application/x-ndjson",
            id: "create_pipeline_runs_batch",
            requestBody: requestBody([
                "application/json": .object([
                    "type": "array", "maxItems": .number(String(BatchLimits.maximumRuns)), "items": ref("PipelineInfoInput"),
                ]),
                "application/x-ndjson": .object([
                    "type": "string", "description": "One PipelineInfoInput JSON object per line; blank lines are skipped",
                ]),
            ]),
            responses: [
                "201": jsonResponse("Every run is stored (some may have been stored already)", schema: batchResult),
                "200": jsonResponse("Every run was already stored; nothing new was stored", schema: batchResult),
                "409": errorResponse("A different run is already stored under one run's pipeline_name and date_code; nothing was stored"),
                "413": errorResponse(
                    "Body larger than PIPELINE_MAX_BATCH_BODY_SIZE (default \(Setting.maxBatchBodySize.defaultValue ?? "")) bytes"
                ),
                "415": errorResponse("Content-Type is neither application/json nor application/x-ndjson"),
                "422": validationResponse(
                    "Validation error: more than \(BatchLimits.maximumRuns) runs, or each bad field of each run at loc [body, index, field] "
                        + "(the first \(APIError.maximumListedIssues), with error_count counting all); nothing was stored"
                ),
                "503": errorResponse("Storage unavailable or full; nothing was stored"),
            ]
        )
    }

    static var getExport: JSONValue {
        operation(
            "Every run matching the filters of /get_pipeline_info, newest start_utc first, streamed as NDJSON or CSV (no paging)",
            id: "export_pipeline_runs",
            parameters: QueryParameter.export.map { parameter($0) },
            responses: [
                "200": textResponse(
                    "The runs, as an attachment (pipeline_runs.ndjson or pipeline_runs.csv)",
                    mediaTypes: RunExportFormat.allCases.map(\.contentType)
                ),
                "414": errorResponse("Request URI longer than the server accepts"),
                "422": validationResponse(),
                "503": errorResponse("Storage unavailable"),
            ]
        )
    }

    private static var batchResult: JSONValue {
        .object([
            "type": "object",
            "properties": .object([
                "stored": .object(["type": "integer", "description": "Runs that were new and are now stored"]),
                "existing": .object(["type": "integer", "description": "Runs that were already stored, identical"]),
                "runs": .object(["type": "array", "items": ref("PipelineInfo"), "description": "Every run of the batch, in request order"]),
            ]),
            "required": .array(["stored", "existing", "runs"]),
        ])
    }
}
