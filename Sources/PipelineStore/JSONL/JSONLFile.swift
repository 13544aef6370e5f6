import Dispatch
import PipelineCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The JSONL file on disk: opened once, locked exclusively for the life of the process,
/// appended to and fsync'ed by one writer at a time.
///
/// Not thread-safe by itself: the repository's group committer is its only writer.
final class JSONLFile: @unchecked Sendable {
    let path: String
    /// Opened only to read, beside a service that holds the file (`export`, `migrate --from`):
    /// no lock is taken, nothing is repaired or written.
    let isReadOnly: Bool
    private(set) var descriptor: Int32
    /// The size of the file up to the last committed line. A failed append is cut back to it,
    /// so the file never keeps half a line.
    var committedSize: Int64

    /// What start-up found in the file.
    struct LoadReport {
        var runs: Int = 0
        /// 1-based line numbers of lines that are not a valid run (left in the file as they are).
        var corruptLines: [Int] = []
        /// Bytes of an unterminated, unparsable last line (a torn write), moved out of the file.
        var tornBytes: [UInt8] = []
        /// Whether a valid last line lacked its newline and one was added.
        var addedFinalNewline = false
    }

    /// Opens (creating if needed) and locks the file. Throws a `ConfigurationError` naming
    /// `PIPELINE_JSONL_PATH` when it cannot be opened, written, or is locked by another process.
    init(path: String) throws(ConfigurationError) {
        self.path = path
        self.isReadOnly = false
        let descriptor = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ConfigurationError(.jsonlPath, "cannot open \(path) for writing (\(Self.errorText(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            closeFileDescriptor(descriptor)
            if code == EWOULDBLOCK {
                throw ConfigurationError(
                    .jsonlPath,
                    "\(path) is in use by another pipeline-service process (it holds the file's lock); stop that process or choose another file"
                )
            }
            throw ConfigurationError(.jsonlPath, "cannot lock \(path) (\(Self.errorText(code)))")
        }
        self.descriptor = descriptor
        var info = stat()
        fstat(descriptor, &info)
        self.committedSize = Int64(info.st_size)
    }

