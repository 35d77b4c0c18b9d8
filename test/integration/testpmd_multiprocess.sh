#!/usr/bin/env bash
# net_rdmaud in secondary processes: B, a testpmd primary on hugepages (secondaries map its
# memory), receives 64 frames from A over softud (static peers). Then, while B runs:
# - dpdk-proc-info (secondary) --stats and --xstats print the same counters as B's own
#   `show port stats 0` / `show port xstats 0` (traffic stopped, so they no longer move);
# - B keeps receiving after the secondaries exit (they attach and detach without touching
#   its QPs): a second run of 64 frames arrives.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v dpdk-proc-info >/dev/null || skip "dpdk-proc-info is not installed"
ensure_hugepages 256
tp_netns

# B on hugepages (file-backed: secondaries map them); A without.
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$TP_MAC_A,peers=$TP_MAC_B@127.0.0.3/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --eth-peer=0,$TP_MAC_B --forward-mode=rxonly
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 -m 256 \
    --vdev="net_rdmaud0,dev=softud1,mac=$TP_MAC_B,peers=$TP_MAC_A@127.0.0.2/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --forward-mode=rxonly

secondary() { # TOOL ARGS...: a secondary process of B, bounded (dpdk-proc-info sets its own cores)
    local tool=$1
    shift
    ip netns exec "$TP_NETNS" timeout -k 5 30 "$tool" -d "$RDMAUD_PMD" --no-pci \
        --file-prefix="${TEST_PREFIX}B" --log-level=pmd.net.rdmaud:info "$@"
}

# 1. Traffic A -> B.
tp_run B "start"
tp_run A "start tx_first 2"
sleep 1
tp_run A "stop"
tp_run B "stop"

# 2. dpdk-proc-info reads B's counters.
tp_snapshot B
secondary dpdk-proc-info -- --stats >"$TEST_TMP/procinfo_stats.log" 2>&1 ||
    { cat "$TEST_TMP/procinfo_stats.log"; fail "dpdk-proc-info --stats failed"; }
secondary dpdk-proc-info -- --xstats >"$TEST_TMP/procinfo_xstats.log" 2>&1 ||
    { cat "$TEST_TMP/procinfo_xstats.log"; fail "dpdk-proc-info --xstats failed"; }
cat "$TEST_TMP/procinfo_stats.log" "$TEST_TMP/procinfo_xstats.log" | grep -v "^EAL" | head -60
pi() { # FIELD FILE: a value dpdk-proc-info printed
    grep -oE -- "(^| )$1: +[0-9]+" "$2" | head -1 | grep -oE "[0-9]+$"
}
for f in RX-packets RX-bytes; do
    expect_eq "proc-info $f" "$(pi "$f" "$TEST_TMP/procinfo_stats.log")" "$(tp_stat B "$f")"
done
for f in rx_good_packets rx_good_bytes rx_q0_packets rx_wrs_posted rx_doorbells rx_drop_nombuf; do
    expect_eq "proc-info xstat $f" "$(pi "$f" "$TEST_TMP/procinfo_xstats.log")" "$(tp_stat B "$f")"
done
[ "$(tp_stat B RX-packets)" -ge 64 ] || fail "B received $(tp_stat B RX-packets) frames"

# 3. B still receives after the secondaries left.
before=$(tp_stat B RX-packets)
tp_run B "start"
tp_run A "start tx_first 2"
sleep 1
tp_run A "stop"
tp_run B "stop"
tp_snapshot B
expect_eq "B's frames after the secondaries exited" "$(($(tp_stat B RX-packets) - before))" 64
tp_quit A
tp_quit B
pass "dpdk-proc-info read B's stats and xstats from a secondary process"
