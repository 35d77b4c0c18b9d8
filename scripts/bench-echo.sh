#!/usr/bin/env bash
# Benchmark (not a test): echo round-trip time against the device's own floor, and echo
# throughput against the number of server threads, on softud devices in one run.
#   1. perftest's ib_send_lat -c UD between two softud devices (the verbs floor);
#   2. rdmaud-echo, window 1 (one request in flight: a pure RTT), same devices' addresses;
#   3. rdmaud-echo, window 32: throughput of one server thread and one client thread.
# Prints a markdown table; doc/perf.md quotes it with this command.
# Usage: scripts/bench-echo.sh [SECONDS per echo run, default 5]
set -euo pipefail
RDMAUD_SCRIPT=bench-echo
. "$(dirname "$0")/lib.sh"
secs=${1:-5}
SR=$RDMAUD_BUILD/lib/softud/softud-run
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
[ -x "$SR" ] && [ -x "$ECHO" ] || die "build first (scripts/setup.sh)"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
S=127.0.30.1 C=127.0.30.2 QPN=0x11
SMAC=02:00:00:30:00:01 CMAC=02:00:00:30:00:02

# 1. ib_send_lat: server then client; t_typical is half a round trip (perftest's convention).
timeout 60 "$SR" --quiet --stat-dir "$work" --dev "softud0=$S" -- ib_send_lat -c UD -d softud0 -x 0 -n 4000 \
    >"$work/lat_s.log" 2>&1 & pids+=($!)
sleep 1
timeout 60 "$SR" --quiet --stat-dir "$work" --dev "softud1=$C" -- ib_send_lat -c UD -d softud1 -x 0 -n 4000 "$S" \
    >"$work/lat_c.log" 2>&1
wait "${pids[-1]}" || true
lat=$(awk '/^ *[0-9]+ +4000 /{print $5}' "$work/lat_c.log")
[ -n "$lat" ] || { cat "$work/lat_c.log"; die "ib_send_lat printed no result"; }

run_echo() { # server_threads window -> ECHO-SUMMARY json of the client
    local st=$1 win=$2 lc="0,1" i
    for ((i = 2; i <= st; i++)); do lc+=",$i@$((i % $(nproc)))"; done
    timeout -s INT 60 "$SR" --stat-dir "$work" --dev "softud0=$S" -- "$ECHO" --lcores "0@0,1@1${lc#0,1}" \
        --no-pci --no-huge -m 512 -d "$RDMAUD_BUILD/drivers/librte_net_rdmaud.so" --file-prefix="be-s$$" \
        --vdev="net_rdmaud0,dev=softud0,mac=$SMAC,peers=$CMAC@$C/$QPN" -- \
        --mode server --duration $((secs + 4)) --quiet >"$work/s.log" 2>&1 & pids+=($!)
    sleep 2
    timeout -s INT 60 "$SR" --stat-dir "$work" --dev "softud1=$C" -- "$ECHO" -l 0,1 --main-lcore 1 \
        --no-pci --no-huge -m 512 -d "$RDMAUD_BUILD/drivers/librte_net_rdmaud.so" --file-prefix="be-c$$" \
        --vdev="net_rdmaud0,dev=softud1,mac=$CMAC,peers=$SMAC@$S/$QPN" -- \
        --mode client --server "$SMAC" --window "$win" --duration "$secs" --quiet >"$work/c.log" 2>&1
    wait "${pids[-1]}" || true
    grep '^ECHO-SUMMARY' "$work/c.log" | cut -d' ' -f2-
}
rtt=$(run_echo 1 1)
t1=$(run_echo 1 32)
/usr/bin/python3 - "$lat" "$rtt" "$t1" <<'PY'
import json, sys
lat = float(sys.argv[1])
rtt, t1 = (json.loads(a) for a in sys.argv[2:4])
floor = 2 * lat
p50 = rtt["rtt_us"]["p50"]
print("| measure | value |")
print("|---|---|")
print(f"| ib_send_lat -c UD t_typical (half round trip) | {lat:.2f} us |")
print(f"| device round-trip floor (2 x t_typical) | {floor:.2f} us |")
print(f"| echo RTT, window 1: p50 / p99 / max | {p50:.2f} / {rtt['rtt_us']['p99']:.2f} / {rtt['rtt_us']['max']:.2f} us |")
print(f"| echo p50 / device floor | {p50 / floor:.2f}x (target <= 1.2x) |")
print(f"| echo Mpps, window 32, 1 server thread | {t1['mpps']:.3f} (lost {t1['lost']}) |")
PY
