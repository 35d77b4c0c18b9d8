#!/usr/bin/env bash
# dpdk-testpmd over softud between two processes: A on softud0 (127.0.0.2) and B
# on softud1 (127.0.0.3), each with the other as a static peer, inside a network
# namespace the test creates. Frame counts are conserved: every frame A's port
# sends is received by B's port or counted in a drop counter.
# Arguments: SCENARIO (rxonly|macswap|io|txonly|bcast|multiseg|oversize|ib) [huge|nohuge]
#   rxonly, txonly, flowgen: A generates, B only receives
#   io, mac, macswap: A sends a first burst, B forwards it (io: to its own MAC, dropped;
#                     mac/macswap: back to A, whose io forwarding then drops it: unknown MAC)
#   bcast, multiseg, oversize: A sends broadcast / 3-segment / larger-than-MTU frames
#   ib: both devices on softud's InfiniBand link layer, peers addressed by LID (no GRH),
#       traffic as in macswap
#   hosts-MODE: A and B in two network namespaces joined by a veth pair (10.99.0.1/.2),
#       traffic as in scenario MODE (rxonly, io, mac, macswap, txonly, flowgen); hosts = hosts-macswap
#   stall: txonly while B's process is stopped twice for 0.4 s: B's shared-memory ring
#       overflows and the frames A's device then drops are counted by B's (drop_overflow)
#   fastfree: both ports with RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE, 200-byte frames (not
#       inlined: held until their completion), traffic as in macswap
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
scenario=${1:?usage: testpmd_2proc.sh SCENARIO [huge|nohuge]}
mem=${2:-nohuge}
placement=local
case $scenario in
hosts) placement=hosts scenario=macswap ;;
hosts-*) placement=hosts scenario=${scenario#hosts-} ;;
esac
softud_available
[ "$mem" = huge ] && ensure_hugepages 512
if [ "$placement" = hosts ]; then
    tp_hosts 10.99.0.1 10.99.0.2
else
    tp_netns
fi

MAC_A=02:00:00:00:00:0a
MAC_B=02:00:00:00:00:0b
QPN=0x11 # softud numbers a process's QPs from 0x11: each port's queue 0
memargs() { if [ "$mem" = huge ]; then echo "--huge-unlink -m 256"; else echo "--no-huge -m 512"; fi; }
a_extra=() b_extra=() a_extra_peer=""
dev_a=softud0=127.0.0.2 dev_b=softud1=127.0.0.3
addr_a=127.0.0.2 addr_b=127.0.0.3
if [ "$placement" = hosts ]; then
    dev_a=softud0=10.99.0.1 dev_b=softud1=10.99.0.2 addr_a=10.99.0.1 addr_b=10.99.0.2
fi
case $scenario in
multiseg) a_extra=(--tx-offloads=0x8000) ;;
fastfree) a_extra=(--tx-offloads=0x00010000) b_extra=(--tx-offloads=0x00010000) ;;
ib) dev_a=$dev_a:ib dev_b=$dev_b:ib addr_a=2 addr_b=3 ;; # LID = low 16 bits of the address
flowgen) a_extra_peer=";00:01:02:03:04:01@$addr_b/$QPN" ;; # testpmd 22.11 flowgen's fixed dst MAC
esac
# A: main lcore 0, forwarding on 1; B the other way round: both busy-poll without sharing a CPU.
tp_start A "$dev_a" -l 0,1 --main-lcore 0 $(memargs) \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,peers=$MAC_B@$addr_b/$QPN$a_extra_peer" \
    -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --eth-peer=0,$MAC_B "${a_extra[@]}"
tp_start B "$dev_b" -l 0,1 --main-lcore 1 $(memargs) \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,peers=$MAC_A@$addr_a/$QPN" \
    -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --eth-peer=0,$MAC_A "${b_extra[@]}"
grep -q "qpn $QPN," "${TP_LOG[A]}" && grep -q "qpn $QPN," "${TP_LOG[B]}" ||
    { cat "${TP_LOG[A]}"; fail "queue 0 is not QPN $QPN: the static peers point nowhere"; }

bursts=16 # 16 x 32 = 512 frames, fewer than B's 1024 posted receives: no device drop possible
b_mode=rxonly a_mode=io
case $scenario in
rxonly) ;;
macswap) b_mode=macswap; bursts=4 ;;
fastfree) b_mode=macswap; bursts=4; tp_run A "set txpkts 200" ;;
mac) b_mode=mac; bursts=4 ;;
flowgen) a_mode=flowgen ;;
ib) b_mode=macswap; bursts=4
    grep -q "InfiniBand lid 0x2, qpn" "${TP_LOG[A]}" && grep -q "InfiniBand lid 0x3, qpn" "${TP_LOG[B]}" ||
        fail "ports are not on InfiniBand LID routing" ;;
io) b_mode=io; bursts=4 ;;
txonly | stall) a_mode=txonly ;;
bcast) tp_run A "set eth-peer 0 ff:ff:ff:ff:ff:ff" ;;
multiseg) tp_run A "set txpkts 64,100,36" ;;
oversize) tp_run A "set txpkts 1600" ;;
*) fail "unknown scenario $scenario" ;;
esac
tp_run B "set fwd $b_mode"
tp_run B "start"
tp_run A "set fwd $a_mode"
if [ "$a_mode" = txonly ] || [ "$a_mode" = flowgen ]; then
    tp_run A "start"
    sleep 3
    if [ "$scenario" = stall ]; then
        tp_pause B 0.4
        sleep 0.3
        tp_pause B 0.4
    fi
else
    tp_run A "start tx_first $bursts"
    sleep 2
