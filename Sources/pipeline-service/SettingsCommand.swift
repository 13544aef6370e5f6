import ArgumentParser
import Foundation
import PipelineCore
import PipelineServer
import PipelineStore

/// `pipeline-service settings`: what `serve` would run with, given these flags and this
/// environment — each setting's value and where it came from, secrets redacted.
struct Settings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each setting's value and where it comes from (flag, variable, file or default), as serve would read them.",
        discussion: "Exits 2 with the same one-line error as serve when a setting is invalid."
    )

    @Flag(help: "Print the documentation table of every setting (Markdown, as in the README) instead.")
    var markdown = false

    @OptionGroup var server: ServerOptions
    @OptionGroup var storage: StorageOptions

    func run() async throws {
        guard !markdown else {
            print(Setting.documentationTable, terminator: "")
            return
        }
        try await StartupFailure.reporting(flags: server.flags.merging(storage.flags) { first, _ in first }) { values in
            // The same checks as serve, so a setting shown here is one serve accepts.
            _ = try ServiceConfiguration.resolve(values)
            let width = Setting.allCases.map(\.environmentName.count).max() ?? 0
            for setting in Setting.allCases {
                let name = setting.environmentName.padding(toLength: width, withPad: " ", startingAt: 0)
                guard let value = values.text(setting) else {
                    print("\(name)  (unset)")
                    continue
                }
                let source =
                    switch values.sources[setting] {
                    case .flag: "--" + setting.flagName
                    case .environment: "environment"
                    case .file: setting.fileEnvironmentName ?? "file"
                    case .defaultValue, nil: "default"
                    }
                print("\(name)  \(Redaction.value(value, of: setting))  (\(source))")
            }
        }
    }
}
