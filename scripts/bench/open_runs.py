#!/usr/bin/env python3
"""Runs still running and the answers that list pipelines.

Starts the given binary on each backend with a few finished runs, times `/pipelines` and `/ui`,
stores `--open` runs still running (of the same pipelines: the pipeline cap bounds how many
distinct ones there can be), and times them again. Prints the p50 and p95 of each and the ratio
with the open runs to without: the open runs are counted by the repository, so the ratio stays
near 1 however many there are.

    python3 scripts/bench/open_runs.py --binary .build-release/release/pipeline-service
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Server  # noqa: E402

PIPELINES = 8


def run(name, index, status, start_minute):
    start = f"2026-11-{1 + start_minute // 1440:02d}T{(start_minute // 60) % 24:02d}:{start_minute % 60:02d}:00"
    record = {
        "start_local": start, "end_local": start, "start_utc": start + "Z", "end_utc": start + "Z",
        "elapsed_seconds": 0, "elapsed_human": "",
        "output_file": "/data/out.csv", "rowcount": 100, "log_file": "/logs/run.log", "pid": 1000 + index,
        "date_code": f"{name}_{index}", "pipeline_name": name, "script_name": f"{name}.py", "pipeline_type": "batch",
        "environment": "prod", "status": status, "run_id": str(uuid.uuid4()),
    }
    if status != "running":
        record["end_local"] = start[:-2] + "59"
        record["end_utc"] = start[:-2] + "59Z"
        record["elapsed_seconds"] = 59
        record["elapsed_human"] = "0h 0m 59s"
    return record


def post(base, runs):
    for chunk in range(0, len(runs), 5000):
        body = json.dumps(runs[chunk:chunk + 5000]).encode()
        request = urllib.request.Request(base + "/pipelines/batch", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            if response.status != 201:
                raise RuntimeError(f"POST /pipelines/batch answered {response.status}")
            response.read()


def timed(base, path, requests):
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=60) as response:
            response.read()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {"p50_ms": round(statistics.median(seconds) * 1000, 2), "p95_ms": round(seconds[int(len(seconds) * 0.95) - 1] * 1000, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--backends", default="jsonl,sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("PIPELINE_BENCH_POSTGRES_URL"), help="for --backends postgres")
    parser.add_argument("--finished", type=int, default=1000)
    parser.add_argument("--open", type=int, default=32000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    names = [f"open_bench_{n}" for n in range(PIPELINES)]
    finished = [run(names[i % PIPELINES], i, "success", i) for i in range(args.finished)]
    running = [run(names[i % PIPELINES], args.finished + i, "running", args.finished + i) for i in range(args.open)]
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as directory:
            env = {"PIPELINE_JSONL_PATH": f"{directory}/runs.jsonl", "PIPELINE_SQLITE_PATH": f"{directory}/runs.sqlite"}
            if backend == "postgres":
                env.update(PIPELINE_POSTGRES_URL=args.postgres_url, PIPELINE_TABLE=f"open_runs_{uuid.uuid4().hex[:12]}")
            server = Server(args.binary, backend, env)
            try:
                post(server.base, finished)
                before = {path: timed(server.base, path, args.requests) for path in ("/pipelines", "/ui")}
                post(server.base, running)
                after = {path: timed(server.base, path, args.requests) for path in ("/pipelines", "/ui")}
            finally:
                server.stop()
        for path in before:
            ratio = after[path]["p50_ms"] / before[path]["p50_ms"]
            print(f"{backend:7} {path:10} without open runs p50 {before[path]['p50_ms']:8} ms p95 {before[path]['p95_ms']:8} ms | "
                  f"{args.open} open p50 {after[path]['p50_ms']:8} ms p95 {after[path]['p95_ms']:8} ms | ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
