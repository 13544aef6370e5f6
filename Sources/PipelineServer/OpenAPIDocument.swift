import HTTPTypes
import PipelineCore
import PipelineStore

/// The OpenAPI 3.1 document served at `/openapi.json`, built from the same constants the
/// code validates with (`QueryParameter`, `RunQuery.maximumLimit`, `PipelineField` limits),
/// so the document cannot drift from the behaviour. A test checks every route and parameter.
enum OpenAPIDocument {
    /// Every documented path (in the router's `{parameter}` syntax) with its methods.
    static var operations: [String: Set<HTTPRequest.Method>] {
        guard case .object(let paths)? = document(version: "")["paths"] else { return [:] }
        return paths.mapValues { item in
            guard case .object(let operations) = item else { return [] }
            return Set(operations.keys.compactMap { HTTPRequest.Method($0.uppercased()) })
        }
    }

    /// The repository's `sample_record.json` (a test keeps the two equal): the example of a run
    /// as a client sends it, and, stored, as every answer gives it back.
    static let sampleRecord = #"""
        {"start_local": "2025-09-02 05:07:02", "end_local": "2025-09-02 05:47:27",
         "start_utc": "2025-09-02T12:07:02Z", "end_utc": "2025-09-02T12:47:27Z",
         "elapsed_seconds": 2424.879, "elapsed_human": "40m 24s",
         "output_file": "/apps/exensio_data/reference_data/SubconLotRefData-20250902_050702.subconLot",
         "rowcount": 11060,
         "log_file": "/apps/exensio_data/reference_data/jag_test/log/getSubconLotRefData_LOTGDB.log",
         "archived_file": "/apps/exensio_data/archives-yms/reference_data/lot/SubconLotRefData-20250902_050702.subconLot.gz",
         "pid": 21788, "date_code": "20250902_050702",
         "pipeline_name": "subcon_lotg_to_refdb_ingest", "script_name": "get_subcon_lot_ref_data_LOTGDB_rc10.py",
         "pipeline_type": "batch", "environment": "prod"}
        """#

    /// The sample as a client sends it, and as an answer gives it back.
    static var sampleRunExamples: (input: JSONValue, output: JSONValue) {
        let input = (try? JSONParser.parse(sampleRecord)) ?? .null
        let output = (try? PipelineInfo(json: input)).flatMap { try? JSONParser.parse($0.jsonBytes) } ?? .null
        return (input, output)
    }

    static func document(version: String) -> JSONValue {
        .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "Pipeline run metadata service",
                "version": .string(version),
                "description": """
                Stores one record per pipeline run and serves filtered run history and per-pipeline summaries. \
                Compatible with the FastAPI service it replaces: same endpoints, JSON and status codes.
                """,
            ]),
            "paths": .object([
                "/": .object([
                    "get": operation("Service information", id: "root", responses: ["200": jsonResponse("Name, version and backend", ref: "Welcome")])
                ]),
                "/health": .object([
                    "get": operation(
                        "Health check: 200 when the backend answers, 503 when it does not",
                        id: "health",
                        responses: ["200": jsonResponse("Healthy", ref: "Health"), "503": jsonResponse("Backend not answering", ref: "Health")]
                    )
                ]),
                "/pipelines": .object(["post": postPipelines, "get": listPipelines]),
                "/get_pipeline_info": .object(["get": getPipelineInfo]),
                "/pipelines/archived/{date_code}": .object(["get": getArchived]),
                "/pipelines/batch": .object(["post": postBatch]),
                "/export": .object(["get": getExport]),
                "/pipelines/history": .object(["get": getHistory]),
                "/runs/{run_id}": .object(["get": getRun]),
                "/api/v1/lineage": .object(["post": postLineage]),
            ]),
            "components": .object(["schemas": allSchemas]),
        ])
    }

    // MARK: - Operations

    private static var postPipelines: JSONValue {
        operation(
            "Store one pipeline run",
            id: "create_pipeline_run",
            requestBody: requestBody(["application/json": ref("PipelineInfoInput")]),
            responses: [
                "201": jsonResponse("Stored; the stored record", ref: "PipelineInfo"),
                "200": jsonResponse(
                    "The identical run (same pipeline_name and date_code) was already stored; nothing new was stored",
                    ref: "PipelineInfo"
                ),
                "409": errorResponse("A different run is already stored under this pipeline_name and date_code"),
                "413": errorResponse("Body larger than PIPELINE_MAX_BODY_SIZE"),
                "415": errorResponse("Content-Type is not application/json (or another +json type)"),
                "422": validationResponse(
                    "Validation error naming each bad field; also when the run would add one signature more than PIPELINE_MAX_PIPELINES"
                ),
                "503": errorResponse("Storage unavailable or full; nothing was stored"),
            ]
        )
    }

    private static var listPipelines: JSONValue {
        operation(
            "Per-pipeline summaries, most recent first; every signature unless limit is given",
            id: "list_pipelines",
            parameters: SummaryQuery.parameters.map { name in
                name == .limit
                    ? parameter(
                        name,
                        description: "Most summaries to return (default: all)",
                        schema: integer(minimum: 1, maximum: Int64(SummaryQuery.maximumLimit))
                    )
                    : parameter(name)
            },
            responses: [
                "200": jsonResponse("Summaries", ref: "PipelineListResponse"),
                "422": validationResponse(),
                "503": errorResponse("Storage unavailable"),
            ]
        )
    }

    private static var getPipelineInfo: JSONValue {
        operation(
            "Filtered, paginated run history, newest start_utc first",
            id: "get_pipeline_info",
            parameters: RunQuery.parameters.map { parameter($0) },
            responses: [
                "200": jsonResponse("One page of runs", ref: "PipelineInfoResponse"),
                "414": errorResponse("Request URI longer than the server accepts"),
                "422": validationResponse(),
                "503": errorResponse("Storage unavailable"),
            ]
        )
    }

    private static var getRun: JSONValue {
        let runID: JSONValue = .object([
            "name": "run_id", "in": "path", "required": true, "schema": .object(["type": "string", "format": "uuid"]),
        ])
        return operation(
            "One run by its run_id, finished or still running",
            id: "get_run",
            parameters: [runID],
            responses: [
                "200": jsonResponse("The run", ref: "PipelineInfo"),
                "404": errorResponse("No run has this run_id"),
                "422": validationResponse("run_id is not a UUID, or a query parameter was given"),
                "503": errorResponse("Storage unavailable"),
            ]
        )
    }

    private static var postLineage: JSONValue {
        let event: JSONValue = .object([
            "type": "object",
            "description": "An OpenLineage RunEvent, JobEvent or DatasetEvent (spec 2-0-x); see the README for how a RunEvent becomes a run",
        ])
        return operation(
            "Report runs as OpenLineage events (Marquez's path, the OpenLineage clients' default); gzip bodies accepted",
            id: "post_lineage",
            requestBody: requestBody([
                "application/json": .object(["oneOf": .array([event, .object(["type": "array", "items": event])])])
            ]),
            responses: [
                "201": jsonResponse(
                    "Every event applied: per event its kind, run_id and outcome (created, updated, existing, ignored, not_stored)",
                    schema: .object(["type": "object", "properties": .object(["events": .object(["type": "array"])])])
                ),
                "409": errorResponse("The event ends a run that already ended differently"),
                "413": errorResponse("Body (inflated) larger than PIPELINE_MAX_BODY_SIZE"),
                "415": errorResponse("Content-Type is not JSON, or Content-Encoding is not gzip or identity"),
                "422": validationResponse("An event is invalid: each issue names the path of the bad member; nothing was stored"),
                "503": errorResponse("Storage unavailable"),
            ]
        )
    }

    private static var getArchived: JSONValue {
        let dateCode: JSONValue = .object([
            "name": "date_code", "in": "path", "required": true, "schema": string(maximumLength: PipelineField.dateCode.maximumLength),
        ])
        return operation(
            "Download a run's archived file (only from PIPELINE_ARCHIVE_ROOTS; 404 when unset), always as an attachment",
            id: "get_archived_file",
            parameters: [dateCode]
                + QueryParameter.archivedFile.map {
                    parameter($0, description: "The pipeline whose run it is; required when several pipelines share the date code")
                },
            responses: [
                "200": textResponse("The file", mediaTypes: ["application/octet-stream"], format: "binary"),
                "404": errorResponse("No such run, no archived file, file outside the archive roots, or the endpoint is off"),
                "409": errorResponse("Several pipelines have a run with this date code; the answer names them, pick one with pipeline_name"),
                "422": validationResponse(),
            ]
        )
    }

    /// The range the server parses for `min_rowcount`/`max_rowcount` (64-bit); beyond it is a 422.
    private static let rowcountBoundSchema = integer(minimum: Int64.min, maximum: Int64.max)

    /// A query parameter as the API reads it: the description and schema fit the meaning the
    /// name has on `GET /get_pipeline_info`, unless an operation gives its own.
    static func parameter(_ name: QueryParameter, description: String? = nil, schema: JSONValue? = nil) -> JSONValue {
        let standard: (description: String, schema: JSONValue) =
            switch name {
            case .startUTC: ("Runs with start_utc >= this instant (no offset means UTC)", .object(["type": "string", "format": "date-time"]))
            case .endUTC: ("Runs with end_utc <= this instant (no offset means UTC)", .object(["type": "string", "format": "date-time"]))
            case .minRowcount: ("Runs with rowcount >= this", rowcountBoundSchema)
            case .maxRowcount: ("Runs with rowcount <= this", rowcountBoundSchema)
            case .pipelineName, .scriptName, .pipelineType, .environment, .dateCode:
                ("Exact match on \(name.rawValue)", string(maximumLength: QueryParameters.maximumTextLength))
            case .status:
                (
                    "Exact match on status; without it, runs still running are left out (status=running lists them)",
                    string(maximumLength: QueryParameters.maximumTextLength)
                )
            case .runID: ("The run with this run_id (running or not)", .object(["type": "string", "format": "uuid"]))
            case .limit:
                ("Page size", integer(minimum: 1, maximum: Int64(RunQuery.maximumLimit), default: Int64(RunQuery.defaultLimit)))
            case .offset: ("Matches to skip (for deep pages prefer cursor)", integer(minimum: 0, maximum: Int64(Int32.max), default: 0))
            case .allData: ("true returns every match, ignoring limit, offset and cursor", .object(["type": "boolean", "default": false]))
            case .cursor:
                (
                    "next_cursor from the previous page, with the same filters (keyset paging, fast at any depth)",
                    string(maximumLength: 128)
                )
            case .bucket:
                (
                    "Bucket width: hour, day (default) or ISO week (Monday 00:00 local time)",
                    .object(["type": "string", "enum": .array(HistoryBucketSize.allCases.map { .string($0.rawValue) }), "default": "day"])
                )
            case .tz:
                (
                    "Time zone the buckets follow: UTC (default), a fixed offset such as +05:30, or an IANA name such as Europe/Paris",
                    .object(["type": "string", "default": "UTC"])
                )
            case .format:
                (
                    "ndjson: one run per line; csv: header row, RFC 4180 quoting, null as empty",
                    .object(["type": "string", "enum": .array(RunExportFormat.allCases.map { .string($0.rawValue) }), "default": "ndjson"])
                )
            case .raw:
                (
                    "CSV only: true writes cells exactly as stored; by default a cell starting with =, +, -, @, tab or CR "
                        + "gets a leading ' so a spreadsheet does not run it as a formula",
                    .object(["type": "boolean", "default": false])
                )
            }
        return queryParameter(name.rawValue, description: description ?? standard.description, schema: schema ?? standard.schema)
    }

    // MARK: - Schemas

    private static var allSchemas: JSONValue {
        guard case .object(let members) = schemas else { return schemas }
        return .object(members.merging(insightSchemas) { first, _ in first })
    }

    private static func fieldSchema(_ field: PipelineField, forInput: Bool) -> JSONValue {
        var members: [String: JSONValue]
        switch field {
        case .startLocal, .endLocal:
            // Output is a wall-clock time without a zone, which JSON Schema's `date-time` (RFC 3339) does not allow.
            // Not `date-time`: that format (RFC 3339) requires an offset, which a wall-clock time has not.
            members =
                forInput
                ? [
                    "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$",
                    "description": "Wall-clock time without zone, e.g. 2025-09-02 05:07:02",
                ]
                : [
                    "type": "string", "pattern": "^[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$",
                    "description": "Wall-clock time without zone, e.g. 2025-09-02T05:07:02",
                ]
        case .startUTC, .endUTC:
            members = ["type": "string", "format": "date-time", "description": "An instant; written as UTC with Z, no offset on input means UTC"]
        case .elapsedSeconds:
            members = ["type": "number", "minimum": 0, "maximum": .number(String(Int64(PipelineInfo.maximumElapsedSeconds)))]
        case .rowcount:
            members = ["type": "integer", "minimum": 0, "maximum": .number(String(PipelineInfo.maximumRowcount))]
        case .pid:
            members = ["type": "integer", "minimum": 0, "maximum": .number(String(PipelineInfo.maximumPID))]
        case .exitCode:
            members = [
                "type": "integer", "minimum": .number(String(PipelineInfo.exitCodeRange.lowerBound)),
                "maximum": .number(String(PipelineInfo.exitCodeRange.upperBound)),
                "description": "The command's exit code (optional); with no status, a non-zero code marks the run failed",
            ]
        case .status:
            members = [
                "type": "string", "minLength": 1, "maxLength": .number(String(field.maximumLength)),
                "description": .string(
                    "running while the run goes on (end fields may then be left out, and read back as null), then how it ended: "
                        + "success, failed, aborted, or another short word; failed runs are counted and flagged"
                ),
            ]
        case .runID:
            members = [
                "type": "string", "format": "uuid",
                "description": "The run's id, the idempotency key; without one, the service names the run by pipeline_name and date_code",
            ]
        default:
            members = ["type": "string", "maxLength": .number(String(field.maximumLength))]
        }
        if forInput, field == .rowcount || field == .pid {
            members["type"] = .array(["integer", "string"])
            members["pattern"] = "^[0-9]+$"
            members["description"] = "An integer, or a string holding one"
        }
        if !forInput, PipelineField.unsetWhileRunning.contains(field), let type = members["type"] {
            members["type"] = .array([type, "null"])
            members["description"] = "null while the run is still running"
        }
        if field.isOptional, let type = members["type"] {
            members["type"] = .array([type, "null"])
        }
        return .object(members)
    }

    private static var schemas: JSONValue {
        func runSchema(forInput: Bool) -> JSONValue {
            let examples = sampleRunExamples
            return .object([
                "examples": .array([forInput ? examples.input : examples.output]),
                "type": "object",
                "properties": .object(
                    Dictionary(uniqueKeysWithValues: PipelineField.allCases.map { ($0.rawValue, fieldSchema($0, forInput: forInput)) })
                ),
                "required": .array(
                    PipelineField.allCases.filter { forInput ? !$0.isOptional : true }.map { .string($0.rawValue) }
                ),
            ])
        }
        let optionalString: JSONValue = .object(["type": .array(["string", "null"])])
        let optionalNumber: JSONValue = .object(["type": .array(["number", "null"])])
        let healthDescription: JSONValue = .string(
            "failed (latest run failed), stuck (a run still running has run far longer than usual), overdue, "
                + "anomaly (latest run outside its band), inactive (fewer than 5 runs, the last over 30 days ago), or ok"
        )
        let runningRuns: JSONValue = .object(["type": "integer", "description": "Runs of this pipeline still running"])
        let oldestRunningStart: JSONValue = .object(["type": .array(["string", "null"]), "format": "date-time"])
        let stuckAfter: JSONValue = .object([
            "type": .array(["string", "null"]), "format": "date-time",
            "description": "When the oldest running run counts as stuck: its start + 3 × the p95 duration (at least 60 s; 5 finished runs needed)",
        ])
        return .object([
            "PipelineInfoInput": runSchema(forInput: true),
            "PipelineInfo": runSchema(forInput: false),
            "PipelineSummary": .object([
                "type": "object",
                "properties": .object([
                    "pipeline_name": optionalString, "script_name": optionalString, "pipeline_type": optionalString,
                    "environment": optionalString, "total_runs": .object(["type": "integer"]),
                    "last_run": .object(["type": "string", "format": "date-time"]),
                    "avg_duration": optionalNumber, "avg_rowcount": optionalNumber,
                    "failed_runs": .object(["type": "integer", "description": "Runs with status failed, or no status and a non-zero exit_code"]),
                    "health": .object([
                        "type": "string", "enum": .array(PipelineHealth.allCases.map { .string($0.rawValue) }),
                        "description": healthDescription,
                    ]),
                    "last_status": optionalString, "last_duration": optionalNumber,
                    "last_rowcount": .object(["type": .array(["integer", "null"])]),
                    "min_duration": optionalNumber, "p50_duration": optionalNumber, "p95_duration": optionalNumber, "max_duration": optionalNumber,
                    "runs_24h": .object(["type": "integer"]), "runs_7d": .object(["type": "integer"]),
                    "typical_interval_seconds": .object([
                        "type": .array(["number", "null"]), "description": "Median gap between consecutive run starts in the window",
                    ]),
                    "overdue": .object(["type": "boolean", "description": "No run for more than twice the typical interval (at least 5 runs)"]),
                    "due_by": .object(["type": .array(["string", "null"]), "format": "date-time"]),
                    "window_runs": .object(["type": "integer", "description": "How many recent runs the statistics cover"]),
                    "running_runs": runningRuns, "oldest_running_start": oldestRunningStart, "stuck_after": stuckAfter,
                    "anomaly": .object([
                        "oneOf": .array([.object(["type": "null"]), ref("RunAnomaly")]),
                        "description": "The latest run when its rowcount or duration is outside median ± k·MAD of the previous runs",
                    ]),
                ]),
                "required": .array(
                    ["pipeline_name", "script_name", "pipeline_type", "environment", "total_runs", "last_run", "avg_duration", "avg_rowcount"]
                ),
            ]),
            "RunAnomaly": .object([
                "type": "object",
                "properties": .object([
                    "start_utc": .object(["type": "string", "format": "date-time"]), "date_code": .object(["type": "string"]),
                    "findings": .object([
                        "type": "array",
                        "items": .object([
                            "type": "object",
                            "properties": .object([
                                "metric": .object(["type": "string", "enum": .array(AnomalyMetric.allCases.map { .string($0.rawValue) })]),
                                "observed": .object(["type": "number"]), "median": .object(["type": "number"]),
                                "mad": .object(["type": "number"]), "expected_low": .object(["type": "number"]),
                                "expected_high": .object(["type": "number"]),
                            ]),
                        ]),
                    ]),
                ]),
            ]),
            "PipelineInfoResponse": .object([
                "type": "object",
                "properties": .object([
                    "total": .object(["type": "integer", "description": "Every match regardless of paging"]),
                    "count": .object(["type": "integer", "description": "len(results)"]),
                    "results": .object(["type": "array", "items": ref("PipelineInfo")]),
                    "pipelines": .object([
                        "type": "array", "items": .object(["type": "string"]), "description": "Distinct non-null pipeline names in results",
                    ]),
                    "next_cursor": .object([
                        "type": .array(["string", "null"]), "description": "Pass as cursor for the next page; null on the last page",
                    ]),
                ]),
                "required": .array(["total", "count", "results", "pipelines", "next_cursor"]),
            ]),
            "PipelineListResponse": .object([
                "type": "object",
                "properties": .object(["pipelines": .object(["type": "array", "items": ref("PipelineSummary")])]),
                "required": .array(["pipelines"]),
            ]),
            "ErrorDetail": .object([
                "type": "object",
                "properties": .object(["detail": .object(["type": "string"])]),
                "required": .array(["detail"]),
            ]),
            "HTTPValidationError": .object([
                "type": "object",
                "properties": .object([
                    "detail": .object([
                        "type": "array",
                        "items": .object([
                            "type": "object",
                            "properties": .object([
                                "type": .object(["type": "string"]),
                                "loc": .object(["type": "array", "items": .object(["type": .array(["string", "integer"])])]),
                                "msg": .object(["type": "string"]),
                                "input": .object([:]),
                            ]),
                            "required": .array(["type", "loc", "msg"]),
                        ]),
                    ])
                ]),
                "required": .array(["detail"]),
            ]),
            "Health": .object([
                "type": "object",
                "properties": .object([
                    "status": .object(["type": "string", "enum": .array(["healthy", "unhealthy"])]),
                    "backend": .object(["type": "string"]), "version": .object(["type": "string"]),
                    "detail": .object(["type": "string"]),
                ]),
                "required": .array(["status", "backend", "version"]),
            ]),
            "Welcome": .object([
                "type": "object",
                "properties": .object([
                    "name": .object(["type": "string"]), "version": .object(["type": "string"]),
                    "backend": .object(["type": "string"]), "docs": .object(["type": "string"]),
                    "openapi": .object(["type": "string"]), "message": .object(["type": "string"]),
                ]),
                "required": .array(["name", "version", "backend", "docs"]),
            ]),
        ])
    }
}
