#!/usr/bin/env bash
# Broadcast to the members of a registry namespace, end to end: a sender S and receivers R1..R3,
# each a dpdk-testpmd process on its own softud device, one real memcached, no static peers,
# records with a 2 s TTL. S sends broadcast frames in three rounds (io forwarding, tx_first):
#   1. members S, R1, R2: each receiver gets every frame;
#   2. R3 joins later: S picks it up from the membership set, and all three get every frame;
#   3. R2 stops: it leaves S's peer table (registry_expired), S sends one copy per remaining
#      member, and R1, R3 get every frame.
# Accounting per round is exact: receiver RX + its device's counted drops (no receive posted,
# ring full) = broadcast frames S sent; S's tx_good_packets = frames x members.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
. "$(dirname "$0")/testpmd_registry_common.sh"

rg_mc_start mc 11211
REG="registry=127.0.0.1:11211,ns=bcast,registry_ttl=2"
MAC_S=02:00:00:00:03:0a
declare -A MAC=([R1]=02:00:00:00:03:01 [R2]=02:00:00:00:03:02 [R3]=02:00:00:00:03:03)
declare -A DEV=([R1]=softud1 [R2]=softud2 [R3]=softud3)
declare -A ADDR=([R1]=127.0.0.3 [R2]=127.0.0.4 [R3]=127.0.0.5)
declare -A RX0=()   # receiver RX + counted drops at the start of a round

receiver() { # NAME: start a receiver, forwarding rxonly
    rg_start "$1" "${DEV[$1]}" "${ADDR[$1]}" "${MAC[$1]}" 1 "$REG,name=${1,,}"
    tp_run "$1" "set fwd rxonly"
    tp_run "$1" "start"
}
rx_total() { echo $(( $(rg_xstat "$1" rx_good_packets) + $(softud_drops "${DEV[$1]}") )); }

# round N RECEIVERS...: S sends 8 bursts of 32 broadcast frames; every listed receiver must get
# each of them (and S must send exactly one copy per listed receiver).
round() {
    local n=$1 r frames copies tx0 bc0
    shift
    for r in "$@"; do RX0[$r]=$(rx_total "$r"); done
    tx0=$(rg_xstat S tx_good_packets) bc0=$(tp_stat S tx_bcast_frames)
    tp_run S "start tx_first 8"
    tp_run S "stop"
    sleep 0.3 # delivery of what is in flight
    frames=$(( $(rg_xstat S tx_bcast_frames) - bc0 ))
    copies=$(( $(tp_stat S tx_good_packets) - tx0 ))
    echo "round $n: S sent $frames broadcast frames as $copies copies to $# members"
    [ "$frames" -gt 0 ] || fail "round $n: S sent no broadcast frame"
    expect_eq "round $n: S's copies (one per member)" "$copies" "$((frames * $#))"
    for r in "$@"; do
        expect_eq "round $n: $r received (RX + its device's counted drops)" "$(( $(rx_total "$r") - RX0[$r] ))" "$frames"
    done
}

rg_start S softud0 127.0.0.2 "$MAC_S" 0 "$REG,name=s" --eth-peer=0,ff:ff:ff:ff:ff:ff
tp_run S "set fwd io"
receiver R1
receiver R2
ms=$(rg_wait_xstat S registry_peers -eq 2 5)
echo "S knows R1 and R2 ${ms} ms after R2's start"
round 1 R1 R2

receiver R3
ms=$(rg_wait_xstat S registry_peers -eq 3 4)
echo "S picked up the late member R3 ${ms} ms after its start"
[ "$(tp_stat S registry_requests)" = 0 ] || echo "note: S requested MACs through its datapath"
round 2 R1 R2 R3

tp_run R2 "stop"
tp_quit R2
ms=$(rg_wait_xstat S registry_peers -eq 2 6)
echo "R2 left S's peer table ${ms} ms after it stopped (TTL 2 s)"
expect_eq "S registry_expired" "$(tp_stat S registry_expired)" 1
round 3 R1 R3

expect_eq "S registry_resolved (R1, R2, R3)" "$(tp_stat S registry_resolved)" 3
expect_eq "S registry_failures" "$(tp_stat S registry_failures)" 0
[ "$(tp_stat S tx_drop_unknown_mac)" = 0 ] || fail "S dropped broadcast frames for want of members"
for r in S R1 R3; do tp_quit "$r"; done
pass "broadcast reaches every member, late joiners included, leavers removed"
