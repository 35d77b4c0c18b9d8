#!/usr/bin/env bash
# net_rdmaud rx MAC filter, end to end without a registry: two dpdk-testpmd processes on softud.
# A's static peer table sends B's MAC, a foreign unicast MAC F and an extra MAC X all to B's QP;
# A sends bursts of exactly TP_BURST frames (start tx_first 1) to one destination at a time, B
# receives (rxonly). Checks, with exact counts of B's RX-packets and rx_mac_filtered:
#   promiscuous off: B's MAC and broadcast are delivered; F, a multicast group B did not join
#   and X before B adds it are dropped and counted; a joined group (mcast_addr add) and X after
#   mac_addr add are delivered; after mac_addr remove X is dropped again;
#   allmulticast on: every group is delivered; promiscuous on: everything is delivered;
#   A's multicast fan-out sends one copy to B although three of A's peers name B's QP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
. "$(dirname "$0")/testpmd_mac_common.sh"
softud_available
tp_netns

MAC_F=02:00:00:00:00:f0 MAC_X=02:00:00:00:00:b1
G1=01:00:5e:00:00:01 G2=01:00:5e:00:00:02 BCAST=ff:ff:ff:ff:ff:ff
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$TP_MAC_A,peers=$TP_MAC_B@127.0.0.3/0x11;$MAC_F@127.0.0.3/0x11;$MAC_X@127.0.0.3/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --burst="$TP_BURST"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$TP_MAC_B,peers=$TP_MAC_A@127.0.0.2/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512
tp_run A "set fwd rxonly"
tp_run B "set fwd rxonly"
tp_run B "set promisc 0 off"
tp_run B "start"
tp_run B "show rxq info 0 0"
grep -qE "Burst mode: .*MAC filter" "${TP_LOG[B]}" || fail "B's rx burst mode does not name the MAC filter"

N=$TP_BURST rx=0 filt=0
mf_step() { # LABEL DST DELIVERED(1/0)
    mf_send A "$2"
    if [ "$3" = 1 ]; then rx=$((rx + N)); else filt=$((filt + N)); fi
    mf_expect B "$1" "$rx" "$filt"
}
mf_step "promisc off, B's own MAC" "$TP_MAC_B" 1
mf_step "promisc off, foreign unicast MAC" "$MAC_F" 0
mf_step "promisc off, extra MAC not added yet" "$MAC_X" 0
mf_step "promisc off, multicast group not joined" "$G1" 0
tp_run B "mcast_addr add 0 $G1"
mf_step "promisc off, joined multicast group" "$G1" 1
mf_step "promisc off, broadcast" "$BCAST" 1
mf_step "promisc off, another group not joined" "$G2" 0
tp_run B "mac_addr add 0 $MAC_X"
mf_step "promisc off, extra MAC added" "$MAC_X" 1
mf_step "promisc off, foreign MAC still filtered" "$MAC_F" 0
tp_run B "mac_addr remove 0 $MAC_X"
mf_step "promisc off, extra MAC removed" "$MAC_X" 0
tp_run B "set allmulti 0 on"
mf_step "allmulticast on, group not joined" "$G2" 1
mf_step "allmulticast on, foreign unicast still filtered" "$MAC_F" 0
tp_run B "set allmulti 0 off"
tp_run B "mcast_addr remove 0 $G1"
mf_step "group left" "$G1" 0
tp_run B "set promisc 0 on"
mf_step "promisc on, foreign unicast MAC" "$MAC_F" 1
mf_step "promisc on, group not joined" "$G2" 1
tp_run B "show rxq info 0 0"
[ "$(grep -E "Burst mode:" "${TP_LOG[B]}" | tail -1 | grep -c "MAC filter")" = 0 ] ||
    fail "promiscuous B still runs the filtering rx burst"
tp_run B "stop"
tp_quit A
tp_quit B
pass "rx MAC filter: own/extra MACs, broadcast, joined groups, allmulticast and promiscuous mode, exact counts"
