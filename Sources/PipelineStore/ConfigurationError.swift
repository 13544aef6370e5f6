/// A setting that stops start-up, reported as one line naming the setting:
/// `PIPELINE_COLUMN_MAP: "a b" (for start_utc) is not a safe SQL identifier`.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The environment variable (or flag) at fault.
    public var setting: String
    public var message: String

    public init(_ setting: String, _ message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "\(setting): \(message)" }
}
