#!/usr/bin/env bash
# dpdk-testpmd over Linux's rxe with rdma-core's libibverbs (run inside the rxe VM by
# test/rxe/run.sh; never on the host). Two testpmd processes, A and B:
#   layout one: both ports on rxe0 (one GID, two QPNs: the usual layout on a real NIC)
#   layout two: A on rxe0, B on rxe1, the two rxe devices joined by a veth pair
# Scenarios (SCENARIO [static|registry]):
#   txonly   A sends txonly, B only receives
#   io       A sends a first burst, B forwards it unchanged (to its own MAC: dropped, counted)
#   mac      A sends a first burst, B forwards it back to A (mac), A forwards it (io) to its
#            own MAC: dropped, counted. Needs both directions: registry only.
#   rss      A sends many flows to B's two rx queues (software RSS over B's queues)
#   bcast    A sends broadcast; with the registry, to every member
#   oversize A sends frames of the port's max frame (the RoCE path MTU: 1024 on a 1500-byte
#            netdev), all received, then one byte more: each dropped and counted by A's PMD,
#            none put on the wire
# Static peers name the peer's queue 0 QPN, read from B's probe line; the registry resolves
# both ways. Every frame A's port took is received by B or counted in a named drop counter.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/integration/testpmd_common.sh"
scenario=${1:?usage: testpmd_rxe.sh SCENARIO [static|registry]}
peering=${2:-registry}
[ -e /sys/class/infiniband/rxe0 ] || skip "no rxe0 here: run through test/rxe/run.sh (inside the rxe VM)"
# EAL under software emulation takes 10-20 s to come up.
TP_START_WAIT=90
TP_TIMEOUT=240
rxe_counter() { cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"; }

dev_a=rxe0 dev_b=rxe0
[ "${RXE_LAYOUT:-one}" = two ] && dev_b=rxe1
MAC_A=02:00:00:00:0a:0a MAC_B=02:00:00:00:0b:0b
common=(-l 0,1 --no-huge -m 512 --log-level=pmd.net.rdmaud:info)
pmd_args=(-- -i --total-num-mbufs=8192 --rxd=512 --txd=512)

reg_a='' reg_b=''
if [ "$peering" = registry ]; then
    command -v memcached > /dev/null || skip "memcached is not installed"
    read -r mc_port mc_wrap mc_pid < <(bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" start) ||
        fail "memcached did not start"
    trap 'bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" stop $mc_wrap $mc_pid; tp_cleanup' EXIT
    reg_a=",registry=127.0.0.1:$mc_port,ns=rxe$$,name=a"
    reg_b=",registry=127.0.0.1:$mc_port,ns=rxe$$,name=b"
fi
b_queues=1
[ "$scenario" = rss ] && b_queues=2

mac_b=",mac=$MAC_B"
[ "${RXE_DERIVED_MAC:-0}" = 1 ] && mac_b=''
tp_start B none "${common[@]}" --main-lcore 1 \
    --vdev="net_rdmaud0,dev=$dev_b$mac_b$reg_b" "${pmd_args[@]}" --rxq=$b_queues --txq=$b_queues \
    --eth-peer=0,$MAC_A
qpn_b=$(grep -oE 'qpn 0x[0-9a-f]+' "${TP_LOG[B]}" | head -1 | cut -d' ' -f2)
gid_b=$(grep -oE 'gid [0-9a-f:.]+' "${TP_LOG[B]}" | head -1 | cut -d' ' -f2)
[ -n "$mac_b" ] || MAC_B=$(grep -oE 'mac [0-9a-f:]{17}' "${TP_LOG[B]}" | head -1 | cut -d' ' -f2)
[ -n "$qpn_b" ] || { cat "${TP_LOG[B]}"; fail "B's probe line names no QPN"; }
peer_a=''
if [ "$peering" = static ]; then
    addr_b=198.18.0.1
    [ "$dev_b" = rxe1 ] && addr_b=198.18.0.2
    peer_a=",peers=$MAC_B@$addr_b/$qpn_b"
fi
a_flows=()
[ "$scenario" = rss ] && a_flows=(--txonly-multi-flow)
tp_start A none "${common[@]}" --main-lcore 0 \
    --vdev="net_rdmaud0,dev=$dev_a,mac=$MAC_A$reg_a$peer_a" "${pmd_args[@]}" \
    --eth-peer=0,$MAC_B ${a_flows[@]+"${a_flows[@]}"}
echo "B: qpn $qpn_b gid $gid_b; A: $(grep -oE 'qpn 0x[0-9a-f]+' "${TP_LOG[A]}" | head -1)"
[ "$peering" = registry ] && tp_resolve_through_registry A

a_mode=io b_mode=rxonly bursts=0
case $scenario in
txonly | rss) a_mode=txonly ;;
io) b_mode=io bursts=4 ;;
mac)
    [ "$peering" = registry ] || fail "mac needs both directions: registry only"
    b_mode=mac bursts=4 ;;
