#!/usr/bin/env bash
# Creates (or reuses) a throwaway Python venv holding the real OpenLineage Python client, pinned
# with its dependencies in requirements.txt beside this script, for driver.py.
#
#   scripts/openlineage/setup-venv.sh DIR     # last stdout line: the venv's python
#
# DIR/bin/python is reused when it already imports the pinned client. python3 (or $PYTHON) makes
# the venv; if that fails and we are root, python3-venv is installed with apt-get and it is tried
# again. On failure: non-zero exit and one line on stderr (pip's own output goes to DIR/setup-venv.log).
set -euo pipefail

OPENLINEAGE_VERSION=1.54.0 # keep equal to openlineage-python in requirements.txt

here="$(cd "$(dirname "$0")" && pwd)"
requirements="$here/requirements.txt"

fail() {
    printf 'setup-venv.sh: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 1 ] && [ -n "$1" ] || fail "usage: setup-venv.sh DIR"
dir="$1"

has_client() {
    [ -x "$dir/bin/python" ] && "$dir/bin/python" - "$OPENLINEAGE_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
import openlineage.client.transport.http  # noqa: F401
sys.exit(0 if version("openlineage-python") == sys.argv[1] else 1)
EOF
}

print_python() {
    printf '%s/bin/python\n' "$(cd "$dir" && pwd)"
}

if has_client; then
    print_python
    exit 0
fi

grep -qx "openlineage-python==$OPENLINEAGE_VERSION" "$requirements" ||
    fail "$requirements does not pin openlineage-python==$OPENLINEAGE_VERSION"

# Never clear a folder that is not a venv.
if [ -e "$dir" ] && [ ! -f "$dir/pyvenv.cfg" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    fail "$dir exists, is not empty and is not a venv; give an empty or new folder"
fi

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || fail "$python not found; install Python 3 (or set PYTHON)"

mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir"
log="$(cd "$dir" && pwd)/setup-venv.log"
: >"$log"

make_venv() { "$1" -m venv --clear "$dir" >>"$log" 2>&1 && [ -x "$dir/bin/python" ]; }

if ! make_venv "$python"; then
    [ "$(id -u)" = 0 ] || fail "'$python -m venv' failed and we are not root to apt-get install python3-venv (log: $log)"
    command -v apt-get >/dev/null 2>&1 || fail "'$python -m venv' failed and apt-get is missing (log: $log)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >>"$log" 2>&1 ||
        fail "apt-get install python3-venv failed (log: $log)"
    # python3-venv serves Debian's python3; the first python may be another build (pyenv, say).
    make_venv "$python" || { [ -x /usr/bin/python3 ] && make_venv /usr/bin/python3; } ||
        fail "venv creation failed even after installing python3-venv (log: $log)"
fi

"$dir/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements" >>"$log" 2>&1 ||
    fail "pip install of openlineage-python==$OPENLINEAGE_VERSION failed (log: $log)"

has_client || fail "openlineage-python==$OPENLINEAGE_VERSION installed but not importable in $dir (log: $log)"
print_python
