import PipelineCore
import PipelineStore

/// The settings that decide who may call the service and under which path, resolved and
/// validated; each bad value is a ``ConfigurationError`` naming its setting.
struct AccessSettings {
    var apiKeys: APIKeySet?
    var authenticationScope: AuthenticationScope
    var corsOrigins: CORSOrigins
    var basePath: String

    /// - Parameters: each a setting's text and the name to report it by (its flag or variable).
    static func resolve(
        keysFile: (path: String, setting: String)?,
        authReads: (text: String, setting: String),
        corsOrigins: (text: String, setting: String),
        basePath: (text: String, setting: String)
    ) throws(ConfigurationError) -> AccessSettings {
        var apiKeys: APIKeySet?
        if let keysFile {
            do {
                apiKeys = try APIKeySet.load(path: keysFile.path)
            } catch {
                throw ConfigurationError(keysFile.setting, "\"\(keysFile.path)\": \(error)")
            }
        }
        guard let readsNeedKey = parseBoolean(authReads.text) else {
            throw ConfigurationError(authReads.setting, "\"\(authReads.text)\" is not true or false")
        }
        return AccessSettings(
            apiKeys: apiKeys,
            authenticationScope: readsNeedKey ? .writesAndReads : .writes,
            corsOrigins: try parseOrigins(corsOrigins.text, setting: corsOrigins.setting),
            basePath: try parseBasePath(basePath.text, setting: basePath.setting)
        )
    }

    static func parseBoolean(_ text: String) -> Bool? {
        switch text.trimmingASCIIWhitespace().lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off", "": false
        default: nil
        }
    }

    /// `*`, or comma-separated origins `scheme://host[:port]` (a trailing `/` is dropped; compared in lowercase,
    /// as browsers send them).
    static func parseOrigins(_ text: String, setting: String) throws(ConfigurationError) -> CORSOrigins {
        let items = text.split(separator: ",").map { String($0).trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        if items.isEmpty { return .none }
        if items.contains("*") {
            guard items.count == 1 else { throw ConfigurationError(setting, "* allows every origin; give it alone or list origins") }
            return .any
        }
        var origins: [String] = []
        for item in items {
            var origin = item.lowercased()
            if origin.hasSuffix("/") { origin.removeLast() }
            guard isOrigin(origin) else {
                throw ConfigurationError(setting, "\"\(item)\" is not an origin like https://dashboard.example.com or http://localhost:3000")
            }
            origins.append(origin)
        }
        return .list(origins)
    }

    private static func isOrigin(_ text: String) -> Bool {
        let host: Substring
        if text.hasPrefix("https://") {
            host = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            host = text.dropFirst(7)
        } else {
            return false
        }
        return !host.isEmpty
            && host.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                    true
                default:
                    false
                }
            }
    }

    /// `/segment[/segment…]`, each segment letters, digits or `-._~`; `/` and empty mean the root.
    static func parseBasePath(_ text: String, setting: String) throws(ConfigurationError) -> String {
        var path = text.trimmingASCIIWhitespace()
        while path.hasSuffix("/") { path.removeLast() }
        if path.isEmpty { return "" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let isValid =
            path.hasPrefix("/")
            && segments.dropFirst().allSatisfy { segment in
                !segment.isEmpty && segment != "." && segment != ".."
                    && segment.utf8.allSatisfy { byte in
                        switch byte {
                        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                            true
                        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                            true
                        default:
                            false
                        }
                    }
            }
        guard isValid else {
            throw ConfigurationError(setting, "\"\(text)\" is not a path like /pipeline-service (segments of letters, digits and -._~)")
        }
        return path
    }
}
