/// Finds the elements of a batch in bytes that arrive in pieces — the values of one top-level
/// JSON array, or the lines of NDJSON — and hands each element's bytes over as soon as it ends,
/// without parsing it. A caller can then validate element by element and stop at a limit while
/// the body is still being read, holding one element at a time rather than the whole document.
///
/// Only the array's own syntax is checked here (brackets, commas, strings); each element is
/// checked by the parser that receives it.
public struct JSONSequenceSplitter: Sendable {
    /// The shape of the document.
    public enum Format: Sendable {
        /// One JSON array whose values are the elements.
        case array
        /// One element per line; blank lines are skipped.
        case lines
    }

    /// Why the bytes are not a JSON array.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        /// Byte offset into the document.
        public var offset: Int
        /// Whether the document is valid JSON of another kind (an object, a number) rather than broken.
        public var isNotAnArray: Bool

        public var description: String { "\(message) at byte \(offset)" }
    }

    private enum State {
        case beforeArray
        /// After `[`: an element or `]`.
        case opened
        /// After `,`: an element.
        case beforeElement
        case inElement
        /// After an element: `,` or `]`.
        case afterElement
        case closed
    }

    public let format: Format
    private var state = State.beforeArray
    private var element: [UInt8] = []
    private var depth = 0
    private var isInString = false
    private var isEscaped = false
    private var offset = 0

    public init(format: Format) {
        self.format = format
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private func error(_ message: String, isNotAnArray: Bool = false) -> SyntaxError {
        SyntaxError(message: message, offset: offset, isNotAnArray: isNotAnArray)
    }

    /// Reads more of the document, calling `found` with each element that ends in it.
    public mutating func feed<Failure: Error>(
        _ bytes: some Sequence<UInt8>,
        found: ([UInt8]) throws(Failure) -> Void
    ) throws(Failure) -> SyntaxError? {
        let contiguous: Result<SyntaxError?, Failure>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(Failure) {
                return .success(try feed(buffer: buffer, found: found))
            } catch {
                return .failure(error)
            }
        }
        if let contiguous { return try contiguous.get() }
        for byte in bytes {
            if let failure = try consume(byte, found) { return failure }
        }
        return nil
    }

    /// Bytes in memory (a request body's buffers): a run of bytes that cannot end anything — the
    /// inside of a string up to its next quote or backslash, or a line up to its newline — is
    /// copied into the element at once; every other byte goes through ``consume(_:_:)``. Most of a
    /// run record is string contents, which the byte-by-byte path copied one append at a time.
    private mutating func feed<Failure: Error>(
        buffer: UnsafeBufferPointer<UInt8>,
        found: ([UInt8]) throws(Failure) -> Void
    ) throws(Failure) -> SyntaxError? {
        var index = 0
        while index < buffer.count {
            var end = index
            switch format {
            case .lines:
                while end < buffer.count, buffer[end] != 0x0A { end += 1 }
            case .array:
                if state == .inElement, isInString, !isEscaped {
                    while end < buffer.count, buffer[end] != UInt8(ascii: "\""), buffer[end] != UInt8(ascii: "\\") { end += 1 }
                }
            }
            if end > index {
                element.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<end]))
                offset += end - index
                index = end
                continue
            }
            if let failure = try consume(buffer[index], found) { return failure }
            index += 1
        }
        return nil
    }

    /// One byte of the document; a syntax error, or nil.
    private mutating func consume<Failure: Error>(_ byte: UInt8, _ found: ([UInt8]) throws(Failure) -> Void) throws(Failure) -> SyntaxError? {
        defer { offset += 1 }
        switch format {
        case .lines:
            if byte == 0x0A {
                try emitLine(found)
            } else {
                element.append(byte)
            }
        case .array:
            if let failure = try step(byte, found) { return failure }
        }
        return nil
    }

    /// Ends the document; a syntax error when it ended inside the array.
    public mutating func finish<Failure: Error>(found: ([UInt8]) throws(Failure) -> Void) throws(Failure) -> SyntaxError? {
        switch format {
        case .lines:
            try emitLine(found)
            return nil
        case .array:
            switch state {
            case .closed: return nil
            case .beforeArray: return error("Expecting a JSON array", isNotAnArray: true)
            default: return error("Unexpected end of input in the array")
            }
        }
    }

    private mutating func emitLine<Failure: Error>(_ found: ([UInt8]) throws(Failure) -> Void) throws(Failure) {
        defer { element.removeAll(keepingCapacity: true) }
        guard element.contains(where: { !Self.isWhitespace($0) }) else { return }
        try found(element)
    }

    private mutating func complete<Failure: Error>(then next: State, _ found: ([UInt8]) throws(Failure) -> Void) throws(Failure) {
        state = next
        defer { element.removeAll(keepingCapacity: true) }
        try found(element)
    }

    /// One byte of an array document; a syntax error, or nil.
    private mutating func step<Failure: Error>(_ byte: UInt8, _ found: ([UInt8]) throws(Failure) -> Void) throws(Failure) -> SyntaxError? {
        switch state {
        case .beforeArray:
            if Self.isWhitespace(byte) { return nil }
            guard byte == UInt8(ascii: "[") else { return error("Expecting a JSON array", isNotAnArray: true) }
            state = .opened
        case .opened, .beforeElement:
            if Self.isWhitespace(byte) { return nil }
            if byte == UInt8(ascii: "]") {
                guard state == .opened else { return error("Expecting a value after ','") }
                state = .closed
                return nil
            }
            state = .inElement
            return try inElement(byte, found)
        case .inElement:
            return try inElement(byte, found)
        case .afterElement:
            if Self.isWhitespace(byte) { return nil }
            if byte == UInt8(ascii: ",") {
                state = .beforeElement
            } else if byte == UInt8(ascii: "]") {
                state = .closed
            } else {
                return error("Expecting ',' delimiter")
            }
        case .closed:
            if !Self.isWhitespace(byte) { return error("Extra data after the JSON array") }
        }
        return nil
    }

    private mutating func inElement<Failure: Error>(_ byte: UInt8, _ found: ([UInt8]) throws(Failure) -> Void) throws(Failure) -> SyntaxError? {
        if isInString {
            element.append(byte)
            if isEscaped {
                isEscaped = false
            } else if byte == UInt8(ascii: "\\") {
                isEscaped = true
            } else if byte == UInt8(ascii: "\"") {
                isInString = false
                if depth == 0 { try complete(then: .afterElement, found) }
            }
            return nil
        }
        switch byte {
        case UInt8(ascii: "\""):
            isInString = true
            element.append(byte)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            element.append(byte)
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if depth == 0 {
                guard byte == UInt8(ascii: "]") else { return error("Unexpected '}'") }
                try complete(then: .closed, found)
            } else {
                depth -= 1
                element.append(byte)
                if depth == 0 { try complete(then: .afterElement, found) }
            }
        case UInt8(ascii: ","):
            if depth == 0 {
                try complete(then: .beforeElement, found)
            } else {
                element.append(byte)
            }
        default:
            if depth == 0, Self.isWhitespace(byte) {
                try complete(then: .afterElement, found)
            } else {
                element.append(byte)
            }
        }
        return nil
    }
}
