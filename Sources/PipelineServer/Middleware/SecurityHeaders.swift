import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import PipelineDashboard

/// The headers every page the service renders for a browser carries (the dashboard, the API
/// docs): a Content-Security-Policy allowing exactly what the page loads — its own inline styles,
/// its one inline script by hash, requests to its own origin — and nothing from anywhere else;
/// no sniffing of types; no referrer leaking a pipeline's name to another site; no framing.
enum SecurityHeaders {
    /// For the dashboard's pages: their styles and their one script; forms post to the service itself.
    static let dashboard = headers(
        policy: "default-src 'none'; style-src 'unsafe-inline'; script-src \(hash(DashboardPage.script)); img-src 'self' data:; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )

    /// For the API docs: their styles and script, which reads `openapi.json` and tries operations on the service itself.
    static let docs = headers(
        policy: "default-src 'none'; style-src 'unsafe-inline'; script-src \(hash(DocsPage.script)); connect-src 'self'; "
            + "base-uri 'none'; frame-ancestors 'none'"
    )

    /// For a download (an archived file): its own type, a policy that runs nothing even if the file
    /// is opened directly, and the same headers otherwise.
    static func download(contentType: String) -> HTTPFields {
        headers(policy: "default-src 'none'; sandbox", contentType: contentType)
    }

    private static func headers(policy: String, contentType: String = "text/html; charset=utf-8") -> HTTPFields {
        [
            .contentType: contentType,
            .cacheControl: "no-store",
            .contentSecurityPolicy: policy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
        ]
    }

    /// A CSP source allowing exactly this inline script: `'sha256-…'` of its UTF-8 text.
    private static func hash(_ script: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString() + "'"
    }
}
