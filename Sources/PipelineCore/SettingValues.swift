/// Every setting's value as given — a flag wins over the environment variable (or the file its
/// `…_FILE` variable names, for a secret), which wins over the default — with where it came from,
/// read through typed accessors that check each value against its ``Setting/rule`` and name the
/// setting as the user gave it in any error.
public struct SettingValues: Sendable {
    private var values: [Setting: String] = [:]
    /// Where each setting with a value came from.
    public private(set) var sources: [Setting: SettingSource] = [:]

    /// - Parameters:
    ///   - flags: the settings given as flags.
    ///   - environment: the process environment.
    ///   - readFile: reads a secret's file (trailing line breaks are dropped).
    public init(
        flags: [Setting: String],
        environment: [String: String],
        readFile: (String) throws -> String
    ) throws(ConfigurationError) {
        for setting in Setting.allCases {
            if let flag = flags[setting] {
                values[setting] = flag
                sources[setting] = .flag
                continue
            }
            let fromEnvironment = environment[setting.environmentName].flatMap { $0.isEmpty ? nil : $0 }
            let fileName = setting.fileEnvironmentName.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            if let fileName {
                guard fromEnvironment == nil else {
                    throw ConfigurationError(
                        setting,
                        "give either \(setting.environmentName) or \(setting.fileEnvironmentName ?? ""), not both",
                        source: .file
                    )
                }
                do {
                    var text = try readFile(fileName)
                    while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                    values[setting] = text
                    sources[setting] = .file
                } catch {
                    throw ConfigurationError(setting, "cannot read \"\(fileName)\": \(error)", source: .file)
                }
            } else if let fromEnvironment {
                values[setting] = fromEnvironment
                sources[setting] = .environment
            } else if let fallback = setting.defaultValue {
                values[setting] = fallback
                sources[setting] = .defaultValue
            }
        }
    }

    /// An error about a setting, naming it as it was given.
    public func error(_ setting: Setting, _ message: String) -> ConfigurationError {
        ConfigurationError(setting, message, source: sources[setting])
    }

    /// The text of a setting (trimmed of surrounding white space); nil when unset.
    public func text(_ setting: Setting) -> String? {
        values[setting].map { $0.trimmingASCIIWhitespace() }
    }

    /// How a bad value is quoted in an error: secrets never are.
    private func quoted(_ setting: Setting, _ text: String) -> String {
        setting.isSecret ? "the value" : "\"\(text)\""
    }

    public func integer(_ setting: Setting) throws(ConfigurationError) -> Int? {
        guard let text = text(setting) else { return nil }
        guard case .integer(let range) = setting.rule, let number = Int(text), range.contains(number) else {
            throw error(setting, "\(quoted(setting, text)) is not a whole number in \(setting.allowedValues ?? "range")")
        }
        return number
    }

    public func number(_ setting: Setting) throws(ConfigurationError) -> Double? {
        guard let text = text(setting) else { return nil }
        guard case .number(let range) = setting.rule, IntegerText.isJSONNumber(text), let number = Double(text), number.isFinite,
            range.contains(number)
        else {
            throw error(setting, "\(quoted(setting, text)) is not a number in \(setting.allowedValues ?? "range")")
        }
        return number
    }

    /// One of the setting's words, in lower case.
    public func choice(_ setting: Setting) throws(ConfigurationError) -> String? {
        guard let text = text(setting)?.lowercased() else { return nil }
        guard case .choice(let words) = setting.rule, words.contains(text) else {
            throw error(setting, "\(quoted(setting, text)) is not one of \(setting.allowedValues ?? "the allowed values")")
        }
        return text
    }

    public func flag(_ setting: Setting) throws(ConfigurationError) -> Bool? {
        guard let text = text(setting)?.lowercased() else { return nil }
        switch text {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw error(setting, "\(quoted(setting, text)) is not true or false (nor 1 or 0, yes or no, on or off)")
        }
    }
}
