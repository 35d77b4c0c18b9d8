#!/usr/bin/env bash
# net_rdmaud per-queue start/stop, deferred start and runtime queue setup, driven by
# dpdk-testpmd commands over softud: A (softud0) sends bursts of 4 x 32 frames to B (softud1).
#   1. baseline: B receives every burst;
#   2. "port 0 rxq 0 stop" on B: QP 0 is reset (its receive buffers freed) and back in RTS
#      for tx queue 0; A's frames are dropped by B's device (no receive posted), B gets none;
#   3. "port 0 rxq 0 start": B receives again;
#   4. A: "port 0 txq 0 stop" / "start" (rx queue 0 running: the QP stays in RTS), then
#      both of A's queues stopped (the QP is reset) and started: A sends again;
#   5. B: rx queue 0 with deferred start: after "port start 0" it is stopped (frames dropped)
#      until "port 0 rxq 0 setup" (runtime setup, the port started) and "port 0 rxq 0 start";
#      A: "port 0 txq 0 setup" at runtime, then it sends again.
# B runs two queue pairs; static peers address queue 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
# B polls a second queue: softud turns waiting datagrams into completions (or drops) when the
# device is polled, so frames for B's stopped queue 0 are dropped then, as a NIC drops at arrival.
TP_B_ARGS=(--rxq=2 --txq=2)
tp_static_pair
burst=128 # start tx_first 4: 4 bursts of 32
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd io"
send() { # A sends one round, B drains it
    tp_run A "start tx_first 4"
    tp_run A "stop"
    softud_wait_ledger softud0 softud1
}
b_rx() { tp_snapshot B >/dev/null; tp_stat B RX-packets; }
norecv() { softud_counter softud1 drop_no_recv; }

send
expect_eq "1. B received the first round" "$(b_rx)" "$burst"

tp_run B "stop"
tp_run B "port 0 rxq 0 stop"
tp_run B "start"
grep -F "rxq 0 stopped: QP 0x11 reset and back to RTS for txq, 1024 receive buffers returned" "${TP_LOG[B]}" ||
    fail "B's rx queue 0 did not stop as expected"
d0=$(norecv)
send
expect_eq "2. B's rx queue stopped: nothing received" "$(b_rx)" "$burst"
expect_eq "2. B's device dropped the round (no receive posted)" "$(($(norecv) - d0))" "$burst"

tp_run B "stop"
tp_run B "port 0 rxq 0 start"
tp_run B "start"
grep -qF "rxq 0 started: 1024 receive buffers posted" "${TP_LOG[B]}" || fail "B's rx queue 0 did not restart"
send
expect_eq "3. B's rx queue restarted: round received" "$(b_rx)" "$((2 * burst))"

tp_run A "port 0 txq 0 stop"
tp_run A "port 0 txq 0 start"
send
expect_eq "4. A's tx queue stopped and started" "$(b_rx)" "$((3 * burst))"
tp_run A "port 0 rxq 0 stop"
tp_run A "port 0 txq 0 stop"
tp_run A "port 0 rxq 0 start"
tp_run A "port 0 txq 0 start"
grep -qF "rxq 0 stopped: QP 0x11 reset and back to RTS" "${TP_LOG[A]}" || fail "A's rx queue 0 did not stop"
send
expect_eq "4. A's queue pair reset and started" "$(b_rx)" "$((4 * burst))"

tp_run B "stop"
tp_run B "port stop 0"
tp_run B "port 0 rxq 0 deferred_start on"
tp_run B "port start 0"
tp_run B "start"
grep -qF "port 0 started" "${TP_LOG[B]}" || fail "B's port did not start"
r0=$(b_rx) d0=$(norecv)
send
expect_eq "5. B's deferred rx queue not started by port start" "$(b_rx)" "$r0"
expect_eq "5. B's device dropped the round" "$(($(norecv) - d0))" "$burst"
tp_run B "stop"
tp_run B "port 0 rxq 0 setup"
tp_run B "port 0 rxq 0 start"
tp_run B "start"
tp_run A "port 0 txq 0 stop"
tp_run A "port 0 txq 0 setup"
tp_run A "port 0 txq 0 start"
send
expect_eq "5. after runtime setup and start" "$(b_rx)" "$((r0 + burst))"
tp_run B "stop"
tp_snapshot A
# A queue set up again starts its counters from zero.
expect_eq "A TX-packets (since txq 0 was set up again)" "$(tp_stat A TX-packets)" "$burst"
expect_eq "A tx_drop_post_error" "$(tp_stat A tx_drop_post_error)" 0
! grep -E "Fail to|[Ff]ailed|not implemented|Please stop|Invalid|cannot" "${TP_LOG[A]}" "${TP_LOG[B]}" ||
    fail "a testpmd command failed"
tp_quit A
tp_quit B
pass "queue start/stop, deferred start and runtime queue setup over softud"
