import ArgumentParser
import PipelineServer

/// `pipeline-service keygen`: makes a new API key and the line that lets the server accept it.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a new API key and print the line to append to the keys file (PIPELINE_API_KEYS_FILE).",
        discussion: """
            The key is printed once and stored nowhere: give it to the caller (for example as PIPELINE_API_KEY). \
            The keys file holds only its SHA-256, so the file itself never lets anyone write.
            """
    )

    @Option(name: .customLong("label"), help: "Name for the key in audit logs: 1…64 letters, digits or ._@:-")
    var label: String?

    func validate() throws {
        if let label, !APIKey.isValidLabel(label) {
            throw ValidationError("--label must be 1…64 letters, digits or ._@:- (got \"\(label)\")")
        }
    }

    func run() {
        let key = APIKey.generate()
        print("API key (give it to the caller; it is not stored anywhere):")
        print("  \(key)")
        print("Line to append to the keys file:")
        print("  \(APIKey.keysFileLine(forKey: key, label: label))")
    }
}
