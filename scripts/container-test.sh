#!/usr/bin/env bash
# Builds the project's own Dockerfile with podman and checks the image the way a user runs it.
# Not run in CI: it needs root, podman and a Swift toolchain on the machine, and takes 20-40 min
# (a release build in the container).
#
# With no container registry reachable, it makes local stand-ins for the Dockerfile's base images:
#   runtime: a minimal Debian root made by debootstrap from this machine's apt source;
#   build:   that root + the packages Swift needs + this machine's Swift toolchain + the Swift
#            package mirror that this machine's git config points https://github.com/ at.
# and passes them as --build-arg BUILD_IMAGE / RUNTIME_IMAGE. The Dockerfile itself is unchanged.
#
#   ./scripts/container-test.sh
#
# Environment:
#   CT_WORK=DIR            work folder (default /var/tmp/pipeline-service-ct)
#   CT_REBUILD_BASE=1      remake the stand-in base images even if they exist
#   CT_APT_URI, CT_APT_SUITE   the Debian archive and suite for debootstrap (default: read from apt)
#   CT_SWIFT_USR=DIR       the toolchain's usr folder (default: from `swift` on PATH, or /opt/swift/usr)
#   CT_LAYERS=1            keep podman's layer cache (the build stage's image is ~5 GB a build;
#                          remove the dangling ones yourself); by default each run builds afresh
#   CT_CLEAN_IMAGES=1      also remove the built image at the end (base images are kept for reuse)
#
# Prints PASS/FAIL per check and exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

export SWIFT_DETERMINISTIC_HASHING=1
PODMAN=(podman --runtime runc)
WORK=${CT_WORK:-/var/tmp/pipeline-service-ct}
RUNTIME_BASE=localhost/pipeline-ct-runtime-base:latest
BUILD_BASE=localhost/pipeline-ct-build-base:latest
IMAGE=localhost/pipeline-service:container-test
TAG=ct-pipeline-$$
VOLUME=$TAG-data
CONTAINERS=()
PASSED=0
FAILED=0
START=$(date +%s)

