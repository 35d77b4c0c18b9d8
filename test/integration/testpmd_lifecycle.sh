#!/usr/bin/env bash
# net_rdmaud lifecycle under traffic, with dpdk-testpmd over softud.
#   unplug: A sends txonly to B; B, under that traffic, stops, closes and detaches its port
#     (rte_dev_remove: "device detach"). Checks: no crash, the port is gone and B holds exactly
#     the file descriptors it held before (compared after a second attach/detach cycle); a port
#     attached again ("port attach": a new QP, QPN 0x12, so peers naming 0x11 statically must
#     be updated) sends to A, every frame accounted for.
#   race: two processes (B1, B2) start at the same time on the same softud device (one
#     address) and registry namespace, same MAC and name. Checks: exactly one probes the port;
#     the other reports the conflict ("in use by another process"), has no port, published
#     nothing and holds the same file descriptors as a testpmd started without the vdev; the
#     winner receives A's traffic through the registry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
scenario=${1:?usage: testpmd_lifecycle.sh unplug|race}
softud_available
tp_netns
rx_now() { tp_run "$1" "show port stats 0"; tp_stat "$1" RX-packets; }

# detach NAME: stop forwarding, stop/close/detach port 0 (waits for testpmd's answer).
detach() {
    local before none
    before=$(tp_count "$1" "Device net_rdmaud0 is detached")
    none=$(tp_count "$1" "Number of available ports: 0")
    tp_cmd "$1" "stop"
    tp_cmd "$1" "port stop 0"
    tp_cmd "$1" "port close 0"
    tp_cmd "$1" "device detach net_rdmaud0"
    tp_wait_more "$1" "Device net_rdmaud0 is detached" "$before" 10
    tp_cmd "$1" "show port summary all"
    tp_wait_more "$1" "Number of available ports: 0" "$none" 5
}
# attach NAME DEV MAC PEERS: attach and start port 0 again.
attach() {
    local before
    before=$(tp_count "$1" "Port 0 is attached")
    tp_cmd "$1" "port attach net_rdmaud0,dev=$2,mac=$3,peers=$4"
    tp_wait_more "$1" "Port 0 is attached" "$before" 10
    tp_run "$1" "port start 0"
}

case $scenario in
unplug)
    tp_static_pair
    tp_run B "set fwd rxonly"
    tp_run B "start"
    tp_run A "set fwd txonly"
    tp_run A "start"
    sleep 1
    r=$(rx_now B)
    [ "$r" -gt 1000 ] || fail "B received only $r frames before the unplug"
    detach B # under A's traffic
    sleep 0.5
    fds1=$(tp_fd_kinds B)
    grep -q "net_rdmaud0 is detached" "${TP_LOG[B]}" || fail "no detach"
    # Attach again: a new QP (QPN 0x12); B sends to A, which now only receives.
    tp_run A "stop"
    tp_run A "set fwd rxonly"
    tp_run A "start"
    attach B softud1 "$TP_MAC_B" "$TP_MAC_A@127.0.0.2/0x11"
    grep -q "qpn 0x12," "${TP_LOG[B]}" || fail "the attached port is not QP 0x12"
    tp_run B "set fwd txonly"
    tp_run B "start"
    sleep 1
    tp_run B "stop"
    softud_wait_ledger softud1 softud0
    tp_run A "stop"
    tp_snapshot A
    tp_snapshot B
    b_tx=$(tp_stat B TX-packets) a_rx=$(tp_stat A RX-packets) a_nombuf=$(tp_stat A RX-nombuf)
    sd_b_tx=$(softud_counter softud1 tx_packets) sd_a_rx=$(softud_counter softud0 rx_packets)
    sd_a_drops=$(softud_drops softud0)
    echo "after the re-attach: B port TX-packets $b_tx, softud1 sent $sd_b_tx |" \
         "softud0 delivered $sd_a_rx, dropped $sd_a_drops |" \
         "A port RX-packets $a_rx, RX-nombuf $a_nombuf"
    [ "$b_tx" -gt 1000 ] || fail "the re-attached port sent only $b_tx frames"
    expect_eq "B's port TX-packets = datagrams softud1 sent" "$sd_b_tx" "$b_tx"
    expect_eq "softud0 delivered or dropped every one" "$((sd_a_rx + sd_a_drops))" "$sd_b_tx"
    expect_eq "A's port received every delivery" "$((a_rx + a_nombuf))" "$sd_a_rx"
    # A second detach: B holds what it held after the first (nothing leaked by a cycle).
    tp_run A "set fwd txonly"
    tp_run A "start" # traffic again while B detaches
    detach B
    sleep 0.5
    fds2=$(tp_fd_kinds B)
    echo "B's file descriptors after the first detach:"; echo "$fds1"
    [ "$fds1" = "$fds2" ] || { echo "after the second:"; echo "$fds2"; fail "B's descriptors changed across an attach/detach cycle"; }
    tp_run A "stop"
    tp_quit A
    tp_quit B
    pass "hot-unplug under traffic: detached, nothing leaked, re-attached port works, frames accounted for"
    ;;
