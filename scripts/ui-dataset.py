#!/usr/bin/env python3
"""Writes a realistic NDJSON data set for the dashboard: eight pipelines over the last 30 days.

    scripts/ui-dataset.py OUT.ndjson [--now 2025-09-30T12:00:00Z] [--days 30] [--seed 7]

Most pipelines are healthy, with noise in duration and rowcount, a weekly rhythm and the odd
failed run in their past. Three are not, each in one way the dashboard must make obvious:

- wafer_map_export: its latest run failed (status "failed", exit_code 1);
- yield_report_hourly: runs hourly but has been silent for the last 10 hours (overdue);
- inline_metrology_load: its latest run moved ~90% fewer rows than usual (anomaly).

One pipeline (spc_limits_refresh) has no environment, to show a null signature field. The file
loads with `pipeline-service import OUT.ndjson` or `POST /pipelines/batch` (NDJSON).
"""

import argparse
import json
import math
import random
from datetime import datetime, timedelta, timezone

# name, script, type, environment, interval (minutes), typical duration (s), typical rowcount
PIPELINES = [
    ("subcon_lot_refdb_ingest", "get_subcon_lot_ref_data_LOTGDB_rc10.py", "batch", "prod", 60, 1450, 11_060),
    ("wafer_map_export", "export_wafer_maps.py", "batch", "prod", 240, 780, 48_500),
    ("yield_report_hourly", "yield_report.py", "batch", "prod", 60, 205, 3_420),
    ("inline_metrology_load", "load_inline_metrology.py", "streaming", "prod", 30, 95, 182_000),
    ("equipment_events_sync", "sync_equipment_events.py", "streaming", "prod", 15, 41, 9_800),
    ("refdb_nightly_rebuild", "rebuild_refdb.py", "batch", "prod", 1440, 7_300, 2_350_000),
    ("lot_genealogy_features", "genealogy_features.py", "ml", "dev", 360, 1_900, 640_000),
    ("spc_limits_refresh", "refresh_spc_limits.py", "batch", None, 720, 330, 12_400),
]

LOCAL_OFFSET = timedelta(hours=-7)  # the hosts' wall clock (America/Los_Angeles, summer)


def human(seconds: float) -> str:
    whole = int(round(seconds))
    if whole >= 3600:
        return f"{whole // 3600}h {whole % 3600 // 60}m {whole % 60}s"
    return f"{whole // 60}m {whole % 60}s"


def iso_utc(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_local(instant: datetime) -> str:
    return (instant + LOCAL_OFFSET).strftime("%Y-%m-%d %H:%M:%S")


def runs_for(pipeline, now: datetime, days: int, rng: random.Random):
    name, script, kind, environment, interval, duration, rowcount = pipeline
    step = timedelta(minutes=interval)
    # The schedule is aligned to the interval; the latest slot is the last one that has started.
    epoch = datetime(2000, 1, 1, tzinfo=timezone.utc)
    latest_slot = epoch + step * math.floor((now - epoch - timedelta(minutes=2)) / step)
    if name == "yield_report_hourly":
        latest_slot -= timedelta(hours=10)  # silent since: overdue
    slots = []
    slot = latest_slot
    while slot >= now - timedelta(days=days):
        slots.append(slot)
        slot -= step
    slots.reverse()

    out = []
    for index, slot in enumerate(slots):
        is_latest = index == len(slots) - 1
        start = slot + timedelta(seconds=rng.uniform(3, 50))
        weekday = start.weekday()
        # A weekly rhythm (lighter weekends) and a slow trend, plus noise.
        volume = (0.93 if weekday >= 5 else 1.0) * (1 + 0.0025 * index / max(len(slots), 1) * 30)
        rows = max(0, int(rowcount * volume * rng.gauss(1, 0.04)))
        elapsed = max(1.0, duration * (0.55 + 0.45 * volume) * rng.lognormvariate(0, 0.07))
        status, exit_code = "success", 0
        if not is_latest and rng.random() < 0.006:
            status, exit_code, rows, elapsed = "failed", 1, 0, elapsed * rng.uniform(0.05, 0.4)
        if is_latest and name == "wafer_map_export":
            status, exit_code, rows, elapsed = "failed", 1, 0, elapsed * 0.18
        if is_latest and name == "inline_metrology_load":
            rows = int(rows * 0.1)
        if name == "wafer_map_export" and len(slots) - 12 < index < len(slots) - 1 and index % 5 == 0:
            status, exit_code, rows = "failed", 1, 0  # a few recent failures before the latest one
        end = start + timedelta(seconds=elapsed)
        local = start + LOCAL_OFFSET
        date_code = local.strftime("%Y%m%d_%H%M%S")
        base = f"/apps/exensio_data/{kind}/{name}"
        out.append(
            {
                "start_local": iso_local(start),
                "end_local": iso_local(end),
                "start_utc": iso_utc(start),
                "end_utc": iso_utc(end),
                "elapsed_seconds": round(elapsed, 3),
                "elapsed_human": human(elapsed),
                "output_file": f"{base}/out/{name}-{date_code}.csv",
                "rowcount": rows,
                "log_file": f"{base}/log/{name}.log",
                "archived_file": f"{base}/archive/{name}-{date_code}.csv.gz" if status == "success" else None,
                "pid": rng.randint(2_000, 4_000_000),
                "date_code": date_code,
                "pipeline_name": name,
                "script_name": script,
                "pipeline_type": kind,
                "environment": environment,
                "status": status,
                "exit_code": exit_code,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--now", help="ISO 8601 instant the data ends at (default: the current time)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    if args.now:
        now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(timezone.utc)
    rng = random.Random(args.seed)
    runs = [run for pipeline in PIPELINES for run in runs_for(pipeline, now, args.days, rng)]
    runs.sort(key=lambda run: run["start_utc"])
    with open(args.output, "w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps(run, separators=(",", ":")) + "\n")
    print(f"{args.output}: {len(runs)} runs of {len(PIPELINES)} pipelines ending {iso_utc(now)}")


if __name__ == "__main__":
    main()
