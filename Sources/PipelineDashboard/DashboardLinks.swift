public import PipelineCore

/// The dashboard's URLs, all under the configured base path.
///
/// The URLs are plain text; interpolated into an `HTML` attribute they are escaped like any other
/// value.
public struct DashboardLinks: Sendable, Hashable {
    /// The prefix every route is served under (`/pipeline-service`), or empty.
    var basePath: String

    public init(basePath: String) {
        self.basePath = basePath
    }

    var overview: String { basePath + "/ui" }
    var summariesAPI: String { basePath + "/pipelines" }
    var historyAPI: String { basePath + "/get_pipeline_info" }
    var docs: String { basePath + "/docs" }
    var openAPI: String { basePath + "/openapi.json" }
    var pipelinePath: String { basePath + "/ui/pipeline" }
    /// `/pipelines/history`, which the pipeline page's runs per day come from.
    public var runHistoryAPI: String { basePath + "/pipelines/history" }

    /// `/ui` with query parameters (none when `parameters` is empty).
    func overview(_ parameters: [(name: String, value: String)]) -> String {
        Self.url(overview, parameters)
    }

    /// The pipeline page of a signature: each non-null field is a parameter, a null field is
    /// left out (the page reads an absent field as null).
    func pipeline(_ signature: PipelineSignature, _ parameters: [(name: String, value: String)] = []) -> String {
        Self.url(pipelinePath, Self.signatureParameters(signature) + parameters)
    }

    /// The `/get_pipeline_info` query that lists a signature's runs as far as the API can filter
    /// (it has no way to ask for a null field).
    func history(_ signature: PipelineSignature) -> String {
        Self.url(historyAPI, Self.signatureParameters(signature))
    }

    /// The signature's non-null fields as the run query parameters that name them.
    public static func signatureParameters(_ signature: PipelineSignature) -> [(name: String, value: String)] {
        PipelineField.signatureFields.compactMap { field in signature[field].map { (field.rawValue, $0) } }
    }

    /// `path`, then `?` and the percent-encoded parameters when there are any.
    public static func url(_ path: String, _ parameters: [(name: String, value: String)]) -> String {
        guard !parameters.isEmpty else { return path }
        return path + "?" + parameters.map { "\(QueryString.encode($0.name))=\(QueryString.encode($0.value))" }.joined(separator: "&")
    }
}
