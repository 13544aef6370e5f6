import Logging
import NIOPosix
public import PipelineCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Retention

extension JSONLRunRepository {
    /// Whether a line of the data file is a run, and which: the test start-up applies. The k-th
    /// line holding a finished run is always the run of sequence k; a line holding a `running`
    /// record is a state of an open run (``RunIndex``), kept by a rewrite only while it is that
    /// run's latest state.
    static func storedRun(from bytes: UnsafeBufferPointer<UInt8>) -> PipelineInfo? {
        StoredRunDecoder.decode(bytes) ?? (try? PipelineInfo(jsonBytes: bytes, policy: .stored))
    }

    public func countRuns(startedBefore cutoff: UTCInstant) async throws -> Int {
        index.lock.withLock { index in
            index.finishedRuns.count { $0.info.startUTC < cutoff } + index.openRuns.values.count { $0.info.startUTC < cutoff }
        }
    }

    /// Rewrites the file without the deleted runs' lines, between two group commits, so no write is
    /// lost or lands in the old file; then rebuilds the index from the runs kept. Lines that are not
    /// runs stay byte for byte. Kept runs are numbered again from 1 in their order, as a restart would.
    public func deleteRuns(startedBefore cutoff: UTCInstant, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let (file, index, logger) = (file, index, logger)
        return try await committer.exclusively {
            // Chosen within the turn: no commit can add or number a run until the index is replaced.
            let (runs, superseded, open, hasRunningLines, hasLinesWithoutIDs) = index.lock.withLock {
                ($0.runs, $0.supersededSequences, $0.openRuns, $0.hasRunningRecords, $0.hasLinesWithoutIDs)
            }
            // Finished and open runs (a stuck one, say) go by the same rule: the oldest first, whichever they are.
            var candidates = runs.filter { $0.info.startUTC < cutoff && !superseded.contains($0.sequence) }.map { (run: $0, isOpen: false) }
            candidates += open.values.filter { $0.info.startUTC < cutoff }.map { (run: $0, isOpen: true) }
            guard !candidates.isEmpty else { return 0 }
            if candidates.count > limit {
                candidates.sort { $0.run.position < $1.run.position }
                candidates.removeLast(candidates.count - limit)
            }
            let doomed = candidates.filter { !$0.isOpen }.map(\.run)
            let doomedOpen = candidates.filter(\.isOpen).map(\.run)
            // The lines of replaced runs go with any rewrite: no answer reads them.
            let sequences = Set(doomed.map(\.sequence)).union(superseded)
            var keptOpen = open.mapValues(\.info)
            for run in doomedOpen { keptOpen[ExactText(run.info.runID ?? "")] = nil }
            let finalOpen = keptOpen
            try await NIOThreadPool.singleton.runIfActive {
                let kept = RunIndex(runs: runs.lazy.filter { !sequences.contains($0.sequence) }.map(\.info) + finalOpen.values)
                try file.rewrite(
                    dropping: sequences,
                    runCount: runs.count,
                    keepingOpen: hasRunningLines ? finalOpen : nil,
                    identifying: hasLinesWithoutIDs
                ) {
                    index.lock.withLock { $0 = kept }
                }
            }
            logger.debug(
                "Deleted runs from the data file",
                metadata: ["path": "\(file.path)", "deleted": "\(doomed.count + doomedOpen.count)", "cutoff": "\(cutoff)"]
            )
            return doomed.count + doomedOpen.count
        }
    }
}

// MARK: - Rewriting the file

