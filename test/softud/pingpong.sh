#!/usr/bin/env bash
# rdma-core's ibv_ud_pingpong between two softud devices in two processes.
#   pingpong.sh roce   RoCE v2, busy polling (-g 0)
#   pingpong.sh ib     InfiniBand link layer, LID addressing, no GRH (no -g)
#   pingpong.sh event  RoCE v2, completion channel (-e)
. "$(dirname "$0")/softud_test_lib.sh"
mode=${1:?roce|ib|event}
case $mode in
roce)  net=12 opts=(-g 0) suffix= ;;
ib)    net=13 opts=() suffix=:ib ;;
event) net=14 opts=(-g 0 -e) suffix= ;;
*) fail "unknown mode $mode" ;;
esac
# The UDP-path variants (SOFTUD_SHM=0) run beside the default ones: other addresses and port.
[ "${SOFTUD_SHM:-1}" = 0 ] && net=$((net + 100))
port=$((18600 + net))
devs=(--dev "sa=127.0.$net.2$suffix" --dev "sb=127.0.$net.3$suffix")
iters=2000
bg srv timeout 30 "$SOFTUD_RUN" "${devs[@]}" -- ibv_ud_pingpong -d sa -p $port -n $iters "${opts[@]}"
wait_listen $port
bg cli timeout 30 "$SOFTUD_RUN" "${devs[@]}" -- ibv_ud_pingpong -d sb -p $port -n $iters "${opts[@]}" 127.0.0.1
wait_pid cli
wait_pid srv
cat "$T/cli.out"
expect_grep "$T/cli.out" "$iters iters in" "client completed $iters iterations"
expect_grep "$T/srv.out" "$iters iters in" "server completed $iters iterations"
if [ "$mode" = ib ]; then
    expect_grep "$T/cli.out" 'remote address: LID 0x0d02' "IB mode: server LID from its address"
else
    expect_grep "$T/cli.out" 'GID ::ffff:127.0.'$net'.2' "RoCE: server GID is IPv4-mapped"
fi
# Both devices counted the traffic (counter files outlive the processes).
for d in sa sb; do
    tx=$("$SOFTUD_STAT" "$d" tx_packets); rx=$("$SOFTUD_STAT" "$d" rx_packets)
    [ "$tx" -ge "$iters" ] && [ "$rx" -ge "$iters" ] || fail "$d counters: tx $tx rx $rx"
done
# Both processes are on this host: the shared-memory path carried everything, unless forced off.
for d in sa sb; do
    sys=$("$SOFTUD_STAT" "$d" sendmmsg_calls); shm=$("$SOFTUD_STAT" "$d" shm_tx_batches)
    if [ "${SOFTUD_SHM:-1}" = 0 ]; then
        [ "$shm" -eq 0 ] && [ "$sys" -ge "$iters" ] || fail "$d: UDP path expected (sendmmsg $sys, shm $shm)"
    else
        [ "$sys" -eq 0 ] && [ "$shm" -ge "$iters" ] || fail "$d: shm path expected (sendmmsg $sys, shm $shm)"
    fi
    echo "$d: sendmmsg_calls $sys shm_tx_batches $shm"
done
pass "ibv_ud_pingpong $mode${SOFTUD_SHM:+ (SOFTUD_SHM=$SOFTUD_SHM)}"
