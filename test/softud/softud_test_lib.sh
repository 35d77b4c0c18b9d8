# Helpers for softud's script tests. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail

RDMAUD_BUILD=${RDMAUD_BUILD:?run through meson test (RDMAUD_BUILD unset)}
SOFTUD_RUN=$RDMAUD_BUILD/lib/softud/softud-run
SOFTUD_STAT=$RDMAUD_BUILD/lib/softud/softud-stat
T=$(mktemp -d /tmp/softud-sh-XXXXXX)
export SOFTUD_STAT_DIR=$T/stat
mkdir -p "$SOFTUD_STAT_DIR"
PIDS=()
CLEANUP=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for c in "${CLEANUP[@]}"; do eval "$c" || true; done
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }
expect_grep() {  # expect_grep FILE REGEX WHAT
    grep -Eq -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$3 (no match for /$2/)"; }
}

# bg NAME CMD...: start CMD in the background (output in $T/NAME.out), remember its PID.
bg() {
    local name=$1; shift
    "$@" >"$T/$name.out" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$!"
}

# wait_listen PORT [NETNS]: until something listens on TCP PORT (max 10 s).
wait_listen() {
    local port=$1 ns=${2:-}
    for _ in $(seq 100); do
        if [ -n "$ns" ]; then
            ip netns exec "$ns" ss -ltnH "sport = :$port" | grep -q . && return 0
        else
            ss -ltnH "sport = :$port" | grep -q . && return 0
        fi
        sleep 0.1
    done
    fail "nothing listens on TCP port $port"
}

# wait_pid NAME: wait for a background job, fail with its output if it failed.
wait_pid() {
    local name=$1 pid
    pid=$(eval echo "\$PID_$name")
    if ! wait "$pid"; then
        echo "--- $name output:"; cat "$T/$name.out"
        fail "$name exited non-zero"
    fi
}
