#!/usr/bin/env bash
# Benchmark (not a test): 64-byte UD SEND messages/s between two processes over softud, against a
# plain UDP sendmmsg/recvmmsg pair, in the same run. Results go in doc/perf-softud.md.
#   test/softud/bench/bench.sh [SECONDS]     (RDMAUD_BUILD defaults to build/)
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${RDMAUD_BUILD:-$top/build}
secs=${1:-5}
bench=$build/test/softud/bench_ud
run=$build/lib/softud/softud-run
export SOFTUD_STAT_DIR=$(mktemp -d /tmp/softud-bench-XXXXXX)
trap 'rm -rf "$SOFTUD_STAT_DIR"' EXIT

one() {  # one LABEL RX_CMD... :: TX_CMD...
    local label=$1; shift
    local rx=() tx=()
    while [ "$1" != :: ]; do rx+=("$1"); shift; done
    shift
    tx=("$@")
    "${rx[@]}" >"$SOFTUD_STAT_DIR/rx.out" &
    local rxpid=$!
    sleep 0.5
    timeout $((secs + 10)) "${tx[@]}" >"$SOFTUD_STAT_DIR/tx.out"
    wait $rxpid
    printf '%-8s %s | %s\n' "$label" "$(cat "$SOFTUD_STAT_DIR/tx.out")" "$(cat "$SOFTUD_STAT_DIR/rx.out")"
}

for round in 1 2 3; do
    one "udp#$round" timeout $((secs + 10)) "$bench" udp-rx 127.0.20.2 4800 $((secs + 1)) :: \
        "$bench" udp-tx 127.0.20.3 127.0.20.2 4800 "$secs"
    one "softud#$round" timeout $((secs + 10)) "$run" --dev sa=127.0.20.2 -- "$bench" verbs-rx sa $((secs + 1)) :: \
        "$run" --dev sb=127.0.20.3 -- "$bench" verbs-tx sb 127.0.20.2 "$secs"
    "$build/lib/softud/softud-stat" sa | grep -E 'rx_packets|drop_no_recv|recvmmsg_calls' | tr -s ' ' | tr '\n' ' '
    echo
done
