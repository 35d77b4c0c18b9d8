#!/usr/bin/env bash
# Bounded soak (not part of the test suite): two dpdk-testpmd processes over softud resolving
# each other through a memcached registry, A sending txonly to B (rxonly) for SECONDS (default
# 300), with a random receive-fault mix on B's device (drop, dup, reorder, corrupt, delay; the
# probabilities and the seed are drawn from SOAK_SEED and printed) and memcached killed and
# restarted at random times. Every 10 s it samples both processes' VmRSS and checks they are
# alive; every ~30 s B's RX counter must have grown. At the end: the exact packet ledger
# (test/integration/testpmd_common.sh tp_ledger_check), and RSS flat (after the first minute,
# or the first fifth of a shorter run, neither process grows by more than SOAK_RSS_SLACK_KB,
# default 2048).
#   usage: scripts/soak.sh [SECONDS]        (RDMAUD_BUILD: build tree, default ./build)
# Runs in network namespaces of its own (needs root, as the integration tests); everything it
# starts is bounded by SECONDS + 120 s and cleaned up on exit.
set -euo pipefail
secs=${1:-300}
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 30 ] || { echo "usage: $0 [SECONDS >= 30]" >&2; exit 2; }
RDMAUD_TOP=$(cd "$(dirname "$0")/.." && pwd)
RDMAUD_BUILD=$(cd "${RDMAUD_BUILD:-$RDMAUD_TOP/build}" && pwd)
export RDMAUD_TOP RDMAUD_BUILD
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/integration/testpmd_common.sh"
command -v memcached >/dev/null || fail "memcached is not installed"
SOAK_SEED=${SOAK_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SOAK_SEED
slack=${SOAK_RSS_SLACK_KB:-2048}
# pick LO HI: a probability between LO/10000 and HI/10000.
pick() { printf '0.%04d' $(($1 + RANDOM % ($2 - $1 + 1))); }
faults="drop=$(pick 1 50),dup=$(pick 1 50),reorder=$(pick 1 50),corrupt=$(pick 1 50)"
faults+=",delay_us=$((50 + RANDOM % 500)),delay=$(pick 1 50),seed=$SOAK_SEED"
echo "soak: ${secs} s, seed $SOAK_SEED, faults on B's device: $faults"

export TP_TIMEOUT=$((secs + 120)) RDMAUD_MC_LIFETIME=$((secs + 120))
tp_netns
trap 'tp_memcached_stop; tp_cleanup' EXIT
port=11211
tp_memcached_start $port
REG="registry=127.0.0.1:$port,ns=soak"
MAC_A=02:00:00:00:00:5a MAC_B=02:00:00:00:00:5b
export SOFTUD_FAULTS_softud1=$faults
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" -- -i --total-num-mbufs=8192 --rxd=1024
unset SOFTUD_FAULTS_softud1
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=8192 --txd=512 --eth-peer=0,$MAC_B
pid_a=$(tp_pid A) pid_b=$(tp_pid B)
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"

t0=$(date +%s) warm=$((secs / 5 < 60 ? secs / 5 : 60))
next_mc=$((t0 + 5 + RANDOM % 25)) mc_up=1 restarts=0 last_rx=0 last_rx_t=$t0
base_a="" base_b="" max_a=0 max_b=0
samples="$TEST_TMP/rss.txt"
echo "t_s rss_a_kb rss_b_kb b_rx memcached" >"$samples"
while now=$(date +%s); [ $((now - t0)) -lt "$secs" ]; do
    sleep 10
    now=$(date +%s) t=$((now - t0))
    kill -0 "$pid_a" 2>/dev/null || fail "A died at ${t} s"
    kill -0 "$pid_b" 2>/dev/null || fail "B died at ${t} s"
    ra=$(rss "$pid_a") rb=$(rss "$pid_b")
    tp_run B "show port stats 0"
    rx=$(tp_stat B RX-packets)
    echo "$t $ra $rb $rx $mc_up" | tee -a "$samples"
    if [ "$t" -ge "$warm" ]; then
        [ -z "$base_a" ] && base_a=$ra base_b=$rb
        [ "$ra" -gt "$max_a" ] && max_a=$ra
        [ "$rb" -gt "$max_b" ] && max_b=$rb
    fi
    if [ $((now - last_rx_t)) -ge 30 ]; then
        [ "$rx" -gt "$last_rx" ] || fail "B received nothing in the last $((now - last_rx_t)) s (at ${t} s)"
        last_rx=$rx last_rx_t=$now
    fi
    if [ "$now" -ge "$next_mc" ]; then # memcached: kill it or bring it back
        if [ $mc_up = 1 ]; then tp_memcached_stop; mc_up=0; else tp_memcached_start $port; mc_up=1; restarts=$((restarts + 1)); fi
        next_mc=$((now + 5 + RANDOM % 25))
    fi
done
[ $mc_up = 1 ] || { tp_memcached_start $port; restarts=$((restarts + 1)); }
tp_run A "stop"
softud_ledger_wait softud0 softud1 || true
tp_run B "stop"
tp_snapshot A
tp_snapshot B
for c in fault_drop fault_dup fault_reorder fault_corrupt fault_delay; do
    echo "softud1 $c $(softud_counter softud1 $c)"
done
tp_ledger_check A B
echo "registry: A registry_resolved $(tp_stat A registry_resolved), registry_failures $(tp_stat A registry_failures);" \
     "memcached restarts $restarts"
echo "RSS after ${warm} s: A $base_a -> max $max_a kB, B $base_b -> max $max_b kB (slack $slack kB)"
[ $((max_a - base_a)) -le "$slack" ] || fail "A's RSS grew by $((max_a - base_a)) kB"
[ $((max_b - base_b)) -le "$slack" ] || fail "B's RSS grew by $((max_b - base_b)) kB"
tp_quit A
tp_quit B
pass "soak ${secs} s (seed $SOAK_SEED): no crash, RSS flat, every frame accounted for"
