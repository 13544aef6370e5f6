import Hummingbird
import NIOCore
import NIOPosix
import PipelineStore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One archive root, in both spellings a stored path may use: as configured, and with every link
/// resolved at start-up. Files are always opened from the resolved directory.
struct ArchiveRoot: Sendable {
    let configured: [String]
    let resolved: [String]
    let resolvedPath: String

    /// Nil when the configured directory does not exist at start-up.
    init?(configuredPath: String) {
        guard let resolvedPath = ArchiveFileOpener.resolve(configuredPath) else { return nil }
        configured = ArchiveFileOpener.split(configuredPath).filter { !$0.isEmpty }
        resolved = ArchiveFileOpener.split(resolvedPath).filter { !$0.isEmpty }
        self.resolvedPath = resolvedPath
    }

    /// The components of `path` below this root when it lies strictly beneath the root in either
    /// spelling; nil otherwise.
    func relativeComponents(of path: [String]) -> [String]? {
        for prefix in [configured, resolved] where path.count > prefix.count {
            if zip(prefix, path).allSatisfy({ $0.utf8.elementsEqual($1.utf8) }) {
                return Array(path[prefix.count...])
            }
        }
        return nil
    }
}

/// Opens an archived file beneath a root without following any link, so that what is checked is
/// what is served: the walk goes one directory descriptor at a time, and the file's type and size
/// come from the very descriptor the response is read from. A directory swapped for a link between
/// two requests, or during one, makes the walk fail instead of leading outside the root.
enum ArchiveFileOpener {
    /// The absolute, link-free form of an existing path; nil when it does not exist.
    static func resolve(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.utf8.contains(0), let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Splits on the byte `/`, as the kernel does. Splitting on `Character`s would not: a `/`
    /// preceded by a prepending mark or followed by a combining one is part of a larger grapheme,
    /// so a component that looks harmless could still hold a `..` the kernel sees.
    static func split(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The components of an absolute path; nil when it is not absolute, holds a NUL byte, or has
    /// an empty, `.` or `..` component. Purely lexical: nothing on disk is consulted.
    static func lexicalComponents(_ path: String) -> [String]? {
        guard path.utf8.first == UInt8(ascii: "/"), !path.utf8.contains(0) else { return nil }
        let components = Array(split(path).dropFirst())
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return components
    }

    /// The regular file `path` names beneath one of `roots`, opened; nil for anything else.
    /// When roots are nested, the one closest to the file is tried first.
    static func open(_ path: String, roots: [ArchiveRoot]) -> ArchivedFileHandle? {
        guard let components = lexicalComponents(path) else { return nil }
        let candidates = roots.compactMap { root in root.relativeComponents(of: components).map { (root.resolvedPath, $0) } }
        for (rootPath, relative) in candidates.sorted(by: { $0.1.count < $1.1.count }) {
            if let file = openBeneath(rootPath, relative) { return file }
        }
        return nil
    }

    /// Opens `relative` from the directory `rootPath`, one component at a time, refusing every link.
    private static func openBeneath(_ rootPath: String, _ relative: [String]) -> ArchivedFileHandle? {
        guard let name = relative.last else { return nil }
        var directory = openDescriptor(rootPath, O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        guard directory >= 0 else { return nil }
        defer { closeFileDescriptor(directory) }
        for component in relative.dropLast() {
            let child = openat(directory, component, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC)
            guard child >= 0 else { return nil }
            closeFileDescriptor(directory)
            directory = child
        }
        // A first look without opening, so a device or FIFO someone left in the root is never
        // opened at all (opening some devices has side effects). It decides nothing on its own:
        // the `fstat` of the opened descriptor below does.
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0, isRegularFile(info) else { return nil }
        // Non-blocking, so a FIFO swapped in after that look cannot hold the request open.
        let file = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard file >= 0 else { return nil }
        let flags = fcntl(file, F_GETFL)
        guard fstat(file, &info) == 0, isRegularFile(info), flags >= 0, fcntl(file, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            closeFileDescriptor(file)
            return nil
        }
        return ArchivedFileHandle(descriptor: file, size: Int(info.st_size), name: name)
    }

    private static func isRegularFile(_ info: stat) -> Bool {
        (info.st_mode & S_IFMT) == S_IFREG
    }
}

/// Why a body stopped before its announced length. Thrown after the headers went out, so the
/// server closes the connection and the client sees a failed download, not a short one.
enum ArchivedFileReadError: Error {
    case shrank(expected: Int, read: Int)
    case readFailed(errno: Int32)
    case closed
}

/// An archived file opened for one response: its descriptor, its size when opened, and its name.
///
/// The descriptor is closed exactly once: by the body when it ends or fails, or, when the body is
/// never written (a response dropped before it was sent), when the last reference goes away.
/// Reads and the close take the same lock, so a descriptor is never closed under a read.
final class ArchivedFileHandle: Sendable {
    let size: Int
    let name: String
    private let descriptor: Mutex<Int32?>

    init(descriptor: Int32, size: Int, name: String) {
        self.descriptor = Mutex(descriptor)
        self.size = size
        self.name = name
    }

    deinit {
        close()
    }

    /// The open descriptor's number; nil once closed.
    var descriptorNumber: Int32? {
        descriptor.withLock { $0 }
    }

    func close() {
        descriptor.withLock { current in
            if let open = current {
                closeFileDescriptor(open)
                current = nil
            }
        }
    }

    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws -> ByteBuffer {
        try descriptor.withLock { current throws -> ByteBuffer in
            guard let open = current else { throw ArchivedFileReadError.closed }
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
                while true {
                    let read = pread(open, bytes.baseAddress, count, off_t(offset))
                    if read >= 0 { return read }
                    let code = errno
                    if code != EINTR { throw ArchivedFileReadError.readFailed(errno: code) }
                }
            }
            return buffer
        }
    }

    /// The file as a response body of exactly `size` bytes, read in chunks on `threadPool` so
    /// no request thread blocks on the disk. A file that turned out shorter than `size` fails
    /// the body; a file that grew is cut at `size`, the length already announced.
    func responseBody(chunkSize: Int = 64 << 10, threadPool: NIOThreadPool = .singleton) -> ResponseBody {
        ResponseBody(contentLength: size) { writer in
            defer { self.close() }
            var offset = 0
            while offset < self.size {
                let start = offset
                let count = min(chunkSize, self.size - offset)
                let chunk = try await threadPool.runIfActive { try self.read(at: start, count: count) }
                guard chunk.readableBytes > 0 else { throw ArchivedFileReadError.shrank(expected: self.size, read: offset) }
                offset += chunk.readableBytes
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
    }
}

/// `open(2)`, outside any type, so the name does not collide with methods called `open`.
private func openDescriptor(_ path: String, _ flags: Int32) -> Int32 {
    open(path, flags)
}
