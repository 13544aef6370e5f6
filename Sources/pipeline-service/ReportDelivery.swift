import Foundation
import PipelineCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How `report` sends a run to the service: one POST to `/pipelines` under `--url`, retried with
/// backoff while the service cannot answer. Every request carries the API key, so a redirect is
/// followed only within the origin (scheme, host and port) of `--url`, and only when it keeps the
/// POST a POST (307, 308); any other redirect is answered, not followed.
struct ReportDelivery: Sendable {
    /// What became of one record.
    enum Outcome: Sendable {
        case stored
        /// A 4xx answer other than 429: the same record would be refused again.
        case refused(status: Int, detail: String)
        /// A redirect that was not followed, with the reason (another origin, or a POST turned into a GET).
        case notFollowed(String)
        /// Nothing but network errors, 5xx and 429 answers, however many times it was tried.
        case unreachable

        /// Whether the service turned the record away for a reason that will not go away by
        /// itself: the way `report` is set up (its URL, its key, a value it read) needs a change.
        var isRefusal: Bool {
            switch self {
            case .refused, .notFollowed: true
            case .stored, .unreachable: false
            }
        }
    }

    /// Redirects followed within the origin, one after another, before giving up.
    static let maximumRedirects = 5

    let endpoint: URL
    let apiKey: String?

    /// `nil` unless `baseURL` (`--url`) is an http or https URL with a host.
    init?(baseURL: String, apiKey: String?) {
        guard let endpoint = URL(string: baseURL.hasSuffix("/") ? baseURL + "pipelines" : baseURL + "/pipelines"),
            let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = endpoint.host, !host.isEmpty
        else { return nil }
        self.endpoint = endpoint
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// POSTs `run`, retrying network errors, 5xx and 429 answers with exponential backoff (1 s,
    /// 2 s, 4 s, …) up to `retries` more times; each retry is said on standard error.
    func post(_ run: PipelineInfo, retries: Int) async -> Outcome {
        let body = Data(run.jsonBytes)
        for attempt in 0...max(0, retries) {
            if attempt > 0 { try? await Task.sleep(for: .seconds(1 << min(attempt - 1, 5))) }
            do {
                switch try await send(body) {
                case .answer(let status, _) where (200..<300).contains(status):
                    return .stored
                case .answer(let status, let data) where status != 429 && status < 500:
                    return .refused(status: status, detail: String(decoding: data.prefix(500), as: UTF8.self))
                case .answer(let status, _):
                    Report.say("attempt \(attempt + 1) got \(status); retrying")
                case .redirect(let reason):
                    return .notFollowed(reason)
                }
            } catch {
                Report.say("attempt \(attempt + 1) failed: \(error.localizedDescription)")
            }
        }
        return .unreachable
    }

    private enum Answer {
        case answer(status: Int, body: Data)
        case redirect(String)
    }

    /// One POST, following 307 and 308 redirects within the endpoint's origin.
    private func send(_ body: Data) async throws -> Answer {
        var url = endpoint
        var redirects = 0
        while true {
            var request = URLRequest(url: url, timeoutInterval: 30)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
            request.httpBody = body
            let (data, response) = try await Self.session.data(for: request)
            let http = response as? HTTPURLResponse
            let status = http?.statusCode ?? 0
            guard (300..<400).contains(status) else { return .answer(status: status, body: data) }
            guard let location = http?.value(forHTTPHeaderField: "Location"), let next = URL(string: location, relativeTo: url)?.absoluteURL
            else {
                return .answer(status: status, body: data)
            }
            let shown = Redaction.credentials(in: next.absoluteString)
            guard Self.origin(of: next) == Self.origin(of: endpoint) else {
                return .redirect(
                    "the service redirected the run (\(status)) to \(shown), another origin than --url; report does not send its key there"
                )
            }
            guard status == 307 || status == 308 else {
                return .redirect("the service redirected the run with \(status), which would turn its POST into a GET, to \(shown)")
            }
            guard redirects < Self.maximumRedirects else {
                return .redirect("the service redirected the run more than \(Self.maximumRedirects) times, last to \(shown)")
            }
            redirects += 1
            url = next
        }
    }

    /// Scheme, host and port, the default port spelled out: what a URL's key may be sent to.
    static func origin(of url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
    }

    /// A session that follows no redirect itself: ``send(_:)`` decides, since Foundation would
    /// send the key to wherever a redirect points.
    private static let session = URLSession(configuration: .ephemeral, delegate: RedirectsAnswered(), delegateQueue: nil)

    private final class RedirectsAnswered: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(
            _ session: URLSession,
            task: URLSessionTask,
            willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest,
            completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
