#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `read(2)`, out of reach of ``LineReader/read(upTo:_:)`` by name.
private func readInOrder(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// Reads a file line by line in large chunks, without holding the whole file in memory:
/// a JSONL file of a million runs is read in constant space. Reading can stop after a number
/// of lines and resume, so a caller can do asynchronous work between batches.
struct LineReader {
    /// A read failed with this `errno`.
    struct ReadError: Error {
        var code: Int32
    }

    private let descriptor: Int32
    private var buffer: [UInt8]
    private var bufferStart = 0
    private var bufferEnd = 0
    private var carry: [UInt8] = []
    private var offset: Int64 = 0
    private var isAtEndOfFile = false
    /// Whether the descriptor is a pipe or terminal (standard input of `import -`), which has no
    /// offsets to read at: it is read in order instead.
    private var isStream = false
    /// The number of newline-terminated lines read so far.
    private(set) var lineCount = 0
    /// The file offset just after the last newline read.
    private(set) var endOfLastLine: Int64 = 0

    init(descriptor: Int32, chunkSize: Int = 4 << 20) {
        self.descriptor = descriptor
        self.buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    /// Bytes after the last newline once the file is read to its end (an unterminated last line).
    var tail: [UInt8] { isAtEndOfFile ? carry : [] }

    /// Calls `line` with up to `maximum` newline-terminated lines (without the newline) and their
    /// 1-based numbers. Returns false once the end of the file is reached.
    mutating func read(upTo maximum: Int = .max, _ line: (UnsafeBufferPointer<UInt8>, Int) -> Void) throws(ReadError) -> Bool {
        var delivered = 0
        while delivered < maximum {
            if bufferStart == bufferEnd {
                guard !isAtEndOfFile else { return false }
                let count = buffer.withUnsafeMutableBytes { raw in
                    isStream ? readInOrder(descriptor, raw.baseAddress, raw.count) : pread(descriptor, raw.baseAddress, raw.count, off_t(offset))
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == ESPIPE, !isStream {
                        isStream = true
                        continue
                    }
                    throw ReadError(code: errno)
                }
                if count == 0 {
                    isAtEndOfFile = true
                    return false
                }
                bufferStart = 0
                bufferEnd = count
                offset += Int64(count)
            }
            let chunkOffset = offset - Int64(bufferEnd)
            buffer.withUnsafeBufferPointer { chunk in
                var start = bufferStart
                var position = bufferStart
                while position < bufferEnd, delivered < maximum {
                    // memchr finds the next newline far faster than a byte-by-byte loop.
                    guard let found = memchr(chunk.baseAddress! + position, 0x0A, bufferEnd - position) else {
                        position = bufferEnd
                        break
                    }
                    position = UnsafeRawPointer(chunk.baseAddress!).distance(to: UnsafeRawPointer(found))
                    if chunk[position] == 0x0A {
                        lineCount += 1
                        if carry.isEmpty {
                            line(UnsafeBufferPointer(rebasing: chunk[start..<position]), lineCount)
                        } else {
                            carry.append(contentsOf: chunk[start..<position])
                            carry.withUnsafeBufferPointer { line($0, lineCount) }
                            carry.removeAll(keepingCapacity: true)
                        }
                        delivered += 1
                        start = position + 1
                        endOfLastLine = chunkOffset + Int64(position) + 1
                    }
                    position += 1
                }
                if position == bufferEnd {
                    carry.append(contentsOf: chunk[start..<bufferEnd])
                    bufferStart = bufferEnd
                } else {
                    bufferStart = start
                }
            }
        }
        return true
    }

    /// Whether a line holds only white space.
    static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
