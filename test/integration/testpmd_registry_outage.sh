#!/usr/bin/env bash
# memcached down for longer than the records' TTL (2 s) under traffic. dpdk-testpmd processes on
# softud, one real memcached, no static peers:
#   A sends txonly to B; D is a member A has resolved too.
#   memcached is killed; D quits during the outage (its withdrawal cannot reach memcached);
#   C starts during the outage and sends txonly to B (unknown yet: counted drops, retried).
#   After 4.5 s memcached returns, empty.
# Asserted, per doc/design/registry.md ("Expiry"): A's cached flow to B never stops (no
# unknown-MAC drop at all, although B's record was gone for longer than its TTL); no cached peer
# expires while memcached is down (the TTL runs only while the registry answers); B and A
# re-publish, so C's lookup of B succeeds within 2 s of the return; D, which never re-publishes,
# leaves A's peer table (registry_expired 1) its TTL after the return, not earlier; A resolves
# C. Frames are exactly accounted: A's + C's posted frames = B's receptions + B's counted drops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
. "$(dirname "$0")/testpmd_registry_common.sh"

rg_mc_start mc 11211
REG="registry=127.0.0.1:11211,ns=outage,registry_ttl=2"
MAC_A=02:00:00:00:05:0a MAC_B=02:00:00:00:05:0b MAC_C=02:00:00:00:05:0c MAC_D=02:00:00:00:05:0d
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

rg_start B softud1 127.0.0.3 $MAC_B 1 "$REG,name=b"
rg_start D softud2 127.0.0.4 $MAC_D 1 "$REG,name=d"
rg_start A softud0 127.0.0.2 $MAC_A 0 "$REG,name=a" --eth-peer=0,$MAC_B
rg_wait_xstat A registry_peers -eq 2 5 >/dev/null
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 0.5

rg_mc_stop mc
t_kill=$(now_ms)
tp_quit D
rg_start C softud3 127.0.0.5 $MAC_C 0 "$REG,name=c" --eth-peer=0,$MAC_B
tp_run C "set fwd txonly"
tp_run C "start"
r1=$(rg_xstat B rx_good_packets)
# The outage lasts 4.5 s (> the 2 s TTL) or longer if starting C alone took that long.
left=$(( 4500 - ($(now_ms) - t_kill) ))
[ "$left" -gt 0 ] && sleep "${left}e-3"
r2=$(rg_xstat B rx_good_packets)
echo "memcached down $(( $(now_ms) - t_kill )) ms: B rx_good_packets $r1 -> $r2"
[ "$r2" -gt "$r1" ] || fail "A's cached flow to B stopped during the outage"
expect_eq "A registry_expired during the outage" "$(rg_xstat A registry_expired)" 0
expect_eq "A registry_peers during the outage (B and D kept)" "$(tp_stat A registry_peers)" 2
expect_eq "C tx_good_packets during the outage (B unknown)" "$(rg_xstat C tx_good_packets)" 0
[ "$(tp_stat C registry_failures)" -gt 0 ] || fail "C's resolver never met the outage"

rg_mc_start mc 11211
t_ret=$(now_ms)
got=0
while [ $(( $(now_ms) - t_ret )) -lt 4000 ]; do
    [ "$(rg_xstat C tx_good_packets)" -gt 0 ] && { got=1; break; }
    sleep 0.1
done
ms_c=$(( $(now_ms) - t_ret ))
[ $got = 1 ] || fail "C never resolved B after memcached returned"
echo "C resolved B ${ms_c} ms after memcached returned (incl. testpmd round trips)"
[ "$ms_c" -le 2000 ] || fail "C resolved B only ${ms_c} ms after memcached returned (target 2 s)"
rg_wait_xstat A registry_expired -eq 1 6 >/dev/null
ms_d=$(( $(now_ms) - t_ret ))
echo "D left A's peer table ${ms_d} ms after memcached returned (TTL 2 s)"
[ "$ms_d" -ge 1000 ] || fail "D was dropped ${ms_d} ms after the return: the outage counted toward its TTL"
rg_wait_xstat A registry_resolved -eq 3 3 >/dev/null # B, D, and now C
expect_eq "A registry_peers (B and C)" "$(rg_xstat A registry_peers)" 2

tp_run A "stop"
tp_run C "stop"
sleep 0.5
tp_run B "stop"
for n in A B C; do tp_run "$n" "show port xstats 0"; done
a_tx=$(tp_stat A tx_good_packets) c_tx=$(tp_stat C tx_good_packets) b_rx=$(tp_stat B rx_good_packets)
b_drops=$(softud_drops softud1)
echo "A tx $a_tx + C tx $c_tx | B rx $b_rx + counted drops $b_drops"
for n in A C; do
    printf '%s: registry_failures %s backoff_retries %s publishes %s publish_failures %s replaced %s expired %s\n' \
        "$n" "$(tp_stat $n registry_failures)" "$(tp_stat $n registry_backoff_retries)" \
        "$(tp_stat $n registry_publishes)" "$(tp_stat $n registry_publish_failures)" \
        "$(tp_stat $n registry_replaced)" "$(tp_stat $n registry_expired)"
done
expect_eq "A tx_drop_unknown_mac (B never left A's table)" "$(tp_stat A tx_drop_unknown_mac)" 0
expect_eq "A registry_expired (D only)" "$(tp_stat A registry_expired)" 1
expect_eq "A's + C's frames = B's receptions + B's counted drops" "$((a_tx + c_tx))" "$((b_rx + b_drops))"
[ "$(tp_stat A registry_failures)" -gt 0 ] || fail "A's resolver never noticed the outage"
[ "$(tp_stat C tx_drop_unknown_mac)" -gt 0 ] || fail "C sent to B before it could have resolved it"
for n in A B C; do tp_quit "$n"; done
pass "memcached down 4.5 s (TTL 2 s): cached flow kept, C resolved ${ms_c} ms after the return, D expired after ${ms_d} ms"
