#!/usr/bin/env bash
# net_rdmaud send queue full, end to end: two dpdk-testpmd processes over softud, A sending
# txonly to B. A's device holds every send completion back 2 ms (SOFTUD_FAULTS
# send_delay_us, a slow link), so A's 512-descriptor tx ring fills long before a completion
# frees it. Checks: back-pressure — the PMD counts bursts cut short (tx_queue_full) and
# rte_eth_tx_burst returned fewer frames (testpmd freed them itself: its TX-dropped); the PMD
# dropped nothing itself (TX-errors 0, no refused post); every frame A's port accepted left
# A's device and was received by B or counted in B's drop counters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
export SOFTUD_FAULTS_softud0=send_delay_us=2000
tp_static_pair
unset SOFTUD_FAULTS_softud0
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
t0=$(date +%s%N)
tp_run A "start"
sleep 2
tp_run A "stop" # prints A's forwarding statistics: TX-dropped = frames tx_burst did not take
app_dropped=$(tp_stat A TX-dropped)
ms=$((($(date +%s%N) - t0) / 1000000))
softud_wait_ledger softud0 softud1 # B drains what is in flight
tp_run B "stop"
tp_snapshot A
tp_snapshot B
a_tx=$(tp_stat A TX-packets) a_err=$(tp_stat A TX-errors) a_full=$(tp_stat A tx_queue_full)
a_post_err=$(tp_stat A tx_drop_post_error)
b_rx=$(tp_stat B RX-packets) b_nombuf=$(tp_stat B RX-nombuf)
sd_a_tx=$(softud_counter softud0 tx_packets)
sd_a_delayed=$(softud_counter softud0 fault_send_delay)
sd_b_rx=$(softud_counter softud1 rx_packets)
sd_b_drops=$(softud_drops softud1)
echo "A (txonly for $ms ms): port TX-packets $a_tx, TX-errors $a_err, tx_queue_full $a_full, tx_drop_post_error $a_post_err," \
     "testpmd TX-dropped $app_dropped | softud0: sent $sd_a_tx, completions delayed $sd_a_delayed |" \
     "B: RX-packets $b_rx, RX-nombuf $b_nombuf | softud1: delivered $sd_b_rx, dropped $sd_b_drops"
tp_quit A
tp_quit B

[ "$sd_a_delayed" -gt 0 ] || fail "the send_delay_us fault delayed no completion"
[ "$a_tx" -gt 1000 ] || fail "A sent only $a_tx frames"
# 512 descriptors, each held >= 2 ms: the ring, not the CPU, bounds A's rate.
[ "$a_tx" -le $((512 * (ms / 2 + 1))) ] || fail "A sent $a_tx frames in $ms ms: more than its ring allows"
[ "$a_full" -gt 0 ] || fail "A's tx ring never filled (tx_queue_full 0)"
[ "$app_dropped" -gt 0 ] || fail "rte_eth_tx_burst never returned fewer frames than offered"
expect_eq "A TX-errors (the PMD dropped nothing)" "$a_err" 0
expect_eq "A tx_drop_post_error" "$a_post_err" 0
expect_eq "A's device sent every frame A's port accepted" "$sd_a_tx" "$a_tx"
expect_eq "B's device delivered or counted each" "$((sd_b_rx + sd_b_drops))" "$sd_a_tx"
expect_eq "B's port received or counted each delivery" "$((b_rx + b_nombuf))" "$sd_b_rx"
pass "send queue full: back-pressure to the application, nothing lost (A accepted $a_tx, refused $app_dropped)"
