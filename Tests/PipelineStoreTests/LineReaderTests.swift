import Foundation
import PipelineTestSupport
import Testing

@testable import PipelineStore

/// Lines split across chunk boundaries, batches that stop mid-chunk, and a missing final newline.
@Suite("Line reader")
struct LineReaderTests {
    @Test("Every line comes back whole, whatever the chunk size and batch size", arguments: [1, 2, 7, 64, 4096])
    func linesSurviveChunkBoundaries(chunkSize: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = SeededGenerator(seed: UInt64(chunkSize))
        let lines = (0..<200).map { index in String(repeating: "x", count: Int.random(in: 0..<40, using: &random)) + "\(index)" }
        let path = directory.path + "/lines.txt"
        try (lines.joined(separator: "\n") + "\ntail-without-newline").write(toFile: path, atomically: true, encoding: .utf8)
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        var reader = LineReader(descriptor: descriptor, chunkSize: chunkSize)
        var read: [String] = []
        var numbers: [Int] = []
        while try reader.read(
            upTo: 3,
            { bytes, number in
                read.append(String(decoding: bytes, as: UTF8.self))
                numbers.append(number)
            }
        ) {}
        #expect(read == lines)
        #expect(numbers == Array(1...200))
        #expect(String(decoding: reader.tail, as: UTF8.self) == "tail-without-newline")
        #expect(reader.endOfLastLine == Int64(lines.joined(separator: "\n").utf8.count + 1))
    }
}