race)
    command -v memcached >/dev/null || skip "memcached is not installed"
    trap 'tp_memcached_stop; tp_cleanup' EXIT
    tp_memcached_start 11211
    REG="registry=127.0.0.1:11211,ns=race"
    MAC_B=02:00:00:00:00:3b
    # A reference testpmd without any port: what a process holds with no net_rdmaud.
    tp_start REF none -l 0,1 --main-lcore 0 --no-huge -m 512 -- -i --total-num-mbufs=8192
    tp_launch B1 softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" -- -i --total-num-mbufs=8192 --rxd=1024
    tp_launch B2 softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" -- -i --total-num-mbufs=8192 --rxd=1024
    tp_wait B1 "testpmd> " 30
    tp_wait B2 "testpmd> " 30
    won=() lost=()
    for n in B1 B2; do
        if grep -q "probed as port 0" "${TP_LOG[$n]}"; then won+=("$n"); else lost+=("$n"); fi
    done
    [ ${#won[@]} = 1 ] || fail "${#won[@]} processes probed the port (expected exactly one)"
    W=${won[0]} L=${lost[0]}
    echo "winner $W; the loser's report:"
    grep "net_rdmaud" "${TP_LOG[$L]}"
    grep -q "is in use by another process" "${TP_LOG[$L]}" || fail "the loser's error does not name the conflict"
    grep -q "No probed ethernet devices" "${TP_LOG[$L]}" || fail "the loser has a port"
    grep -q "resolving through registry" "${TP_LOG[$L]}" && fail "the loser connected to the registry"
    ref=$(tp_fd_kinds REF) fdl=$(tp_fd_kinds "$L")
    echo "file descriptors of a testpmd without the vdev:"; echo "$ref"
    [ "$ref" = "$fdl" ] || { echo "the loser's:"; echo "$fdl"; fail "the loser holds other descriptors than a testpmd without the vdev"; }
    tp_quit "$L"
    tp_quit REF
    # The winner works: A resolves B's MAC through the registry and B receives.
    tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=softud0,mac=02:00:00:00:00:3a,$REG,name=a" \
        -- -i --total-num-mbufs=8192 --txd=512 --eth-peer=0,$MAC_B
    tp_run "$W" "set fwd rxonly"
    tp_run "$W" "start"
    tp_run A "set fwd txonly"
    tp_run A "start"
    sleep 1.5
    tp_run A "stop"
    sleep 0.5
    tp_run "$W" "stop"
    tp_snapshot A
    r=$(rx_now "$W")
    echo "the winner received $r frames; A: registry_resolved $(tp_stat A registry_resolved)," \
         "registry_peers $(tp_stat A registry_peers)"
    [ "$r" -gt 1000 ] || fail "the winner received only $r frames"
    expect_eq "A's registry peers (the winner only)" "$(tp_stat A registry_peers)" 1
    tp_quit A
    tp_quit "$W"
    pass "race on one device and namespace: one winner that works, a clear error for the loser, nothing held"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