extension JSONLFile {
    /// Replaces the file with a copy that lacks the lines of the runs numbered in `dropped` (the
    /// k-th run line is run k): every other line, a corrupt one included, is copied byte for byte.
    ///
    /// The copy is written beside the file, fsync'ed and locked before it is renamed over the file,
    /// so no other process can take the path in between; then the directory is fsync'ed and this
    /// file's descriptor is made to refer to the copy, and `replaced` is called. Throws, leaving the
    /// file as it was, when anything before the rename fails.
    ///
    /// `keepingOpen` (nil when the file holds no `running` records) names the open runs by id with
    /// their latest state: a `running` line is kept only when it is that state. With `identifying`,
    /// a kept run line without `run_id` is written again with the id its place gave it.
    func rewrite(
        dropping dropped: Set<Int64>,
        runCount: Int,
        keepingOpen: [ExactText: PipelineInfo]?,
        identifying: Bool,
        replaced: () -> Void
    ) throws(StorageError) {
        guard !isReadOnly else { throw StorageError.readOnly }
        guard descriptor >= 0 else { throw StorageError.unavailable("the data file is not open") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.storageError(errno) }
        if Int64(info.st_size) != committedSize {
            // A failed append that could not be cut back then: it is not part of the file.
            guard ftruncate(descriptor, off_t(committedSize)) == 0 else { throw Self.storageError(errno) }
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let copyPath = "\(directory)/.\(name).prune-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let copy = open(copyPath, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard copy >= 0 else { throw Self.storageError(errno) }
        var isRenamed = false
        defer {
            if !isRenamed {
                closeFileDescriptor(copy)
                unlink(copyPath)
            }
        }
        _ = fchmod(copy, info.st_mode & 0o7777)

        let size = try copyLines(to: copy, dropping: dropped, runCount: runCount, keepingOpen: keepingOpen, identifying: identifying)
        guard fsync(copy) == 0 else { throw Self.storageError(errno) }
        guard flock(copy, LOCK_EX | LOCK_NB) == 0 else { throw Self.storageError(errno) }
        guard rename(copyPath, path) == 0 else { throw Self.storageError(errno) }
        isRenamed = true

        // From here on the path names the copy: this descriptor must follow it whatever happens,
        // or later appends would go to the old, unlinked file.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let isDirectorySynced = directoryDescriptor >= 0 && fsync(directoryDescriptor) == 0
        if directoryDescriptor >= 0 { closeFileDescriptor(directoryDescriptor) }
        Self.redirect(descriptor, to: copy)
        closeFileDescriptor(copy)
        committedSize = size
        replaced()
        guard isDirectorySynced else { throw StorageError.unavailable("the data file's directory could not be synced") }
    }

    /// Copies every line but the dropped runs' to `copy`; returns the bytes written.
    private func copyLines(
        to copy: Int32,
        dropping dropped: Set<Int64>,
        runCount: Int,
        keepingOpen: [ExactText: PipelineInfo]?,
        identifying: Bool
    ) throws(StorageError) -> Int64 {
        var reader = LineReader(descriptor: descriptor)
        var output: [UInt8] = []
        output.reserveCapacity(1 << 22)
        var written: Int64 = 0
        var failure: Int32?
        var sequence: Int64 = 0
        var remaining = dropped.count

        func flush() {
            guard failure == nil, !output.isEmpty else { return }
            failure = writeAll(output, to: copy)
            written += Int64(output.count)
            output.removeAll(keepingCapacity: true)
        }

        var hasMore = true
        while hasMore, failure == nil {
            do {
                hasMore = try reader.read(upTo: 10_000) { bytes, _ in
                    // Once the last dropped run is passed, the rest is copied without parsing, unless
                    // running records or lines without ids may follow.
                    if remaining > 0 || keepingOpen != nil || identifying, !LineReader.isBlank(bytes),
                        let stored = JSONLRunRepository.storedRun(from: bytes)
                    {
                        if stored.isRunning {
                            let run = RunIndex.identified(stored, sequence: sequence + 1)
                            if let keepingOpen, keepingOpen[ExactText(run.runID ?? "")] != run { return }
                        } else {
                            sequence += 1
                            if dropped.contains(sequence) {
                                remaining -= 1
                                return
                            }
                        }
                        if stored.runID == nil {
                            output.append(contentsOf: RunIndex.identified(stored, sequence: stored.isRunning ? sequence + 1 : sequence).jsonBytes)
                            output.append(0x0A)
                            return
                        }
                    }
                    output.append(contentsOf: bytes)
                    output.append(0x0A)
                }
            } catch {
                throw Self.storageError(error.code)
            }
            if output.count >= 1 << 22 { flush() }
        }
        output.append(contentsOf: reader.tail)
        flush()
        if let failure { throw Self.storageError(failure) }
        guard remaining == 0, sequence <= runCount else {
            // The file does not hold the runs the index holds: touch nothing.
            throw StorageError.corrupt("the data file does not match the runs in memory")
        }
        return written
    }

    /// Makes `descriptor` refer to the open file of `source` (its lock included), keeping it
    /// close-on-exec. The number itself never changes, so concurrent readers of it never see a gap.
    private static func redirect(_ descriptor: Int32, to source: Int32) {
        while dup2(source, descriptor) < 0 && (errno == EINTR || errno == EBUSY) {}
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }
}
