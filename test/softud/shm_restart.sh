#!/usr/bin/env bash
# Same-host fast path across crashes: a receiver killed with SIGKILL leaves a stale mailbox that
# senders ignore (they use UDP); a new receiver at that address replaces it and senders move to
# shared memory again; senders killed with SIGKILL leave their lanes behind, and once every lane
# is held by a dead process a new sender takes one over.
. "$(dirname "$0")/softud_test_lib.sh"
bench=$RDMAUD_BUILD/test/softud/bench_ud
[ -x "$bench" ] || fail "bench_ud not built"
ra=127.0.21.2 sb=127.0.21.3
ns=$(stat -L -c %i /proc/self/ns/net)
mb=/dev/shm/softud-$ns-$ra-4791
CLEANUP+=("rm -f '$mb' '$mb.bell'")

wait_file() {  # wait_file PATH: until it exists (max 5 s)
    for _ in $(seq 50); do [ -e "$1" ] && return 0; sleep 0.1; done
    fail "$1 did not appear"
}
counter() { "$SOFTUD_STAT" "$1" "$2"; }

# 1. A receiver publishes its mailbox, then dies without closing it (no timeout wrapper: the
#    PID must be the receiver itself; it exits by itself after 30 s at worst).
bg rx1 "$SOFTUD_RUN" --dev sa=$ra -- "$bench" verbs-rx sa 30
wait_file "$mb"
ino1=$(stat -c %i "$mb")
kill -KILL "$PID_rx1"; wait "$PID_rx1" 2>/dev/null || true
[ -e "$mb" ] || fail "the killed receiver's mailbox should still be there (stale)"

# 2. A sender to that address: the owner is dead, so UDP (nothing hangs, nothing crashes).
timeout 20 "$SOFTUD_RUN" --dev sb=$sb -- "$bench" verbs-tx sb $ra 1 >"$T/tx1.out" || fail "sender 1 failed"
[ "$(counter sb shm_tx_batches)" -eq 0 ] || fail "sender used a dead receiver's mailbox"
[ "$(counter sb sendmmsg_calls)" -gt 0 ] || fail "sender 1 did not fall back to UDP"
pass "stale mailbox ignored: $(cat "$T/tx1.out")"

# 3. A new receiver at the same address replaces the mailbox; senders use shared memory again.
bg rx2 timeout 60 "$SOFTUD_RUN" --dev sa=$ra -- "$bench" verbs-rx sa 25
for _ in $(seq 50); do
    [ -e "$mb" ] && [ "$(stat -c %i "$mb")" != "$ino1" ] && break
    sleep 0.1
done
[ "$(stat -c %i "$mb")" != "$ino1" ] || fail "the new receiver did not replace the stale mailbox"
timeout 20 "$SOFTUD_RUN" --dev sb=$sb -- "$bench" verbs-tx sb $ra 1 >"$T/tx2.out" || fail "sender 2 failed"
[ "$(counter sb shm_tx_batches)" -gt 0 ] || fail "sender 2 did not use the new mailbox"
[ "$(counter sb sendmmsg_calls)" -eq 0 ] || fail "sender 2 used UDP"
pass "new receiver, shared memory again: $(cat "$T/tx2.out")"

# 4. Sixteen senders die holding the sixteen lanes; the seventeenth takes a dead one's lane.
for i in $(seq 16); do
    timeout -s KILL 1 "$SOFTUD_RUN" --dev sb=$sb -- "$bench" verbs-tx sb $ra 5 >/dev/null 2>&1 || true
done
timeout 20 "$SOFTUD_RUN" --dev sb=$sb -- "$bench" verbs-tx sb $ra 1 >"$T/tx3.out" || fail "sender 17 failed"
[ "$(counter sb shm_tx_batches)" -gt 0 ] || fail "no lane reclaimed from dead senders"
pass "lane reclaimed from a dead sender: $(cat "$T/tx3.out")"

wait_pid rx2
grep -Eq "verbs-rx [1-9][0-9]* msgs" "$T/rx2.out" || fail "receiver 2 got nothing: $(cat "$T/rx2.out")"
echo "receiver 2: $(cat "$T/rx2.out")"
[ ! -e "$mb" ] || fail "a receiver that closed normally leaves no mailbox behind"
pass "shared-memory path survives receiver and sender crashes"

# 5. Two sender processes at once into one receiver (two lanes): nothing lost — a full lane makes
#    its sender wait for the receiver rather than drop.
bg rx3 "$SOFTUD_RUN" --dev sa=$ra -- "$bench" verbs-rx sa 8
wait_file "$mb"
mkdir -p "$T/s1" "$T/s2"
bg tx5 timeout 20 "$SOFTUD_RUN" --stat-dir "$T/s1" --dev sb=$sb -- "$bench" verbs-tx sb $ra 2
bg tx6 timeout 20 "$SOFTUD_RUN" --stat-dir "$T/s2" --dev sc=127.0.21.4 -- "$bench" verbs-tx sc $ra 2
wait_pid tx5
wait_pid tx6
wait_pid rx3
t1=$("$SOFTUD_STAT" --dir "$T/s1" sb tx_packets) t2=$("$SOFTUD_STAT" --dir "$T/s2" sc tx_packets)
got=$(counter sa rx_packets)
echo "senders $t1 + $t2, receiver $got (drop_overflow $(counter sa drop_overflow), drop_no_recv $(counter sa drop_no_recv))"
[ "$("$SOFTUD_STAT" --dir "$T/s1" sb shm_tx_batches)" -gt 0 ] && [ "$("$SOFTUD_STAT" --dir "$T/s2" sc shm_tx_batches)" -gt 0 ] ||
    fail "both senders should use shared memory"
[ "$got" -eq $((t1 + t2)) ] || fail "receiver got $got of $((t1 + t2))"
pass "two sender processes, one receiver: every datagram delivered"
