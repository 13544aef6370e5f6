import PipelineCore

/// The frame every dashboard page shares: head, styles, header with the API links, badges and
/// the not-found page. Self-contained (no CDN, no fonts, no images), readable without JavaScript.
public enum DashboardPage {
    static func document(title: String, links: DashboardLinks, body: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        \(links.refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? HTML.empty)
        <title>\(title)</title>
        <style>\(HTML(unsafeRaw: css))</style>
        </head>
        <body>
        <header><a class="brand" href="\(links.overview)">Pipeline runs</a>
        <nav><a href="\(links.summariesAPI)">JSON API</a><a href="\(links.docs)">API docs</a>\
        <a href="\(links.openAPI)">OpenAPI</a></nav></header>
        <main>
        \(body)
        </main>
        <script>\(HTML(unsafeRaw: script))</script>
        </body>
        </html>
        """
    }

    /// The health word in its colour; `title` is its tooltip (plain text).
    static func badge(_ health: PipelineHealth, title: String? = nil) -> HTML {
        let tooltip: HTML = title.map { " title=\"\($0)\"" } ?? .empty
        return "<span class=\"badge b-\(health.rawValue)\"\(tooltip)>\(health.rawValue)</span>"
    }

    /// A value, or a muted em dash for a missing one (a null signature field).
    static func optional(_ text: String?) -> HTML {
        guard let text else { return "<span class=\"muted\">—</span>" }
        return text.isEmpty ? "<span class=\"muted\">(empty)</span>" : "\(text)"
    }

    /// The page for a signature no run has; `message` is plain text.
    public static func notFound(links: DashboardLinks, message: String) -> HTML {
        document(
            title: "Not found — pipeline runs",
            links: links,
            body: """
                <section class="panel notice"><h1>Not found</h1><p>\(message)</p>
                <p><a href="\(links.overview)">Back to all pipelines</a></p></section>
                """
        )
    }

    /// Progressive niceties only: filter selects apply on change (the Apply button does the same
    /// without JavaScript). Constant text, written into the page unescaped by `document`; the
    /// server's Content-Security-Policy allows exactly this script by its hash.
    public static let script = """
        document.querySelectorAll("form.filters select").forEach(s => s.addEventListener("change", () => s.form.submit()));
        """

    /// Constant text, written into the page unescaped by `document`.
    static let css = """
        :root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#eaeef2;--bg:#f6f8fa;--blue:#0969da;\
        --red:#cf222e;--red-bg:#ffebe9;--red-line:#ffcecb;--amber:#9a6700;--amber-bg:#fff8c5;--amber-line:#eac54f;\
        --purple:#8250df;--purple-bg:#fbefff;--purple-line:#d8b9ff;--green:#1a7f37;--green-bg:#dafbe1;--green-line:#aceebb}
        *{box-sizing:border-box}
        body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
        a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
        header{background:#0d1117;color:#fff;padding:10px 24px;display:flex;align-items:center;gap:24px}
        header .brand{color:#fff;font-weight:600;font-size:16px}header nav{margin-left:auto;display:flex;gap:18px}header nav a{color:#79c0ff}
        main{max-width:1680px;margin:0 auto;padding:14px 24px 32px}
        h1{font-size:20px;margin:0}h2{font-size:14px;margin:0 0 8px}
        .titlebar{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap;margin:2px 0 12px}
        .crumbs{color:var(--muted);margin-bottom:4px}.muted{color:var(--muted)}
        .sub{display:block;color:var(--muted);font-size:11px;white-space:nowrap}
        .tiles{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}
        .tile{display:block;background:#fff;border:1px solid var(--line);border-top:3px solid var(--line);border-radius:6px;\
        padding:6px 14px;min-width:128px;color:inherit}
        .tile:hover{text-decoration:none;border-color:var(--blue)}.tile.sel{outline:2px solid var(--blue)}
        .tile .n{display:block;font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}.tile .l{color:var(--muted)}
        .tile.t-failed{border-top-color:var(--red)}.tile.t-failed .n{color:var(--red)}
        .tile.t-overdue{border-top-color:var(--amber)}.tile.t-overdue .n{color:var(--amber)}
        .tile.t-stuck{border-top-color:var(--red)}.tile.t-stuck .n{color:var(--red)}
        .tile.t-inactive{border-top-color:#8c959f}.tile.t-inactive .n{color:#57606a}
        .tile.t-anomaly{border-top-color:var(--purple)}.tile.t-anomaly .n{color:var(--purple)}
        .tile.t-ok{border-top-color:var(--green)}.tile.t-ok .n{color:var(--green)}
        .tile.zero .n{color:var(--muted)}
        form.filters{display:flex;gap:10px;align-items:flex-end;flex-wrap:wrap;margin:0 0 10px}
        form.filters label{display:flex;flex-direction:column;font-size:11px;color:var(--muted);gap:2px}
        select,input{font:inherit;padding:3px 6px;border:1px solid var(--line);border-radius:4px;background:#fff;color:var(--fg)}
        input{width:15em}input.short{width:7em}
        button{font:inherit;background:#1f2328;color:#fff;border:0;border-radius:4px;padding:4px 12px;cursor:pointer}
        .count{margin-left:auto;color:var(--muted);align-self:center}
        .tablewrap{background:#fff;border:1px solid var(--line);border-radius:6px;overflow-x:auto}
        table{border-collapse:collapse;width:100%}
        th,td{padding:5px 7px;border-bottom:1px solid var(--soft);text-align:left;vertical-align:middle;white-space:nowrap}
        th{background:#f6f8fa;font-weight:600;font-size:12px;color:var(--muted);position:sticky;top:0}
        th a{color:inherit}th a.on{color:var(--fg)}th a.on.asc::after{content:" \\25B2";font-size:9px}th a.on.desc::after{content:" \\25BC";font-size:9px}
        tbody tr:hover{background:#f6f8fa}tr:last-child td{border-bottom:0}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        tr.h-failed td:first-child{box-shadow:inset 3px 0 var(--red)}tr.h-overdue td:first-child{box-shadow:inset 3px 0 var(--amber)}
        tr.h-anomaly td:first-child{box-shadow:inset 3px 0 var(--purple)}tr.h-stuck td:first-child{box-shadow:inset 3px 0 var(--red)}
        td.name a{font-weight:600}td.path{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;max-width:360px;\
        overflow:hidden;text-overflow:ellipsis}
        .badge{display:inline-block;min-width:62px;text-align:center;border:1px solid;border-radius:999px;padding:0 8px;font-size:11px;\
        font-weight:600;text-transform:uppercase;letter-spacing:.03em;line-height:18px}
        .b-failed{color:var(--red);background:var(--red-bg);border-color:var(--red-line)}
        .b-overdue{color:var(--amber);background:var(--amber-bg);border-color:var(--amber-line)}
        .b-stuck{color:var(--red);background:var(--red-bg);border-color:var(--red-line)}
        .b-inactive{color:#57606a;background:#f6f8fa;border-color:#d0d7de}
        .b-anomaly{color:var(--purple);background:var(--purple-bg);border-color:var(--purple-line)}
        .b-ok{color:var(--green);background:var(--green-bg);border-color:var(--green-line)}
        .st-failed{color:var(--red);font-weight:600}.late{color:var(--amber);font-weight:600}.anom{color:var(--purple);font-weight:600}
        .bad{color:var(--red)}
        .spark{display:block}.spark-line{fill:none;stroke:#8c959f;stroke-width:1.2;stroke-linejoin:round}
        .pt-failed{fill:var(--red)}.spark-last{fill:#57606a}.spark-last.failed{fill:var(--red)}.spark-last.overdue{fill:var(--amber)}
        .spark-last.anomaly{fill:var(--purple)}.spark-last.ok{fill:var(--green)}
        .panel{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:0 0 12px}
        .callout{border-radius:6px;padding:8px 14px;margin:0 0 12px;border:1px solid}
        .callout.failed,.callout.stuck{background:var(--red-bg);border-color:var(--red-line)}.callout.overdue{background:var(--amber-bg);border-color:var(--amber-line)}
        .callout.anomaly{background:var(--purple-bg);border-color:var(--purple-line)}.callout.error{background:var(--red-bg);border-color:var(--red-line)}
        .callout ul{margin:4px 0 0;padding-left:18px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(122px,1fr));gap:10px;margin-bottom:12px}
        .card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:7px 12px}
        .card .l{display:block;color:var(--muted);font-size:11px;white-space:nowrap}
        .card .v{display:block;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
        .card.failed .v{color:var(--red)}.card.overdue .v{color:var(--amber)}.card.anomaly .v{color:var(--purple)}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
        .chart{width:100%;height:auto;display:block}.chart .grid{stroke:var(--soft)}.chart .axis{fill:var(--muted);font-size:11px}
        .chart .line{fill:none;stroke:var(--blue);stroke-width:1.4;stroke-linejoin:round}
        .chart .band{fill:var(--purple);fill-opacity:.12;stroke:var(--purple);stroke-opacity:.35;stroke-dasharray:3 3}
        .chart .overdue{fill:var(--amber-bg);fill-opacity:.9}.chart .now{stroke:var(--amber);stroke-dasharray:3 3}
        .chart .band-median{stroke:var(--purple);stroke-opacity:.5;stroke-dasharray:2 3}
        .chart .pt-latest{fill:var(--blue);stroke:#fff;stroke-width:2}.chart .pt-latest.anomaly{fill:var(--purple)}
        .chart .pt-latest.failed{fill:var(--red)}
        .legend{display:flex;gap:16px;flex-wrap:wrap;color:var(--muted);font-size:11px;margin-top:4px}.legend span{white-space:nowrap}
        .legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
        .legend .sw-line{height:2px;vertical-align:3px;background:var(--blue)}.legend .sw-failed{width:8px;height:8px;border-radius:50%;background:var(--red)}
        .legend .sw-band{background:rgba(130,80,223,.16);border:1px dashed rgba(130,80,223,.5)}
        .legend .sw-overdue{background:var(--amber-bg);border:1px solid var(--amber-line)}
        .note{margin:4px 0 0;color:var(--muted);font-size:11px}
        .pager{display:flex;gap:16px;align-items:center;padding:8px 2px;color:var(--muted)}
        dl.sig{display:flex;gap:18px;margin:0;color:var(--muted)}dl.sig dt{display:inline}dl.sig dd{display:inline;margin:0 0 0 4px;color:var(--fg)}
        .empty{padding:24px;text-align:center;color:var(--muted)}
        """
}