    /// Opens the file to read what it holds now, without its lock: a service may be writing it.
    /// A last line still being written is left out; the file must exist.
    init(readingSnapshotOf path: String) throws(ConfigurationError) {
        self.path = path
        self.isReadOnly = true
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ConfigurationError(.jsonlPath, "cannot open \(path) for reading (\(Self.errorText(errno)))")
        }
        self.descriptor = descriptor
        var info = stat()
        fstat(descriptor, &info)
        self.committedSize = Int64(info.st_size)
    }

    deinit {
        if descriptor >= 0 { closeFileDescriptor(descriptor) }
    }

    /// Releases the lock and the file.
    func close() {
        guard descriptor >= 0 else { return }
        closeFileDescriptor(descriptor)
        descriptor = -1
    }

    /// Lines decoded per batch handed to another thread.
    static let linesPerBatch = 8192

    /// Reads every line once: `decode` turns each complete line into a value (nil for a line that
    /// is not a valid run), `store` receives the values in line order. Repairs a torn last line.
    ///
    /// Decoding, the larger part of start-up, runs on other threads in batches while this thread
    /// reads ahead and stores the batch before, so loading takes about as long as the slower of
    /// the two instead of their sum. At most two batches are in flight: memory stays constant.
    func load<Decoded: Sendable>(
        decode: @escaping @Sendable (UnsafeBufferPointer<UInt8>) -> Decoded?,
        store: (Decoded) -> Void
    ) throws(ConfigurationError) -> LoadReport {
        var report = LoadReport()
        var reader = LineReader(descriptor: descriptor)
        func finish(_ job: BackgroundJob<[Decoded?]>, lineNumbers: [Int]) {
            for (value, lineNumber) in zip(job.wait(), lineNumbers) {
                if let value {
                    store(value)
                    report.runs += 1
                } else {
                    report.corruptLines.append(lineNumber)
                }
            }
        }
        do {
            var inFlight: (job: BackgroundJob<[Decoded?]>, lineNumbers: [Int])?
            var isMore = true
            while isMore {
                var batch = LineBatch()
                isMore = try reader.read(upTo: Self.linesPerBatch) { bytes, lineNumber in
                    if !LineReader.isBlank(bytes) { batch.append(bytes, lineNumber: lineNumber) }
                }
                let previous = inFlight
                inFlight = nil
                if !batch.lineNumbers.isEmpty {
                    let lines = batch
                    inFlight = (BackgroundJob { lines.decodeEach(decode) }, batch.lineNumbers)
                }
                if let previous { finish(previous.job, lineNumbers: previous.lineNumbers) }
            }
            if let last = inFlight { finish(last.job, lineNumbers: last.lineNumbers) }
        } catch {
            throw ConfigurationError(.jsonlPath, "cannot read \(path) (\(Self.errorText(error.code)))")
        }
        let carry = reader.tail
        let lastNewlineEnd = reader.endOfLastLine
        // Read beside a writer: an unterminated last line may be an append under way; leave it out.
        if isReadOnly {
            committedSize = lastNewlineEnd
            return report
        }
        if !carry.isEmpty, !carry.withUnsafeBufferPointer(LineReader.isBlank) {
            // The last line has no newline: a crash mid-write, or a writer that omits the final newline.
            let decoded = carry.withUnsafeBufferPointer(decode)
            if let decoded {
                store(decoded)
                report.runs += 1
                do {
                    try append([0x0A])
                } catch {
                    throw ConfigurationError(.jsonlPath, "cannot complete the last line of \(path) (\(error))")
                }
                report.addedFinalNewline = true
                return report
            }
            report.tornBytes = carry
            guard ftruncate(descriptor, off_t(lastNewlineEnd)) == 0 else {
                throw ConfigurationError(.jsonlPath, "cannot repair the torn last line of \(path) (\(Self.errorText(errno)))")
            }
            fsync(descriptor)
            committedSize = lastNewlineEnd
        }
        return report
    }

    /// Appends bytes and makes them durable (write + fsync). On failure the file is cut back to
    /// its last committed size, so no partial line remains, and the error is thrown.
    func append(_ bytes: [UInt8]) throws(StorageError) {
        guard !isReadOnly else { throw StorageError.readOnly }
        if committedSize != currentSize() {
            // A previous failed append could not be cut back then; do it before writing more.
            guard ftruncate(descriptor, off_t(committedSize)) == 0 else { throw Self.storageError(errno) }
        }
        var failure = writeAll(bytes, to: descriptor)
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        if let failure {
            _ = ftruncate(descriptor, off_t(committedSize))
            throw Self.storageError(failure)
        }
        committedSize += Int64(bytes.count)
    }

    /// Whether the file is still open and its disk answers.
    func isUsable() -> Bool {
        var info = stat()
        return descriptor >= 0 && fstat(descriptor, &info) == 0
    }

    private func currentSize() -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return -1 }
        return Int64(info.st_size)
    }

    static func storageError(_ code: Int32) -> StorageError {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: .storageFull
        case EROFS, EACCES, EPERM, EBADF: .readOnly
        default: .unavailable("the data file could not be written")
        }
    }

    static func errorText(_ code: Int32) -> String {
        systemErrorText(code)
    }

    /// Writes `bytes` to a new file at `path` (replacing one there); false when that fails.
    static func save(_ bytes: [UInt8], to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return false }
        defer { closeFileDescriptor(descriptor) }
        return writeAll(bytes, to: descriptor) == nil
    }

    /// The wall clock in whole seconds since the epoch (names of saved files).
    static func secondsSinceEpoch() -> Int {
        time(nil)
    }
}

/// Complete lines copied out of the read buffer, to be decoded elsewhere.
struct LineBatch: Sendable {
    private var bytes: [UInt8] = []
    /// The end of each line in `bytes`.
    private var ends: [Int] = []
    /// Each line's 1-based number in the file.
    private(set) var lineNumbers: [Int] = []

    mutating func append(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
        bytes.append(contentsOf: line)
        ends.append(bytes.count)
        lineNumbers.append(lineNumber)
    }

    func decodeEach<Decoded>(_ decode: (UnsafeBufferPointer<UInt8>) -> Decoded?) -> [Decoded?] {
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            return ends.map { end in
                defer { start = end }
                return decode(UnsafeBufferPointer(rebasing: all[start..<end]))
            }
        }
    }
}

/// Work started on a Dispatch worker thread; `wait()` blocks until its value is ready.
final class BackgroundJob<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written once by the worker before it signals `done`; read only after waiting on it.
    private var value: Value?

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }

    func wait() -> Value {
        done.wait()
        done.signal()
        return value!
    }
}
