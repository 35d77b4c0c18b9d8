#!/usr/bin/env bash
# dpdk-testpmd loads librte_net_rdmaud.so, probes net_rdmaud0 on a softud device
# (devargs applied), shows the port, and shuts down cleanly.
# Argument: huge | nohuge (EAL memory mode).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
mode=${1:?usage: testpmd_probe.sh huge|nohuge}
softud_available
[ "$mode" = huge ] && ensure_hugepages 256

mac=02:aa:bb:cc:dd:01
log=$TEST_TMP/testpmd.log
rc=0
run_testpmd_on softud0=127.0.0.2 "$log" 'show port info 0\nquit\n' \
    $(eal_mem_args "$mode") --vdev="net_rdmaud0,dev=softud0,mac=$mac,qkey=0x2222" \
    -- -i --disable-device-start --total-num-mbufs=2048 || rc=$?
cat "$log"
[ $rc -eq 0 ] || fail "dpdk-testpmd exited with $rc"
grep -q "net_rdmaud0: probed as port 0" "$log" || fail "the PMD did not report its probe"
grep -Eq "net_rdmaud0: port 0 on softud0 port 1, RoCE v2 gid ::ffff:127.0.0.2 \(index [0-9]+\), qpn 0x[0-9a-f]+, qkey 0x2222" "$log" ||
    fail "the PMD did not report its verbs address"
grep -q "Driver name: net_rdmaud" "$log" || fail "testpmd does not show port 0 as net_rdmaud"
grep -qi "MAC address: ${mac}" "$log" || fail "port 0 does not carry the MAC given in devargs ($mac)"
grep -q "Port 0 is closed" "$log" || fail "port 0 was not closed at exit"
grep -q "Bye" "$log" || fail "testpmd did not shut down cleanly"
if [ "$mode" = huge ]; then
    grep -q "IOVA mode 'PA'\|IOVA mode 'VA'" "$log" || fail "EAL did not report its IOVA mode"
    ! grep -q "no-huge\|No free 2048 kB hugepages" "$log" || fail "EAL did not use hugepages"
fi
pass "testpmd probed and closed net_rdmaud0 on softud ($mode)"
