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
cmds='show port info 0\nport config mtu 0 1900\nport start 0\nshow port info 0\n'
cmds+='port config mtu 0 3000\nport config mtu 0 5000\nshow port info 0\nquit\n'
run_testpmd_on softud0=127.0.0.2 "$log" "$cmds" \
    $(eal_mem_args "$mode") --vdev="net_rdmaud0,dev=softud0,mac=$mac,qkey=0x2222" \
    -- -i --disable-device-start --total-num-mbufs=2048 || rc=$?
cat "$log"
[ $rc -eq 0 ] || fail "dpdk-testpmd exited with $rc"
grep -q "net_rdmaud0: probed as port 0" "$log" || fail "the PMD did not report its probe"
grep -Eq "net_rdmaud0: port 0 on softud0 port 1, RoCE v2 gid ::ffff:127.0.0.2 \(index [0-9]+\), qpn 0x[0-9a-f]+, qkey 0x2222" "$log" ||
    fail "the PMD did not report its verbs address"
grep -q "Driver name: net_rdmaud" "$log" || fail "testpmd does not show port 0 as net_rdmaud"
grep -qi "MAC address: ${mac}" "$log" || fail "port 0 does not carry the MAC given in devargs ($mac)"
grep -q "Maximum configurable length of RX packet: 4096" "$log" || fail "max frame does not follow the port MTU (4096)"
grep -q "Link status: down" "$log" || fail "link not down before start"
grep -A1 "Link status: down" "$log" | grep -q "Link speed: None" || fail "a down link reports a speed"
grep -q "Link status: up" "$log" || fail "link not up after start"
grep -q "Link speed: 100 Gbps" "$log" || fail "link speed not taken from the verbs port (softud: 4X EDR)"
grep -q "MTU: 1900" "$log" || fail "MTU 1900 not applied"
grep -q "MTU 3000 needs 3014-byte frames; rxq 0 receives at most 2048 (1 mbuf(s) of mempool mb_pool_0)" "$log" ||
    fail "MTU 3000 accepted with 2048-byte rx buffers"
grep -q "Set MTU failed" "$log" || fail "MTU 3000 not refused"
grep -q "device max MTU (4082)" "$log" || fail "max MTU is not the port MTU (4096) minus the Ethernet header"
grep -q "Promiscuous mode: enabled" "$log" || fail "promiscuous mode not accepted"
grep -q "Port 0 is closed" "$log" || fail "port 0 was not closed at exit"
grep -q "Bye" "$log" || fail "testpmd did not shut down cleanly"
if [ "$mode" = huge ]; then
    grep -q "IOVA mode 'PA'\|IOVA mode 'VA'" "$log" || fail "EAL did not report its IOVA mode"
    ! grep -q "no-huge\|No free 2048 kB hugepages" "$log" || fail "EAL did not use hugepages"
fi
pass "testpmd probed and closed net_rdmaud0 on softud ($mode)"
