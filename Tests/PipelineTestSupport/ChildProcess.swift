public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Running a helper program (a set-up script, a client) to its end from a test.
public enum ChildProcess {
    /// Runs `executable` with `arguments` and returns its exit status, standard output and
    /// standard error (read at the same time, so neither pipe can fill and stall the child). A
    /// child still running after `timeout` is killed (it then ends with SIGKILL's status).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: Duration? = nil
    ) throws -> (status: Int32, output: Data, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if let timeout {
            let pid = process.processIdentifier
            let (seconds, attoseconds) = timeout.components
            DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18) {
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        let complaints = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            complaints.withLock { $0 = data }
            drained.signal()
        }
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return (process.terminationStatus, printed, String(decoding: complaints.withLock { $0 }, as: UTF8.self))
    }
}
