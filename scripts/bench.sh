#!/usr/bin/env bash
# Benchmark: builds the release binary, generates a deterministic dataset, preloads each backend,
# starts the release server and drives it with wrk over loopback. Results: bench-results/results.{json,md}.
#
#   ./scripts/bench.sh                                   # jsonl, sqlite, postgres × 10k, 100k, 1M
#   ./scripts/bench.sh --backends jsonl --sizes 100000 --duration 3
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_DETERMINISTIC_HASHING=1

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
swift build -c release --scratch-path .build-release --product pipeline-service
binary="$(swift build -c release --scratch-path .build-release --show-bin-path)/pipeline-service"

if [[ "$*" != *"--backends"* || "$*" == *postgres* ]] && [ -z "${PIPELINE_BENCH_POSTGRES_URL:-}" ]; then
    PIPELINE_BENCH_POSTGRES_URL=$(PIPELINE_TEST_PG_DIR=/tmp/pipeline-bench-pg scripts/postgres-test-server.sh start)
    export PIPELINE_BENCH_POSTGRES_URL
    trap 'PIPELINE_TEST_PG_DIR=/tmp/pipeline-bench-pg scripts/postgres-test-server.sh stop >/dev/null 2>&1 || true' EXIT
fi
python3 scripts/bench/run.py --binary "$binary" "$@"
