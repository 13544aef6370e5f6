import PipelineCore
import PipelineStore

/// The settings that decide who may call the service and under which path, resolved and
/// validated; each bad value is a ``ConfigurationError`` naming its setting.
struct AccessSettings {
    var apiKeys: APIKeySet?
    var authenticationScope: AuthenticationScope
    var corsOrigins: CORSOrigins
    var basePath: String

    /// The access settings among `values`.
    static func resolve(_ values: SettingValues) throws(ConfigurationError) -> AccessSettings {
        var apiKeys: APIKeySet?
        if let path = values.text(.apiKeysFile) {
            do {
                apiKeys = try APIKeySet.load(path: path)
            } catch {
                throw values.error(.apiKeysFile, "\"\(path)\": \(error)")
            }
        }
        let readsNeedKey = try values.flag(.authReads) ?? false
        return AccessSettings(
            apiKeys: apiKeys,
            authenticationScope: readsNeedKey ? .writesAndReads : .writes,
            corsOrigins: try parseOrigins(values.text(.corsOrigins) ?? "", values: values),
            basePath: try parseBasePath(values.text(.basePath) ?? "", values: values)
        )
    }

    /// `*`, or comma-separated origins `scheme://host[:port]` (a trailing `/` is dropped; compared in lowercase,
    /// as browsers send them).
    static func parseOrigins(_ text: String, values: SettingValues) throws(ConfigurationError) -> CORSOrigins {
        let items = text.split(separator: ",").map { String($0).trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        if items.isEmpty { return .none }
        if items.contains("*") {
            guard items.count == 1 else { throw values.error(.corsOrigins, "* allows every origin; give it alone or list origins") }
            return .any
        }
        var origins: [String] = []
        for item in items {
            var origin = item.lowercased()
            if origin.hasSuffix("/") { origin.removeLast() }
            guard isOrigin(origin) else {
                throw values.error(.corsOrigins, "\"\(item)\" is not an origin like https://dashboard.example.com or http://localhost:3000")
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
    static func parseBasePath(_ text: String, values: SettingValues) throws(ConfigurationError) -> String {
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
            throw values.error(.basePath, "\"\(text)\" is not a path like /pipeline-service (segments of letters, digits and -._~)")
        }
        return path
    }
}
