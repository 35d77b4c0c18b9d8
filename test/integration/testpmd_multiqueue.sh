#!/usr/bin/env bash
# net_rdmaud with four queues on both sides, end to end: two dpdk-testpmd processes over
# softud, each with --rxq=4 --txq=4, finding each other through the registry (a real memcached;
# a port's record lists the QPNs of all its queues, which a static peers entry cannot). A sends
# first bursts on its four tx queues with many flows (--txonly-multi-flow); B swaps the MACs
# and returns each frame on the queue it came in on (macswap); A forwards what comes back to
# its own MAC (io), which is no peer of A's: dropped and counted.
# Checks, after a warm-up that lets both ports resolve each other: software RSS spreads A's
# flows over all four of B's rx queues and B's replies over all four of A's (per-queue
# xstats rx_qN_packets / tx_qN_packets all non-zero); every queue's counts add up to the
# port's; every frame is conserved across A -> B -> A.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v memcached >/dev/null || skip "memcached is not installed"
tp_netns
trap 'tp_memcached_stop; tp_cleanup' EXIT
port=11211 # a fresh network namespace: nothing else listens there
tp_memcached_start "$port"

MAC_A=02:00:00:00:00:4a MAC_B=02:00:00:00:00:4b
REG="registry=127.0.0.1:$port,ns=mq"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" \
    -- -i --total-num-mbufs=16384 --rxq=4 --txq=4 --rxd=512 --txd=512
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=16384 --rxq=4 --txq=4 --rxd=512 --txd=512 --eth-peer=0,$MAC_B \
    --txonly-multi-flow
tp_run B "set fwd macswap"
tp_run A "set fwd io"

# Warm-up: frames to a MAC not yet resolved are dropped (and resolve it); go on until A knows B
# and B knows A.
for i in $(seq 1 20); do
    tp_run B "start"
    tp_run A "start tx_first 1"
    sleep 0.2
    tp_run A "stop"
    tp_run B "stop"
    tp_run A "show port xstats 0"
    tp_run B "show port xstats 0"
    [ "$(tp_stat A registry_peers)" -ge 1 ] && [ "$(tp_stat B registry_peers)" -ge 1 ] && break
done
[ "$(tp_stat A registry_peers)" -ge 1 ] && [ "$(tp_stat B registry_peers)" -ge 1 ] ||
    fail "A and B did not resolve each other through the registry"
echo "resolved after $i warm-up round(s)"
tp_run A "clear port stats all"
tp_run B "clear port stats all"
sd_a0=$(softud_counter softud0 tx_packets) sd_b0=$(softud_counter softud1 tx_packets)

bursts=8 # per queue: 8 x 32 frames on each of A's 4 tx queues
frames=$((bursts * 32 * 4))
tp_run B "start"
tp_run A "start tx_first $bursts"
sleep 2
tp_run A "stop"
tp_run B "stop"
tp_snapshot A
tp_snapshot B
sd_a=$(($(softud_counter softud0 tx_packets) - sd_a0)) sd_b=$(($(softud_counter softud1 tx_packets) - sd_b0))
declare -A Q
for p in A B; do
    for d in rx tx; do
        sum=0
        for q in 0 1 2 3; do
            Q[$p$d$q]=$(tp_stat $p ${d}_q${q}_packets)
            sum=$((sum + Q[$p$d$q]))
        done
        Q[$p${d}sum]=$sum
    done
done
a_tx=$(tp_stat A TX-packets) a_rx=$(tp_stat A RX-packets) a_unknown=$(tp_stat A tx_drop_unknown_mac)
b_tx=$(tp_stat B TX-packets) b_rx=$(tp_stat B RX-packets)
for p in A B; do
    echo "$p: rx queues ${Q[${p}rx0]} ${Q[${p}rx1]} ${Q[${p}rx2]} ${Q[${p}rx3]}," \
         "tx queues ${Q[${p}tx0]} ${Q[${p}tx1]} ${Q[${p}tx2]} ${Q[${p}tx3]}"
done
echo "A: TX-packets $a_tx RX-packets $a_rx tx_drop_unknown_mac $a_unknown | B: RX-packets $b_rx TX-packets $b_tx" \
     "| softud: A sent $sd_a, B sent $sd_b"
tp_quit A
tp_quit B

expect_eq "A TX-packets" "$a_tx" "$frames"
expect_eq "A's device sent them" "$sd_a" "$frames"
expect_eq "B RX-packets" "$b_rx" "$frames"
expect_eq "B TX-packets (swapped back)" "$b_tx" "$frames"
expect_eq "B's device sent them" "$sd_b" "$frames"
expect_eq "A RX-packets" "$a_rx" "$frames"
expect_eq "A tx_drop_unknown_mac (A's own MAC is no peer)" "$a_unknown" "$frames"
for p in A B; do
    for d in rx tx; do
        for q in 0 1 2 3; do
            [ "${Q[$p$d$q]}" -gt 0 ] || fail "$p's $d queue $q carried nothing"
        done
    done
done
expect_eq "A's tx queues add up" "${Q[Atxsum]}" "$a_tx"
expect_eq "A's rx queues add up" "${Q[Arxsum]}" "$a_rx"
expect_eq "B's rx queues add up" "${Q[Brxsum]}" "$b_rx"
expect_eq "B's tx queues add up" "${Q[Btxsum]}" "$b_tx"
pass "four queues each way: flows spread over every queue, counts conserved"
