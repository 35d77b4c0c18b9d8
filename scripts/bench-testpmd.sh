#!/usr/bin/env bash
# Benchmark (not a test): dpdk-testpmd forwarding rate of net_rdmaud over softud against DPDK's
# net_memif, net_af_packet and net_tap, in the same run, on the same two CPUs:
#   A and B both forward (testpmd "mac" mode: rx burst, MAC rewrite, tx burst back; one
#   forwarding lcore each, on its own CPU); A starts with "start tx_first 32": 32 bursts of
#   SIZE-byte frames (--txpkts) then circulate between the two for good, each side forwarding
#   every frame. The figure is the forwarding rate: testpmd's Tx-pps of B (and of A) over SECS
#   seconds after a 1 s warm-up. Nothing may be lost on the way (a lost frame leaves the loop):
#   the frames' count is far below every ring.
#
#   rdmaud     two net_rdmaud ports on softud devices 127.0.0.2 / .3 (same-host shared-memory
#              path), static peers with 1 queue; with --queues > 1 through a registry (memcached
#              in the namespace) so A's flows (--txonly-multi-flow) spread over B's queues
#   memif      net_memif server (B) and client (A) on one socket
#   af_packet  net_af_packet on a veth pair between two network namespaces
#   tap        net_tap in each process, the two tap interfaces joined by a kernel bridge
#
# One line per configuration on stdout and in --out (appended):
#   pmd=rdmaud size=64 queues=1 fwd_mpps=1.234 a_mpps=1.234
# Usage: scripts/bench-testpmd.sh [--secs S] [--sizes "64 256 1024 1500"] [--queues "1"]
#            [--pmds "rdmaud memif af_packet tap"] [--out FILE]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export RDMAUD_TOP=$top RDMAUD_BUILD=${RDMAUD_BUILD:-$top/build}
secs=5
sizes="64"
queues="1"
pmds="rdmaud memif af_packet tap"
out=/dev/null
while [ $# -gt 0 ]; do
    case "$1" in
        --secs) secs=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --queues) queues=$2; shift 2 ;;
        --pmds) pmds=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--secs S] [--sizes LIST] [--queues LIST] [--pmds LIST] [--out FILE]" >&2; exit 2 ;;
    esac
done
. "$top/test/integration/lib.sh"
. "$top/test/integration/testpmd_common.sh"
# A failed configuration ends the benchmark with testpmd's log (fail() in the helpers).

MAC_A=02:00:00:00:00:0a
MAC_B=02:00:00:00:00:0b
MC_PORT=11311
# 1 GiB per process: 8 queues take 131,072 mbufs of 2,176 bytes (285 MB in one piece), which
# did not fit beside the rest in 512 MB.
MEM=(--no-huge -m 1024)

# mbufs: rings of both directions, per-lcore caches and testpmd's own in flight.
tp_args() { # QUEUES SIZE PEER_MAC
    local q=$1 size=$2 peer=$3 flows=()
    if [ "$q" -gt 1 ]; then flows=(--txonly-multi-flow); fi
    echo "-i --total-num-mbufs=$((16384 * q)) --rxd=1024 --txd=1024 --rxq=$q --txq=$q --nb-cores=1" \
        "--txpkts=$size --eth-peer=0,$peer ${flows[*]}"
}

measure() { # PMD SIZE QUEUES: A and B forward frames A injected; prints the result line
    local pmd=$1 size=$2 q=$3 fwd tx
    tp_run B "set fwd mac"
    tp_run B "start"
    tp_run A "set fwd mac"
    tp_run A "start tx_first 32"
    sleep 1
    tp_run A "show port stats 0"
    tp_run B "show port stats 0"
    sleep "$secs"
    tp_run A "show port stats 0"
    tp_run B "show port stats 0"
    tx=$(tp_stat A Tx-pps)
    fwd=$(tp_stat B Tx-pps)
    local note=""
    [ "$fwd" -eq 0 ] && note=" note=no-frame-forwarded(B-received-$(tp_stat B RX-packets))"
    tp_run A "stop"
    tp_run B "stop"
    tp_quit A
    tp_quit B
    local line
    line=$(awk -v p="$pmd" -v s="$size" -v q="$q" -v f="$fwd" -v t="$tx" \
        'BEGIN{printf "pmd=%s size=%s queues=%s fwd_mpps=%.3f a_mpps=%.3f", p, s, q, f/1e6, t/1e6}')$note
    echo "$line"
    echo "$line" >>"$out"
}

teardown_ns() {
    tp_memcached_stop
    [ -n "$TP_NETNS" ] && ip netns del "$TP_NETNS"
    TP_NETNS=""
    for n in "${TP_HOSTS[@]}"; do ip netns del "$n"; done
    TP_HOSTS=()
    TP_NS=()
}

