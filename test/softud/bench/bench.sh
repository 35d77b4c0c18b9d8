#!/usr/bin/env bash
# Benchmark (not a test): 64-byte UD SEND messages/s between two processes over softud on its
# same-host shared-memory path and on its UDP path (SOFTUD_SHM=0), against a plain UDP
# sendmmsg/recvmmsg pair, in the same run. Results go in doc/perf-softud.md.
#   test/softud/bench/bench.sh [SECONDS] [ROUNDS]   (RDMAUD_BUILD defaults to build/)
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${RDMAUD_BUILD:-$top/build}
secs=${1:-5}
rounds=${2:-3}
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

stat() {  # stat DEV: the receiver's counters that show the path and the losses
    "$build/lib/softud/softud-stat" "$1" |
        grep -E '^ *(rx_packets|drop_no_recv|drop_overflow|recvmmsg_calls|shm_rx_batches) ' |
        tr -s ' ' | tr '\n' ' '
    echo
}

for round in $(seq "$rounds"); do
    one "udp#$round" timeout $((secs + 10)) "$bench" udp-rx 127.0.20.2 4800 $((secs + 1)) :: \
        "$bench" udp-tx 127.0.20.3 127.0.20.2 4800 "$secs"
    SOFTUD_SHM=0 one "sd-udp#$round" timeout $((secs + 10)) "$run" --dev sa=127.0.20.2 -- "$bench" verbs-rx sa $((secs + 1)) :: \
        "$run" --dev sb=127.0.20.3 -- "$bench" verbs-tx sb 127.0.20.2 "$secs"
    stat sa
    SOFTUD_SHM=1 one "sd-shm#$round" timeout $((secs + 10)) "$run" --dev sa=127.0.20.2 -- "$bench" verbs-rx sa $((secs + 1)) :: \
        "$run" --dev sb=127.0.20.3 -- "$bench" verbs-tx sb 127.0.20.2 "$secs"
    stat sa
done
