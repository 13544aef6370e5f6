#!/usr/bin/env python3
"""Drives POST /api/v1/lineage with the real OpenLineage Python client (openlineage-python, pinned in
requirements.txt; run with the python that setup-venv.sh prints).

    driver.py --url URL [--api-key K] [--gzip] --scenario S --namespace NS --job NAME
              [--base-time ISO] [--run-id UUID] [--endpoint api/v1/lineage] [--timeout 5]
              [--client-retries]

Events go through the client's own OpenLineageClient.emit and HttpTransport (HttpConfig: url,
endpoint, auth=ApiKeyTokenProvider -> "Authorization: Bearer K", compression=HttpCompression.GZIP),
built from the client's own event_v2 and facet classes. Times are fixed offsets from --base-time
(default: now rounded to the second, minus one hour), written as Python's isoformat():
"2026-01-02T03:04:05+00:00" when whole, "2026-01-02T03:05:35.500000+00:00" otherwise.

Scenarios (t0 = base time):
  complete       START t0; COMPLETE t0+90.5s, outputs file:/data/out/part-1.parquet (rowCount 1200,
                 size 48213) and file:/data/out/part-2.parquet (rowCount 34, size 2048)
  fail           START t0; FAIL t0+12.25s, run facet errorMessage "boom: division by zero" (python)
  replay         complete's START and COMPLETE, then the same two event objects again (same JSON)
  out-of-order   complete's COMPLETE first, then its START
  late-start     complete's START and COMPLETE, then another START for the run at t0+120s
  abort          START t0; ABORT t0+30s
  running        START t0 only
  job-event      one JobEvent at t0 (job NS/NAME, same input and outputs as complete)
  dataset-event  one DatasetEvent at t0 for --dataset-namespace/--dataset-name (default
                 file:/data/out/part-1.parquet) with a schema facet
Every run event carries input file:/data/in/events.csv, the job facet jobType (BATCH, python,
TASK), and the run facet tags the client itself adds (openlineage_client_version).

On success prints one JSON line: {"run_id", "job", "namespace", "start", "end", "events"}
(run_id null and end null for job-event / dataset-event; start is then the event time).
On any failure (HTTP status outside 2xx, a redirect, no connection) exits 1 with one line on
stderr naming the status and the response body, and prints nothing on stdout.

HTTP errors: in 1.54.0 HttpTransport.emit calls raise_for_status(), so 4xx/5xx raise
requests.HTTPError. Its default urllib3 retry re-POSTs 500/502/503/504 five times and then raises
RetryError without the body; unless --client-retries, the driver keeps the client's retry settings
but with an empty status_forcelist, so a 5xx fails at once with its body (connection errors are
still retried as the client does). A small HttpTransport subclass also refuses any final non-2xx
response and any followed redirect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import uuid
from urllib.parse import urljoin

# The client merges config from OPENLINEAGE__* variables and openlineage.yml files; the driver
# passes its transport explicitly and wants no ambient tags, filters or facets from the machine.
for _name in [n for n in os.environ if n.startswith("OPENLINEAGE") and n != "OPENLINEAGE_CLIENT_LOGGING"]:
    del os.environ[_name]

import requests  # noqa: E402
from openlineage.client import OpenLineageClient, event_v2  # noqa: E402
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet  # noqa: E402
from openlineage.client.generated.output_statistics_output_dataset import (  # noqa: E402
    OutputStatisticsOutputDatasetFacet,
)
from openlineage.client.transport import http as ol_http  # noqa: E402
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport  # noqa: E402

try:
    from openlineage.client.generated.job_type_job import JobTypeJobFacet
except ImportError:  # older clients have no jobType facet
    JobTypeJobFacet = None  # type: ignore[assignment,misc]
try:
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields
except ImportError:
    SchemaDatasetFacet = None  # type: ignore[assignment,misc]
try:
    from openlineage.client.uuid import generate_new_uuid
except ImportError:  # clients before 1.15 have no UUIDv7 generator
    generate_new_uuid = None  # type: ignore[assignment]
try:
    from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
except ImportError:
    DEFAULT_RETRY_CONFIG = None  # type: ignore[assignment]

PROG = "driver.py"
SCENARIOS = (
    "complete",
    "fail",
    "replay",
    "out-of-order",
    "late-start",
    "abort",
    "running",
    "job-event",
    "dataset-event",
)
COMPLETE_AFTER = dt.timedelta(seconds=90.5)
FAIL_AFTER = dt.timedelta(seconds=12.25)
ABORT_AFTER = dt.timedelta(seconds=30)
LATE_START_AFTER = dt.timedelta(seconds=120)
INPUT = ("file", "/data/in/events.csv")
OUTPUTS = (("file", "/data/out/part-1.parquet", 1200, 48213), ("file", "/data/out/part-2.parquet", 34, 2048))
ERROR_MESSAGE = "boom: division by zero"
STACK_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/jobs/etl.py", line 42, in transform\n'
    "    ratio = total / count\n"
    "ZeroDivisionError: division by zero"
)


class DriverError(Exception):
    pass


class CheckedHttpTransport(HttpTransport):
    """The client's HttpTransport, refusing any response it would let through that is not a plain 2xx."""

    def emit(self, event):  # type: ignore[no-untyped-def]
        resp = super().emit(event)  # raises requests.HTTPError on 4xx/5xx in this version
        if resp is None:
            raise DriverError("the client's HttpTransport returned no response to check")
        if resp.history:
            first = resp.history[0]
            raise DriverError(
                f"HTTP {first.status_code} redirect to {first.headers.get('Location')} (followed to "
                f"HTTP {resp.status_code}): {first.text.strip()}"
            )
        if not 200 <= resp.status_code < 300:
            raise DriverError(f"HTTP {resp.status_code} {resp.reason}: {resp.text.strip()}")
        return resp


