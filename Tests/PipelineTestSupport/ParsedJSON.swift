public import PipelineCore
import Testing

/// The complete example record (the repository's `sample_record.json`).
public let sampleRecordJSON = """
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
    """

/// The members of the sample record, to be altered one field at a time.
public func sampleRecordMembers() throws -> [String: JSONValue] {
    let parsed = try JSONParser.parse(sampleRecordJSON)
    return try #require(members(of: parsed))
}

/// The issues a body is refused with; empty when it is accepted.
public func validationIssues(_ members: [String: JSONValue], policy: ValidationPolicy = .strict) -> [FieldIssue] {
    do {
        _ = try PipelineInfo(json: .object(members), policy: policy)
        return []
    } catch {
        return error.issues
    }
}

/// The issues a query string's parameters are refused with; empty when they are accepted.
public func queryIssues(_ parameters: [(name: String, value: String)]) -> [FieldIssue] {
    do {
        _ = try RunQuery(parameters: parameters)
        return []
    } catch {
        return error.issues
    }
}

// MARK: - Reading parsed JSON

public func members(of value: JSONValue?) -> [String: JSONValue]? {
    guard case .object(let members) = value else { return nil }
    return members
}

public func elements(of value: JSONValue?) -> [JSONValue]? {
    guard case .array(let elements) = value else { return nil }
    return elements
}

public func text(of value: JSONValue?) -> String? {
    guard case .string(let text) = value else { return nil }
    return text
}

/// Parses bytes a writer produced; a failure is a test failure.
public func parseWritten(_ bytes: [UInt8]) throws -> JSONValue {
    try JSONParser.parse(bytes)
}
