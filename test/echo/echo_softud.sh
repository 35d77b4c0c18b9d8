#!/usr/bin/env bash
# rdmaud-echo over net_rdmaud on softud: one server and two client processes, each with
# its own softud device on a loopback address, peers given statically (devargs `peers`).
# Checks every client is answered, nothing is lost or unaccounted, and the server
# answered exactly what the clients sent.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/echo/echo_lib.sh"
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
SOFTUD_RUN=$RDMAUD_BUILD/lib/softud/softud-run
[ -x "$SOFTUD_RUN" ] || skip "softud is not built"

QPN=0x11   # softud numbers a process's QPs from 0x11: each port's queue 0
S=127.0.22.1 C1=127.0.22.2 C2=127.0.22.3
SMAC=02:00:00:22:00:01 C1MAC=02:00:00:22:00:02 C2MAC=02:00:00:22:00:03
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    cleanup_test
}
trap cleanup EXIT

run_echo() { # name addr mac peers main-lcore args...
    local name=$1 addr=$2 mac=$3 peers=$4 main=$5
    shift 5
    timeout -s INT -k 5 60 "$SOFTUD_RUN" --stat-dir "$TEST_TMP" --dev "softud0=$addr" -- \
        "$ECHO" -l 0,1 --main-lcore "$main" --no-pci --no-huge -m 256 -d "$RDMAUD_PMD" \
        --file-prefix="$TEST_PREFIX-$name" --vdev="net_rdmaud0,dev=softud0,mac=$mac,peers=$peers" \
        -- --idle-yield "$@" >"$TEST_TMP/$name.log" 2>&1
}
run_echo server $S $SMAC "$C1MAC@$C1/$QPN;$C2MAC@$C2/$QPN" 0 --mode server --duration 8 --quiet & pids+=($!)
echo_wait_started "$TEST_TMP/server.log"
run_echo c1 $C1 $C1MAC "$SMAC@$S/$QPN" 1 --mode client --client-id 1 --duration 3 --server $SMAC & pids+=($!)
run_echo c2 $C2 $C2MAC "$SMAC@$S/$QPN" 1 --mode client --client-id 2 --duration 3 --server $SMAC & pids+=($!)
for p in "${pids[@]}"; do rc=0; wait "$p" || rc=$?; [ $rc -eq 0 ] || { cat "$TEST_TMP"/*.log; fail "an echo process (pid $p) failed with status $rc"; }; done
pids=()
grep -hv '^EAL' "$TEST_TMP"/server.log "$TEST_TMP"/c1.log "$TEST_TMP"/c2.log

/usr/bin/python3 "$RDMAUD_TOP/test/echo/check_summary.py" "$TEST_TMP" server c1 c2
