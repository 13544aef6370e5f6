#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs what the build and the tests need,
# starts a throwaway PostgreSQL, builds, checks formatting, runs every test against every
# backend (JSONL, SQLite, PostgreSQL), and stops what it started.
#
#   ./scripts/test.sh                 # everything
#   ./scripts/test.sh --filter NAME   # extra arguments go to `swift test`
#
# Outside CI, if PostgreSQL cannot be started the PostgreSQL tests are skipped with a visible
# note; with CI=true that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# SwiftPM otherwise plans Hummingbird's traits in random order and rebuilds it every other time.
export SWIFT_DETERMINISTIC_HASHING=1

log() { printf '\n== %s\n' "$*"; }

is_ci() { case "${CI:-}" in true | TRUE | 1 | yes) return 0 ;; *) return 1 ;; esac; }

# System packages: SQLite headers for GRDB, zlib headers for gzip request bodies, Python's venv for
# the real OpenLineage client, a PostgreSQL server for the tests, and ora2pg, with which a test
# checks that Tests/Fixtures/legacy-oracle/regenerate.sh reproduces the committed translations
# (the other tests load those files and need no ora2pg).
missing=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v ora2pg >/dev/null 2>&1 || missing+=(ora2pg)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "Installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

log "Starting a throwaway PostgreSQL"
if url=$(scripts/postgres-test-server.sh start); then
    export PIPELINE_TEST_POSTGRES_URL="$url"
    trap 'scripts/postgres-test-server.sh stop >/dev/null 2>&1 || true' EXIT
    echo "PostgreSQL test server: $PIPELINE_TEST_POSTGRES_URL"
elif is_ci; then
    echo "error: PostgreSQL could not be started, and CI=true forbids skipping its tests" >&2
    exit 1
else
    echo "warning: PostgreSQL could not be started: the PostgreSQL tests will be SKIPPED" >&2
    unset PIPELINE_TEST_POSTGRES_URL
fi

log "Building (debug, with tests)"
swift build --build-tests

log "Checking formatting (swift format lint --strict)"
swift format lint --strict --recursive Sources Tests Package.swift

log "Running the tests"
swift test --skip-build "$@"

# Once more on PostgreSQL for each kind of existing table, the contract suites (storage and HTTP):
# - mapped-in-schema: a table in a schema of its own with every column renamed
#   (PIPELINE_TABLE=schema.TABLE and PIPELINE_COLUMN_MAP), as an enterprise table would be;
# - ora2pg-default and ora2pg-exact: the old service's Oracle table as ora2pg translates it with
#   its shipped types, and with exact decimals and upper-case names in a schema
#   (Tests/Fixtures/legacy-oracle), with the status, exit_code and run_id columns added.
# Skipped when arguments chose the tests, or when PostgreSQL is.
if [ $# -eq 0 ] && [ -n "${PIPELINE_TEST_POSTGRES_URL:-}" ]; then
    for table in mapped-in-schema ora2pg-default ora2pg-exact; do
        log "Running the contract suites on an existing PostgreSQL table: $table"
        PIPELINE_TEST_BACKENDS=postgres PIPELINE_TEST_POSTGRES_TABLE=$table \
            swift test --skip-build --filter 'RepositoryContractTests|RunLifecycleContractTests|RetentionContractTests|HTTPContractTests'
    done
fi
