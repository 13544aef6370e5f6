#!/usr/bin/env python3
"""Benchmark driver: deterministic dataset → preload into a backend → release server → wrk over loopback.

Run it through scripts/bench.sh (which builds the release binary and installs wrk). Every figure is
also reported as a fraction of the same server's GET /health throughput, measured in the same run.
"""
import argparse
import itertools
import json
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_parts_mib(pid):
    """Current anonymous and file-backed resident memory (RssAnon, RssFile) in MiB."""
    parts = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return parts.get("RssAnon"), parts.get("RssFile")


class RSSSampler(threading.Thread):
    """Samples a process's anonymous RSS every 50 ms. VmHWM counts the pages of a memory-mapped
    database file the process read (shared, reclaimable page cache) as its own; the anonymous
    peak is the memory the process itself holds."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_anon = 0.0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.05):
            anon, _ = rss_parts_mib(self.pid)
            if anon is None:
                return
            self.peak_anon = max(self.peak_anon, anon)


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads) so far, from /proc/<pid>/stat."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def measured(pid, run):
    """Runs `run()` (a wrk measurement) and adds the server's CPU milliseconds per request to its stats."""
    before = cpu_seconds(pid)
    stats = run()
    after = cpu_seconds(pid)
    if before is not None and after is not None and stats["requests"]:
        stats["server_cpu_ms_per_request"] = round((after - before) * 1000 / stats["requests"], 4)
    return stats


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def wrk(url, connections, seconds, script=None, script_args=()):
    # Combine the request script (if any) with the reporting script.
    combined = HERE / ".wrk-combined.lua"
    text = (HERE / "report.lua").read_text()
    if script:
        text = (HERE / script).read_text() + "\n" + text
    combined.write_text(text)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(combined), url]
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk printed no result: {output}")


class Server:
    def __init__(self, binary, backend, env_extra):
        self.port = free_port()
        env = dict(os.environ, PIPELINE_PORT=str(self.port), PIPELINE_HOST="127.0.0.1", PIPELINE_BACKEND=backend,
                   PIPELINE_LOG_LEVEL="warning", **env_extra)
        started = time.monotonic()
        self.process = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
        self.startup_seconds = time.monotonic() - started
        self.startup_rss = peak_rss_mib(self.process.pid)
        self.sampler = RSSSampler(self.process.pid)
        self.sampler.start()

    def stop(self):
        self.peak_rss = peak_rss_mib(self.process.pid)
        self.sampler.stopped.set()
        self.sampler.join()
        self.peak_anon_rss = self.sampler.peak_anon
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def prepare_backend(backend, size, dataset, workdir, binary, postgres_url):
    """Returns the server environment for a backend preloaded with the dataset, and what loading it
    took: {"import_seconds", "import_runs_per_second"} (SQL backends: `pipeline-service import`)."""
    if backend == "jsonl":
        path = workdir / f"bench-{size}.jsonl"
        shutil.copyfile(dataset, path)
        return {"PIPELINE_JSONL_PATH": str(path)}, {}
    if backend == "sqlite":
        path = workdir / f"bench-{size}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            pathlib.Path(str(path) + suffix).unlink(missing_ok=True)
        env = {"PIPELINE_SQLITE_PATH": str(path)}
    else:
        table = f"bench_runs_{size}"
        subprocess.run(["psql", postgres_url, "-q", "-c", f'DROP TABLE IF EXISTS "{table}", "{table}_summary"'],
                       check=True, capture_output=True)
        env = {"PIPELINE_POSTGRES_URL": postgres_url, "PIPELINE_TABLE": table}
    started = time.monotonic()
    subprocess.run([binary, "import", str(dataset), "--backend", backend, "--batch-size", "5000"],
                   env=dict(os.environ, PIPELINE_LOG_LEVEL="warning", **env), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    log(f"  preloaded {size} runs into {backend} in {seconds:.1f}s ({size / seconds:,.0f} runs/s)")
    return env, {"import_seconds": round(seconds, 1), "import_runs_per_second": round(size / seconds)}


def storage_bytes(backend, env):
    """Bytes the backend's storage takes: the JSONL file, the SQLite file with its WAL, or the
    PostgreSQL run table with its indexes, TOAST and summary table."""
    if backend == "jsonl":
        return os.path.getsize(env["PIPELINE_JSONL_PATH"])
    if backend == "sqlite":
        path = env["PIPELINE_SQLITE_PATH"]
        return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix))
    table = env["PIPELINE_TABLE"]
    query = f"SELECT pg_total_relation_size('\"{table}\"') + COALESCE(pg_total_relation_size(to_regclass('\"{table}_summary\"')), 0)"
    answer = subprocess.run(["psql", env["PIPELINE_POSTGRES_URL"], "-Atc", query], check=True, capture_output=True, text=True)
    return int(answer.stdout.strip())


