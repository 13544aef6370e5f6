/// Text as every backend keeps it: compared, hashed and ordered by its UTF-8 bytes.
///
/// A name, environment, date code or any other text a client sends is stored as the bytes it
/// sent, told apart from other text by those bytes, and served back with them. SQL does this by
/// itself: SQLite compares `TEXT` with its `BINARY` collation, PostgreSQL's deterministic
/// collations call two strings equal only when their bytes are, and `COLLATE "C"` orders by bytes.
///
/// Swift's `String` does not: its `==`, its hash (so every `Set` and `Dictionary` key) and its `<`
/// follow canonical equivalence, so "café" written with U+00E9 and written with "e" + U+0301 are
/// one string to it, and `<` orders the normalized form. Kept in a `String`-keyed index, those two
/// spellings would be one pipeline, a filter for one would return the other, and a run could come
/// back in the spelling another run was posted with. So wherever stored text is compared, hashed
/// or ordered outside SQL — the query module, the in-memory backend's indexes, the answers that
/// group or sort names — it goes through this type (as a key) or its static functions (on plain
/// strings): equality is equality of bytes, and the order is the order of the bytes, which for
/// UTF-8 is also the order of code points and SQL's `COLLATE "C"`.
public struct ExactText: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var string: String

    @inlinable
    public init(_ string: String) {
        self.string = string
    }

    public var description: String { string }

    @inlinable
    public static func == (lhs: ExactText, rhs: ExactText) -> Bool {
        equal(lhs.string, rhs.string)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        Self.hash(string, into: &hasher)
    }

    @inlinable
    public static func < (lhs: ExactText, rhs: ExactText) -> Bool {
        precedes(lhs.string, rhs.string)
    }

    // MARK: - On plain strings

    /// Whether two texts are the same bytes.
    @inlinable
    public static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let (left, right) = (lhs.utf8, rhs.utf8)
        guard left.count == right.count else { return false }
        // Native strings are contiguous, so this is the path taken; the generic one is the fallback.
        let compared = left.withContiguousStorageIfAvailable { left in
            right.withContiguousStorageIfAvailable { right in sameBytes(UnsafeRawBufferPointer(left), UnsafeRawBufferPointer(right)) }
        }
        if let compared, let compared { return compared }
        return left.elementsEqual(right)
    }

    /// Whether two optional texts are both absent or the same bytes.
    @inlinable
    public static func equal(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case (let left?, let right?): equal(left, right)
        default: false
        }
    }

    /// Whether `lhs` comes before `rhs` in byte order (a prefix comes first).
    @inlinable
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Feeds the text's bytes to `hasher`, after their count, so that texts hashed one after
    /// another cannot run into each other.
    @inlinable
    public static func hash(_ text: String, into hasher: inout Hasher) {
        let bytes = text.utf8
        hasher.combine(bytes.count)
        let hashed: Void? = bytes.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in bytes { hasher.combine(byte) }
        }
    }

    /// Feeds an optional text to `hasher`: whether it is present, then its bytes.
    @inlinable
    public static func hash(_ text: String?, into hasher: inout Hasher) {
        hasher.combine(text != nil)
        if let text { hash(text, into: &hasher) }
    }

    /// Equal-length buffers compared eight bytes at a time; the same storage is equal at once
    /// (interned names share one).
    @usableFromInline
    static func sameBytes(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        if left.baseAddress == right.baseAddress { return true }
        let count = left.count
        var offset = 0
        while offset + 8 <= count {
            guard left.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else {
                return false
            }
            offset += 8
        }
        while offset < count {
            guard left[offset] == right[offset] else { return false }
            offset += 1
        }
        return true
    }
}
