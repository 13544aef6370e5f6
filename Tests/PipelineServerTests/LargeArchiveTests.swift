import Foundation
import PipelineCore
import PipelineTestSupport
import Testing

/// A large archived file is streamed, so the server's memory does not grow
/// with the file's size. Measured on the real executable's peak RSS (`VmHWM`).
@Suite("Large archived files")
struct LargeArchiveTests {
    @Test("A 256 MiB archive is served whole while the server's peak memory stays flat")
    func largeArchiveIsStreamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.path + "/archive"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let size = 256 << 20
        let file = root + "/big.csv.gz"
        // A sparse file: large to serve, cheap to create.
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
        run.archivedFile = file
        let data = directory.path + "/runs.jsonl"
        try (String(decoding: run.jsonBytes, as: UTF8.self) + "\n").write(toFile: data, atomically: true, encoding: .utf8)

        let service = try ServiceProcess(arguments: ["--jsonl-path", data, "--archive-roots", root], outputDirectory: directory.path)
        try await service.waitUntilReady()
        let before = try #require(Self.peakResidentKiB(of: service.process.processIdentifier))

        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = [
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", service.baseURL + "/pipelines/archived/\(run.dateCode)",
        ]
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        #expect(output == "200 \(size)")

        let after = try #require(Self.peakResidentKiB(of: service.process.processIdentifier))
        #expect(after - before < 64 * 1024, "peak RSS grew by \((after - before) / 1024) MiB while serving \(size >> 20) MiB")
        _ = try await service.stop(signal: SIGTERM)
    }

    /// `VmHWM` of a process, in KiB.
    static func peakResidentKiB(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
            .flatMap { Int($0) }
    }
}
