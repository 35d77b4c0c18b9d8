#!/usr/bin/env bash
# rdmaud-echo end to end on a plain Ethernet port (DPDK's net_af_packet): one server
# and two client "machines", each on its own veth port of a bridge inside a network
# namespace this test creates and removes. Checks each client is answered, nothing
# is lost or unaccounted, and the server answered exactly what the clients sent.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/echo/echo_lib.sh"
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
ns=rdmaud-echo-$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    cleanup_test
}
trap cleanup EXIT

ip netns add "$ns" || skip "cannot create network namespaces here"
ip -n "$ns" link add br0 type bridge
ip -n "$ns" link set br0 up
for h in s c1 c2; do
    ip -n "$ns" link add "$h" type veth peer name "$h-br"
    ip -n "$ns" link set "$h-br" master br0
    ip -n "$ns" link set "$h-br" up
    ip -n "$ns" link set "$h" up
done
smac=$(ip -n "$ns" -br link show s | awk '{print $3}')

run_echo() { # name lcores iface args...
    local name=$1 lcores=$2 iface=$3
    shift 3
    ip netns exec "$ns" timeout -s INT -k 5 60 "$ECHO" -l "$lcores" --no-pci --no-huge -m 256 \
        --file-prefix="$TEST_PREFIX-$name" --vdev="net_af_packet0,iface=$iface" -- "$@" \
        >"$TEST_TMP/$name.log" 2>&1
}
run_echo server 0,1 s --mode server --duration 9 --quiet & pids+=($!)
echo_wait_started "$TEST_TMP/server.log"
run_echo c1 1,0 c1 --mode client --client-id 1 --duration 3 --server "$smac" & pids+=($!)
run_echo c2 1,0 c2 --mode client --client-id 2 --duration 3 --server "$smac" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || { cat "$TEST_TMP"/*.log; fail "an echo process failed"; }; done
pids=()
cat "$TEST_TMP"/server.log "$TEST_TMP"/c1.log "$TEST_TMP"/c2.log | grep -v '^EAL'

/usr/bin/python3 "$RDMAUD_TOP/test/echo/check_summary.py" "$TEST_TMP" server c1 c2