fi
tp_run A "stop"
softud_wait_ledger softud0 softud1 # B drains what is still in flight (bounded)
tp_run B "stop"
tp_snapshot A
tp_snapshot B
a_tx=$(tp_stat A TX-packets) a_rx=$(tp_stat A RX-packets)
b_tx=$(tp_stat B TX-packets) b_rx=$(tp_stat B RX-packets)
b_nombuf=$(tp_stat B RX-nombuf)
sd_a_tx=$(softud_counter softud0 tx_packets)
sd_b_rx=$(softud_counter softud1 rx_packets)
sd_b_drops=$(softud_drops softud1)                      # every cause
sd_b_overflow=$(softud_counter softud1 drop_overflow) # of which: ring full past a pause
sd_a_calls=$(softud_counter softud0 post_send_calls)
sd_a_wrs=$(softud_counter softud0 post_send_wrs)
sd_a_sig=$(softud_counter softud0 signaled_wrs)
echo "A: tx $a_tx rx $a_rx | B: tx $b_tx rx $b_rx nombuf $b_nombuf | softud: A sent $sd_a_tx," \
     "B delivered $sd_b_rx, B device drops $sd_b_drops; A post_send $sd_a_calls calls / $sd_a_wrs WRs," \
     "$sd_a_sig signaled"
tp_quit A
tp_quit B

# Every WR the PMD posted became one datagram, and every delivered datagram reached the app.
expect_eq "A: softud datagrams sent = A's port TX-packets" "$sd_a_tx" "$a_tx"
expect_eq "B: port RX-packets + RX-nombuf = softud deliveries" "$((b_rx + b_nombuf))" "$sd_b_rx"
[ "$sd_a_wrs" -ge "$sd_a_calls" ] || fail "fewer WRs than post_send calls"
[ $((sd_a_sig * 32)) -le $((sd_a_wrs + 32)) ] || fail "more than one signaled send in 32 ($sd_a_sig of $sd_a_wrs)"

frames=$((bursts * 32))
case $scenario in
rxonly)
    expect_eq "A TX-packets" "$a_tx" "$frames"
    expect_eq "B RX-packets" "$b_rx" "$frames" ;;
macswap | ib | mac | fastfree)
    if [ "$scenario" = fastfree ]; then
        grep -q "single-segment inline fast-free tx burst" "${TP_LOG[A]}" &&
            grep -q "single-segment inline fast-free tx burst" "${TP_LOG[B]}" ||
            fail "the fast-free tx burst was not selected"
        expect_eq "B RX-bytes (200-byte frames)" "$(tp_stat B RX-bytes)" "$((frames * 200))"
    fi
    expect_eq "A TX-packets" "$a_tx" "$frames"
    expect_eq "B RX-packets" "$b_rx" "$frames"
    expect_eq "B TX-packets (swapped back)" "$b_tx" "$frames"
    expect_eq "A RX-packets" "$a_rx" "$frames"
    # A forwards what it gets back (io) to its own MAC, which is no peer of A's.
    expect_eq "A tx_drop_unknown_mac" "$(tp_stat A tx_drop_unknown_mac)" "$frames"
    expect_eq "A tx_resolver_misses" "$(tp_stat A tx_resolver_misses)" "$frames" ;;
io)
    expect_eq "B RX-packets" "$b_rx" "$frames"
    expect_eq "B TX-packets" "$b_tx" "0"
    expect_eq "B tx_drop_unknown_mac (B's own MAC is no peer)" "$(tp_stat B tx_drop_unknown_mac)" "$frames" ;;
txonly | flowgen | stall)
    [ "$a_tx" -gt 1000 ] || fail "$scenario sent only $a_tx frames"
    [ "$scenario" != stall ] || [ "$sd_b_overflow" -gt 0 ] || fail "B's stalls overflowed nothing"
    # Conservation: what softud sent arrived at B, or B's device counted it as dropped (no
    # receive posted, ring overflow, ...).
    lost=$((sd_a_tx - sd_b_rx - sd_b_drops))
    kdrops=$(ip netns exec "${TP_NETNS:-${TP_HOSTS[1]:-}}" awk '/^Udp: [0-9]/{print $6}' /proc/net/snmp)
    echo "A sent $sd_a_tx, B delivered $sd_b_rx + device drops $sd_b_drops (ring overflow" \
         "$sd_b_overflow); kernel UDP rcvbuf drops $kdrops"
    [ "$lost" -le "$kdrops" ] || fail "$lost frames unaccounted for (kernel dropped $kdrops)"
    expect_eq "B rx_drop_nombuf" "$(tp_stat B rx_drop_nombuf)" "$b_nombuf" ;;
bcast)
    expect_eq "A tx_bcast_frames" "$(tp_stat A tx_bcast_frames)" "$frames"
    expect_eq "A TX-packets (one copy per peer, one peer)" "$a_tx" "$frames"
    expect_eq "B RX-packets" "$b_rx" "$frames" ;;
multiseg)
    expect_eq "A TX-packets" "$a_tx" "$frames"
    expect_eq "B RX-packets" "$b_rx" "$frames"
    grep -q "multi-segment" "${TP_LOG[A]}" || fail "A did not select the multi-segment burst"
    expect_eq "B RX-bytes (3 segments joined: 200 B per frame)" "$(tp_stat B RX-bytes)" "$((frames * 200))" ;;
oversize)
    expect_eq "A tx_drop_oversize (1600 B > MTU 1500 + 14)" "$(tp_stat A tx_drop_oversize)" "$frames"
    expect_eq "A TX-packets" "$a_tx" "0"
    expect_eq "B RX-packets" "$b_rx" "0" ;;
esac
pass "testpmd A -> B over softud, $scenario ($mem, $placement): counts conserved"
