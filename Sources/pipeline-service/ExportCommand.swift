import ArgumentParser
import Foundation
import Logging
import PipelineCore
import PipelineServer
import PipelineStore

/// `pipeline-service export`: writes runs from the configured backend as NDJSON or CSV.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write runs from the configured backend as NDJSON or CSV, to stdout or a file.",
        discussion: """
            Runs come in the order of GET /get_pipeline_info (start_utc descending), read in pages, so memory stays \
            flat for any number of runs. The filters mean what the query parameters of the same name mean. \
            An NDJSON export can be loaded again with `pipeline-service import`.
            """
    )

    @Option(help: "Output format: ndjson or csv.")
    var format = RunExportFormat.ndjson.rawValue

    @Option(name: [.short, .long], help: "Write to this file instead of stdout (replaced only once the export is complete).")
    var output: String?

    @Option(name: .customLong("start-utc"), help: "Only runs with start_utc >= this date-time.")
    var startUTC: String?

    @Option(name: .customLong("end-utc"), help: "Only runs with end_utc <= this date-time.")
    var endUTC: String?

    @Option(name: .customLong("min-rowcount"), help: "Only runs with rowcount >= this.")
    var minRowcount: String?

    @Option(name: .customLong("max-rowcount"), help: "Only runs with rowcount <= this.")
    var maxRowcount: String?

    @Option(name: .customLong("pipeline-name"), help: "Only runs of this pipeline_name.")
    var pipelineName: String?

    @Option(name: .customLong("script-name"), help: "Only runs of this script_name.")
    var scriptName: String?

    @Option(name: .customLong("pipeline-type"), help: "Only runs of this pipeline_type.")
    var pipelineType: String?

    @Option(help: "Only runs in this environment.")
    var environment: String?

    @Option(help: "Only runs with this status (success, failed, …); runs still running only with running.")
    var status: String?

    @Option(name: .customLong("date-code"), help: "Only runs with this date_code.")
    var dateCode: String?

    @Option(name: .customLong("run-id"), help: "Only the run with this run_id (running or not).")
    var runID: String?

    @Option(name: .customLong("page-size"), help: "Runs read from the backend at a time.")
    var pageSize = 1000

    @Flag(help: "CSV only: write text cells exactly as stored, without neutralising those a spreadsheet would run as formulas.")
    var raw = false

    @OptionGroup var storage: StorageOptions

    /// The filters as the query parameters they stand for.
    private var filterParameters: [(name: String, value: String)] {
        let values: [QueryParameter: String] = [
            .startUTC: startUTC, .endUTC: endUTC, .minRowcount: minRowcount, .maxRowcount: maxRowcount, .pipelineName: pipelineName,
            .scriptName: scriptName, .pipelineType: pipelineType, .environment: environment, .status: status, .dateCode: dateCode,
            .runID: runID,
        ].compactMapValues { $0 }
        return QueryParameter.filters.compactMap { parameter in values[parameter].map { (parameter.rawValue, $0) } }
    }

    /// The filters, checked exactly as the API checks the query parameters of the same names.
    private func filter() throws -> RunFilter {
        var parameters = QueryParameters(filterParameters)
        let filter = RunFilter(reading: &parameters)
        do {
            try parameters.validate()
            return filter
        } catch {
            let issues = error.issues.map { "--\($0.field.replacingOccurrences(of: "_", with: "-")): \($0.message)" }
            throw ArgumentParser.ValidationError(issues.joined(separator: "\n"))
        }
    }

    func validate() throws {
        _ = try filter()
        guard RunExportFormat(rawValue: format.lowercased()) != nil else {
            throw ArgumentParser.ValidationError("--format must be ndjson or csv (got \(format))")
        }
        guard (1...RunQuery.maximumLimit).contains(pageSize) else {
            throw ArgumentParser.ValidationError("--page-size must be between 1 and \(RunQuery.maximumLimit)")
        }
    }

    func run() async throws {
        let filter = try self.filter()
        let format = RunExportFormat(rawValue: self.format.lowercased()) ?? .ndjson
        let (encoder, pageSize, output) = (RunExportEncoder(format: format, neutralisesFormulas: !raw), self.pageSize, self.output)
        // Read-only: a JSONL file is read beside the service that holds it.
        try await storage.withRepository(label: "pipeline-service.export", access: .readOnly) { repository, _ in
            let destination = try ExportDestination(path: output)
            do {
                var written = 0
                try destination.write(encoder.header)
                try await RunPages(of: repository, matching: filter, pageSize: pageSize).readingAhead { page in
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(page.runs.count * 640)
                    for run in page.runs { encoder.append(run.info, to: &bytes) }
                    try destination.write(bytes)
                    written += page.runs.count
                    destination.progress("\r\(written) runs written")
                }
                try destination.complete()
                destination.progress("\r\(written) runs written\n")
                if let output { FileHandle.standardError.write(Data("export: \(written) runs written to \(output)\n".utf8)) }
            } catch {
                destination.abandon()
                throw error
            }
        }
    }
}

/// Where an export goes: stdout, or a file written beside its final name and moved into place
/// when complete, so a failed export never leaves a truncated file that looks whole.
private struct ExportDestination: Sendable {
    private let handle: FileHandle
    private let path: String?
    private let partialPath: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            handle = .standardOutput
            partialPath = nil
            return
        }
        let partialPath = path + ".partial"
        guard FileManager.default.createFile(atPath: partialPath, contents: nil) else {
            throw ExportFailure("cannot create \(partialPath)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partialPath))
        self.partialPath = partialPath
    }

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try handle.write(contentsOf: bytes)
    }

    /// Progress on stderr, only when the export goes to a file (stdout may be a terminal or a pipe being read).
    func progress(_ text: String) {
        guard path != nil else { return }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func complete() throws {
        guard let path, let partialPath else { return }
        try handle.synchronize()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partialPath, toPath: path)
    }

    func abandon() {
        guard let partialPath else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: partialPath)
    }
}

private struct ExportFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
