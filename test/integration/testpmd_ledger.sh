#!/usr/bin/env bash
# The packet ledger: at least LEDGER_FRAMES frames (default 10,000,000; sending bounded by
# LEDGER_SECONDS, default 60 s, about 14 s here) go from testpmd A (txonly) to testpmd
# B (rxonly) over softud with a mix of faults on B's device: drop, dup, reorder, corrupt and
# delay. Exact: A's port TX-packets = datagrams softud0 sent; sent + duplicated = delivered +
# drops by cause (softud1: drop_* incl. drop_icrc for the corrupted, fault_drop); delivered =
# B's port RX-packets + RX-nombuf (tp_ledger_check). Prints the run's rate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
frames=${LEDGER_FRAMES:-10000000}
secs=${LEDGER_SECONDS:-60}
softud_available
tp_netns
export SOFTUD_FAULTS_softud1=drop=0.001,dup=0.001,reorder=0.001,corrupt=0.001,delay_us=200,delay=0.001,seed=11
TP_TIMEOUT=$((secs + 60))
tp_static_pair
unset SOFTUD_FAULTS_softud1
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
t0=$(date +%s%N)
tp_run A "start"
sent=0
for ((i = 0; i < secs * 4; i++)); do
    sleep 0.25
    tp_run A "show port stats 0"
    sent=$(tp_stat A TX-packets)
    [ "$sent" -ge "$frames" ] && break
done
tp_run A "stop"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$sent" -ge "$frames" ] || fail "A sent only $sent of $frames frames in ${secs} s"
softud_ledger_wait softud0 softud1 || true
tp_run B "stop"
tp_snapshot A
tp_snapshot B
for c in fault_drop fault_dup fault_reorder fault_corrupt fault_delay; do
    n=$(softud_counter softud1 $c)
    echo "softud1 $c $n"
    [ "$n" -gt 0 ] || fail "$c never fired"
done
tp_ledger_check A B
a_tx=$(tp_stat A TX-packets)
echo "RUN: $a_tx frames in $ms ms ($((a_tx * 1000 / (ms + 1))) frames/s incl. testpmd commands)"
tp_quit A
tp_quit B
pass "packet ledger: $a_tx frames with drop+dup+reorder+corrupt+delay faults, every frame accounted for"
