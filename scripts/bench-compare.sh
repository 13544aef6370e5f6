#!/usr/bin/env bash
# Compares this checkout with an earlier commit on the same machine: builds both release binaries,
# then runs the benchmark with each in turn, alternating (base, new, base, new), so that both see
# the same machine state. Results: bench-compare/{base,new}-<round>/results.{json,md} and a table of
# the ratios in bench-compare/comparison.md.
#
#   ./scripts/bench-compare.sh 10670b0                       # 100k runs, every backend, 2 rounds
#   ./scripts/bench-compare.sh 10670b0 --backends jsonl --rounds 3
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_DETERMINISTIC_HASHING=1
base_rev=${1:?usage: bench-compare.sh BASE_REVISION [--backends LIST] [--sizes N] [--rounds R]}
shift
backends=jsonl,sqlite,postgres
sizes=100000
rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --backends) backends=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 64 ;;
    esac
done
out=$PWD/bench-compare
mkdir -p "$out"
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

worktree=$(mktemp -d /tmp/pipeline-bench-base.XXXXXX)
git worktree add --detach "$worktree" "$base_rev" >/dev/null
cleanup() {
    git worktree remove --force "$worktree" >/dev/null 2>&1 || true
    [ -z "${started_postgres:-}" ] || PIPELINE_TEST_PG_DIR=/tmp/pipeline-bench-pg scripts/postgres-test-server.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
(cd "$worktree" && swift build -c release --scratch-path "$worktree/.build-release" --product pipeline-service >/dev/null)
cp "$worktree/.build-release/release/pipeline-service" "$out/pipeline-service-base"
swift build -c release --scratch-path .build-release --product pipeline-service >/dev/null
cp .build-release/release/pipeline-service "$out/pipeline-service-new"

if [[ "$backends" == *postgres* ]] && [ -z "${PIPELINE_BENCH_POSTGRES_URL:-}" ]; then
    PIPELINE_BENCH_POSTGRES_URL=$(PIPELINE_TEST_PG_DIR=/tmp/pipeline-bench-pg scripts/postgres-test-server.sh start)
    export PIPELINE_BENCH_POSTGRES_URL
    started_postgres=1
fi
for round in $(seq 1 "$rounds"); do
    for side in base new; do
        python3 scripts/bench/run.py --binary "$out/pipeline-service-$side" --backends "$backends" --sizes "$sizes" \
            --duration 3 --out "$out/$side-$round" >"$out/$side-$round.log" 2>&1
    done
done
python3 scripts/bench/compare.py "$out" "$rounds" "base $base_rev, new $(git rev-parse --short HEAD), nproc $(nproc)" | tee "$out/comparison.md"
