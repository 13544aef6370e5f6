import CZlib

/// Inflating a gzip request body (`Content-Encoding: gzip`) with a bound on what it inflates to:
/// the bound is checked after each output chunk, so a small body that would inflate to gigabytes
/// stops at the limit instead of filling memory.
enum GzipBody {
    enum Failure: Error, Equatable {
        /// The inflated body would pass the limit.
        case tooLarge
        /// Not a complete, valid gzip stream.
        case invalid(String)
    }

    /// The most gzip members one body may hold: a client's compressor writes one; thousands of
    /// empty ones would only cost the server work.
    static let maximumMembers = 16

    /// The inflated bytes of one or more concatenated gzip members, at most `limit` of them.
    static func inflate(_ compressed: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var output: [UInt8] = []
        var input = compressed[...]
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        // Concatenated members are one body (RFC 1952); each is inflated in turn.
        var members = 0
        repeat {
            members += 1
            guard members <= maximumMembers else { throw .invalid("the body holds more than \(maximumMembers) gzip members") }
            let consumed = try inflateMember(input, into: &output, chunk: &chunk, limit: limit)
            input = input.dropFirst(consumed)
        } while !input.isEmpty
        return output
    }

    /// Inflates the member at the start of `input`, appending to `output`; returns the bytes it used.
    private static func inflateMember(
        _ input: ArraySlice<UInt8>,
        into output: inout [UInt8],
        chunk: inout [UInt8],
        limit: Int
    ) throws(Failure) -> Int {
        var stream = z_stream()
        guard pipeline_service_inflate_init_gzip(&stream) == Z_OK else { throw .invalid("the decompressor could not start") }
        defer { inflateEnd(&stream) }
        var result: Int32 = Z_OK
        var failure: Failure?
        input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(clamping: source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    result = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard result == Z_OK || result == Z_STREAM_END else {
                    failure = .invalid(result == Z_BUF_ERROR ? "the gzip stream is truncated" : "the gzip stream is corrupt")
                    return
                }
                guard output.count + produced <= limit else {
                    failure = .tooLarge
                    return
                }
                output.append(contentsOf: chunk[..<produced])
                if result == Z_OK, produced == 0, stream.avail_in == 0 {
                    failure = .invalid("the gzip stream is truncated")
                    return
                }
            } while result != Z_STREAM_END
        }
        if let failure { throw failure }
        return input.count - Int(stream.avail_in)
    }
}
