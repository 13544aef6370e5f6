#!/usr/bin/env python3
"""Writes a deterministic dataset of pipeline runs as JSONL (the service's and the old service's format).

About 50 pipelines, each with its own cadence, duration and rowcount distribution, over two years.
The same --runs and --seed always give the same bytes.

    python3 scripts/bench/generate_dataset.py --runs 100000 --seed 42 --out /tmp/runs.jsonl
"""
import argparse
import datetime as dt
import json
import math
import random

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SPAN_SECONDS = 2 * 365 * 86400


def pipelines(rng):
    kinds = [("batch", 0.7), ("streaming", 0.2), ("ml", 0.1)]
    envs = ["prod", "prod", "prod", "dev", "test"]
    result = []
    for i in range(50):
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        result.append({
            "name": f"pipeline_{i:02d}_{rng.choice(['ingest', 'sync', 'export', 'refdb', 'wafer', 'yield'])}",
            "script": f"job_{i:02d}.py",
            "type": kind,
            "env": envs[i % len(envs)],
            "weight": rng.choice([1, 2, 4, 8, 24, 96]),  # relative cadence: runs per day-ish
            "duration_mu": math.log(rng.uniform(5, 3600)),
            "duration_sigma": rng.uniform(0.1, 0.6),
            "rows_mean": rng.choice([0, 100, 5_000, 50_000, 1_000_000]),
            "utc_offset_hours": rng.choice([-8, -5, 0, 1, 8]),
        })
    return result


def human(seconds):
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    specs = pipelines(rng)
    total_weight = sum(p["weight"] for p in specs)
    schedule = []
    for p in specs:
        count = max(1, round(args.runs * p["weight"] / total_weight))
        step = SPAN_SECONDS / count
        for k in range(count):
            jitter = rng.uniform(0, step * 0.2)
            schedule.append((int(k * step + jitter), p))
    schedule.sort(key=lambda item: item[0])
    schedule = schedule[: args.runs]
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for seq, (offset, p) in enumerate(schedule):
            start = START + dt.timedelta(seconds=offset)
            elapsed = round(rng.lognormvariate(p["duration_mu"], p["duration_sigma"]), 3)
            end = start + dt.timedelta(seconds=elapsed)
            local = dt.timedelta(hours=p["utc_offset_hours"])
            rows = 0 if p["rows_mean"] == 0 else max(0, int(rng.gauss(p["rows_mean"], p["rows_mean"] * 0.1)))
            code = (start + local).strftime("%Y%m%d_%H%M%S") + f"_{seq}"
            record = {
                "start_local": (start + local).strftime("%Y-%m-%d %H:%M:%S"),
                "end_local": (end + local).strftime("%Y-%m-%d %H:%M:%S.%f"),
                "start_utc": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_utc": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "elapsed_seconds": elapsed,
                "elapsed_human": human(elapsed),
                "output_file": f"/apps/data/{p['name']}/output-{code}.csv",
                "rowcount": rows,
                "log_file": f"/apps/data/{p['name']}/log/{p['script']}.log",
                "archived_file": f"/apps/archive/{p['name']}/output-{code}.csv.gz",
                "pid": rng.randint(1000, 4_000_000),
                "date_code": code,
                "pipeline_name": p["name"],
                "script_name": p["script"],
                "pipeline_type": p["type"],
                "environment": p["env"],
            }
            out.write(json.dumps(record, separators=(", ", ": ")) + "\n")


if __name__ == "__main__":
    main()
