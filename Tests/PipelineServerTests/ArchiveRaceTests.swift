import Foundation
import HTTPTypes
import HummingbirdTesting
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Synchronization
import Testing

/// A directory inside the archive root is swapped, again and again, for a link to a directory
/// outside it while the file beneath it is requested. Whatever the timing, no response may carry
/// the outside file, and every 200 must carry exactly as many bytes as its `Content-Length`.
@Suite("Archived files under a swapping directory")
struct ArchiveRaceTests {
    static let insideContent = String(repeating: "inside the archive root\n", count: 40)
    static let outsideMarker = "OUTSIDE-SECRET"
    static let outsideContent = String(repeating: "\(outsideMarker) must never be served\n", count: 90)
    static let requests = 2000
    static let concurrency = 4
    static let timeLimit = Duration.seconds(20)

    @Test("A directory swapped for a link to the outside never leaks the outside file")
    func swappedDirectoryNeverLeaks() async throws {
        let sandbox = try TemporaryDirectory()
        defer { sandbox.remove() }
        let root = sandbox.path + "/archive"
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: root + "/parked", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data(Self.insideContent.utf8).write(to: URL(fileURLWithPath: root + "/parked/report.txt"))
        try Data(Self.outsideContent.utf8).write(to: URL(fileURLWithPath: outside + "/report.txt"))
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside)

        try await withApp(.jsonl, configuration: ServiceConfiguration(archiveRoots: [root])) { client, fixture in
            var run = try PipelineInfo(jsonBytes: Array(sampleRecord.utf8))
            run.dateCode = "swapped"
            run.archivedFile = root + "/current/report.txt"
            _ = try await fixture.repository.insert(run)

            let stop = StopFlag()
            async let swaps = withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: Self.swapUntilStopped(root: root, stop: stop)) }
            }
            let tally = await Self.requestConcurrently(client)
            stop.set()
            let swapCount = await swaps

            #expect(tally.leaks == 0, "\(tally.leaks) responses carried the outside file")
            #expect(tally.shortOrLong == 0, "\(tally.shortOrLong) responses answered 200 with a body unlike their Content-Length")
            #expect(tally.wrongBody == 0, "\(tally.wrongBody) responses answered 200 with a body other than the inside file")
            #expect(tally.failedBodies == 0, "\(tally.failedBodies) responses answered 200 and then failed their body")
            #expect(tally.other == 0, "\(tally.other) responses were neither 200 nor 404")
            #expect(tally.ok > 0, "no request found the directory in place (\(tally.total) requests, \(swapCount) swaps)")
            #expect(swapCount > 0)
        }
    }

    struct Tally: Sendable {
        var total = 0
        var ok = 0
        var leaks = 0
        var shortOrLong = 0
        var wrongBody = 0
        var failedBodies = 0
        var other = 0

        mutating func add(_ other: Tally) {
            total += other.total
            ok += other.ok
            leaks += other.leaks
            shortOrLong += other.shortOrLong
            wrongBody += other.wrongBody
            failedBodies += other.failedBodies
            self.other += other.other
        }
    }

    /// Sends `requests` requests from `concurrency` tasks, stopping early at `timeLimit`.
    private static func requestConcurrently(_ client: any TestClientProtocol) async -> Tally {
        let deadline = ContinuousClock.now + timeLimit
        return await withTaskGroup(of: Tally.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var tally = Tally()
                    for _ in 0..<(requests / concurrency) where ContinuousClock.now < deadline {
                        tally.total += 1
                        // Only a body that fails after its 200 went out reaches the client as an error.
                        guard let response = try? await client.get("/pipelines/archived/swapped") else {
                            tally.failedBodies += 1
                            continue
                        }
                        let body = String(buffer: response.body)
                        if body.contains(outsideMarker) { tally.leaks += 1 }
                        switch response.status {
                        case .ok:
                            tally.ok += 1
                            if response.headers[.contentLength] != String(response.body.readableBytes) { tally.shortOrLong += 1 }
                            if body != insideContent { tally.wrongBody += 1 }
                        case .notFound:
                            break
                        default:
                            tally.other += 1
                        }
                    }
                    return tally
                }
            }
            var total = Tally()
            for await tally in group { total.add(tally) }
            return total
        }
    }

    /// Moves the real directory into place as `current`, then the link to the outside, holding each
    /// for a few microseconds, until `stop` is set. Returns the number of swaps.
    private static func swapUntilStopped(root: String, stop: StopFlag) -> Int {
        var swaps = 0
        while !stop.isSet {
            let hold = UInt32(swaps % 5) * 40
            _ = rename(root + "/parked", root + "/current")
            usleep(hold)
            _ = rename(root + "/current", root + "/parked")
            _ = rename(root + "/link", root + "/current")
            usleep(hold)
            _ = rename(root + "/current", root + "/link")
            swaps += 1
        }
        return swaps
    }
}

/// A flag one thread sets and another polls.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