def query_classes(server, size):
    first = get_json(server.base + "/pipelines")["pipelines"]
    names = sorted(p["pipeline_name"] for p in first if p["pipeline_name"])
    name = names[len(names) // 2]
    deep = min(50_000, max(0, size // 2))
    page = get_json(server.base + f"/get_pipeline_info?limit=100&offset={max(0, deep - 100)}")
    cursor = page.get("next_cursor") or ""
    q = urllib.parse.quote
    return {
        "first_page": "/get_pipeline_info?limit=100",
        "by_pipeline": f"/get_pipeline_info?pipeline_name={q(name)}&limit=100",
        "time_window": "/get_pipeline_info?start_utc=2025-03-01T00:00:00Z&end_utc=2025-03-08T00:00:00Z&limit=100",
        "rowcount_range": "/get_pipeline_info?min_rowcount=4000&max_rowcount=6000&limit=100",
        "combined": f"/get_pipeline_info?pipeline_name={q(name)}&environment=prod&start_utc=2024-06-01T00:00:00Z&min_rowcount=1&limit=100",
        f"offset_{deep}": f"/get_pipeline_info?limit=100&offset={deep}",
        f"cursor_at_{deep}": f"/get_pipeline_info?limit=100&cursor={q(cursor)}",
        "all_data_one_pipeline": f"/get_pipeline_info?pipeline_name={q(name)}&all_data=true",
        "summaries": "/pipelines",
        "history_day": f"/pipelines/history?pipeline_name={q(name)}&bucket=day&start_utc=2024-01-01T00:00:00Z",
        "history_week_tz": f"/pipelines/history?pipeline_name={q(name)}&bucket=week&tz=Europe/Paris&start_utc=2024-01-01T00:00:00Z",
    }


def bench_backend(args, backend, size, dataset, workdir, postgres_url):
    env, loading = prepare_backend(backend, size, dataset, workdir, args.binary, postgres_url)
    server = Server(args.binary, backend, env)
    result = {"backend": backend, "runs": size, "startup_seconds": round(server.startup_seconds, 3),
              "startup_peak_rss_mib": server.startup_rss, "classes": {}, **loading}
    log(f"  {backend} N={size}: started in {server.startup_seconds:.2f}s, peak RSS {server.startup_rss:.0f} MiB")
    try:
        ceiling = wrk(server.base + "/health", 64, args.duration)
        result["health_c64"] = ceiling
        result["health_c1"] = wrk(server.base + "/health", 1, args.duration)
        paths = query_classes(server, size)
        result["paths"] = paths
        pid = server.process.pid
        for label, path in paths.items():
            connections = 1 if label.startswith("all_data") else args.query_connections
            result["classes"][label] = measured(pid, lambda: wrk(server.base + path, connections, args.duration))
            log(f"    {label}: p50 {result['classes'][label]['p50_ms']:.2f} ms, p99 {result['classes'][label]['p99_ms']:.2f} ms")
        for connections in (1, 64):
            tag = f"{backend}_{size}_{connections}_{int(time.time())}"
            result["classes"][f"post_c{connections}"] = measured(
                server.process.pid, lambda: wrk(server.base, connections, args.duration, "post.lua", [tag]))
            log(f"    post c{connections}: {result['classes'][f'post_c{connections}']['rps']:.0f}/s")
        before = cpu_seconds(pid)
        result["batch_10k"] = post_batches(server.base, dataset, backend)
        after = cpu_seconds(pid)
        if before is not None and after is not None:
            result["batch_10k"]["server_cpu_us_per_run"] = round((after - before) * 1e6 / result["batch_10k"]["runs"], 1)
        log(f"    batch of 10,000: {result['batch_10k']['runs_per_second']:,.0f} runs/s")
        for stats in result["classes"].values():
            stats["fraction_of_health"] = round(stats["rps"] / ceiling["rps"], 4) if ceiling["rps"] else None
    finally:
        server.stop()
    result["peak_rss_mib"] = server.peak_rss
    result["peak_anon_rss_mib"] = round(server.peak_anon_rss, 1)
    result["storage_bytes_per_run"] = round(storage_bytes(backend, env) / size)
    return result


def post_batches(base, dataset, tag, count=5, size=10_000):
    """POSTs `count` batches of `size` new runs (the dataset's first runs under new date codes, so
    new keys) to /pipelines/batch one after another; runs stored per second of wall time."""
    with open(dataset, encoding="utf-8") as lines:
        runs = [json.loads(line) for line in itertools.islice(lines, size)]
    size = len(runs)
    stamp = int(time.time())
    bodies = []
    for batch in range(count):
        for run in runs:
            run["date_code"] = f"{run['date_code'].split('~')[0]}~{tag}{stamp}b{batch}"
        bodies.append(json.dumps(runs).encode())
    started = time.monotonic()
    for body in bodies:
        request = urllib.request.Request(base + "/pipelines/batch", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            if response.status != 201:
                raise RuntimeError(f"POST /pipelines/batch answered {response.status}")
            response.read()
    seconds = time.monotonic() - started
    return {"batches": count, "runs": count * size, "seconds": round(seconds, 3), "runs_per_second": round(count * size / seconds)}


# Query classes the old service answers too (it has no cursors and no history endpoint).
BASELINE_CLASSES = ("first_page", "by_pipeline", "time_window", "rowcount_range", "combined", "offset_", "all_data", "summaries")


def bench_baseline(args, size, dataset, workdir, paths):
    """Starts the baseline service (the old Python service) on a copy of the dataset named
    pipeline_data.jsonl in a fresh directory, and times the same requests: wall time and the
    process's CPU per request (it is slow, so a few sequential requests, not wrk)."""
    home = workdir / f"baseline-{size}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    data = home / "pipeline_data.jsonl"
    shutil.copyfile(dataset, data)
    port = free_port()
    command = [part.format(port=port, data=str(data)) for part in shlex.split(args.baseline_command)]
    process = subprocess.Popen(command, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"baseline exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/pipelines", timeout=600):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("baseline did not answer GET /pipelines within 120 s")
            time.sleep(0.2)
    classes = {}
    try:
        for label, path in paths.items():
            if not label.startswith(BASELINE_CLASSES):
                continue
            walls = []
            before = cpu_seconds(process.pid)
            for _ in range(args.baseline_requests):
                started = time.monotonic()
                with urllib.request.urlopen(base + path, timeout=600) as response:
                    response.read()
                walls.append((time.monotonic() - started) * 1000)
            after = cpu_seconds(process.pid)
            walls.sort()
            classes[label] = {"requests": len(walls), "wall_ms_median": round(walls[len(walls) // 2], 2),
                              "cpu_ms_per_request": round((after - before) * 1000 / len(walls), 2)}
            log(f"    baseline {label}: {classes[label]['wall_ms_median']:.0f} ms, {classes[label]['cpu_ms_per_request']:.0f} ms CPU")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return {"runs": size, "command": args.baseline_command, "classes": classes}


def baseline_markdown(baseline, results):
    ours = [r for r in results if r["runs"] == baseline["runs"]]
    lines = [f"### Baseline (`{baseline['command']}`), {baseline['runs']:,} runs, same dataset file and queries", "",
             "Server CPU per request; the ratio is the baseline's CPU over ours.", "",
             "| class | baseline wall ms | baseline CPU ms | " + " | ".join(f"{r['backend']} CPU ms (×)" for r in ours) + " |",
             "|---|---:|---:|" + "---:|" * len(ours)]
    for label, stats in baseline["classes"].items():
        cells = []
        for result in ours:
            mine = result["classes"].get(label, {}).get("server_cpu_ms_per_request")
            ratio = f"{stats['cpu_ms_per_request'] / mine:,.0f}×" if mine else "n/a"
            cells.append(f"{mine:.3f} ({ratio})" if mine else "n/a")
        lines.append(f"| {label} | {stats['wall_ms_median']:.0f} | {stats['cpu_ms_per_request']:.0f} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def markdown(results, machine):
    lines = [f"Machine: {machine}", ""]
    for result in results:
        ceiling = result["health_c64"]
        lines.append(f"### {result['backend']}, {result['runs']:,} runs")
        lines.append("")
        lines.append(f"Start-up {result['startup_seconds']:.2f} s (peak RSS {result['startup_peak_rss_mib']:.0f} MiB); "
                     f"peak RSS after the run {result['peak_rss_mib']:.0f} MiB "
                     f"(anonymous memory, sampled: {result['peak_anon_rss_mib']:.0f} MiB; the rest is mapped file pages); "
                     f"ceiling GET /health c64 {ceiling['rps']:.0f} req/s (p50 {ceiling['p50_ms']:.2f} ms), "
                     f"c1 p50 {result['health_c1']['p50_ms']:.3f} ms.")
        storage = f"Storage {result['storage_bytes_per_run']} bytes per run after the run"
        if "import_seconds" in result:
            storage += (f"; `import` of the dataset {result['import_seconds']:.1f} s "
                        f"({result['import_runs_per_second']:,} runs/s)")
        batch = result.get("batch_10k")
        if batch:
            storage += (f"; {batch['batches']} × POST /pipelines/batch of {batch['runs'] // batch['batches']:,} new runs "
                        f"{batch['runs_per_second']:,} runs/s ({batch.get('server_cpu_us_per_run', 'n/a')} µs of server CPU per run)")
        lines.append(storage + ".")
        lines.append("")
        lines.append("| class | req/s | p50 ms | p99 ms | × /health | server CPU ms/req | non-2xx |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for label, stats in result["classes"].items():
            cpu = stats.get("server_cpu_ms_per_request")
            lines.append(f"| {label} | {stats['rps']:.0f} | {stats['p50_ms']:.2f} | {stats['p99_ms']:.2f} | "
                         f"{stats['fraction_of_health']:.3f} | {'n/a' if cpu is None else f'{cpu:.3f}'} | {stats['non2xx']} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="jsonl,sqlite,postgres")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--query-connections", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    parser.add_argument("--postgres-url", default=os.environ.get("PIPELINE_BENCH_POSTGRES_URL"))
    parser.add_argument("--baseline-command",
                        help="command starting the old service to compare against, run in a directory holding the "
                             "dataset as pipeline_data.jsonl; {port} and {data} are replaced by its port and that "
                             "file's path, e.g. 'python3 -m uvicorn main:app --app-dir /srv/old --port {port}'")
    parser.add_argument("--baseline-size", type=int, default=100000, help="the size at which to run the baseline")
    parser.add_argument("--baseline-requests", type=int, default=3, help="sequential requests per class to the baseline")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    backends = args.backends.split(",")
    if "postgres" in backends and not args.postgres_url:
        sys.exit("postgres needs --postgres-url or PIPELINE_BENCH_POSTGRES_URL (scripts/bench.sh starts one)")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    machine = f"{os.cpu_count()} cores (nproc), {cpu}, server and wrk on the same machine over loopback"
    results = []
    baselines = []
    for size in [int(s) for s in args.sizes.split(",")]:
        dataset = out / f"dataset-{size}-seed{args.seed}.jsonl"
        if not dataset.exists():
            log(f"generating {size} runs → {dataset}")
            subprocess.run([sys.executable, str(HERE / "generate_dataset.py"), "--runs", str(size), "--seed", str(args.seed),
                            "--out", str(dataset)], check=True)
        for backend in backends:
            results.append(bench_backend(args, backend, size, dataset, out, args.postgres_url))
            (out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
        if args.baseline_command and size == args.baseline_size and results:
            log(f"  baseline N={size}: {args.baseline_command}")
            baselines.append(bench_baseline(args, size, dataset, out, results[-1]["paths"]))
            (out / "results.json").write_text(json.dumps({"machine": machine, "results": results, "baselines": baselines}, indent=2))
    table = markdown(results, machine)
    for baseline in baselines:
        table += "\n" + baseline_markdown(baseline, results)
    (out / "results.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
