import PipelineCore
import PipelineDashboard
import PipelineStore

extension RunHistoryTable {
    /// Reads one page of a signature's runs with the API's filters and paging.
    ///
    /// The history parameters are parsed by `RunQuery(parameters:)` together with the signature's
    /// fields, so a bad value gives the API's own message and a cursor is checked against the same
    /// filter set it was made for. `RunFilter` can only ask for a field to equal a string, not for
    /// it to be null (nor, through query parameters, to be empty). So when every signature field
    /// is a non-empty string the repository filters and pages by itself; otherwise it is asked for
    /// every run matching the fields it can express plus the history filters, those runs are cut
    /// down to the exact signature in memory, and that ordered list is paged with the query's own
    /// paging (`RunQuery.page(fromOrderedMatches:)`), so totals, offsets and cursors stay exact.
    /// The second path reads all of the signature's candidate runs on every page, which is fine for
    /// the rare signature with a null field but is why it is not used for the others.
    static func load(
        signature: PipelineSignature,
        parameters requestParameters: [(name: String, value: String)],
        from repository: some PipelineRunRepository
    ) async throws -> RunHistoryTable {
        let parameters = requestParameters.filter { parameterNames.contains($0.name) }
        let query: RunQuery
        do {
            query = try RunQuery(parameters: parameters + DashboardLinks.signatureParameters(signature))
        } catch {
            return RunHistoryTable(content: .invalid(error), parameters: parameters)
        }
        let fields = [signature.pipelineName, signature.scriptName, signature.pipelineType, signature.environment]
        if fields.allSatisfy({ $0?.isEmpty == false }) {
            return RunHistoryTable(content: .page(try await repository.runs(matching: query), query), parameters: parameters)
        }
        let candidates = try await repository.runs(matching: RunQuery(filter: query.filter, paging: .all))
        let exact = candidates.runs.filter { $0.info.signature == signature }
        return RunHistoryTable(content: .page(query.page(fromOrderedMatches: exact), query), parameters: parameters)
    }
}
