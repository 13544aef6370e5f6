import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

/// `pipeline-service export`, run as the built executable.
@Suite("pipeline-service export")
struct ExportCommandTests {
    /// Runs the executable to completion; stdout and the exit status.
    static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String) {
        let result = try await ServiceProcess.runToCompletion(arguments)
        return (result.status, result.stdout)
    }

    @Test("import - reads standard input and names each refused line with its reason; progress is plain lines off a terminal")
    func importFromStandardInput() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.path + "/runs.ndjson"
        let broken = sampleRecord.replacingOccurrences(of: "\"rowcount\": 11060", with: "\"rowcount\": \"many\"")
        let lines = [sampleRecord, broken, "not json"].map { $0.replacingOccurrences(of: "\n", with: " ") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        // Redirected from a file, and through a pipe, which has no offsets to read at.
        let importing = { (index: Int) in "'\(ServiceProcess.executable)' import - --jsonl-path '\(directory.path)/runs-\(index).jsonl'" }
        for command in [importing(1) + " < '\(input)'", "cat '\(input)' | " + importing(2)] {
            let result = try ChildProcess.run("/bin/sh", ["-c", command])
            #expect(result.status == 3, "\(command): \(result.errors)")
            #expect(String(decoding: result.output, as: UTF8.self).contains("import standard input: 3 lines: 1 stored"), "\(command)")
            #expect(result.errors.contains("line 2: body.rowcount: Input should be a valid integer"))
            #expect(result.errors.contains("line 3: body: JSON decode error"))
            #expect(!result.errors.contains("\r"), "progress rewrites a line only on a terminal")
        }
    }

    @Test("export reads a JSONL file while the service that holds it runs")
    func exportBesideARunningService() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/runs.jsonl"
        let service = try ServiceProcess(arguments: ["--jsonl-path", path], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let (status, _) = try await HTTP.send("POST", service.baseURL + "/pipelines", body: sampleRecord)
        #expect(status == 201)
        let exported = try await Self.run(["export", "--jsonl-path", path, "--format", "ndjson"])
        #expect(exported.status == 0)
        #expect(exported.stdout.contains("20250902_050702"))
        let migrated = try await Self.run(["migrate", "--from", "jsonl:" + path, "--to", "sqlite:" + directory.path + "/copy.sqlite"])
        #expect(migrated.status == 0)
        // Writing into the file the service holds is refused, naming the argument as given.
        let into = try await ServiceProcess.runToCompletion(
            ["migrate", "--from", "sqlite:" + directory.path + "/copy.sqlite", "--to", "jsonl:" + path],
            timeout: .seconds(60)
        )
        #expect(into.status == 2)
        #expect(into.stderr.hasPrefix("error: --to: "), "\(into.stderr)")
        _ = try await service.stop(signal: SIGTERM)
    }

    @Test("Export to a file holds every run in result order, and imports elsewhere into the same runs")
    func exportImportRoundTrips() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = RandomRuns(seed: 21)
        let runs = random.runs(2_500)
        let input = directory.path + "/input.ndjson"
        try Data(RunExportEncoder(format: .ndjson).document(runs)).write(to: URL(fileURLWithPath: input))
        let source = directory.path + "/source.jsonl"
        await #expect(try Self.run(["import", input, "--jsonl-path", source, "--log-level", "warning"]).status == 0)

        let exported = directory.path + "/exported.ndjson"
        await #expect(try Self.run(["export", "--jsonl-path", source, "--output", exported, "--log-level", "warning"]).status == 0)
        let lines = try String(contentsOfFile: exported, encoding: .utf8).split(separator: "\n")
        let parsed = try lines.map { try PipelineInfo(jsonBytes: Array($0.utf8)) }
        let ordered = RunQuery(paging: .all).evaluate(over: runs.enumerated().map { StoredRun(sequence: Int64($0.offset), info: $0.element) })
        #expect(parsed == ordered.runs.map(\.info))

        let copy = directory.path + "/copy.jsonl"
        await #expect(try Self.run(["import", exported, "--jsonl-path", copy, "--log-level", "warning"]).status == 0)
        let again = try await Self.run(["export", "--jsonl-path", copy, "--log-level", "warning"])
        #expect(again.status == 0)
        // The same runs; runs that started at the same instant come out in the opposite order,
        // since the copy stored them in export order (newest-stored first).
        let first = try String(contentsOfFile: exported, encoding: .utf8)
        #expect(again.stdout.utf8.count == first.utf8.count)
        #expect(again.stdout.split(separator: "\n").sorted() == first.split(separator: "\n").sorted())
    }

    @Test("CSV to stdout applies the filters; a bad filter or format exits with a usage error")
    func csvFiltersAndErrors() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = RandomRuns(seed: 22)
        let runs = random.runs(200)
        let input = directory.path + "/input.ndjson"
        try Data(RunExportEncoder(format: .ndjson).document(runs)).write(to: URL(fileURLWithPath: input))
        let source = directory.path + "/source.jsonl"
        await #expect(try Self.run(["import", input, "--jsonl-path", source, "--log-level", "warning"]).status == 0)

        let csv = try await Self.run(["export", "--jsonl-path", source, "--format", "csv", "--pipeline-name", "wafer_map", "--environment", "prod"])
        #expect(csv.status == 0)
        let expected = runs.filter { $0.pipelineName == "wafer_map" && $0.environment == "prod" }
        #expect(!expected.isEmpty)
        let rows = csv.stdout.split(separator: "\r\n")
        #expect(rows.first == Substring(PipelineField.allCases.map(\.rawValue).joined(separator: ",")))
        #expect(
            Set(rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[10] })
                == Set(expected.map { Substring($0.dateCode) })
        )

        await #expect(try Self.run(["export", "--jsonl-path", source, "--start-utc", "not-a-date"]).status == 64)
        await #expect(try Self.run(["export", "--jsonl-path", source, "--format", "xml"]).status == 64)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/never.csv"))
    }
}
