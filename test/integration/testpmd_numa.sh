#!/usr/bin/env bash
# net_rdmaud and NUMA, end to end: B's testpmd builds its mbuf pool in external memory
# (--mp-alloc=xmem: an external heap with its own socket id), so B's rx queue is handed a
# mempool that is not on the verbs device's NUMA node (softud devices are on node 0) — what a
# one-node machine can show honestly. Checks: the PMD warns, naming the pool and both sockets,
# as mlx4/mlx5 do; the queue setup and start still succeed; frames are received into the
# external pool and sent from it (macswap back to A), every one counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
TP_B_ARGS=(--mp-alloc=xmem)
tp_static_pair
warning=$(grep -E "rx_queue_setup\(\): port 0 rxq 0: mempool mb_pool_0 is on external heap socket [0-9]+, the device on NUMA node 0: expect cross-node traffic" "${TP_LOG[B]}") ||
    { cat "${TP_LOG[B]}"; fail "no warning about B's rx mempool on another socket"; }
echo "B: $warning"
grep -q "port 0 started" "${TP_LOG[B]}" || fail "B's port did not start"
grep -q "mempool .* is on" "${TP_LOG[A]}" && fail "A warned though its pool is on the device's node"

frames=128 # 4 bursts of 32
tp_run B "set fwd macswap"
tp_run B "start"
tp_run A "set fwd io"
tp_run A "start tx_first 4"
sleep 2
tp_run A "stop"
tp_run B "stop"
tp_snapshot A
tp_snapshot B
a_tx=$(tp_stat A TX-packets) a_rx=$(tp_stat A RX-packets)
b_tx=$(tp_stat B TX-packets) b_rx=$(tp_stat B RX-packets)
echo "A: tx $a_tx rx $a_rx | B (external-heap pool): rx $b_rx tx $b_tx"
tp_quit A
tp_quit B
expect_eq "A TX-packets" "$a_tx" "$frames"
expect_eq "B RX-packets (into the external pool)" "$b_rx" "$frames"
expect_eq "B TX-packets (from the external pool)" "$b_tx" "$frames"
expect_eq "A RX-packets" "$a_rx" "$frames"
pass "a mempool from another socket: warned, queue set up, traffic counted"
