import PipelineCore
import Testing

/// The complete example record of SPEC §2.1.
let specSampleJSON = """
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

/// The members of the SPEC sample, to be altered one field at a time.
func specSampleMembers() throws -> [String: JSONValue] {
    let parsed = try JSONParser.parse(specSampleJSON)
    return try #require(members(of: parsed))
}

/// The issues a body is refused with; empty when it is accepted.
func validationIssues(_ members: [String: JSONValue], policy: ValidationPolicy = .strict) -> [FieldIssue] {
    do {
        _ = try PipelineInfo(json: .object(members), policy: policy)
        return []
    } catch {
        return error.issues
    }
}

/// The issues a query string's parameters are refused with; empty when they are accepted.
func queryIssues(_ parameters: [(name: String, value: String)]) -> [FieldIssue] {
    do {
        _ = try RunQuery(parameters: parameters)
        return []
    } catch {
        return error.issues
    }
}

// MARK: - Reading parsed JSON

func members(of value: JSONValue?) -> [String: JSONValue]? {
    guard case .object(let members) = value else { return nil }
    return members
}

func elements(of value: JSONValue?) -> [JSONValue]? {
    guard case .array(let elements) = value else { return nil }
    return elements
}

func text(of value: JSONValue?) -> String? {
    guard case .string(let text) = value else { return nil }
    return text
}

/// Parses bytes a writer produced; a failure is a test failure.
func parseWritten(_ bytes: [UInt8]) throws -> JSONValue {
    try JSONParser.parse(bytes)
}

// MARK: - Independent calendar arithmetic

/// Days from 1970-01-01 to the first day of each year 1...10000, by counting year lengths one by one
/// (deliberately not the closed-form algorithm the code under test uses).
enum NaiveCalendar {
    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static let yearStarts: [Int] = {
        var starts = [Int](repeating: 0, count: 10_002)
        for year in 1971...10_001 { starts[year] = starts[year - 1] + (isLeap(year - 1) ? 366 : 365) }
        for year in stride(from: 1969, through: 1, by: -1) { starts[year] = starts[year + 1] - (isLeap(year) ? 366 : 365) }
        return starts
    }()

    static func monthLengths(_ year: Int) -> [Int] { [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] }

    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        yearStarts[year] + monthLengths(year).prefix(month - 1).reduce(0, +) + day - 1
    }

    static func microseconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, micro: Int) -> Int64 {
        let days = Int64(daysSinceEpoch(year: year, month: month, day: day))
        return (days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000 + Int64(micro)
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
