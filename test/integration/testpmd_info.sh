#!/usr/bin/env bash
# net_rdmaud information ops through dpdk-testpmd over softud: the firmware version (the
# verbs device's fw_ver: softud's "softud-0.1"), rx/tx queue info with the burst variant
# chosen at start, and the tx descriptor status. A sends 16 frames (tx_signal 32: none
# signaled), so 16 slots of its 512-slot ring hold sends not known complete: descriptors 0
# to 495 after the next one are DONE, 496 to 511 FULL; 16 more make 32, the last one is
# signaled, its completion covers all, and every descriptor is DONE again.
# Then the rx side, with B's forwarding stopped: A sends 48 more frames; once softud delivered
# them, B's rx queue count is exactly 48, rx descriptor 47 is DONE, 48 and 1023 (the last of
# its 1024) AVAILABLE, 1024 refused; B forwards again: the 48 are received (80 frames in all)
# and the count is 0, descriptor 0 AVAILABLE.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
tp_static_pair
tp_run A "show port info 0"
grep -q "Firmware-version: softud-0.1" "${TP_LOG[A]}" || fail "no firmware version in show port info"
tp_run A "show rxq info 0 0"
tp_run A "show txq info 0 0"
grep -E "Number of .XDs|Burst mode|deferred" "${TP_LOG[A]}" || true
grep -qE "Burst mode: Scalar, (one lkey per queue|lkey per mbuf)" "${TP_LOG[A]}" || fail "no rx burst mode"
grep -qE "Burst mode: Scalar, single-segment, inline(, fast mbuf free)?$" "${TP_LOG[A]}" || fail "no tx burst mode"
grep -qE "Number of RXDs: 1024" "${TP_LOG[A]}" || fail "rx queue info: not 1024 descriptors"
grep -qE "Number of TXDs: 512" "${TP_LOG[A]}" || fail "tx queue info: not 512 descriptors"

desc() { # QUEUE-DESCRIPTOR [INSTANCE [rxq|txq]] -> the status testpmd prints
    local who=${2:-A} q=${3:-txq} before
    before=$(tp_count "$who" "Desc status")
    tp_cmd "$who" "show port 0 $q 0 desc $1 status"
    tp_wait_more "$who" "Desc status" "$before" 10
    grep "Desc status" "${TP_LOG[$who]}" | tail -1 | sed 's/.*= //'
}
used() { # INSTANCE -> its rx queue 0's used descriptor count
    local before
    before=$(tp_count "$1" "Used desc count")
    tp_cmd "$1" "show port 0 rxq 0 desc used count"
    tp_wait_more "$1" "Used desc count" "$before" 10
    grep "Used desc count" "${TP_LOG[$1]}" | tail -1 | sed 's/.*= //'
}
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd io"
tp_run A "set burst 16"
tp_run A "start tx_first 1"
tp_run A "stop"
expect_eq "desc 0 after 16 unsignaled sends" "$(desc 0)" DONE
expect_eq "desc 495" "$(desc 495)" DONE
expect_eq "desc 496" "$(desc 496)" FULL
expect_eq "desc 511" "$(desc 511)" FULL
tp_run A "start tx_first 1"
tp_run A "stop"
expect_eq "desc 511 after the 32nd (signaled) send" "$(desc 511)" DONE
tp_cmd A "show port 0 txq 0 desc 512 status"
tp_run A "show port info 0"
grep -qF "Invalid input: queue id = 0, desc id = 512" "${TP_LOG[A]}" || fail "desc 512 (past the ring) not refused"

tp_run B "stop"
tp_run A "start tx_first 3"
tp_run A "stop"
softud_wait_ledger softud0 softud1
expect_eq "B's rx queue count, 48 frames waiting" "$(used B)" 48
expect_eq "B's rx desc 47" "$(desc 47 B rxq)" DONE
expect_eq "B's rx desc 48" "$(desc 48 B rxq)" AVAILABLE
expect_eq "B's rx desc 1023" "$(desc 1023 B rxq)" AVAILABLE
tp_cmd B "show port 0 rxq 0 desc 1024 status"
tp_run B "show port info 0"
grep -qF "Invalid input: queue id = 0, desc id = 1024" "${TP_LOG[B]}" || fail "rx desc 1024 (past the ring) not refused"
expect_eq "B's rx queue count asked again" "$(used B)" 48
tp_run B "start"
sleep 0.5
tp_run B "stop"
tp_snapshot B
expect_eq "B received every frame (16 + 16 + 48)" "$(tp_stat B RX-packets)" 80
expect_eq "B's rx queue count after forwarding" "$(used B)" 0
expect_eq "B's rx desc 0 after forwarding" "$(desc 0 B rxq)" AVAILABLE
tp_quit A
tp_quit B
pass "firmware version, queue info, burst modes, tx and rx descriptor status, rx queue count"
