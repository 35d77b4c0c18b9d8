#!/usr/bin/env bash
# net_rdmaud in secondary processes: B, a testpmd primary on hugepages (secondaries map its
# memory), receives from A over softud (static peers). While B runs:
# - dpdk-pdump (secondary) captures B's rx queues into a pcap while A sends 64 frames: tshark
#   finds all 64 in it, from A to B;
# - dpdk-proc-info (secondary) --stats and --xstats print the same counters as B's own
#   `show port stats 0` / `show port xstats 0` (traffic stopped, so they no longer move);
# - B keeps receiving after the secondaries exit (they attach and detach without touching
#   its QPs): a second run of 64 frames arrives.
# Debian's dpdk-testpmd links mempool drivers (librte_mempool_dpaa) that the tools load as
# plugins, later: mempool ops would be numbered differently in the two processes, and the
# primary could not use the capture pool the secondary made. The secondaries load the libraries
# testpmd links first (-d), so both register the ops in the same order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v dpdk-proc-info >/dev/null || skip "dpdk-proc-info is not installed"
command -v dpdk-pdump >/dev/null || skip "dpdk-pdump is not installed"
command -v tshark >/dev/null || skip "tshark is not installed"
ensure_hugepages 256
tp_netns
PD_PID=""
trap '[ -n "$PD_PID" ] && kill -KILL "$PD_PID" 2>/dev/null; tp_cleanup' EXIT

# B on hugepages (file-backed: secondaries map them); A without. A secondary must map B's memory
# at B's addresses, and with ASLR its own libraries may already sit where B's default placement
# put it: B's memory goes at 32 TiB, far above the libraries and above ASan's shadow memory (whose
# top is at 16 TiB) in a sanitizer build.
B_BASE=0x200000000000
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$TP_MAC_A,peers=$TP_MAC_B@127.0.0.3/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --eth-peer=0,$TP_MAC_B --forward-mode=rxonly
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 -m 256 --base-virtaddr=$B_BASE \
    --vdev="net_rdmaud0,dev=softud1,mac=$TP_MAC_B,peers=$TP_MAC_A@127.0.0.2/0x11" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --forward-mode=rxonly

# The mempool drivers dpdk-testpmd links, to be loaded first by the secondaries.
same_ops=()
for lib in $(ldd "$(command -v dpdk-testpmd)" | grep -oE '/[^ ]*librte_mempool_[^ ]*'); do
    same_ops+=(-d "$lib")
done
# In a sanitizer build the tools get ASan's runtime (they load the instrumented PMD) and the
# secondary-process leak suppressions (config/sanitizers/lsan-secondary.supp).
secondary() { # TOOL ARGS...: a secondary process of B, bounded (dpdk-proc-info sets its own cores)
    local tool=$1
    shift
    ip netns exec "$TP_NETNS" timeout -k 5 30 $SAN_ENV ${RDMAUD_SANITIZE_PRELOAD:+LSAN_OPTIONS=suppressions=$RDMAUD_TOP/config/sanitizers/lsan-secondary.supp:print_suppressions=0} stdbuf -oL "$tool" "${same_ops[@]}" -d "$RDMAUD_PMD" --no-pci \
        --file-prefix="${TEST_PREFIX}B" --log-level=pmd.net.rdmaud:info "$@"
}

send_64() { # A sends 2 bursts of 32 to B, which receives them (forwarding started and stopped)
    tp_run B "start"
    tp_run A "start tx_first 2"
    sleep 1
    tp_run A "stop"
    tp_run B "stop"
}

# 1. dpdk-pdump captures B's received frames. B forwards first: dpdk-pdump adds a port of its own
# (its pcap output), which testpmd's `start` would find not started.
tp_run B "start"
pcap=$TEST_TMP/rx.pcap
secondary dpdk-pdump -l 0 -- --pdump "port=0,queue=*,rx-dev=$pcap,total-num-mbufs=2048" >"$TEST_TMP/pdump.log" 2>&1 &
PD_PID=$!
# dpdk-pdump prints "capture for N tuples" once the primary has enabled capture.
for _ in $(seq 1 200); do
    grep -q "capture for" "$TEST_TMP/pdump.log" 2>/dev/null && break
    kill -0 "$PD_PID" 2>/dev/null || { cat "$TEST_TMP/pdump.log"; fail "dpdk-pdump exited"; }
    sleep 0.1
done
grep -q "capture for" "$TEST_TMP/pdump.log" || { cat "$TEST_TMP/pdump.log"; fail "dpdk-pdump did not start capturing"; }
tp_run A "start tx_first 2"
sleep 1
tp_run A "stop"
tp_run B "stop"
sleep 0.5
kill -INT "$PD_PID"
wait "$PD_PID" || true
PD_PID=""
grep -v "^EAL" "$TEST_TMP/pdump.log"
grep -q "attached in a secondary process" "$TEST_TMP/pdump.log" || fail "dpdk-pdump did not attach to B's port"
captured=$(tshark -r "$pcap" -Y "eth.src == $TP_MAC_A && eth.dst == $TP_MAC_B" 2>/dev/null | wc -l)
expect_eq "frames dpdk-pdump captured from A to B" "$captured" 64

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
send_64
tp_snapshot B
expect_eq "B's frames after the secondaries exited" "$(($(tp_stat B RX-packets) - before))" 64
tp_quit A
tp_quit B
pass "dpdk-pdump captured B's frames; dpdk-proc-info read B's stats and xstats"
