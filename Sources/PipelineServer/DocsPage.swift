/// `/docs`: interactive API documentation rendered in the browser from `openapi.json`.
///
/// Self-contained (no CDN, no external fonts) so it works on an air-gapped network: it lists every
/// operation with its parameters and schemas, and "Try it" sends the request and shows the answer.
enum DocsPage {
    /// The page's one script, inline: the Content-Security-Policy allows exactly this text by its hash.
    static let script =
        "\n" + #"""
            "use strict";
            const base = location.pathname.replace(/\/docs\/?$/, "");
            const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]));
            const sample = {"start_local":"2025-09-02 05:07:02","end_local":"2025-09-02 05:47:27","start_utc":"2025-09-02T12:07:02Z",
              "end_utc":"2025-09-02T12:47:27Z","elapsed_seconds":2424.879,"elapsed_human":"40m 24s","output_file":"/data/out.csv",
              "rowcount":11060,"log_file":"/data/run.log","archived_file":null,"pid":21788,"date_code":"20250902_050702",
              "pipeline_name":"example_ingest","script_name":"ingest.py","pipeline_type":"batch","environment":"dev"};
            function schemaText(s, doc) {
              if (!s) return "";
              if (s.$ref) return s.$ref.split("/").pop();
              let t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "");
              const b = [];
              if (s.format) b.push(s.format);
              if (s.minimum !== undefined) b.push("≥ " + s.minimum);
              if (s.maximum !== undefined) b.push("≤ " + s.maximum);
              if (s.maxLength !== undefined) b.push("max " + s.maxLength + " bytes");
              if (s.default !== undefined) b.push("default " + s.default);
              return t + (b.length ? " (" + b.join(", ") + ")" : "");
            }
            function render(doc) {
              document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
              document.getElementById("desc").textContent = doc.info.description || "";
              const ops = document.getElementById("ops"); ops.innerHTML = "";
              Object.keys(doc.paths).forEach(path => Object.keys(doc.paths[path]).forEach(method => {
                const op = doc.paths[path][method];
                const d = document.createElement("details");
                const params = op.parameters || [];
                let html = `<summary><span class="m ${method}">${method.toUpperCase()}</span><span class="path">${esc(path)}</span><span>${esc(op.summary || "")}</span></summary><div class="body">`;
                if (params.length) {
                  html += "<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th><th>value</th></tr>";
                  params.forEach(p => html += `<tr><td><code>${esc(p.name)}</code></td><td>${p.in}</td><td>${esc(schemaText(p.schema))}</td><td>${esc(p.description || "")}</td><td><input data-in="${p.in}" data-name="${esc(p.name)}"></td></tr>`);
                  html += "</table>";
                }
                if (op.requestBody) html += `<p>Request body (JSON):</p><textarea>${esc(JSON.stringify(sample, null, 2))}</textarea>`;
                html += "<p>Responses: " + Object.keys(op.responses).map(c => `<code>${c}</code> ${esc(op.responses[c].description)}`).join("; ") + "</p>";
                html += `<button>Try it</button><div class="out"></div></div>`;
                d.innerHTML = html;
                d.querySelector("button").onclick = async () => {
                  let url = path; const q = new URLSearchParams();
                  d.querySelectorAll("input").forEach(i => {
                    if (!i.value) return;
                    if (i.dataset.in === "path") url = url.replace("{" + i.dataset.name + "}", encodeURIComponent(i.value));
                    else q.append(i.dataset.name, i.value);
                  });
                  const qs = q.toString(); const init = {method: method.toUpperCase(), headers: {}};
                  const key = document.getElementById("apikey").value.trim();
                  if (key) init.headers["Authorization"] = "Bearer " + key;
                  const ta = d.querySelector("textarea");
                  if (ta) { init.body = ta.value; init.headers["Content-Type"] = "application/json"; }
                  const out = d.querySelector(".out"); out.textContent = "…";
                  try {
                    const r = await fetch(base + url + (qs ? "?" + qs : ""), init);
                    const text = await r.text(); let shown = text;
                    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
                    out.innerHTML = `<p class="status">${r.status} ${esc(r.statusText)}</p><pre>${esc(shown.slice(0, 200000))}</pre>`;
                  } catch (e) { out.innerHTML = `<pre>${esc(e)}</pre>`; }
                };
                ops.appendChild(d);
              }));
            }
            fetch(base + "/openapi.json").then(r => r.json()).then(render).catch(e => {
              document.getElementById("ops").textContent = "Could not load openapi.json: " + e;
            });
            """# + "\n"

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Pipeline run metadata service — API</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
        header{background:#0d1117;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d1d9}
        header a{color:#79c0ff}main{max-width:1100px;margin:0 auto;padding:16px 24px}
        details{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:10px 0}
        summary{cursor:pointer;padding:10px 12px;display:flex;gap:12px;align-items:center}
        .m{font-weight:700;font-family:ui-monospace,monospace;border-radius:4px;padding:2px 8px;color:#fff;min-width:48px;text-align:center}
        .get{background:#0969da}.post{background:#1a7f37}.path{font-family:ui-monospace,monospace;font-weight:600}
        .body{padding:0 12px 12px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:left;vertical-align:top}
        input,textarea{font:13px ui-monospace,monospace;width:100%;box-sizing:border-box;padding:4px;border:1px solid #d0d7de;border-radius:4px}
        textarea{height:180px}button{background:#1a7f37;color:#fff;border:0;border-radius:6px;padding:6px 14px;cursor:pointer;margin-top:8px}
        pre{background:#0d1117;color:#e6edf3;padding:10px;border-radius:6px;overflow:auto;max-height:420px;font-size:12px}
        code{font-family:ui-monospace,monospace}.status{font-weight:700}
        </style>
        </head>
        <body>
        <header><h1 id="title">Pipeline run metadata service</h1><p id="desc"></p><p><a href="openapi.json">openapi.json</a></p>
        <p><label>API key for "Try it" (sent as Authorization: Bearer; kept only in this page)
        <input id="apikey" type="password" autocomplete="off" spellcheck="false"></label></p></header>
        <main id="ops">Loading the API description…</main>
        <script>\#(script)</script>
        </body>
        </html>
        """#
}