log() { printf '\n== %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
info() { printf 'INFO  %s\n' "$*"; }
die() { fail "$*"; summary; exit 1; }
summary() {
    printf '\n%d passed, %d failed (%ds)\n' "$PASSED" "$FAILED" $(($(date +%s) - START))
}

cleanup() {
    local c
    for c in "${CONTAINERS[@]}"; do "${PODMAN[@]}" rm -f -v -t 2 "$c" >/dev/null 2>&1 || true; done
    "${PODMAN[@]}" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
    if [ "${CT_CLEAN_IMAGES:-}" = 1 ]; then "${PODMAN[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "run as root (podman builds and debootstrap)" >&2; exit 2; }
mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------
log "tools"
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Inside this sandbox podman cannot set rlimits on containers: no default ulimits.
conf=/etc/containers/containers.conf
mkdir -p /etc/containers
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
    if grep -qs '^\[containers\]' "$conf"; then
        sed -i '/^\[containers\]/a default_ulimits = []' "$conf"
    else
        printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
    fi
    echo "wrote default_ulimits = [] to $conf"
fi
podman --version

# ---------------------------------------------------------------------------------------------
# The Debian archive and suite apt uses here: "URI SUITE KEYRING" lines from deb822 .sources
# files and one-line .list files, keeping suites debootstrap knows (not -updates or -security).
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
        {
            types = uris = suites = signed = ""; enabled = "yes"
            for (i = 1; i <= NF; i++) {
                line = $i
                if (line ~ /^[ \t]*#/) continue
                if (match(line, /^[A-Za-z-]+:/)) {
                    key = tolower(substr(line, 1, RLENGTH - 1)); val = substr(line, RLENGTH + 1)
                    gsub(/^[ \t]+|[ \t]+$/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "signed-by") signed = val
                    else if (key == "enabled") enabled = tolower(val)
                }
            }
            if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                split(uris, u, " "); n = split(suites, s, " ")
                if (signed !~ /^\//) signed = "-"
                for (j = 1; j <= n; j++) print u[1], s[j], signed
            }
        }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" {
            signed = "-"; i = 2
            if ($2 ~ /^\[/) {
                for (; i <= NF; i++) {
                    if ($i ~ /signed-by=/) { v = $i; sub(/.*signed-by=/, "", v); sub(/\]$/, "", v); signed = v }
                    if ($i ~ /\]$/) { i++; break }
                }
            }
            print $i, $(i + 1), signed
        }' "$f"
    done
}
APT_URI=${CT_APT_URI:-}
APT_SUITE=${CT_APT_SUITE:-}
APT_KEYRING=-
if [ -z "$APT_URI" ] || [ -z "$APT_SUITE" ]; then
    while read -r uri suite keyring; do
        case "$suite" in */* | *-updates | *-security | *-backports | *-proposed-updates) continue ;; esac
        [ -e "/usr/share/debootstrap/scripts/$suite" ] || continue
        APT_URI=$uri APT_SUITE=$suite APT_KEYRING=$keyring
        break
    done < <(apt_sources)
fi
[ -n "$APT_URI" ] && [ -n "$APT_SUITE" ] || die "no Debian archive found in /etc/apt (set CT_APT_URI and CT_APT_SUITE)"
echo "apt source for the stand-in images: $APT_URI $APT_SUITE"

# The Swift toolchain and how SwiftPM reaches https://github.com/ here (git url.*.insteadOf rules
# to local mirrors, and/or a SwiftPM mirrors.json).
SWIFT_BIN=$(command -v swift || echo /opt/swift/usr/bin/swift)
SWIFT_USR=${CT_SWIFT_USR:-$(dirname "$(dirname "$(readlink -f "$SWIFT_BIN")")")}
[ -x "$SWIFT_USR/bin/swift" ] || die "no Swift toolchain at $SWIFT_USR (set CT_SWIFT_USR)"
echo "toolchain: $SWIFT_USR ($("$SWIFT_USR/bin/swift" --version 2>/dev/null | head -1))"

# ---------------------------------------------------------------------------------------------
if [ "${CT_REBUILD_BASE:-}" = 1 ] || ! "${PODMAN[@]}" image exists "$RUNTIME_BASE"; then
    log "stand-in runtime image: debootstrap $APT_SUITE from $APT_URI"
    rootfs=$WORK/rootfs
    rm -rf "$rootfs"
    keyring_arg=()
    [ "$APT_KEYRING" != - ] && [ -f "$APT_KEYRING" ] && keyring_arg=(--keyring="$APT_KEYRING")
    debootstrap --variant=minbase "${keyring_arg[@]}" "$APT_SUITE" "$rootfs" "$APT_URI" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
    # Keep apt's own settings for this archive (a snapshot archive has expired Release files).
    if apt-config dump | grep -q '^Acquire::Check-Valid-Until "false"'; then
        echo 'Acquire::Check-Valid-Until "false";' >"$rootfs/etc/apt/apt.conf.d/99container-test"
    fi
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
        "${PODMAN[@]}" import -q \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["/bin/bash"]' - "$RUNTIME_BASE" >/dev/null
    rm -rf "$rootfs"
    "${PODMAN[@]}" rmi -f "$BUILD_BASE" >/dev/null 2>&1 || true
fi
info "runtime stand-in: $RUNTIME_BASE"

if [ "${CT_REBUILD_BASE:-}" = 1 ] || ! "${PODMAN[@]}" image exists "$BUILD_BASE"; then
    log "stand-in build image: runtime stand-in + Swift's packages + $SWIFT_USR + package mirror"
    ctx=$WORK/build-base
    rm -rf "$ctx"
    mkdir -p "$ctx"
    : >"$ctx/gitconfig"
    volumes=(--volume "$SWIFT_USR:/mnt/ct-toolchain:ro")
    copies="mkdir -p /opt/swift/usr && cp -a /mnt/ct-toolchain/. /opt/swift/usr/"
    n=0
    declare -A mirrored=()
    while read -r key value; do
        base=${key#url.}
        base=${base%.*}
        git config -f "$ctx/gitconfig" --add "url.$base.insteadOf" "$value"
        dir=${base#file://}
        dir=${dir%/}
        if [ "${dir#/}" != "$dir" ] && [ -d "$dir" ] && [ -z "${mirrored[$dir]:-}" ]; then
            mirrored[$dir]=1
            volumes+=(--volume "$dir:/mnt/ct-mirror-$n:ro")
            copies+=" && mkdir -p '$dir' && cp -a /mnt/ct-mirror-$n/. '$dir/'"
            echo "mirror: $value -> $dir"
            n=$((n + 1))
        fi
    done < <(git -C / config --get-regexp '^url\..*\.insteadof$' || true)
    mkdir -p "$ctx/swiftpm"
    if [ -f "$HOME/.swiftpm/configuration/mirrors.json" ]; then
        cp "$HOME/.swiftpm/configuration/mirrors.json" "$ctx/swiftpm/"
        echo "mirror: SwiftPM mirrors.json (its targets must be reachable in the container)"
    fi
    # What the toolchain needs to run and link, as in the official images (found by trying):
    # the C/C++ runtime objects and headers, libcurl and libxml2 for SwiftPM and Foundation,
    # git to fetch packages, binutils for the linker drivers.
    cat >"$ctx/Containerfile" <<EOF
FROM $RUNTIME_BASE
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        binutils ca-certificates g++ git libc6-dev libcurl4-openssl-dev libedit2 libncurses6 \\
        libsqlite3-0 libxml2-dev pkg-config tzdata unzip zlib1g-dev \\
    && rm -rf /var/lib/apt/lists/*
RUN $copies
COPY gitconfig /etc/gitconfig
COPY swiftpm/ /root/.swiftpm/configuration/
ENV PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN swift --version
EOF
    "${PODMAN[@]}" build --pull=never "${volumes[@]}" -t "$BUILD_BASE" "$ctx" >"$WORK/build-base.log" 2>&1 ||
        { tail -30 "$WORK/build-base.log"; die "stand-in build image failed (log: $WORK/build-base.log)"; }
fi
info "build stand-in: $BUILD_BASE"

# ---------------------------------------------------------------------------------------------
log "podman build (release build inside: 10-40 min; log: $WORK/build.log)"
build_start=$(date +%s)
old_id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
layers=--layers=false
[ "${CT_LAYERS:-}" = 1 ] && layers=--layers=true
if "${PODMAN[@]}" build --format docker --pull=never "$layers" \
    --build-arg BUILD_IMAGE="$BUILD_BASE" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
    -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1; then
    pass "image builds from the project's Dockerfile with BUILD_IMAGE/RUNTIME_IMAGE build args ($(($(date +%s) - build_start))s)"
else
    tail -40 "$WORK/build.log"
    die "podman build (log: $WORK/build.log)"
fi
new_id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "${PODMAN[@]}" rmi "$old_id" >/dev/null 2>&1 || true; fi

# podman without the noise of its healthcheck timers: with no systemd here, podman run, restart
# and rm each log that they cannot add or remove one (the checks run them by hand instead).
pod() {
    local rc=0
    "${PODMAN[@]}" "$@" 2>"$WORK/podman.err" || rc=$?
    grep -v 'unable to get systemd connection' "$WORK/podman.err" >&2 || true
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
log "image configuration"
hc=$(pod image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
echo "healthcheck: $hc"
HC_CMD=$(pod image inspect --format '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{$a}}{{end}}{{end}}' "$IMAGE")
if [[ "$hc" == *CMD-SHELL* && "$hc" == *'${PIPELINE_BASE_PATH'* && "$hc" == *'${PIPELINE_PORT'* ]]; then
    pass "HEALTHCHECK is shell form and builds its URL from \${PIPELINE_PORT} and \${PIPELINE_BASE_PATH}"
else
    fail "HEALTHCHECK is not a shell form using PIPELINE_PORT and PIPELINE_BASE_PATH: $hc"
fi
user=$(pod image inspect --format '{{.Config.User}}' "$IMAGE")
vols=$(pod image inspect --format '{{json .Config.Volumes}}' "$IMAGE")
if [ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ]; then pass "image USER is non-root ($user)"; else fail "image USER is '$user'"; fi
if [[ "$vols" == *'"/data"'* ]]; then pass "image declares VOLUME /data"; else fail "image volumes: $vols"; fi

cid=$(pod create "$IMAGE")
pod cp "$cid:/usr/local/bin/pipeline-service" "$WORK/pipeline-service" >/dev/null
pod rm -f -v "$cid" >/dev/null
bin_size=$(du -h "$WORK/pipeline-service" | cut -f1)
if readelf -S "$WORK/pipeline-service" | grep -q '\.symtab'; then
    fail "binary is not stripped ($bin_size, has .symtab)"
else
    pass "binary is stripped (no .symtab; $bin_size)"
fi
ldd_out=$(pod run --rm --entrypoint ldd "$IMAGE" /usr/local/bin/pipeline-service 2>&1 || true)
if ! grep -q 'not found' <<<"$ldd_out" && grep -q libsqlite3 <<<"$ldd_out" && grep -q 'libz\.' <<<"$ldd_out"; then
    pass "every shared library of the binary is in the runtime image (libsqlite3, libz among them)"
else
    fail "shared libraries: $ldd_out"
fi

# ---------------------------------------------------------------------------------------------
sample_name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pipeline_name"])' sample_record.json)

# start NAME PORT [podman run options...]: runs the image detached with the data volume.
start() {
    local name=$1 port=$2
    shift 2
    CONTAINERS+=("$name")
    pod run -d --name "$name" -v "$VOLUME:/data" -p "127.0.0.1::$port" "$@" "$IMAGE" >/dev/null
}
# url NAME PORT: the host address of the container's port.
url() { echo "http://$(pod port "$1" "$2" | head -1)"; }
# wait_up NAME PORT PATH: until PATH answers 200 (60 s at most).
wait_up() {
    local i
    for i in $(seq 1 60); do
        if curl -fsS -o /dev/null "$(url "$1" "$2")$3" 2>/dev/null; then return 0; fi
        if [ "$(pod inspect --format '{{.State.Running}}' "$1")" != true ]; then break; fi
        sleep 1
    done
    pod logs "$1" 2>&1 | tail -20
    return 1
}
# has_sample NAME PORT PREFIX: GET /get_pipeline_info lists the sample run.
has_sample() {
    local body
    body=$(curl -fsS "$(url "$1" "$2")$3/get_pipeline_info?pipeline_name=$sample_name") || return 1
    grep -q "\"pipeline_name\" *: *\"$sample_name\"" <<<"$body" && grep -q '"rowcount" *: *11060' <<<"$body"
}
healthcheck() {
    local name=$1 label=$2 out
    if out=$(pod healthcheck run "$name" 2>&1); then
        pass "podman healthcheck run: healthy ($label)"
    else
        fail "podman healthcheck run ($label): $out"
    fi
    if out=$(pod exec "$name" /bin/sh -c "$HC_CMD" 2>&1); then
        pass "the HEALTHCHECK command exits 0 when run in the container ($label)"
    else
        fail "the HEALTHCHECK command ($label): $out"
    fi
}

log "run: default settings, volume $VOLUME"
pod volume create "$VOLUME" >/dev/null
start "$TAG-a" 8000
if wait_up "$TAG-a" 8000 /health; then pass "service answers GET /health on the published port"; else die "service did not come up"; fi
uid=$(pod exec "$TAG-a" id -u)
pid1_uid=$(pod exec "$TAG-a" stat -c %u /proc/1)
if [ "$uid" != 0 ] && [ "$pid1_uid" != 0 ]; then
    pass "runs as non-root (id -u: $uid, service process uid: $pid1_uid)"
else
    fail "runs as root (id -u: $uid, service process uid: $pid1_uid)"
fi
mounts=$(pod inspect --format '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}' "$TAG-a")
if [[ "$mounts" == *"volume $VOLUME /data;"* ]]; then pass "volume $VOLUME is mounted at /data"; else fail "mounts: $mounts"; fi
status=$(curl -sS -o "$WORK/post.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @sample_record.json "$(url "$TAG-a" 8000)/pipelines")
if [ "$status" = 201 ]; then pass "POST /pipelines sample_record.json: 201"; else fail "POST /pipelines: $status $(head -c 300 "$WORK/post.out")"; fi
if has_sample "$TAG-a" 8000 ""; then pass "GET /get_pipeline_info returns the posted run"; else fail "GET /get_pipeline_info does not list the posted run"; fi
if pod exec "$TAG-a" sh -c 'test -s /data/pipeline_data.jsonl && test "$(stat -c %u /data/pipeline_data.jsonl)" = "$(id -u)"'; then
    pass "the run is written to /data/pipeline_data.jsonl on the volume, owned by the service user"
else
    fail "no data file owned by the service user in /data"
fi
healthcheck "$TAG-a" "no base path"

log "restart"
pod restart -t 10 "$TAG-a" >/dev/null
if wait_up "$TAG-a" 8000 /health && has_sample "$TAG-a" 8000 ""; then
    pass "after podman restart the run is still there"
else
    fail "after podman restart the run is gone"
fi
pod rm -f -v -t 10 "$TAG-a" >/dev/null
start "$TAG-b" 8000
if wait_up "$TAG-b" 8000 /health && has_sample "$TAG-b" 8000 ""; then
    pass "a new container on the same volume has the run"
else
    fail "a new container on the same volume does not have the run"
fi
pod rm -f -v -t 10 "$TAG-b" >/dev/null

log "run: PIPELINE_BASE_PATH=/svc, PIPELINE_PORT=9000"
start "$TAG-c" 9000 -e PIPELINE_BASE_PATH=/svc -e PIPELINE_PORT=9000
if wait_up "$TAG-c" 9000 /svc/health; then pass "GET /svc/health is 200 under the base path"; else die "service with a base path did not come up"; fi
code=$(curl -sS -o /dev/null -w '%{http_code}' "$(url "$TAG-c" 9000)/health")
if [ "$code" = 404 ]; then pass "GET /health without the base path is 404 (so the check below needs it)"; else fail "GET /health without the base path: $code"; fi
if has_sample "$TAG-c" 9000 /svc; then pass "GET /svc/get_pipeline_info returns the run from the volume"; else fail "GET /svc/get_pipeline_info does not list the run"; fi
healthcheck "$TAG-c" "PIPELINE_BASE_PATH=/svc, PIPELINE_PORT=9000"
if pod exec "$TAG-c" sh -c 'curl -fsS -o /dev/null "http://127.0.0.1:${PIPELINE_PORT}/health"' 2>/dev/null; then
    fail "control: a health check without the base path passes too (the base-path check proves nothing)"
else
    pass "control: a health check without the base path fails here, as the old HEALTHCHECK would"
fi
pod rm -f -v -t 10 "$TAG-c" >/dev/null

# ---------------------------------------------------------------------------------------------
log "image size"
size=$(pod image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(pod image inspect --format '{{.Size}}' "$RUNTIME_BASE")
info "image $IMAGE: $((size / 1000000)) MB (runtime base $((base_size / 1000000)) MB, binary $bin_size)"
pod history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-150 | head -12 | sed 's/^/INFO  layer /'
pod run --rm --user 0 --entrypoint /bin/sh "$IMAGE" -c \
    'du -xsh /usr/local/bin/pipeline-service /usr/lib/x86_64-linux-gnu /usr/share /usr/bin /var/lib/dpkg /usr/lib/locale 2>/dev/null | sort -rh' |
    sed 's/^/INFO  du /'
pod run --rm --entrypoint dpkg-query "$RUNTIME_BASE" -Wf '${Package}\n' >"$WORK/base.packages"
pod run --rm --entrypoint dpkg-query "$IMAGE" -Wf '${Installed-Size}\t${Package}\n' >"$WORK/image.packages"
awk -F'\t' 'NR == FNR { base[$1] = 1; next } !($2 in base) { n++; kb += $1; list = list " " $2 }
    END { printf "INFO  packages added over the base: %d, %.1f MB:%s\n", n, kb / 1024, list }' \
    "$WORK/base.packages" "$WORK/image.packages"
readelf -SW "$WORK/pipeline-service" | sed -n 's/^ *\[ *[0-9]*\] *//p' |
    awk '$1 ~ /^\./ { print $1, $5 }' | while read -r section hex; do echo "$((16#$hex)) $section"; done |
    sort -rn | head -4 | awk '{ printf "INFO  binary section %-14s %5.1f MB\n", $2, $1 / 1e6 }'

summary
[ "$FAILED" = 0 ]
