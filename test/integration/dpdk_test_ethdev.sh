#!/usr/bin/env bash
# DPDK's own autotests that exercise a generic ethdev port, run by Debian's dpdk-test with
# net_rdmaud on softud as port 0 (each in a private network namespace):
#   event_eth_rx_adapter_autotest       10 cases: Rx adapter queue add/del, start/stop, stats,
#                                       queue conf on the port (event_skeleton event device)
#   event_eth_rx_intr_adapter_autotest  2 cases: the adapter in interrupt mode, the port started
#                                       with intr_conf.rxq = 1: every queue's rx vector added to
#                                       and removed from the adapter's epoll set
# The tests size their mbuf pool from the port count (8192 x 64 mbufs: ~2.2 GB without
# hugepages); the test skips when less memory is available.
. "$(dirname "$0")/lib.sh"
command -v dpdk-test >/dev/null || skip "dpdk-test is not installed"
[ -x "$RDMAUD_BUILD/lib/softud/softud-run" ] || skip "softud is not built in $RDMAUD_BUILD"
avail_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
[ "$avail_mb" -ge 4096 ] || skip "dpdk-test's pools need ~2.6 GB; only $avail_mb MB available"
for t in event_eth_rx_adapter_autotest event_eth_rx_intr_adapter_autotest; do
    log=$TEST_TMP/$t.log
    rc=0
    DPDK_TEST=$t timeout -k 10 120 unshare -n -- bash -c 'ip link set lo up && exec "$@"' _ \
        "$RDMAUD_BUILD/lib/softud/softud-run" --quiet --dev softud0=127.0.0.2 -- \
        dpdk-test -d "$RDMAUD_PMD" --no-huge -m 2600 --no-pci -l 0,1 --no-telemetry \
        --file-prefix="$TEST_PREFIX$t" --vdev=net_rdmaud0,dev=softud0 >"$log" 2>&1 || rc=$?
    grep -E "Port 0 MAC|Tests (Executed|Passed|Failed)" "$log" || true
    grep -q "Port 0 MAC: 02 00 02 00 00 11" "$log" || { cat "$log"; fail "$t did not set up net_rdmaud's port"; }
    grep -q "Tests Failed :       0" "$log" && grep -q "^Test OK" "$log" && [ "$rc" = 0 ] ||
        { cat "$log"; fail "$t failed (rc $rc)"; }
    echo "ok: $t"
done
pass "DPDK ethdev autotests on net_rdmaud over softud"
