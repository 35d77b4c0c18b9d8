#!/usr/bin/env bash
# Two memcached servers as registry mirrors (registry=h:p1;h:p2), one killed under traffic.
# dpdk-testpmd processes on softud, no static peers: A sends txonly to B; B forwards (mac mode)
# everything to C's MAC; C does not exist yet, so B drops those frames as unknown.
#   1. Both servers hold every record (rdmaud-registry against each alone).
#   2. Server 1 is killed (SIGKILL): A's cached flow to B goes on, no lookup fails as a whole
#      (registry_failures 0) while the dead server shows in registry_server_failures.
#   3. C starts after the kill: it publishes through server 2 alone, and B resolves it and
#      delivers to it within 2 s of C's start.
# Accounting is exact: A's frames = B's receptions + the drops B's device counted (no receive
# posted, ring full); B's receptions = what B posted + what testpmd counts dropped (unknown-MAC
# drops before C existed); B's posted frames = C's receptions + C's device's counted drops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
. "$(dirname "$0")/testpmd_registry_common.sh"

rg_mc_start m1 11211
rg_mc_start m2 11212
REG="registry=127.0.0.1:11211;127.0.0.1:11212,ns=mirrors"
MAC_A=02:00:00:00:04:0a MAC_B=02:00:00:00:04:0b MAC_C=02:00:00:00:04:0c

rg_start B softud1 127.0.0.3 $MAC_B 1 "$REG,name=b" --eth-peer=0,$MAC_C
rg_start A softud0 127.0.0.2 $MAC_A 0 "$REG,name=a" --eth-peer=0,$MAC_B
tp_run B "set fwd mac"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 1
[ "$(rg_xstat B rx_good_packets)" -gt 0 ] || fail "B receives nothing from A"
for s in 11211 11212; do
    for n in a b; do
        rg_cli --registry 127.0.0.1:$s --ns mirrors show $n >/dev/null ||
            fail "server 127.0.0.1:$s alone does not hold endpoint $n"
    done
done
echo "ok: each server holds the records of a and b"

rg_mc_stop m1
r1=$(rg_xstat B rx_good_packets)
sleep 1
r2=$(rg_xstat B rx_good_packets)
echo "server 1 down: B rx_good_packets $r1 -> $r2"
[ "$r2" -gt "$r1" ] || fail "A's cached flow to B stopped when one of two servers died"

rg_start C softud2 127.0.0.4 $MAC_C 0 "$REG,name=c"
t0=$(date +%s%N)
tp_run C "set fwd rxonly"
tp_run C "start"
got=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 4000 ]; do
    [ "$(rg_xstat C rx_good_packets)" -gt 0 ] && { got=1; break; }
    sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $got = 1 ] || fail "B never delivered to C, a peer started after server 1 died"
echo "C (started after the kill) receives from B ${ms} ms after its start (incl. testpmd round trips)"
[ "$ms" -le 2000 ] || fail "C was resolved ${ms} ms after its start (target 2 s)"
rg_cli --registry 127.0.0.1:11212 --ns mirrors show c >/dev/null || fail "C's record is not on server 2"
sleep 1

tp_run A "stop"
sleep 0.5
tp_run B "stop"
sleep 0.5
tp_run C "stop"
for n in A B C; do tp_run "$n" "show port xstats 0"; done
a_tx=$(tp_stat A tx_good_packets)
b_rx=$(tp_stat B rx_good_packets) b_tx=$(tp_stat B tx_good_packets)
b_dropped=$(tp_stat B TX-dropped) # testpmd at B's stop: the PMD's tx drops + what tx_burst did not take
b_unknown=$(tp_stat B tx_drop_unknown_mac)
c_rx=$(tp_stat C rx_good_packets)
echo "A tx $a_tx | B rx $b_rx: posted $b_tx + dropped $b_dropped (unknown MAC: $b_unknown) | C rx $c_rx"
for n in A B C; do
    printf '%s: registry_failures %s server_failures %s resolved %s publishes %s publish_failures %s\n' "$n" \
        "$(tp_stat $n registry_failures)" "$(tp_stat $n registry_server_failures)" "$(tp_stat $n registry_resolved)" \
        "$(tp_stat $n registry_publishes)" "$(tp_stat $n registry_publish_failures)"
done
b_drops=$(softud_drops softud1) c_drops=$(softud_drops softud2)
echo "receiver-side drops (no receive posted, ring full): B $b_drops, C $c_drops"
expect_eq "A -> B: A's frames = B's receptions + B's counted drops" "$a_tx" "$((b_rx + b_drops))"
expect_eq "A's unknown-MAC drops (B stayed cached)" "$(tp_stat A tx_drop_unknown_mac)" 0
expect_eq "B's receptions = posted + dropped" "$b_rx" "$((b_tx + b_dropped))"
[ "$b_unknown" -gt 0 ] && [ "$b_unknown" -le "$b_dropped" ] || fail "B's unknown-MAC drops ($b_unknown) do not fit"
expect_eq "B -> C: B's posted frames = C's receptions + C's counted drops" "$b_tx" "$((c_rx + c_drops))"
for n in A B C; do
    expect_eq "$n registry_failures (a server always answered)" "$(tp_stat $n registry_failures)" 0
    expect_eq "$n registry_publish_failures" "$(tp_stat $n registry_publish_failures)" 0
done
for n in A B; do
    [ "$(tp_stat $n registry_server_failures)" -gt 0 ] || fail "$n's registry_server_failures missed the dead server"
done
[ "$(tp_stat B registry_resolved)" -ge 2 ] || fail "B did not resolve both A and C"
for n in A B C; do tp_quit "$n"; done
pass "two mirrored servers, one killed: cached flow kept, new peer resolved in ${ms} ms"
