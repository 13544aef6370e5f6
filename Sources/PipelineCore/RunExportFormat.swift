/// The formats runs are exported in (`GET /export`, `pipeline-service export`).
public enum RunExportFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, every field present (`null` for absent optional ones).
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

    /// What comes before the first run: the CSV header row, nothing for NDJSON.
    public var header: [UInt8] {
        switch self {
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
        switch self {
        case .ndjson:
            bytes.append(contentsOf: run.jsonBytes)
            bytes.append(UInt8(ascii: "\n"))
        case .csv:
            for (position, field) in PipelineField.allCases.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                if let text = run.csvText(of: field) { CSV.appendField(text, to: &bytes) }
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

/// RFC 4180 field quoting.
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
}

extension PipelineInfo {
    /// A field's value as CSV text, in the same form JSON responses use; nil for an absent optional.
    func csvText(of field: PipelineField) -> String? {
        switch field {
        case .startLocal: startLocal.description
        case .endLocal: endLocal.description
        case .startUTC: startUTC.description
        case .endUTC: endUTC.description
        case .elapsedSeconds: elapsedSeconds.description
        case .elapsedHuman: elapsedHuman
        case .outputFile: outputFile
        case .rowcount: String(rowcount)
        case .logFile: logFile
        case .pid: String(pid)
        case .dateCode: dateCode
        case .pipelineName: pipelineName
        case .scriptName: scriptName
        case .pipelineType: pipelineType
        case .environment: environment
        case .archivedFile: archivedFile
        case .status: status
        case .exitCode: exitCode.map { String($0) }
        }
    }
}
