public import PipelineCore

/// The dashboard's URLs, all under the configured base path.
///
/// The URLs are plain text; interpolated into an `HTML` attribute they are escaped like any other
/// value.
public struct DashboardLinks: Sendable, Hashable {
    /// The prefix every route is served under (`/pipeline-service`), or empty.
    var basePath: String
    /// Whether archived files are served (`PIPELINE_ARCHIVE_ROOTS` is set): the run table then links them.
    var servesArchivedFiles: Bool
    /// How often the page reloads itself (`?refresh=60`); nil: never.
    var refreshSeconds: Int?

    public init(basePath: String, servesArchivedFiles: Bool = false, refreshSeconds: Int? = nil) {
        self.basePath = basePath
        self.servesArchivedFiles = servesArchivedFiles
        self.refreshSeconds = refreshSeconds
    }

    /// The name of the parameter that makes a page reload itself, and the seconds it accepts.
    public static let refreshParameter = "refresh"
    public static let refreshRange = 5...86_400

    /// `parameters` without `refresh`, and the seconds it asks for when it is a whole number in
    /// ``refreshRange`` (anything else is left out: a dashboard never refuses to show over it).
    public static func takingRefresh(
        from parameters: [(name: String, value: String)]
    ) -> (parameters: [(name: String, value: String)], seconds: Int?) {
        let seconds = parameters.last { $0.name == refreshParameter }.flatMap { Int($0.value) }.flatMap { refreshRange.contains($0) ? $0 : nil }
        return (parameters.filter { $0.name != refreshParameter }, seconds)
    }

    /// The download of a run's archived file; nil for a run without one, or when none are served.
    func archivedFile(of run: PipelineInfo) -> String? {
        guard servesArchivedFiles, run.archivedFile != nil else { return nil }
        let path = basePath + "/pipelines/archived/" + QueryString.encode(run.dateCode)
        return Self.url(path, run.pipelineName.map { [(QueryParameter.pipelineName.rawValue, $0)] } ?? [])
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
