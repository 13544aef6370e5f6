import Crypto
import Foundation
import PipelineCore

/// One API key the service accepts, known only by the SHA-256 digest of the key.
public struct APIKey: Sendable, Hashable {
    /// The SHA-256 digest of the key (32 bytes).
    public let digest: [UInt8]
    /// The name the keys file gives the key, for audit logs; nil when the line has none.
    public let label: String?

    /// The first 8 hex digits of the digest: identifies the key in logs without revealing it.
    public var keyID: String { String(Self.hex(digest).prefix(8)) }

    /// Who used the key, as audit lines name it: the label, or the key id when there is none.
    public var caller: String { label ?? keyID }

    // MARK: - Generating keys

    /// The prefix of every generated key, so a leaked key is recognisable in a secret scanner.
    public static let generatedKeyPrefix = "psk_"

    /// A new random key: `psk_` and 32 random bytes in URL-safe base64 without padding.
    public static func generate() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return generatedKeyPrefix + base64
    }

    /// The keys-file line for a key: its SHA-256 in lowercase hex, then the label if any.
    public static func keysFileLine(forKey key: String, label: String?) -> String {
        let digest = hex(Array(SHA256.hash(data: Array(key.utf8))))
        return label.map { "\(digest) \($0)" } ?? digest
    }

    /// Whether `label` can name a key in the keys file: 1…64 letters, digits or `._@:-`.
    public static func isValidLabel(_ label: some StringProtocol) -> Bool {
        (1...64).contains(label.utf8.count)
            && label.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(HexDigit.lowercase[Int(byte >> 4)])
            text.append(HexDigit.lowercase[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A keys-file line that cannot be read, with its 1-based line number.
public struct APIKeysFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int?
    public let message: String

    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// The API keys of `PIPELINE_API_KEYS_FILE`: each line holds the lowercase hex SHA-256 of a key,
/// optionally followed by a label naming the key in audit logs; `#` starts a comment.
///
/// The file never holds a key itself, so reading it (or a backup of it) does not let anyone write.
public struct APIKeySet: Sendable {
    public let keys: [APIKey]

    /// A set of keys given directly (tests, or keys from another source).
    public init(keys: [APIKey]) {
        self.keys = keys
    }

    /// A set holding the given plain keys, each with its label: for tests and tools that know the keys.
    public init(plainKeys: [(key: String, label: String?)]) {
        self.keys = plainKeys.map { APIKey(digest: Array(SHA256.hash(data: Array($0.key.utf8))), label: $0.label) }
    }

    /// Parses the contents of a keys file. A file without any key is an error: every request needing
    /// a key would be refused, which is never what the operator meant.
    public init(fileContents: String) throws(APIKeysFileError) {
        var keys: [APIKey] = []
        var lineOfDigest: [[UInt8]: Int] = [:]
        let lines = fileContents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: \.isWhitespace)
            guard let hashField = fields.first else { continue }
            guard fields.count <= 2 else {
                throw APIKeysFileError(line: lineNumber, message: "expected \"<sha256 hex> [label]\", found \(fields.count) fields")
            }
            guard let digest = Self.digest(fromHex: hashField) else {
                throw APIKeysFileError(line: lineNumber, message: "expected a SHA-256 as 64 hex digits (pipeline-service keygen prints one)")
            }
            var label: String?
            if fields.count == 2 {
                guard APIKey.isValidLabel(fields[1]) else {
                    throw APIKeysFileError(line: lineNumber, message: "a label is 1…64 letters, digits or ._@:-")
                }
                label = String(fields[1])
            }
            if let earlier = lineOfDigest[digest] {
                throw APIKeysFileError(line: lineNumber, message: "the same key as line \(earlier)")
            }
            lineOfDigest[digest] = lineNumber
            keys.append(APIKey(digest: digest, label: label))
        }
        guard !keys.isEmpty else {
            throw APIKeysFileError(line: nil, message: "lists no key; every request needing one would be refused")
        }
        self.keys = keys
    }

    /// Reads and parses a keys file; the error says what is wrong (and where) without quoting the file.
    public static func load(path: String) throws(APIKeysFileError) -> APIKeySet {
        let contents: String
        do {
            contents = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "no such file"
            throw APIKeysFileError(line: nil, message: reason)
        }
        return try APIKeySet(fileContents: contents)
    }

    /// The configured key matching `presentedKey`, if any.
    ///
    /// The presented key is hashed and its digest compared with every configured digest in constant
    /// time, without stopping at a match, so the time taken says nothing about which bytes matched.
    public func key(matching presentedKey: some StringProtocol) -> APIKey? {
        let digest = Array(SHA256.hash(data: Array(presentedKey.utf8)))
        var match: APIKey?
        for key in keys where Self.constantTimeEqual(key.digest, digest) {
            match = key
        }
        return match
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    static func digest(fromHex text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = HexDigit.value(utf8[index]), let low = HexDigit.value(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
