#!/usr/bin/env bash
# Screenshots of the dashboard for the docs: docs/ui-overview.png and docs/ui-pipeline.png.
#
# Builds the service (debug), starts it on a temporary JSONL file loaded with a generated data set
# (scripts/ui-dataset.py: eight pipelines over 30 days, one failing, one overdue, one whose rowcount
# dropped), takes the pictures with headless Chromium and stops the service again.
#
#   scripts/screenshots.sh            # needs chromium (apt-get install -y chromium) and python3
#   PORT=18080 scripts/screenshots.sh
set -euo pipefail

cd "$(dirname "$0")/.."
export SWIFT_DETERMINISTIC_HASHING=1

CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$CHROMIUM" ]]; then
    echo "error: chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

swift build --product pipeline-service
BIN="$(swift build --show-bin-path)/pipeline-service"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
export PIPELINE_BACKEND=jsonl PIPELINE_JSONL_PATH="$WORK/pipeline_data.jsonl" PIPELINE_HOST=127.0.0.1 PIPELINE_PORT="$PORT"
unset PIPELINE_API_KEYS_FILE PIPELINE_AUTH_READS PIPELINE_BASE_PATH

python3 scripts/ui-dataset.py "$WORK/runs.ndjson"
"$BIN" import "$WORK/runs.ndjson"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.1
done

shoot() {
    local output="$1" url="$2"
    # Chromium writes its own chatter to stderr; keep it out of the way unless it fails.
    if ! "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1440,1000 \
        --user-data-dir="$WORK/chromium" --screenshot="$output" "$url" >"$WORK/chromium.log" 2>&1; then
        cat "$WORK/chromium.log" >&2
        exit 1
    fi
    echo "wrote $output"
}

mkdir -p docs
shoot docs/ui-overview.png "http://127.0.0.1:$PORT/ui"
shoot docs/ui-pipeline.png \
    "http://127.0.0.1:$PORT/ui/pipeline?pipeline_name=inline_metrology_load&script_name=load_inline_metrology.py&pipeline_type=streaming&environment=prod&limit=25"
