#!/usr/bin/env bash
# An extra unicast MAC published in the registry, end to end: two dpdk-testpmd processes on
# softud with no static peers, a real memcached. B (promiscuous off, rxonly) adds MAC X with
# testpmd's mac_addr add; A sends bursts of exactly TP_BURST frames to X. Checks:
#   X's record is in the registry with B's address and QPNs, and is not a member of the
#   namespace (a broadcast reaches B once, through its own MAC);
#   A resolves X to B and B delivers every frame to X (exact count), none filtered;
#   after mac_addr remove, X's record leaves the registry and A's frames to X stop: each is
#   either dropped by B's filter (A still had X cached) or by A as an unknown MAC, exactly;
#   an extra MAC still added when B quits leaves the registry with B.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
. "$(dirname "$0")/testpmd_registry_common.sh"
. "$(dirname "$0")/testpmd_mac_common.sh"

rg_mc_start mc 11211
REG="registry=127.0.0.1:11211,ns=macreg,registry_ttl=2"
MAC_A=02:00:00:00:04:0a MAC_B=02:00:00:00:04:0b MAC_X=02:00:00:00:04:b1 MAC_Y=02:00:00:00:04:b2
rg_start B softud1 127.0.0.3 "$MAC_B" 1 "$REG,name=b"
rg_start A softud0 127.0.0.2 "$MAC_A" 0 "$REG,name=a" --burst="$TP_BURST"
tp_run A "set fwd rxonly"
tp_run B "set fwd rxonly"
tp_run B "set promisc 0 off"
tp_run B "start"

# wait_record MAC WANT_RC: until "rdmaud-registry show MAC" exits WANT_RC (0 found, 1 not), 5 s.
wait_record() {
    local i rc
    for ((i = 0; i < 50; i++)); do
        rc=0
        rg_cli --registry 127.0.0.1:11211 --ns macreg show "$1" >"$TEST_TMP/show.txt" 2>&1 || rc=$?
        [ "$rc" = "$2" ] && return 0
        sleep 0.1
    done
    cat "$TEST_TMP/show.txt"
    fail "rdmaud-registry show $1 exits $rc, expected $2"
}
field() { awk -v f="$1" '$1 == f {$1 = ""; print substr($0, 2)}' "$TEST_TMP/show.txt"; }

tp_run B "mac_addr add 0 $MAC_X"
wait_record "$MAC_B" 0
b_addr=$(field address) b_qpns=$(field qpns)
wait_record "$MAC_X" 0
echo "X's record:"; cat "$TEST_TMP/show.txt"
expect_eq "X's record: B's address" "$(field address)" "$b_addr"
expect_eq "X's record: B's QPNs" "$(field qpns)" "$b_qpns"
expect_eq "X's record: no name (the name key stays B's)" "$(field name)" "-"
rg_cli --registry 127.0.0.1:11211 --ns macreg members >"$TEST_TMP/members.txt" || fail "members"
grep -qi "$MAC_B" "$TEST_TMP/members.txt" || { cat "$TEST_TMP/members.txt"; fail "B is not a member"; }
! grep -qi "$MAC_X" "$TEST_TMP/members.txt" || { cat "$TEST_TMP/members.txt"; fail "X is a member"; }

# A resolves X: bursts until B has received some (frames before the resolution are A's drops).
for ((i = 0; i < 20; i++)); do
    mf_send A "$MAC_X"
    tp_snapshot B
    [ "$(tp_stat B RX-packets)" -gt 0 ] && break
    sleep 0.2
done
tp_snapshot B
rx0=$(tp_stat B RX-packets)
[ "$rx0" -gt 0 ] || fail "A never reached B through X"
mf_expect B "frames to X while A resolved it" "$rx0" 0
mf_send A "$MAC_X"
mf_expect B "X resolved: one burst to X" "$((rx0 + TP_BURST))" 0

tp_snapshot A
unk0=$(tp_stat A tx_drop_unknown_mac)
tp_run B "mac_addr remove 0 $MAC_X"
wait_record "$MAC_X" 1
echo "ok: X's record left the registry"
wait_record "$MAC_B" 0
mf_send A "$MAC_X"
sleep 0.3
tp_snapshot A
tp_snapshot B
unk=$(( $(tp_stat A tx_drop_unknown_mac) - unk0 )) filt=$(tp_stat B rx_mac_filtered)
echo "after remove: A's unknown-MAC drops +$unk, B's filter drops $filt"
expect_eq "B received nothing more" "$(tp_stat B RX-packets)" "$((rx0 + TP_BURST))"
expect_eq "every frame to the removed X dropped and counted (A unknown MAC + B filter)" \
    "$((unk + filt))" "$TP_BURST"

tp_run B "mac_addr add 0 $MAC_Y"
wait_record "$MAC_Y" 0
tp_run B "stop"
tp_quit B
wait_record "$MAC_Y" 1
echo "ok: the extra MAC left the registry when B closed"
tp_quit A
pass "extra MAC published, resolved and withdrawn through the registry, exact counts"
