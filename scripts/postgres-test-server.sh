#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite.
#
#   scripts/postgres-test-server.sh start    create (or reuse) the cluster, start it, print its URL
#   scripts/postgres-test-server.sh stop     stop it and delete all its data
#   scripts/postgres-test-server.sh pause    stop it but keep its data (outage tests)
#   scripts/postgres-test-server.sh resume   start a paused cluster again on the same port
#   scripts/postgres-test-server.sh url      print the URL of the running cluster
#   scripts/postgres-test-server.sh standby PRIMARY_DIR
#                                            make this cluster a streaming hot standby of the one
#                                            in PRIMARY_DIR (pg_basebackup -R), start it, print its URL
#
# `start` prints exactly one line on stdout: postgres://postgres@127.0.0.1:PORT/pipeline_test.
# The cluster lives in $PIPELINE_TEST_PG_DIR (default /tmp/pipeline-test-pg), listens on 127.0.0.1
# and on a unix socket in that directory only, and trusts local connections. It is tuned for
# speed, not durability (fsync off): never point it at data you want to keep.
# Every command is idempotent. Diagnostics go to stderr; the server log is in the state dir.
set -euo pipefail

STATE_DIR="${PIPELINE_TEST_PG_DIR:-/tmp/pipeline-test-pg}"
DATA_DIR="$STATE_DIR/data"
SOCKET_DIR="$STATE_DIR/socket"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/server.log"
DATABASE="pipeline_test"

case "$STATE_DIR" in
/tmp/?*) ;;
*) echo "postgres-test-server: PIPELINE_TEST_PG_DIR must be a directory under /tmp" >&2; exit 2 ;;
esac

fail() {
    echo "postgres-test-server: $*" >&2
    exit 1
}

# initdb and pg_ctl refuse to run as root: run them as the postgres user then.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

find_tools() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return
    fi
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bin" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "postgres-test-server: installing postgresql" >&2
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$bin" ] || fail "initdb and pg_ctl not found; install PostgreSQL"
    PATH="$bin:$PATH"
}

is_running() {
    [ -f "$DATA_DIR/PG_VERSION" ] && as_owner pg_ctl -D "$DATA_DIR" status >/dev/null 2>&1
}

port_is_free() {
    [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

pick_free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if port_is_free "$port"; then
            echo "$port"
            return
        fi
    done
    fail "no free port found"
}

print_url() {
    echo "postgres://postgres@127.0.0.1:$(cat "$PORT_FILE")/$DATABASE"
}

# Starts the cluster on the port in $PORT_FILE and waits until it accepts connections.
# The server would inherit, and hold open for its whole life, any descriptor the caller passed
# beyond stdin/stdout/stderr (Foundation's Process passes one it watches for the child's exit),
# so a caller waiting for it would wait forever: the server starts without them.
start_server() {
    local port
    port=$(cat "$PORT_FILE")
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then
                eval "exec $fd>&-"
            fi
        done
        as_owner pg_ctl -s -D "$DATA_DIR" -l "$LOG_FILE" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCKET_DIR" start >&2
    )
}

create_cluster() {
    mkdir -p "$STATE_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || fail "the postgres user does not exist (is PostgreSQL installed?)"
        chown postgres: "$STATE_DIR"
    fi
    as_owner mkdir -p "$SOCKET_DIR"
    as_owner initdb -D "$DATA_DIR" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
    as_owner tee -a "$DATA_DIR/postgresql.conf" >/dev/null <<'CONF'
# throwaway test cluster: speed over durability
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
}

command_start() {
    find_tools
    if is_running; then
        print_url
        return
    fi
    if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
        rm -rf "$STATE_DIR"
        create_cluster
    fi
    local attempt
    for attempt in 1 2 3; do
        if [ ! -f "$PORT_FILE" ] || ! port_is_free "$(cat "$PORT_FILE")"; then
            pick_free_port >"$PORT_FILE"
        fi
        if start_server; then
            break
        fi
        # Another process may have taken the port between the check and the start.
        [ "$attempt" -lt 3 ] || fail "the server did not start; see $LOG_FILE"
        rm -f "$PORT_FILE"
    done
    local port
    port=$(cat "$PORT_FILE")
    if ! as_owner psql -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
        as_owner psql -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $DATABASE" >&2
    fi
    print_url
}

command_stop() {
    if [ -f "$DATA_DIR/PG_VERSION" ]; then
        find_tools
        if is_running; then
            as_owner pg_ctl -s -D "$DATA_DIR" -m immediate -w stop >&2
        fi
    fi
    rm -rf "$STATE_DIR"
}

command_pause() {
    [ -f "$DATA_DIR/PG_VERSION" ] || fail "no cluster in $STATE_DIR; run start first"
    find_tools
    if is_running; then
        as_owner pg_ctl -s -D "$DATA_DIR" -m fast -w stop >&2
    fi
}

command_resume() {
    [ -f "$DATA_DIR/PG_VERSION" ] || fail "no cluster in $STATE_DIR; run start first"
    find_tools
    if ! is_running; then
        start_server
    fi
}

# A hot standby streaming from the cluster in $1 (its state directory), over loopback, as a
# read replica: a base backup with the replication settings written (-R), then started.
command_standby() {
    local primary_dir="${1:-}"
    [ -n "$primary_dir" ] && [ -f "$primary_dir/port" ] || fail "usage: standby PRIMARY_STATE_DIR (a running cluster's directory)"
    find_tools
    if is_running; then
        print_url
        return
    fi
    rm -rf "$STATE_DIR"
    mkdir -p "$STATE_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$STATE_DIR"
    fi
    as_owner mkdir -p "$SOCKET_DIR"
    as_owner pg_basebackup -h 127.0.0.1 -p "$(cat "$primary_dir/port")" -U postgres -D "$DATA_DIR" -R -X stream -c fast >&2
    pick_free_port >"$PORT_FILE"
    start_server || fail "the standby did not start; see $LOG_FILE"
    print_url
}

command_url() {
    find_tools
    is_running || fail "the server is not running"
    print_url
}

case "${1:-}" in
start) command_start ;;
stop) command_stop ;;
pause) command_pause ;;
resume) command_resume ;;
url) command_url ;;
standby) command_standby "${2:-}" ;;
*)
    echo "usage: $0 start|stop|pause|resume|url|standby PRIMARY_DIR" >&2
    exit 2
    ;;
esac
