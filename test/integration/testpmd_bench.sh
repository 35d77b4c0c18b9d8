#!/usr/bin/env bash
# Benchmark (not a test): dpdk-testpmd txonly -> rxonly, 64-byte frames, one
# forwarding lcore per process, two processes:
#   rdmaud     net_rdmaud over softud (127.0.0.2 -> 127.0.0.3, private netns)
#   af_packet  DPDK's net_af_packet over a veth pair between two netns
# Prints one line per run: packets received per second at B, and for rdmaud the
# softud counters (WRs per ibv_post_send / ibv_post_recv, signaled sends).
# Usage: testpmd_bench.sh [SECONDS] [huge|nohuge]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
secs=${1:-10}
mem=${2:-huge}
softud_available
[ "$mem" = huge ] && ensure_hugepages 512
memargs() { if [ "$mem" = huge ]; then echo "--huge-unlink -m 256"; else echo "--no-huge -m 512"; fi; }
MAC_A=02:00:00:00:00:0a
MAC_B=02:00:00:00:00:0b

measure() { # LABEL: A txonly, B rxonly for $secs seconds; prints the rate at B
    local label=$1
    tp_run B "set fwd rxonly"
    tp_run B "start"
    tp_run A "set fwd txonly"
    tp_run A "start"
    sleep "$secs"
    tp_run A "stop"
    sleep 1
    tp_run B "stop"
    tp_snapshot A
    tp_snapshot B
    local a_tx b_rx
    a_tx=$(tp_stat A TX-packets)
    b_rx=$(tp_stat B RX-packets)
    echo "$label: A sent $a_tx, B received $b_rx in ${secs}s:" \
        "$(awk -v n="$b_rx" -v s="$secs" 'BEGIN{printf "%.3f Mpps", n/s/1e6}') received"
}

# --- net_rdmaud over softud
tp_netns
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 $(memargs) \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,peers=$MAC_B@127.0.0.3/0x11" \
    -- -i --total-num-mbufs=16384 --rxd=1024 --txd=1024 --eth-peer=0,$MAC_B
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 $(memargs) \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,peers=$MAC_A@127.0.0.2/0x11" \
    -- -i --total-num-mbufs=16384 --rxd=2048 --txd=1024 --eth-peer=0,$MAC_A
measure "rdmaud/softud"
for c in post_send_calls post_send_wrs signaled_wrs tx_packets; do
    printf '  softud0 %s %s\n' "$c" "$(softud_counter softud0 "$c")"
done
for c in post_recv_calls post_recv_wrs rx_packets drop_no_recv poll_cq_calls recvmmsg_calls; do
    printf '  softud1 %s %s\n' "$c" "$(softud_counter softud1 "$c")"
done
echo "  A xstats: tx_wrs_per_doorbell_x100=$(tp_stat A tx_wrs_per_doorbell_x100)" \
     "tx_signaled=$(tp_stat A tx_signaled) tx_wrs_posted=$(tp_stat A tx_wrs_posted) tx_queue_full=$(tp_stat A tx_queue_full)"
echo "  B xstats: rx_wrs_per_doorbell_x100=$(tp_stat B rx_wrs_per_doorbell_x100) rx_drop_nombuf=$(tp_stat B rx_drop_nombuf)"
tp_quit A
tp_quit B
ip netns del "$TP_NETNS"
TP_NETNS=""

# --- net_af_packet over a veth pair
tp_hosts 10.98.0.1 10.98.0.2
tp_start A none -l 0,1 --main-lcore 0 $(memargs) --vdev="net_af_packet0,iface=rdv$$a" \
    -- -i --total-num-mbufs=16384 --eth-peer=0,$MAC_B
tp_start B none -l 0,1 --main-lcore 1 $(memargs) --vdev="net_af_packet0,iface=rdv$$b" \
    -- -i --total-num-mbufs=16384 --eth-peer=0,$MAC_A
tp_run B "set promisc all on"
measure "af_packet/veth"
tp_quit A
tp_quit B

# --- instructions per forwarded packet: B (macswap: rx + tx of every packet) under
# callgrind while A floods it; self cost of librte_net_rdmaud.so / packets B forwarded.
ip netns del "${TP_HOSTS[0]}"; ip netns del "${TP_HOSTS[1]}"; TP_HOSTS=(); TP_NS=()
tp_netns
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 $(memargs) \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,peers=$MAC_B@127.0.0.3/0x11" \
    -- -i --total-num-mbufs=16384 --eth-peer=0,$MAC_B
cg=${CG_OUT:-$TEST_TMP/callgrind.out}
TP_WRAP="valgrind --tool=callgrind --callgrind-out-file=$cg --dump-instr=no" TP_START_WAIT=180 \
    tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 $(memargs) \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,peers=$MAC_A@127.0.0.2/0x11" \
    -- -i --total-num-mbufs=16384 --eth-peer=0,$MAC_A
tp_run B "set fwd macswap"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep "$secs"
tp_run A "stop"
sleep 2
tp_run B "stop"
tp_snapshot B
fwd=$(tp_stat B TX-packets)
rxb=$(tp_stat B RX-packets)
tp_quit A
tp_quit B
/usr/bin/python3 - "$cg" "$fwd" "$rxb" <<'PY'
import re, sys
path, fwd, rx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names, cost, ob, in_call = {}, {}, None, False
for line in open(path, errors="replace"):
    if line.startswith("cob="):  # may define an object id for later ob= lines
        m = re.match(r"cob=\((\d+)\) (.*)", line.strip())
        if m:
            names[m.group(1)] = m.group(2)
    elif line.startswith("ob="):
        m = re.match(r"ob=\((\d+)\)(?: (.*))?", line.strip())
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            ob = names.get(m.group(1))
        else:
            ob = line[3:].strip()
    elif line.startswith("calls="):
        in_call = True
    elif line[:1].isdigit() or line[:1] in "+-*":
        if in_call:
            in_call = False  # inclusive cost of a call: not self cost
            continue
        parts = line.split()
        if len(parts) >= 2 and ob:
            cost[ob] = cost.get(ob, 0) + int(parts[1])
pmd = sum(v for k, v in cost.items() if "librte_net_rdmaud" in k)
sud = sum(v for k, v in cost.items() if k.endswith("libibverbs.so.1"))
print(f"callgrind: B received {rx}, forwarded {fwd} packets (macswap, burst 32)")
print(f"  librte_net_rdmaud.so self Ir: {pmd}  -> {pmd / max(fwd, 1):.1f} instructions per forwarded packet (rx+tx)")
print(f"  softud libibverbs.so.1 self Ir: {sud} -> {sud / max(fwd, 1):.1f} per forwarded packet")
PY