bcast) a_mode=txonly; tp_run A "set eth-peer 0 ff:ff:ff:ff:ff:ff" ;;
oversize)
    bursts=4
    max_a=$(grep -oE 'max frame [0-9]+' "${TP_LOG[A]}" | head -1 | grep -oE '[0-9]+$')
    [ -n "$max_a" ] || fail "A's probe line names no max frame"
    active_mtu=$(ibv_devinfo -d "$dev_a" | awk '/active_mtu/ {print $2}')
    expect_eq "A's max frame (the device's active path MTU)" "$max_a" "$active_mtu"
    tp_run A "set txpkts $max_a" ;;
*) fail "unknown scenario $scenario" ;;
esac
# The frames sent while resolving (tp_resolve_through_registry) wait in B's queue: B takes
# them (rxonly), then every counter is cleared so the ledger below counts this run only.
if [ "$peering" = registry ]; then
    tp_run B "set fwd rxonly"
    tp_run B "start"
    sleep 1
    tp_run B "stop"
fi
tp_run A "clear port stats all"
tp_run A "clear port xstats all"
tp_run B "clear port stats all"
tp_run B "clear port xstats all"
sleep 1 # what the resolution bursts put in flight has arrived
rcvd0=$(rxe_counter "$dev_b" rcvd_pkts) recvs0=$(rxe_counter "$dev_b" rdma_recvs)
tp_run B "set fwd $b_mode"
tp_run B "start"
tp_run A "set fwd $a_mode"
if [ "$a_mode" = txonly ]; then
    tp_run A "start"
    sleep 4
else
    tp_run A "start tx_first $bursts"
    sleep 4
fi
if [ "$scenario" = oversize ]; then
    tp_run A "stop"
    wire0=$(cat /sys/class/net/v0/statistics/tx_packets)
    tp_run A "set txpkts $((max_a + 1))"
    tp_run A "start tx_first $bursts"
    sleep 2
    wire1=$(cat /sys/class/net/v0/statistics/tx_packets)
fi
tp_run A "stop"
sleep 2 # B drains what is in flight
tp_run B "stop"
tp_snapshot A
tp_snapshot B
# What B's device took off the wire without a receive posted for it: rxe drops a UD message
# that finds its receive queue empty, counted only as a packet received (rcvd_pkts) with no
# receive completion (rdma_recvs). One device (layout one): A sends nothing to itself.
b_nowqe=$(( ($(rxe_counter "$dev_b" rcvd_pkts) - rcvd0) - ($(rxe_counter "$dev_b" rdma_recvs) - recvs0) ))
a_tx=$(tp_stat A TX-packets) a_rx=$(tp_stat A RX-packets)
b_tx=$(tp_stat B TX-packets) b_rx=$(tp_stat B RX-packets)
a_unknown=$(tp_stat A tx_drop_unknown_mac) b_unknown=$(tp_stat B tx_drop_unknown_mac)
echo "A: tx $a_tx rx $a_rx unknown-MAC drops $a_unknown | B: tx $b_tx rx $b_rx unknown-MAC drops $b_unknown"
tp_quit A
tp_quit B
frames=$((bursts * 32))

case $scenario in
txonly | rss | bcast)
    [ "$a_tx" -gt 100 ] || fail "A sent only $a_tx frames"
    expect_eq "A tx_drop_unknown_mac" "$a_unknown" 0
    echo "B's device: $b_nowqe messages found no receive posted"
    expect_eq "A's frames = B's receptions + messages B's device found no receive for" "$a_tx" "$((b_rx + b_nowqe))"
    if [ "$scenario" = rss ]; then
        q0=$(grep -A2 "RX Port= 0/Queue= 0" "${TP_LOG[B]}" | grep -oE "RX-packets: +[0-9]+" | tail -1 | grep -oE '[0-9]+$')
        q1=$(grep -A2 "RX Port= 0/Queue= 1" "${TP_LOG[B]}" | grep -oE "RX-packets: +[0-9]+" | tail -1 | grep -oE '[0-9]+$')
        echo "B's queues: ${q0:-0} + ${q1:-0}"
        [ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] || fail "software RSS did not spread A's flows over B's two queues"
    fi
    [ "$scenario" != bcast ] || expect_eq "A tx_bcast_frames" "$(tp_stat A tx_bcast_frames)" "$a_tx" ;;
oversize)
    expect_eq "B RX-packets (frames of the max size)" "$b_rx" "$frames"
    expect_eq "A TX-packets (only those)" "$a_tx" "$frames"
    expect_eq "A tx_drop_oversize (one byte more)" "$(tp_stat A tx_drop_oversize)" "$frames"
    expect_eq "packets on the wire (v0) while A sent oversized frames" "$((wire1 - wire0))" 0 ;;
io)
    expect_eq "B RX-packets" "$b_rx" "$frames"
    expect_eq "B TX-packets" "$b_tx" 0
    expect_eq "B tx_drop_unknown_mac (B's own MAC is no peer)" "$b_unknown" "$frames" ;;
mac)
    expect_eq "B RX-packets" "$b_rx" "$frames"
    expect_eq "B TX-packets" "$b_tx" "$frames"
    expect_eq "A RX-packets" "$a_rx" "$frames"
    expect_eq "A tx_drop_unknown_mac (A's own MAC is no peer)" "$a_unknown" "$frames" ;;
esac
pass "testpmd $scenario over rxe ($peering peers, layout ${RXE_LAYOUT:-one})"
