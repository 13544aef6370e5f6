#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The few system calls used beyond the files that manage the data file itself, in one place
// (the server's log output and archive downloads use them too).

/// `close(2)`, reachable under a name that no `close()` method shadows.
package func closeFileDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Whether nothing is at `path` (`stat(2)` answers `ENOENT`). A path that cannot be checked for
/// another reason is not called missing: opening it then says why.
func isMissing(path: String) -> Bool {
    var status = stat()
    return stat(path, &status) != 0 && errno == ENOENT
}

/// The system's text for an `errno` value (`No such file or directory`).
func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Writes every byte, retrying interrupted writes; the `errno` of a failure, nil on success.
@discardableResult
package func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
    bytes.withUnsafeBytes { raw -> Int32? in
        guard let base = raw.baseAddress else { return nil }
        var offset = 0
        while offset < raw.count {
            let result = write(descriptor, base + offset, raw.count - offset)
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += result
        }
        return nil
    }
}

/// Opens a file for reading; the descriptor, or the `errno` of the failure.
func openForReading(_ path: String) -> Result<Int32, SystemError> {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    return descriptor >= 0 ? .success(descriptor) : .failure(SystemError(code: errno))
}

/// A failed system call's `errno`, with the system's text for it.
struct SystemError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { systemErrorText(code) }
}