run_rdmaud() { # SIZE QUEUES
    local size=$1 q=$2 va vb
    tp_netns
    if [ "$q" -eq 1 ]; then
        va="net_rdmaud0,dev=softud0,mac=$MAC_A,peers=$MAC_B@127.0.0.3/0x11"
        vb="net_rdmaud0,dev=softud1,mac=$MAC_B,peers=$MAC_A@127.0.0.2/0x11"
    else
        tp_memcached_start "$MC_PORT"
        va="net_rdmaud0,dev=softud0,mac=$MAC_A,registry=127.0.0.1:$MC_PORT,ns=bench,name=A"
        vb="net_rdmaud0,dev=softud1,mac=$MAC_B,registry=127.0.0.1:$MC_PORT,ns=bench,name=B"
    fi
    # shellcheck disable=SC2046
    tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 "${MEM[@]}" --vdev="$va" -- $(tp_args "$q" "$size" $MAC_B)
    # shellcheck disable=SC2046
    tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 "${MEM[@]}" --vdev="$vb" -- $(tp_args "$q" "$size" $MAC_A)
    measure rdmaud "$size" "$q"
    # Doorbells and signaling, from A's device (softud's own counters, not the PMD's).
    local c line="softud0:"
    for c in post_send_calls post_send_wrs signaled_wrs post_recv_calls post_recv_wrs; do
        line+=" $c=$(softud_counter softud0 "$c")"
    done
    echo "$line"
    echo "$line" >>"$out"
    teardown_ns
}

run_memif() { # SIZE QUEUES
    local size=$1 q=$2 sock=$TEST_TMP/memif.sock
    tp_netns
    # shellcheck disable=SC2046
    tp_start B none -l 0,1 --main-lcore 1 "${MEM[@]}" --vdev="net_memif0,role=server,socket=$sock,id=0,mac=$MAC_B" \
        -- $(tp_args "$q" "$size" $MAC_A)
    # shellcheck disable=SC2046
    tp_start A none -l 0,1 --main-lcore 0 "${MEM[@]}" --vdev="net_memif0,role=client,socket=$sock,id=0,mac=$MAC_A" \
        -- $(tp_args "$q" "$size" $MAC_B)
    measure memif "$size" "$q"
    teardown_ns
}

run_af_packet() { # SIZE QUEUES
    local size=$1 q=$2
    tp_hosts 10.98.0.1 10.98.0.2
    # shellcheck disable=SC2046
    tp_start A none -l 0,1 --main-lcore 0 "${MEM[@]}" --vdev="net_af_packet0,iface=rdv$$a,qpairs=$q" \
        -- $(tp_args "$q" "$size" $MAC_B)
    # shellcheck disable=SC2046
    tp_start B none -l 0,1 --main-lcore 1 "${MEM[@]}" --vdev="net_af_packet0,iface=rdv$$b,qpairs=$q" \
        -- $(tp_args "$q" "$size" $MAC_A)
    tp_run A "set promisc all on"
    tp_run B "set promisc all on"
    measure af_packet "$size" "$q"
    teardown_ns
}

run_tap() { # SIZE QUEUES
    local size=$1 q=$2 br=rdbr$$ a=rdtapa$$ b=rdtapb$$
    tp_netns
    # The two tap interfaces are joined by a kernel bridge; a kernel without bridges (some
    # sandboxes) cannot run this configuration: it is reported, not measured.
    if ! ip -n "$TP_NETNS" link add "$br" type bridge 2>"$TEST_TMP/br.err"; then
        echo "pmd=tap size=$size queues=$q skipped: no kernel bridge ($(cat "$TEST_TMP/br.err"))" | tee -a "$out"
        teardown_ns
        return 0
    fi
    # shellcheck disable=SC2046
    tp_start A none -l 0,1 --main-lcore 0 "${MEM[@]}" --vdev="net_tap0,iface=$a,mac=$MAC_A" \
        -- $(tp_args "$q" "$size" $MAC_B)
    # shellcheck disable=SC2046
    tp_start B none -l 0,1 --main-lcore 1 "${MEM[@]}" --vdev="net_tap0,iface=$b,mac=$MAC_B" \
        -- $(tp_args "$q" "$size" $MAC_A)
    # Queues to and from the kernel deep enough for the frames in flight.
    for t in "$a" "$b"; do ip -n "$TP_NETNS" link set "$t" txqueuelen 8192 master "$br" up; done
    ip -n "$TP_NETNS" link set "$br" up
    sleep 1
    measure tap "$size" "$q"
    teardown_ns
}

for q in $queues; do
    for size in $sizes; do
        for pmd in $pmds; do
            "run_$pmd" "$size" "$q"
        done
    done
done
