public import Logging
import PipelineCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads NDJSON runs (one JSON object per line, the JSONL backend's own format) into any
/// repository in batches. Idempotent: a run already stored is counted, not stored again, so an
/// interrupted import can simply be run again.
public struct RunImporter: Sendable {
    /// Counts so far; `invalidLines` holds 1-based line numbers (the first 100), `refusals`
    /// each of those lines with why it was refused.
    public struct Report: Sendable, CustomStringConvertible {
        public var linesRead = 0
        public var created = 0
        /// Records that completed a run stored as `running` (a data file holds both records of a run).
        public var updated = 0
        public var existing = 0
        public var conflicts = 0
        public var invalid = 0
        public var invalidLines: [Int] = []
        public var refusals: [(line: Int, reason: String)] = []

        public var description: String {
            var text = "\(linesRead) lines: \(created) stored, \(existing) already stored, \(conflicts) conflicting, \(invalid) invalid"
            if updated > 0 { text += ", \(updated) completing a running run" }
            if !invalidLines.isEmpty {
                text += " (lines \(invalidLines.prefix(20).map(String.init).joined(separator: ", "))\(invalid > 20 ? ", …" : ""))"
            }
            return text
        }
    }

    /// Why an import could not run at all.
    public struct ImportError: Error, CustomStringConvertible {
        public var description: String
    }

    public let batchSize: Int

    public init(batchSize: Int = 2000) {
        self.batchSize = max(1, batchSize)
    }

    /// The file an import reads, opened before the storage is, so that a file that cannot be
    /// read (a mistyped name) stops the import before a store is created for it.
    public final class Input: Sendable {
        let path: String
        let descriptor: Int32

        /// Opens the file at `path`; `-` is standard input.
        public init(path: String) throws(ImportError) {
            switch path == "-" ? Input.standardInput() : openForReading(path) {
            case .success(let opened): descriptor = opened
            case .failure(let error): throw ImportError(description: "cannot open \(path): \(error)")
            }
            self.path = path
        }

        deinit { closeFileDescriptor(descriptor) }

        /// A descriptor of its own for standard input, so that closing it leaves the process's alone.
        private static func standardInput() -> Result<Int32, SystemError> {
            let descriptor = dup(0)
            return descriptor >= 0 ? .success(descriptor) : .failure(SystemError(code: errno))
        }
    }

    /// Imports every line of `input`; `progress` is called after each batch.
    /// Lines are validated strictly, as a POST would be. When anything was stored, the
    /// repository's planner statistics are refreshed (a failure to do so is logged, not thrown).
    ///
    /// Reading and validating a batch overlaps storing the one before: one batch is stored at a
    /// time, in file order, so runs are stored in the order of their lines, as before.
    public func importLines(
        of input: Input,
        into repository: some PipelineRunRepository,
        logger: Logger = Logger(label: "pipeline-service.import"),
        progress: (Report) -> Void = { _ in }
    ) async throws -> Report {
        let (path, descriptor) = (input.path, input.descriptor)
        var report = Report()
        var reader = LineReader(descriptor: descriptor)
        var isMore = true
        let limits = try repository.fieldLimits()
        func add(_ counts: BulkInsertCounts) {
            report.created += counts.created
            report.updated += counts.updated
            report.existing += counts.existing
            report.conflicts += counts.conflicts
            report.invalid += counts.invalid
            progress(report)
        }
        try await withThrowingTaskGroup(of: BulkInsertCounts.self) { storing in
            var isStoring = false
            while isMore {
                var runs: [PipelineInfo] = []
                do throws(LineReader.ReadError) {
                    isMore = try reader.read(upTo: batchSize) { bytes, lineNumber in
                        report.linesRead = lineNumber
                        guard !LineReader.isBlank(bytes) else { return }
                        parse(bytes, lineNumber: lineNumber, limits: limits, into: &runs, report: &report)
                    }
                } catch {
                    throw ImportError(description: "cannot read \(path): \(systemErrorText(error.code))")
                }
                if !isMore, !reader.tail.isEmpty, !reader.tail.withUnsafeBufferPointer(LineReader.isBlank) {
                    report.linesRead += 1
                    let lineNumber = report.linesRead
                    reader.tail.withUnsafeBufferPointer { parse($0, lineNumber: lineNumber, limits: limits, into: &runs, report: &report) }
                }
                // The batch before is stored before this one starts.
                if isStoring, let counts = try await storing.next() { add(counts) }
                isStoring = !runs.isEmpty
                if isStoring {
                    let batch = runs
                    storing.addTask { try await repository.insertCounting(batch) }
                }
            }
            if isStoring, let counts = try await storing.next() { add(counts) }
        }
        if report.created + report.updated > 0 { await repository.refreshStatisticsAfterLoading(logger: logger) }
        return report
    }

    /// Reads one line into `runs`, or counts it invalid with its reasons: not a valid run, or a run
    /// the storage cannot hold (``PipelineRunRepository/fieldLimits()``).
    private func parse(
        _ bytes: UnsafeBufferPointer<UInt8>,
        lineNumber: Int,
        limits: FieldLimits,
        into runs: inout [PipelineInfo],
        report: inout Report
    ) {
        do throws(ValidationError) {
            let run = try PipelineInfo(jsonBytes: bytes)
            let issues = limits.issues(in: run)
            guard issues.isEmpty else { throw ValidationError(issues) }
            runs.append(run)
        } catch {
            report.invalid += 1
            if report.invalidLines.count < 100 {
                report.invalidLines.append(lineNumber)
                report.refusals.append((lineNumber, error.issues.prefix(5).map(\.description).joined(separator: "; ")))
            }
        }
    }
}
