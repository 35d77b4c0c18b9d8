#!/usr/bin/env bash
# net_rdmaud information ops through dpdk-testpmd over softud: the firmware version (the
# verbs device's fw_ver: softud's "softud-0.1"), rx/tx queue info with the burst variant
# chosen at start, and the tx descriptor status. A sends 16 frames (tx_signal 32: none
# signaled), so 16 slots of its 512-slot ring hold sends not known complete: descriptors 0
# to 495 after the next one are DONE, 496 to 511 FULL; 16 more make 32, the last one is
# signaled, its completion covers all, and every descriptor is DONE again.
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

desc() { # QUEUE-DESCRIPTOR -> the status testpmd prints
    local before
    before=$(tp_count A "Desc status")
    tp_cmd A "show port 0 txq 0 desc $1 status"
    tp_wait_more A "Desc status" "$before" 10
    grep "Desc status" "${TP_LOG[A]}" | tail -1 | sed 's/.*= //'
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
tp_quit A
tp_quit B
pass "firmware version, queue info, burst modes and tx descriptor status"
