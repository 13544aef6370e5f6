import PipelineCore
import Testing

@Suite("Export formats")
struct RunExportFormatTests {
    static func field(_ text: String) -> String {
        var bytes: [UInt8] = []
        CSV.appendField(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("CSV quotes a field only when it holds a comma, quote, CR or LF, doubling inner quotes")
    func csvQuoting() {
        #expect(Self.field("plain text; with: punctuation") == "plain text; with: punctuation")
        #expect(Self.field("") == "")
        #expect(Self.field("a,b") == "\"a,b\"")
        #expect(Self.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(Self.field("line\rbreak") == "\"line\rbreak\"")
        #expect(Self.field("line\nbreak") == "\"line\nbreak\"")
        #expect(Self.field("ünïcode") == "ünïcode")
    }

    @Test("A CSV row has 19 cells in field order, empty for nulls, and ends with CRLF")
    func csvRow() throws {
        let run = try PipelineInfo(
            json: .object([
                "start_local": "2025-09-02 05:07:02", "end_local": "2025-09-02 05:47:27", "start_utc": "2025-09-02T12:07:02Z",
                "end_utc": "2025-09-02T12:47:27Z", "elapsed_seconds": .number("2.5"), "elapsed_human": "2s", "output_file": "/o",
                "rowcount": 7, "log_file": "/l", "pid": 9, "date_code": "d1", "environment": "prod", "exit_code": -9,
                "run_id": "0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
            ])
        )
        var bytes: [UInt8] = []
        RunExportEncoder(format: .csv).append(run, to: &bytes)
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "2025-09-02T05:07:02,2025-09-02T05:47:27,2025-09-02T12:07:02Z,2025-09-02T12:47:27Z,2.5,2s,/o,7,/l,9,d1,,,,prod,,,-9,0191d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\r\n"
        )
        #expect(String(decoding: RunExportEncoder(format: .csv).header, as: UTF8.self).split(separator: ",").count == 19)
    }

    @Test("An NDJSON line is the run's JSON object and a newline")
    func ndjsonLine() throws {
        let run = try PipelineInfo(
            json: .object([
                "start_local": "2025-09-02 05:07:02", "end_local": "2025-09-02 05:47:27", "start_utc": "2025-09-02T12:07:02Z",
                "end_utc": "2025-09-02T12:47:27Z", "elapsed_seconds": .number("2.5"), "elapsed_human": "2s", "output_file": "/o",
                "rowcount": 7, "log_file": "/l", "pid": 9, "date_code": "d1",
            ])
        )
        let document = RunExportEncoder(format: .ndjson).document([run, run])
        #expect(document == run.jsonBytes + [0x0A] + run.jsonBytes + [0x0A])
        #expect(RunExportEncoder(format: .ndjson).header.isEmpty)
    }
}
