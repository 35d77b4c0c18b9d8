#!/usr/bin/env bash
# net_rdmaud and registry faults under traffic (two dpdk-testpmd processes on softud, a real
# memcached, no static peers). A sends txonly to B's MAC throughout.
#   1. memcached is killed: A's cached address of B keeps the traffic flowing.
#   2. memcached comes back; B restarts elsewhere (another softud address, a new
#      incarnation, same MAC): A replaces its cached address and B's new instance receives
#      within 2 s of publishing (xstats: registry_replaced 1, registry_expired 0).
#   3. B's new instance (TTL 2 s) stops for good: it leaves A's table (registry_expired 1,
#      registry_peers 0) and A's frames to its MAC become counted unknown-MAC drops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v memcached >/dev/null || skip "memcached is not installed"
tp_netns
trap 'tp_memcached_stop; tp_cleanup' EXIT
port=11211 # a fresh network namespace: nothing else listens there
# rx_now NAME: B's RX-packets right now.
rx_now() { tp_run "$1" "show port stats 0"; tp_stat "$1" RX-packets; }

tp_memcached_start "$port"
MAC_A=02:00:00:00:00:2a MAC_B=02:00:00:00:00:2b
REG="registry=127.0.0.1:$port,ns=faults"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" -- -i --total-num-mbufs=8192 --rxd=1024
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=8192 --txd=512 --eth-peer=0,$MAC_B
tp_run B "set fwd rxonly"
tp_run B "start"
tp_run A "set fwd txonly"
tp_run A "start"
sleep 2
r0=$(rx_now B)
[ "$r0" -gt 0 ] || fail "B receives nothing before any fault"

# 1. memcached dies: cached traffic goes on.
tp_memcached_stop
sleep 2
r1=$(rx_now B)
sleep 1
r2=$(rx_now B)
echo "memcached down: B RX-packets $r1 -> $r2"
[ "$r2" -gt "$r1" ] || fail "traffic to a cached peer stopped while memcached was down"

# 2. memcached back; B restarts at another address with the same MAC.
tp_memcached_start "$port"
tp_run B "stop"
tp_quit B
tp_start B2 softud3=127.0.0.5 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud3,mac=$MAC_B,$REG,name=b,registry_ttl=2" -- -i --total-num-mbufs=8192 --rxd=1024
tp_run B2 "set fwd rxonly"
tp_run B2 "start"
t0=$(date +%s%N)
got=0
for _ in $(seq 40); do
    [ "$(rx_now B2)" -gt 0 ] && { got=1; break; }
    sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "restarted peer receives ${ms} ms after its start (incl. testpmd command round trips)"
[ $got -eq 1 ] || fail "A did not switch to B's new address within 4 s"
[ "$ms" -le 2500 ] || fail "A took ${ms} ms to switch to B's new address (target 2 s)"
tp_snapshot A
for c in resolved replaced updated expired failures backoff_retries peers; do
    printf 'A: registry_%s %s\n' "$c" "$(tp_stat A "registry_$c")"
done
# B's new incarnation replaced A's cached address: one resolution, one replacement, and B never
# left A's table (its restart, and memcached's outage, came within its TTL).
expect_eq "A registry_resolved" "$(tp_stat A registry_resolved)" 1
expect_eq "A registry_replaced" "$(tp_stat A registry_replaced)" 1
expect_eq "A registry_expired" "$(tp_stat A registry_expired)" 0
expect_eq "A registry_peers" "$(tp_stat A registry_peers)" 1
[ "$(tp_stat A registry_failures)" -gt 0 ] || fail "A's resolver never noticed memcached was down"

# 3. B2 (TTL 2 s) stops for good: A drops it from its table once its record has been gone for
# its TTL, and A's frames to B's MAC become counted unknown-MAC drops.
tp_run B2 "stop"
tp_quit B2
t0=$(date +%s%N)
for _ in $(seq 60); do
    tp_run A "show port xstats 0"
    [ "$(tp_stat A registry_expired)" = 1 ] && break
    sleep 0.1
done
ms_gone=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "A registry_expired after B2 stopped" "$(tp_stat A registry_expired)" 1
echo "stopped peer left A's table ${ms_gone} ms after it quit (TTL 2 s)"
expect_eq "A registry_peers" "$(tp_stat A registry_peers)" 0
u0=$(tp_stat A tx_drop_unknown_mac)
sleep 0.5
tp_run A "show port xstats 0"
[ "$(tp_stat A tx_drop_unknown_mac)" -gt "$u0" ] || fail "A's frames to the departed peer are not counted as unknown-MAC drops"
tp_run A "stop"
tp_quit A
pass "cached traffic survives memcached down; restarted peer picked up in ${ms} ms; stopped peer gone in ${ms_gone} ms"
