import Foundation
import PipelineCore
import PipelineServer
import PipelineStore
import PipelineTestSupport
import Testing

/// Flags win over the environment, the environment over defaults; a bad setting is one
/// clear error naming it.
@Suite("Configuration")
struct ServiceConfigurationTests {
    @Test("A secret file that cannot be read is named with a short reason, not a Foundation error dump")
    func unreadableSettingFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (path, reason) in [(directory.path + "/nope", "no such file"), (directory.path, "it is a directory")] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServiceConfiguration.resolve(flags: [:], environment: ["PIPELINE_BACKEND": "postgres", "PIPELINE_POSTGRES_URL_FILE": path])
            }
            #expect(error?.description == "PIPELINE_POSTGRES_URL_FILE: cannot read \"\(path)\": \(reason)")
        }
    }

    @Test("With nothing set the defaults are the spec's")
    func defaultsAreTheSpecs() throws {
        let configuration = try ServiceConfiguration.resolve(flags: [:], environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8000)
        #expect(configuration.backend == .jsonl(path: "pipeline_data.jsonl"))
        #expect(configuration.maxBodySize == 1_048_576)
        #expect(configuration.archiveRoots.isEmpty)
    }

    @Test("A flag wins over the environment, which wins over the default")
    func flagsWinOverEnvironment() throws {
        let environment = ["PIPELINE_PORT": "9000", "PIPELINE_HOST": "0.0.0.0", "PIPELINE_BACKEND": "sqlite", "PIPELINE_SQLITE_PATH": "/tmp/x.db"]
        let fromEnvironment = try ServiceConfiguration.resolve(flags: [:], environment: environment)
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.host == "0.0.0.0")
        #expect(fromEnvironment.backend == .sqlite(path: "/tmp/x.db", layout: try SQLTableLayout()))
        let fromFlags = try ServiceConfiguration.resolve(flags: [.port: "9100", .backend: "jsonl"], environment: environment)
        #expect(fromFlags.port == 9100)
        #expect(fromFlags.backend == .jsonl(path: "pipeline_data.jsonl"))
    }

    @Test(
        "A bad setting names itself",
        arguments: [
            (["PIPELINE_PORT": "80a"], "PIPELINE_PORT"),
            (["PIPELINE_PORT": "70000"], "PIPELINE_PORT"),
            (["PIPELINE_BACKEND": "oracle"], "PIPELINE_BACKEND"),
            (["PIPELINE_BACKEND": "postgres"], "PIPELINE_POSTGRES_URL"),
            (["PIPELINE_BACKEND": "sqlite", "PIPELINE_COLUMN_MAP": "{not json"], "PIPELINE_COLUMN_MAP"),
            (["PIPELINE_BACKEND": "sqlite", "PIPELINE_COLUMN_MAP": "{\"nope\":\"X\"}"], "PIPELINE_COLUMN_MAP"),
            (["PIPELINE_BACKEND": "sqlite", "PIPELINE_COLUMN_MAP": "{\"rowcount\":\"x; drop\"}"], "PIPELINE_COLUMN_MAP"),
            (["PIPELINE_BACKEND": "sqlite", "PIPELINE_TABLE": "runs\""], "PIPELINE_TABLE"),
            (["PIPELINE_LOG_LEVEL": "loud"], "PIPELINE_LOG_LEVEL"),
            (["PIPELINE_ARCHIVE_ROOTS": "relative/dir"], "PIPELINE_ARCHIVE_ROOTS"),
            (["PIPELINE_MAX_BODY_SIZE": "-1"], "PIPELINE_MAX_BODY_SIZE"),
        ]
    )
    func badSettingsNameThemselves(environment: [String: String], setting: String) {
        let error = #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [:], environment: environment) }
        #expect(error?.name == setting)
        #expect(error.map { "\($0)".hasPrefix("\(setting): ") } == true)
    }

    @Test("A bad flag is reported by its flag name")
    func badFlagIsNamedAsAFlag() {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.resolve(flags: [.port: "x"], environment: ["PIPELINE_PORT": "8000"])
        }
        #expect(error?.name == "--port")
    }

    @Test("Every setting's help names its variable and its default")
    func helpNamesVariableAndDefault() {
        for setting in Setting.allCases {
            #expect(setting.help.contains(setting.environmentName))
            #expect(setting.help.contains("default: \(setting.defaultValue ?? "unset")"))
        }
    }
}