class IsolatedClient(OpenLineageClient):
    """OpenLineageClient that reads no openlineage.yml from the working or home directory."""

    @staticmethod
    def _find_yaml_config_path() -> str | None:
        return None


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def parse_base_time(text: str | None) -> dt.datetime:
    if text is None:
        now = dt.datetime.now(dt.timezone.utc)
        rounded = (now + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return rounded - dt.timedelta(hours=1)
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DriverError(f"--base-time {text!r} is not an ISO-8601 date-time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def new_run_id(t0: dt.datetime) -> str:
    if generate_new_uuid is not None:
        return str(generate_new_uuid(t0))
    return str(uuid.uuid4())


def make_client(args: argparse.Namespace) -> OpenLineageClient:
    kwargs: dict = {"url": args.url, "endpoint": args.endpoint, "timeout": args.timeout}
    if args.api_key is not None:
        kwargs["auth"] = ApiKeyTokenProvider({"apiKey": args.api_key})
    if args.gzip:
        compression = getattr(ol_http, "HttpCompression", None)
        if compression is None or "compression" not in {a.name for a in HttpConfig.__attrs_attrs__}:
            raise DriverError("--gzip: this openlineage-python has no HttpConfig.compression option")
        kwargs["compression"] = compression.GZIP
    if not args.client_retries and DEFAULT_RETRY_CONFIG is not None:
        kwargs["retry"] = {**DEFAULT_RETRY_CONFIG, "status_forcelist": []}
    transport = CheckedHttpTransport(HttpConfig(**kwargs))
    return IsolatedClient(transport=transport)


class Events:
    """Builds events with the client's own classes; a fresh object per call."""

    def __init__(self, args: argparse.Namespace, run_id: str | None) -> None:
        self.args = args
        self.run_id = run_id

    def job(self) -> event_v2.Job:
        facets = {}
        if JobTypeJobFacet is not None:
            facets["jobType"] = JobTypeJobFacet(processingType="BATCH", integration="python", jobType="TASK")
        return event_v2.Job(namespace=self.args.namespace, name=self.args.job, facets=facets)

    @staticmethod
    def inputs() -> list[event_v2.InputDataset]:
        return [event_v2.InputDataset(namespace=INPUT[0], name=INPUT[1])]

    @staticmethod
    def outputs(with_statistics: bool) -> list[event_v2.OutputDataset]:
        result = []
        for namespace, name, rows, size in OUTPUTS:
            output_facets = {}
            if with_statistics:
                output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=rows, size=size)
            result.append(event_v2.OutputDataset(namespace=namespace, name=name, outputFacets=output_facets))
        return result

    def run_event(self, state: event_v2.RunState, at: dt.datetime, **extra) -> event_v2.RunEvent:  # type: ignore[no-untyped-def]
        run_facets = extra.pop("run_facets", {})
        return event_v2.RunEvent(
            eventType=state,
            eventTime=iso(at),
            run=event_v2.Run(runId=self.run_id, facets=run_facets),
            job=self.job(),
            inputs=self.inputs(),
            **extra,
        )

    def start(self, at: dt.datetime) -> event_v2.RunEvent:
        return self.run_event(event_v2.RunState.START, at, outputs=self.outputs(with_statistics=False))

    def complete(self, at: dt.datetime) -> event_v2.RunEvent:
        return self.run_event(event_v2.RunState.COMPLETE, at, outputs=self.outputs(with_statistics=True))

    def fail(self, at: dt.datetime) -> event_v2.RunEvent:
        facet = ErrorMessageRunFacet(message=ERROR_MESSAGE, programmingLanguage="python", stackTrace=STACK_TRACE)
        return self.run_event(event_v2.RunState.FAIL, at, run_facets={"errorMessage": facet})

    def abort(self, at: dt.datetime) -> event_v2.RunEvent:
        return self.run_event(event_v2.RunState.ABORT, at)

    def job_event(self, at: dt.datetime):  # type: ignore[no-untyped-def]
        if not hasattr(event_v2, "JobEvent"):
            raise DriverError("job-event: this openlineage-python has no event_v2.JobEvent")
        return event_v2.JobEvent(
            eventTime=iso(at), job=self.job(), inputs=self.inputs(), outputs=self.outputs(with_statistics=False)
        )

    def dataset_event(self, at: dt.datetime):  # type: ignore[no-untyped-def]
        if not hasattr(event_v2, "DatasetEvent"):
            raise DriverError("dataset-event: this openlineage-python has no event_v2.DatasetEvent")
        facets = {}
        if SchemaDatasetFacet is not None:
            facets["schema"] = SchemaDatasetFacet(
                fields=[
                    SchemaDatasetFacetFields(name="id", type="BIGINT"),
                    SchemaDatasetFacetFields(name="amount", type="DOUBLE", description="in euros"),
                ]
            )
        dataset = event_v2.StaticDataset(
            namespace=self.args.dataset_namespace, name=self.args.dataset_name, facets=facets
        )
        return event_v2.DatasetEvent(eventTime=iso(at), dataset=dataset)


def plan(args: argparse.Namespace, t0: dt.datetime, run_id: str | None):  # type: ignore[no-untyped-def]
    """Returns (events in sending order, start, end)."""
    ev = Events(args, run_id)
    s = args.scenario
    t_complete = t0 + COMPLETE_AFTER
    if s == "complete":
        return [ev.start(t0), ev.complete(t_complete)], t0, t_complete
    if s == "fail":
        return [ev.start(t0), ev.fail(t0 + FAIL_AFTER)], t0, t0 + FAIL_AFTER
    if s == "replay":
        start, complete = ev.start(t0), ev.complete(t_complete)
        return [start, complete, start, complete], t0, t_complete
    if s == "out-of-order":
        return [ev.complete(t_complete), ev.start(t0)], t0, t_complete
    if s == "late-start":
        return [ev.start(t0), ev.complete(t_complete), ev.start(t0 + LATE_START_AFTER)], t0, t_complete
    if s == "abort":
        return [ev.start(t0), ev.abort(t0 + ABORT_AFTER)], t0, t0 + ABORT_AFTER
    if s == "running":
        return [ev.start(t0)], t0, None
    if s == "job-event":
        return [ev.job_event(t0)], t0, None
    if s == "dataset-event":
        return [ev.dataset_event(t0)], t0, None
    raise DriverError(f"unknown scenario {s!r}")


def label(event) -> str:  # type: ignore[no-untyped-def]
    state = getattr(event, "eventType", None)
    return state.value if state is not None else type(event).__name__


def send(client: OpenLineageClient, events: list, target: str) -> int:
    sent = 0
    for i, event in enumerate(events, 1):
        where = f"POST {target} on event {i}/{len(events)} ({label(event)})"
        try:
            client.emit(event)
        except requests.HTTPError as e:
            resp = e.response
            if resp is None:
                raise DriverError(f"{where}: {e}") from None
            raise DriverError(f"HTTP {resp.status_code} {resp.reason} from {where}: {resp.text.strip()}") from None
        except DriverError as e:
            raise DriverError(f"{where}: {e}") from None
        except requests.RequestException as e:
            raise DriverError(f"{where} failed: {type(e).__name__}: {e}") from None
        sent += 1
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8080")
    parser.add_argument("--endpoint", default="api/v1/lineage", help="joined to --url with urljoin")
    parser.add_argument("--api-key", help="sent as 'Authorization: Bearer KEY' by ApiKeyTokenProvider")
    parser.add_argument("--gzip", action="store_true", help="HttpConfig.compression = gzip")
    parser.add_argument("--scenario", required=True, choices=SCENARIOS)
    parser.add_argument("--namespace", required=True, help="job namespace")
    parser.add_argument("--job", required=True, help="job name")
    parser.add_argument("--base-time", help="ISO-8601 UTC time of the first event (t0)")
    parser.add_argument("--run-id", help="UUID of the run (default: a new UUIDv7 from the client)")
    parser.add_argument("--dataset-namespace", default=OUTPUTS[0][0], help="dataset-event only")
    parser.add_argument("--dataset-name", default=OUTPUTS[0][1], help="dataset-event only")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (HttpConfig.timeout)")
    parser.add_argument("--client-retries", action="store_true", help="keep the client's retry on 5xx")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=f"{PROG}: %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # no line per connection retry; the failure is reported once

    try:
        t0 = parse_base_time(args.base_time)
        run_id = None
        if args.scenario not in ("job-event", "dataset-event"):
            if args.run_id is not None:
                try:
                    uuid.UUID(args.run_id)
                except ValueError:
                    raise DriverError(f"--run-id {args.run_id!r} is not a UUID") from None
            run_id = args.run_id or new_run_id(t0)
        events, start, end = plan(args, t0, run_id)
        client = make_client(args)
        try:
            target = urljoin(client.transport.url, client.transport.endpoint)
            sent = send(client, events, target)
        finally:
            client.close()
    except DriverError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    summary = {
        "run_id": run_id,
        "job": args.job,
        "namespace": args.namespace,
        "start": iso(start),
        "end": iso(end) if end is not None else None,
        "events": sent,
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
