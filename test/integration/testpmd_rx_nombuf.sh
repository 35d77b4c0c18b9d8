#!/usr/bin/env bash
# net_rdmaud rx mempool exhaustion under dpdk-testpmd: B's mbuf pool is its 1024-descriptor
# rx ring plus 16 mbufs (--total-num-mbufs=1040, testpmd's smallest pool is 1025; no per-lcore
# cache), so a receive burst of more than 16 frames finds no replacement buffers: its frames
# are dropped, counted in RX-nombuf (xstat rx_drop_nombuf) and their buffers reposted. A sends
# txonly as fast as it can to B (rxonly, bursts of 32: at that rate every burst is full).
# Checks: every frame A's device sent is received by B's port, in RX-nombuf, or in B device's
# drop counters; no descriptor is lost (every ring slot still posted: softud1 post_recv_wrs -
# rx_packets, and the PMD's rx_wrs_posted - completions); then with B polling bursts of 8
# (never more than the pool's 16 spare mbufs), A's next 128 frames all arrive and RX-nombuf
# stays put. (test/pmd/test_rx_nombuf.cpp holds received mbufs until the pool is empty.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
TP_B_ARGS=(--total-num-mbufs=1040 --mbcache=0)
tp_static_pair
# outstanding: B's posted receive WRs as softud1 counts them, and as B's PMD counts them.
outstanding() {
    echo "$(($(softud_counter softud1 post_recv_wrs) - $(softud_counter softud1 rx_packets)))" \
         "$(($(tp_stat B rx_wrs_posted) - $(tp_stat B RX-packets) - $(tp_stat B RX-nombuf) - $(tp_stat B rx_wc_errors)))"
}
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 1
tp_run A "stop"
softud_wait_ledger softud0 softud1 # B drains what is in flight
tp_run B "stop"
tp_snapshot A
tp_snapshot B
sd_a_tx=$(softud_counter softud0 tx_packets)
sd_b_rx=$(softud_counter softud1 rx_packets) sd_b_drops=$(softud_drops softud1)
b_rx=$(tp_stat B RX-packets) b_nombuf=$(tp_stat B RX-nombuf) b_xnombuf=$(tp_stat B rx_drop_nombuf)
read -r out_sd out_pmd <<<"$(outstanding)"
echo "run 1: A's device sent $sd_a_tx | B: RX-packets $b_rx, RX-nombuf $b_nombuf | softud1: delivered $sd_b_rx," \
     "dropped $sd_b_drops | receive WRs outstanding: softud1 $out_sd, PMD $out_pmd"
[ "$b_nombuf" -gt 0 ] || fail "B's pool never ran dry (RX-nombuf 0)"
expect_eq "xstat rx_drop_nombuf = RX-nombuf" "$b_xnombuf" "$b_nombuf"
expect_eq "B's device delivered or counted every frame A's device sent" "$((sd_b_rx + sd_b_drops))" "$sd_a_tx"
expect_eq "B's port received or counted (RX-nombuf) every delivery" "$((b_rx + b_nombuf))" "$sd_b_rx"
expect_eq "receive WRs outstanding (softud1): the whole ring" "$out_sd" 1024
expect_eq "receive WRs outstanding (PMD)" "$out_pmd" 1024

# Run 2: bursts of 8 never need more than the 16 spare mbufs: everything arrives.
tp_run B "set burst 8"
tp_run B "start"
tp_run A "set fwd io"
tp_run A "start tx_first 4"
sleep 1
tp_run A "stop"
tp_run B "stop"
tp_snapshot B
b_rx2=$(tp_stat B RX-packets) b_nombuf2=$(tp_stat B RX-nombuf)
read -r out_sd out_pmd <<<"$(outstanding)"
echo "run 2: B RX-packets $b_rx -> $b_rx2, RX-nombuf $b_nombuf -> $b_nombuf2 | outstanding: softud1 $out_sd, PMD $out_pmd"
tp_quit A
tp_quit B
expect_eq "run 2: B received all of A's 128 frames" "$((b_rx2 - b_rx))" 128
expect_eq "run 2: RX-nombuf unchanged" "$b_nombuf2" "$b_nombuf"
expect_eq "run 2: receive WRs outstanding (softud1)" "$out_sd" 1024
expect_eq "run 2: receive WRs outstanding (PMD)" "$out_pmd" 1024
pass "rx pool exhaustion: drops counted, frames accounted, no descriptor lost, full count afterwards"
