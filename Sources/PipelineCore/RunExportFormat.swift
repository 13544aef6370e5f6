/// The formats runs are exported in (`GET /export`, `pipeline-service export`).
public enum RunExportFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, every field present (`null` for absent optional ones), exact.
    case ndjson
    /// A header row of the field names, then one row per run, RFC 4180 quoting, nulls empty.
    case csv

    /// The media type of an export in this format.
    public var contentType: String {
        switch self {
        case .ndjson: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8"
        }
    }

    /// The file name offered to a browser saving the export.
    public var fileName: String { "pipeline_runs.\(rawValue)" }
}

/// Writes runs in one export format, one after the other.
public struct RunExportEncoder: Sendable {
    public let format: RunExportFormat
    /// Whether CSV text cells that a spreadsheet would run as a formula are neutralised (the
    /// default); off for machine consumers that want every value exactly as stored.
    public let neutralisesFormulas: Bool

    public init(format: RunExportFormat, neutralisesFormulas: Bool = true) {
        self.format = format
        self.neutralisesFormulas = neutralisesFormulas
    }

    /// What comes before the first run: the CSV header row, nothing for NDJSON.
    public var header: [UInt8] {
        switch format {
        case .ndjson: return []
        case .csv:
            var bytes: [UInt8] = []
            for (position, field) in PipelineField.allCases.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                CSV.appendField(field.rawValue, to: &bytes)
            }
            bytes.append(contentsOf: CSV.lineEnd)
            return bytes
        }
    }

    /// Appends one run, with its line end.
    public func append(_ run: PipelineInfo, to bytes: inout [UInt8]) {
        switch format {
        case .ndjson:
            bytes.append(contentsOf: run.jsonBytes)
            bytes.append(UInt8(ascii: "\n"))
        case .csv:
            for (position, field) in PipelineField.allCases.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                switch run.value(of: field) {
                case .text(let text?): CSV.appendField(neutralisesFormulas ? CSV.neutralised(text) : text, to: &bytes)
                case .text(nil), .integer(nil): break
                case .integer(let number?): bytes.append(contentsOf: String(number).utf8)
                case .double(let number): bytes.append(contentsOf: number.description.utf8)
                case .instant(let instant): bytes.append(contentsOf: instant.description.utf8)
                case .local(let local): bytes.append(contentsOf: local.description.utf8)
                }
            }
            bytes.append(contentsOf: CSV.lineEnd)
        }
    }

    /// The runs in this format, header included: for tests and small exports.
    public func document(_ runs: some Sequence<PipelineInfo>) -> [UInt8] {
        var bytes = header
        for run in runs { append(run, to: &bytes) }
        return bytes
    }
}

/// RFC 4180 field quoting, and the spreadsheet formula guard.
public enum CSV {
    /// RFC 4180 ends every record with CRLF.
    static let lineEnd: [UInt8] = [0x0D, 0x0A]

    /// Appends `text`, quoted (with inner quotes doubled) when it holds a comma, quote, CR or LF.
    public static func appendField(_ text: String, to bytes: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
        guard needsQuotes else {
            bytes.append(contentsOf: text.utf8)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { bytes.append(byte) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `text` with a leading `'` when a spreadsheet would read it as a formula: it starts with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return. A pipeline name such as
    /// `=HYPERLINK("http://…")` then opens as text instead of running. Numbers the service writes
    /// itself (rowcount, pid, times) are never text cells, so they are left as they are.
    public static func neutralised(_ text: String) -> String {
        guard let first = text.utf8.first else { return text }
        switch first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: return "'" + text
        default: return text
        }
    }
}
