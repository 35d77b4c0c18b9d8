#!/usr/bin/env bash
# Inside the rxe VM: the echo example over net_rdmaud on rxe through the registry. One server
# (rxe0) and two clients (layout one: rxe0 too; layout two: rxe1, across the veth pair), a real
# memcached; the clients look the server up by name. Every request is answered, none lost.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/echo/echo_lib.sh"
[ -e /sys/class/infiniband/rxe0 ] || skip "no rxe0 here: run through test/rxe/run.sh (inside the rxe VM)"
command -v memcached > /dev/null || skip "memcached is not installed"
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
[ -x "$ECHO" ] || skip "rdmaud-echo is not built"
dev_c=rxe0
[ "${RXE_LAYOUT:-one}" = two ] && dev_c=rxe1

pids=()
read -r mc_port mc_wrap mc_pid < <(bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" start) ||
    fail "memcached did not start"
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2> /dev/null || true; done
    bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" stop "$mc_wrap" "$mc_pid"
    cleanup_test
}
trap cleanup EXIT
REG="registry=127.0.0.1:$mc_port,ns=echo$$"

run_echo() { # name device main-lcore duration args...
    local name=$1 dev=$2 main=$3 duration=$4
    shift 4
    timeout -s INT -k 5 $((duration + 120)) "$ECHO" -l 0,1 --main-lcore "$main" --no-pci --no-huge -m 256 \
        -d "$RDMAUD_PMD" --file-prefix="$TEST_PREFIX-$name" \
        --vdev="net_rdmaud0,dev=$dev,$REG,name=$name" \
        -- --idle-yield --duration "$duration" "$@" > "$TEST_TMP/$name.log" 2>&1
}
run_echo server rxe0 0 40 --mode server --quiet & pids+=($!)
# EAL comes up slowly under emulation: the server's port must be up before the clients start.
for i in $(seq 600); do grep -q '^placement' "$TEST_TMP/server.log" 2> /dev/null && break; sleep 0.1; done
echo_wait_started "$TEST_TMP/server.log"
run_echo c1 "$dev_c" 1 6 --mode client --client-id 1 --server-name server --registry "127.0.0.1:$mc_port" --ns "echo$$" & pids+=($!)
run_echo c2 "$dev_c" 1 6 --mode client --client-id 2 --server-name server --registry "127.0.0.1:$mc_port" --ns "echo$$" & pids+=($!)
for p in "${pids[@]}"; do
    rc=0
    wait "$p" || rc=$?
    [ $rc -eq 0 ] || { tail -n 30 "$TEST_TMP"/*.log; fail "an echo process (pid $p) failed with status $rc"; }
done
pids=()
grep -hv '^EAL' "$TEST_TMP"/server.log "$TEST_TMP"/c1.log "$TEST_TMP"/c2.log | grep -v '^$' | tail -n 20
/usr/bin/python3 "$RDMAUD_TOP/test/echo/check_summary.py" --counted-drops "$TEST_TMP" server c1 c2
