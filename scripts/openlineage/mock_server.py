#!/usr/bin/env python3
"""A stand-in for POST /api/v1/lineage, used only to check driver.py and capture what the real
OpenLineage client sends (not used by the Swift tests).

    python3 scripts/openlineage/mock_server.py --port 0 --out /tmp/lineage.jsonl [--status 201]

Prints "listening on PORT" once ready. Each POST to /api/v1/lineage appends one JSON line to --out:
{"path", "headers", "raw_length", "body"} where body is the request body (gunzipped when
Content-Encoding says gzip) parsed as JSON. It answers --status (default 201) with a small JSON
body; --fail-after N answers 401 from the (N+1)th request on, to check that the driver fails loudly.
Stdlib only; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import gzip
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--status", type=int, default=201)
    parser.add_argument("--fail-after", type=int, default=None)
    args = parser.parse_args()

    lock = threading.Lock()
    seen = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *a: object) -> None:
            sys.stderr.write("mock_server: " + (fmt % a) + "\n")

        def answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?")[0] != "/api/v1/lineage":
                self.answer(404, {"error": "not found"})
                return
            body_bytes = raw
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body_bytes = gzip.decompress(raw)
            try:
                body = json.loads(body_bytes)
            except ValueError:
                self.answer(400, {"error": "body is not JSON"})
                return
            with lock:
                seen["count"] += 1
                n = seen["count"]
                with open(args.out, "a", encoding="utf-8") as f:
                    record = {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "raw_length": len(raw),
                        "body": body,
                    }
                    f.write(json.dumps(record, sort_keys=True) + "\n")
            if args.fail_after is not None and n > args.fail_after:
                self.answer(401, {"error": "unauthorized", "detail": "mock refuses request %d" % n})
                return
            self.answer(args.status, {"accepted": n})

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
