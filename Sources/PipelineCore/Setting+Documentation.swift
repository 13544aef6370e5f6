/// The settings as the README documents them: one Markdown table generated from ``Setting``, so
/// the documentation cannot name a flag the command does not take or a default it does not use.
/// `pipeline-service settings --markdown` prints it; a test checks that the README holds it.
extension Setting {
    /// The header and one row per setting, in declaration order.
    public static var documentationTable: String {
        var lines = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
        for setting in allCases {
            let variables = ([setting.environmentName] + [setting.fileEnvironmentName].compactMap { $0 }).map { "`\($0)`" }
            let meaning = setting.summary + (setting.allowedValues.map { " Values: \($0)." } ?? "")
            lines.append(
                "| `--\(setting.flagName)` | \(variables.joined(separator: " or ")) | \(setting.defaultValue.map { "`\($0)`" } ?? "unset") | "
                    + meaning.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") + " |"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
