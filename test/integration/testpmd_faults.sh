#!/usr/bin/env bash
# net_rdmaud under one softud receive-side fault (argument), end to end: two dpdk-testpmd
# processes over softud, A sending txonly to B (rxonly) for 2 s, the fault on B's device
# (SOFTUD_FAULTS_softud1, seeded). Checks: no crash, the fault fired, B still receives in the
# last second (no stuck queue), and the exact ledger (tp_ledger_check): every frame A's port
# sent, plus each duplicate, was received by B's port or counted by cause.
#   drop, corrupt, delay, reorder, dup: the datagram faults of doc/design/softud.md
#   cq_overrun: B's receive CQ overruns at its 3000th completion (IBV_EVENT_CQ_ERR). The PMD
#     reports the failed CQ (log + RTE_ETH_EVENT_INTR_RESET), counts rx_cq_errors, and a port
#     stop/start rebuilds the queue pair with a new QPN; A, restarted with B's new QPN as its
#     static peer, reaches B again.
#   cq_overrun_tx: A's send CQ overruns at its device's 300th completion (one per 32 sends):
#     A's tx ring is never reclaimed and fills (tx_queue_full), the PMD reports the failed CQ
#     (tx_cq_errors, log, reset event); after a port stop/start A's rebuilt QP sends to B again.
# (wc_err and send_delay_us have their own tests: testpmd_qp_error, testpmd_tx_full.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
fault=${1:?usage: testpmd_faults.sh drop|corrupt|delay|reorder|dup|cq_overrun|cq_overrun_tx}
dev=softud1 # the device with the fault
case $fault in
drop) spec=drop=0.01 counter=fault_drop ;;
corrupt) spec=corrupt=0.01 counter=fault_corrupt ;;
delay) spec=delay_us=300,delay=0.02 counter=fault_delay ;;
reorder) spec=reorder=0.01 counter=fault_reorder ;;
dup) spec=dup=0.01 counter=fault_dup ;;
cq_overrun) spec=cq_overrun=3000 counter=fault_cq_overrun ;;
cq_overrun_tx) spec=cq_overrun=300 counter=fault_cq_overrun dev=softud0 ;;
*) fail "unknown fault $fault" ;;
esac
softud_available
tp_netns
export "SOFTUD_FAULTS_$dev=$spec,seed=7"
tp_static_pair
unset "SOFTUD_FAULTS_$dev"
rx_now() { tp_run "$1" "show port stats 0"; tp_stat "$1" RX-packets; }
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 1
r1=$(rx_now B)
sleep 1
r2=$(rx_now B)
tp_run A "stop"
softud_ledger_wait softud0 softud1 || true
tp_run B "stop"
tp_snapshot A
tp_snapshot B
injected=$(softud_counter "$dev" "$counter")
echo "fault $spec: $counter $injected; B RX-packets $r1 after 1 s, $r2 after 2 s"
[ "$injected" -gt 0 ] || fail "the $fault fault never fired"
tp_ledger_check A B
[ "$(tp_stat A TX-packets)" -gt 1000 ] || fail "A sent only $(tp_stat A TX-packets) frames"

if [ "$fault" = cq_overrun_tx ]; then
    expect_eq "CQ overruns injected" "$injected" 1
    [ "$(tp_stat A tx_cq_errors)" -gt 0 ] || fail "A's PMD counted no tx_cq_errors"
    [ "$(tp_stat A tx_queue_full)" -gt 0 ] || fail "A's tx ring never filled"
    [ "$(softud_counter softud0 cq_lost)" -ge 1 ] || fail "no completion was lost to the failed CQ"
    tp_wait A "a completion queue of QP 0x11 failed" 5
    tp_wait A "Port 0: reset event" 5
    [ "$r2" = "$r1" ] || fail "B received $((r2 - r1)) frames from A's stuck queue"
    tp_run A "port stop 0"
    tp_run A "port start 0"
    tp_wait A "QP 0x11 rebuilt as QP 0x" 5
    b0=$(rx_now B)
    tp_run B "start"
    tp_run A "start"
    sleep 1
    tp_run A "stop"
    softud_ledger_wait softud0 softud1 || true
    tp_run B "stop"
    tp_snapshot A
    tp_snapshot B
    b1=$(tp_stat B RX-packets)
    echo "after the rebuild: B RX-packets $b0 -> $b1"
    [ "$b1" -gt $((b0 + 1000)) ] || fail "A's rebuilt queue sent B only $((b1 - b0)) frames"
    tp_ledger_check A B
    expect_eq "reports of the failed CQ" "$(tp_count A "a completion queue of QP")" 1
    tp_quit A
    tp_quit B
    pass "send CQ overrun: reported (log + reset event, tx_cq_errors), recovered by stop/start, frames accounted"
    exit 0
fi
if [ "$fault" != cq_overrun ]; then
    [ "$r2" -gt "$r1" ] || fail "B received nothing in the second second: the queue is stuck"
    tp_quit A
    tp_quit B
    pass "fault $fault: no crash, traffic flowed throughout, every frame accounted for"
    exit 0
fi

# CQ overrun: reported once, the queue is stuck until a port stop/start rebuilds it.
expect_eq "CQ overruns injected" "$injected" 1
[ "$(softud_counter softud1 cq_lost)" -ge 1 ] || fail "no completion was lost to the failed CQ"
[ "$(tp_stat B rx_cq_errors)" -gt 0 ] || fail "B's PMD counted no rx_cq_errors"
tp_wait B "a completion queue of QP 0x11 failed" 5
tp_wait B "Port 0: reset event" 5
expect_eq "reports of the failed CQ" "$(tp_count B "a completion queue of QP")" 1
[ "$r2" = "$r1" ] || fail "B received $((r2 - r1)) frames through a failed CQ"
tp_run B "port stop 0"
tp_run B "port start 0"
tp_wait B "rebuilt as QP 0x" 5
newqpn=$(grep -oE "rebuilt as QP 0x[0-9a-f]+" "${TP_LOG[B]}" | tail -1 | grep -oE '0x[0-9a-f]+$')
echo "B's queue 0 is now QP $newqpn"
[ "$newqpn" != 0x11 ] || fail "the rebuilt QP kept QPN 0x11"
tp_run B "start"
tp_quit A
tp_start A2 softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$TP_MAC_A,peers=$TP_MAC_B@127.0.0.3/$newqpn" \
    -- -i --total-num-mbufs=8192 --txd=512 --eth-peer=0,$TP_MAC_B
b0=$(rx_now B)
tp_run A2 "set fwd txonly"
tp_run A2 "start"
sleep 1
tp_run A2 "stop"
sleep 0.5
b1=$(rx_now B)
tp_snapshot B
echo "after the rebuild: B RX-packets $b0 -> $b1, rx_cq_errors $(tp_stat B rx_cq_errors)"
[ "$b1" -gt $((b0 + 1000)) ] || fail "B's rebuilt queue received only $((b1 - b0)) frames"
expect_eq "reports of the failed CQ after the rebuild" "$(tp_count B "a completion queue of QP")" 1
tp_quit A2
tp_quit B
pass "CQ overrun: reported (log + reset event, rx_cq_errors), accounted (cq_lost), recovered by stop/start"
