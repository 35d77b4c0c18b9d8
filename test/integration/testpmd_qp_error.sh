#!/usr/bin/env bash
# net_rdmaud after a work-completion error, end to end: two dpdk-testpmd processes over softud,
# A sending txonly to B; A's device completes one send in ~2000 with an error (SOFTUD_FAULTS
# wc_err, seeded: the same WRs fail in every run), which moves the QP to the error state.
# Checks: the PMD's health check logs the QP's error state and raises RTE_ETH_EVENT_INTR_RESET
# (testpmd prints the event); while in error the queue pair sends nothing (its WRs flush and
# are counted in tx_wc_errors); every frame A's port took is either sent by A's device or an
# error completion, and every sent one reached B; after "port stop", "port reset" and "port
# start" (rte_eth_dev_reset) traffic flows again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
export SOFTUD_FAULTS_softud0=wc_err=0.0005,seed=3
tp_static_pair
unset SOFTUD_FAULTS_softud0
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
tp_wait A "is in the error state" 10
tp_wait A "Port 0: reset event" 5
grep "is in the error state" "${TP_LOG[A]}"
# In the error state nothing leaves A's device, though A keeps posting.
s1=$(softud_counter softud0 tx_packets)
sleep 0.5
s2=$(softud_counter softud0 tx_packets)
expect_eq "A's device sends nothing while the QP is in error" "$s2" "$s1"
tp_run A "stop"
tp_run A "port stop 0" # resets the QP; completions still queued are reaped and counted
tp_snapshot A
a_tx=$(tp_stat A TX-packets) a_wcerr=$(tp_stat A tx_wc_errors)
sd_a_tx=$(softud_counter softud0 tx_packets) sd_a_err=$(softud_counter softud0 fault_wc_err)
echo "A: port TX-packets $a_tx, tx_wc_errors $a_wcerr | softud0: sent $sd_a_tx, injected errors $sd_a_err"
[ "$sd_a_err" -ge 1 ] || fail "no error was injected"
[ "$a_wcerr" -ge "$sd_a_err" ] || fail "A counted $a_wcerr error completions, fewer than the $sd_a_err injected"
expect_eq "A's posted frames = sent by its device + error completions" "$((sd_a_tx + a_wcerr))" "$a_tx"

# Recovery: reset and start the port; the QP is back to RTS and frames flow again.
tp_run A "port reset 0"
tp_run A "port start 0"
expect_eq "A's port started again" "$(tp_count A "port 0 started")" 2
tp_run A "start"
sleep 1
tp_run A "stop"
softud_wait_ledger softud0 softud1 # B drains what is in flight
tp_run B "stop"
tp_snapshot B
sd_a_tx2=$(softud_counter softud0 tx_packets) sd_a_err2=$(softud_counter softud0 fault_wc_err)
reports=$(tp_count A "is in the error state") events=$(tp_count A "Port 0: reset event")
b_rx=$(tp_stat B RX-packets) b_nombuf=$(tp_stat B RX-nombuf)
sd_b_rx=$(softud_counter softud1 rx_packets) sd_b_drops=$(softud_drops softud1)
echo "after the reset: A's device sent $((sd_a_tx2 - sd_a_tx)) more | B: RX-packets $b_rx, RX-nombuf $b_nombuf," \
     "softud1 delivered $sd_b_rx, dropped $sd_b_drops; injected errors $sd_a_err2, reported $reports," \
     "reset events $events"
tp_quit A
tp_quit B
[ "$sd_a_tx2" -gt "$sd_a_tx" ] || fail "no frame left A's device after the port reset"
# The seeded fault fails another WR after the restart: the check, re-armed at start, reports it.
expect_eq "QP error reports (one per injected error: an errored QP draws no more)" "$reports" "$sd_a_err2"
expect_eq "reset events" "$events" "$sd_a_err2"
expect_eq "B's device delivered or counted each frame A's device sent" "$((sd_b_rx + sd_b_drops))" "$sd_a_tx2"
expect_eq "B's port received or counted each delivery" "$((b_rx + b_nombuf))" "$sd_b_rx"
pass "QP error: reported (log + reset event), accounted, recovered by a port reset"
