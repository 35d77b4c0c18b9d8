#!/usr/bin/env bash
# Inside the rxe VM: port start/stop cycles and port close with traffic in flight leave no
# rdma-core object behind. A sends txonly to B (static peer); B stops and starts its port
# 10 times under that traffic, then closes it while A still sends: the kernel's lists
# (`rdma resource show qp|cq|mr|pd`) then hold nothing of B's process. A closes its port in
# the middle of sending (unsignaled sends still queued): nothing of A's is left either. After
# both exit, rxe0's resource summary is what it was before the test.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/integration/testpmd_common.sh"
[ -e /sys/class/infiniband/rxe0 ] || skip "no rxe0 here: run through test/rxe/run.sh (inside the rxe VM)"
TP_START_WAIT=90 TP_TIMEOUT=300
MAC_A=02:00:00:00:0a:0a MAC_B=02:00:00:00:0b:0b

summary() { rdma resource show | grep 'rxe0:' | sed 's/^[0-9]*: //'; }
objects_of() { # PID: the verbs objects the kernel lists for that process
    local kind n=0
    for kind in qp cq mr pd; do
        n=$((n + $(rdma resource show "$kind" 2> /dev/null | grep -c "pid $1 " || true)))
    done
    echo $n
}
pid_of() { pgrep -f -- "--file-prefix=$TEST_PREFIX$1" | while read -r p; do
    [ "$(cat /proc/$p/comm)" = dpdk-testpmd ] && echo "$p"; done | head -1; }

close_port() { # NAME: port close 0, waited for (show port info fails after it)
    local n
    n=$(tp_count "$1" "Port 0 is closed")
    tp_cmd "$1" "port close 0"
    tp_wait_more "$1" "Port 0 is closed" "$n" 30
}

before=$(summary)
echo "before: $before"
tp_start B none -l 0,1 --main-lcore 1 --no-huge -m 512 --vdev="net_rdmaud0,dev=rxe0,mac=$MAC_B" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512
qpn_b=$(grep -oE 'qpn 0x[0-9a-f]+' "${TP_LOG[B]}" | head -1 | cut -d' ' -f2)
tp_start A none -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=rxe0,mac=$MAC_A,peers=$MAC_B@198.18.0.1/$qpn_b" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --eth-peer=0,$MAC_B
pid_a=$(pid_of A) pid_b=$(pid_of B)
[ -n "$pid_a" ] && [ -n "$pid_b" ] || fail "no testpmd PIDs"
echo "with both ports up: $(summary); A (pid $pid_a) $(objects_of "$pid_a") objects, B (pid $pid_b) $(objects_of "$pid_b")"
[ "$(objects_of "$pid_b")" -gt 0 ] || fail "rdma lists no object of B's: the check below could not fail"
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 1
b_objects=$(objects_of "$pid_b")
for i in $(seq 10); do
    tp_run B "stop"
    tp_run B "port stop 0"
    tp_run B "port start 0"
    tp_run B "start"
done
tp_snapshot B
rx_after_cycles=$(tp_stat B RX-packets)
[ "$rx_after_cycles" -gt 0 ] || fail "B received nothing through its start/stop cycles"
expect_eq "B's objects after 10 stop/start cycles" "$(objects_of "$pid_b")" "$b_objects"
tp_run B "stop"
tp_run B "port stop 0"
close_port B
sleep 0.5
expect_eq "B's objects after port close (A still sending to it)" "$(objects_of "$pid_b")" 0
# A: close while sending (forwarding stopped, so only the sends it posted are in flight).
tp_run A "stop"
tp_run A "port stop 0"
close_port A
expect_eq "A's objects after port close" "$(objects_of "$pid_a")" 0
tp_quit A
tp_quit B
after=$(summary)
echo "after: $after"
expect_eq "rxe0's resources after both processes" "$after" "$before"
pass "10 stop/start cycles and port close under traffic leave nothing behind on rxe"
