#!/usr/bin/env bash
# net_rdmaud with the registry, end to end: two dpdk-testpmd processes on softud with no
# static peers, a real memcached, both ports publishing themselves. A sends txonly with many
# flows (--txonly-multi-flow) to B's MAC; B has two rx queues.
# Checks: A resolves B through memcached (registry_resolved >= 1) and traffic flows; software
# RSS spreads A's flows over both of B's queues; every frame A's port took is received by B or
# counted as an unknown-MAC drop (the ones sent before the resolution completed) or a drop of
# B's device.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v memcached >/dev/null || skip "memcached is not installed"
tp_netns
trap 'tp_memcached_stop; tp_cleanup' EXIT

port=11211 # a fresh network namespace: nothing else listens there
tp_memcached_start "$port"

MAC_A=02:00:00:00:00:1a MAC_B=02:00:00:00:00:1b
REG="registry=127.0.0.1:$port,ns=regtest"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" \
    -- -i --total-num-mbufs=8192 --rxq=2 --txq=2 --rxd=1024 --txd=512
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --eth-peer=0,$MAC_B --txonly-multi-flow
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 3
tp_run A "stop"
sleep 1
tp_run B "stop"
tp_snapshot A
tp_snapshot B
a_tx=$(tp_stat A TX-packets)
b_rx=$(tp_stat B RX-packets)
a_unknown=$(tp_stat A tx_drop_unknown_mac)
a_resolved=$(tp_stat A registry_resolved)
# Frames B's device dropped before the PMD saw them: its shared-memory ring stayed full past the
# sender's pause (a slow receiver, e.g. in a sanitizer build), or no receive was posted.
b_dev_drops=$(softud_drops softud1)
q0=$(grep -A2 "RX Port= 0/Queue= 0" "${TP_LOG[B]}" | grep -oE "RX-packets: +[0-9]+" | tail -1 | grep -oE '[0-9]+$')
q1=$(grep -A2 "RX Port= 0/Queue= 1" "${TP_LOG[B]}" | grep -oE "RX-packets: +[0-9]+" | tail -1 | grep -oE '[0-9]+$')
echo "A: tx $a_tx (unknown-MAC drops $a_unknown, peers resolved $a_resolved) | B: rx $b_rx (queue 0: ${q0:-0}, queue 1: ${q1:-0}), device drops $b_dev_drops"
tp_quit A
tp_quit B

[ "$a_resolved" -ge 1 ] || fail "A never resolved B through the registry"
[ "$b_rx" -gt 0 ] || fail "B received nothing"
expect_eq "A's frames = B's receptions + A's unknown-MAC drops + B's device drops" "$a_tx" \
    "$((b_rx + a_unknown + b_dev_drops))"
[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] || fail "software RSS did not spread A's flows over B's two queues"
expect_eq "B's queues add up" "$((q0 + q1))" "$b_rx"
pass "registry resolution, software RSS and frame accounting"
