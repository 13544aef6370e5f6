public import PipelineCore

/// The run table of a pipeline page: one page of the signature's runs, or why the request's
/// history parameters were refused.
public struct RunHistoryTable: Sendable {
    public enum Content: Sendable {
        /// The page and the query that produced it (its paging decides the pager's links).
        case page(RunPage, RunQuery)
        /// The API's own validation error for the same parameters.
        case invalid(ValidationError)
    }

    var content: Content
    /// The history parameters of the request (`start_utc`, …, `cursor`), to refill the form and
    /// carry into the paging links.
    var parameters: [(name: String, value: String)]

    public init(content: Content, parameters: [(name: String, value: String)]) {
        self.content = content
        self.parameters = parameters
    }

    /// The parameters the table reads from a pipeline page's query; the signature fields are the
    /// page's own and `all_data` is not offered (a page is always paged).
    public static let parameterNames: Set<String> = [
        QueryParameter.startUTC, .endUTC, .minRowcount, .maxRowcount, .limit, .offset, .cursor,
    ].reduce(into: []) { $0.insert($1.rawValue) }

    public var isInvalid: Bool {
        if case .invalid = content { return true }
        return false
    }
}

extension PipelinePage {
    static func historySection(signature: PipelineSignature, history: RunHistoryTable, links: DashboardLinks) -> HTML {
        var values: [String: String] = [:]
        for (name, value) in history.parameters { values[name] = value }
        var out: HTML = "<section class=\"panel history\"><h2>Run history</h2>"
        out += "<form class=\"filters\" method=\"get\" action=\"\(links.pipelinePath)\">"
        for (name, value) in DashboardLinks.signatureParameters(signature) {
            out += "<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">"
        }
        let fields: [(QueryParameter, String, String, Bool)] = [
            (.startUTC, "Started from (UTC)", "2025-09-01T00:00:00Z", false),
            (.endUTC, "Ended by (UTC)", "2025-10-01T00:00:00Z", false),
            (.minRowcount, "Min rows", "", true),
            (.maxRowcount, "Max rows", "", true),
            (.limit, "Per page", String(RunQuery.defaultLimit), true),
        ]
        for (parameter, label, placeholder, short) in fields {
            let value: HTML = values[parameter.rawValue].map { " value=\"\($0)\"" } ?? .empty
            let shortClass: HTML = short ? " class=\"short\"" : .empty
            out += "<label>\(label)<input\(shortClass) name=\"\(parameter.rawValue)\""
            out += " placeholder=\"\(placeholder)\"\(value)></label>"
        }
        out += "<button type=\"submit\">Apply</button> <a href=\"\(links.pipeline(signature))\">Reset</a></form>\n"

        switch history.content {
        case .invalid(let error):
            out += "<div class=\"callout error\" role=\"alert\"><b>These filters are not valid</b><ul>"
            for issue in error.issues {
                out += "<li class=\"issue\"><code>\(issue.location.rawValue + "." + issue.field)</code>: \(issue.message)</li>"
            }
            out += "</ul></div>"
        case .page(let page, let query):
            out += runTable(page, links: links)
            out += pager(page: page, query: query, signature: signature, parameters: history.parameters, links: links)
        }
        return out + "</section>\n"
    }

    private static func runTable(_ page: RunPage, links: DashboardLinks) -> HTML {
        var out: HTML = "<div class=\"tablewrap\"><table class=\"runs\"><thead><tr><th>start_utc</th><th>end_utc</th><th class=\"num\">duration</th>"
        out += "<th class=\"num\">rowcount</th><th>status</th><th class=\"num\">exit_code</th><th>date_code</th><th>output_file</th>"
        out += "<th>log_file</th><th>archived</th></tr></thead><tbody>\n"
        for stored in page.runs {
            let run = stored.info
            out += "<tr class=\"\(run.isFailed ? "h-failed" : "")\" data-date-code=\"\(run.dateCode)\">"
            out += "<td><time datetime=\"\(run.startUTC)\">\(DashboardFormat.seconds(run.startUTC))</time></td>"
            out += "<td><time datetime=\"\(run.endUTC)\">\(DashboardFormat.seconds(run.endUTC))</time></td>"
            out += "<td class=\"num\" title=\"\(DashboardFormat.number(run.elapsedSeconds)) s\">\(run.elapsedHuman)</td>"
            out += "<td class=\"num\">\(DashboardFormat.count(run.rowcount))</td>"
            let status: HTML = run.status.map { "<span class=\"\(run.isFailed ? "st-failed" : "")\">\($0)</span>" } ?? DashboardPage.optional(nil)
            out += "<td>\(status)</td>"
            let exitCode: HTML =
                run.exitCode.map { code in
                    let failedClass: HTML = code != 0 ? " class=\"st-failed\"" : .empty
                    return "<span\(failedClass)>\(code)</span>"
                } ?? DashboardPage.optional(nil)
            out += "<td class=\"num\">\(exitCode)</td>"
            out += "<td class=\"path\">\(run.dateCode)</td>"
            out += "<td class=\"path\" title=\"\(run.outputFile)\">\(run.outputFile)</td>"
            out += "<td class=\"path\" title=\"\(run.logFile)\">\(run.logFile)</td>"
            if let link = links.archivedFile(of: run) {
                out += "<td><a href=\"\(link)\" title=\"\(run.archivedFile ?? "")\">download</a></td></tr>\n"
            } else {
                out += "<td class=\"path\">\(DashboardPage.optional(run.archivedFile))</td></tr>\n"
            }
        }
        if page.runs.isEmpty {
            out += "<tr><td colspan=\"10\" class=\"empty\">No run matches these filters.</td></tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// Where this page sits among the matches, and links to the first and next pages (the next
    /// one by the API's `next_cursor`, so pages never repeat or skip a run).
    private static func pager(
        page: RunPage,
        query: RunQuery,
        signature: PipelineSignature,
        parameters: [(name: String, value: String)],
        links: DashboardLinks
    ) -> HTML {
        let filters = parameters.filter { $0.name != QueryParameter.offset.rawValue && $0.name != QueryParameter.cursor.rawValue }
        var out: HTML = "<div class=\"pager\"><span class=\"page-info\">"
        switch query.paging {
        case .window(_, let offset) where !page.runs.isEmpty:
            // Saturating: a query built in code (not parsed from a request) may hold any offset.
            func plus(_ count: Int) -> Int {
                let (sum, overflow) = offset.addingReportingOverflow(count)
                return overflow ? .max : sum
            }
            out += "runs \(plus(1))–\(plus(page.runs.count)) of \(page.total)"
        case .after:
            out += "\(page.runs.count) more runs of \(page.total)"
        default:
            out += "\(page.runs.count) of \(page.total) runs"
        }
        out += "</span>"
        var isFirstPage = true
        switch query.paging {
        case .window(_, let offset) where offset > 0: isFirstPage = false
        case .after: isFirstPage = false
        default: break
        }
        if !isFirstPage {
            out += "<a class=\"first-page\" href=\"\(links.pipeline(signature, filters))\">« first page</a>"
        }
        if let next = page.nextCursor {
            let target = filters + [(QueryParameter.cursor.rawValue, next.description)]
            out += "<a class=\"next-page\" href=\"\(links.pipeline(signature, target))\">next page »</a>"
        }
        return out + "</div>"
    }
}
