# Helpers for the net_rdmaud registry tests with several testpmd processes and memcached
# servers (sourced after lib.sh and testpmd_common.sh, after tp_netns).
# shellcheck shell=bash

command -v memcached >/dev/null || skip "memcached is not installed"

# ---- memcached servers in the test's network namespace, by name ---------------------------
declare -A RG_MC   # name -> "wrapper_pid memcached_pid"
declare -A RG_MC_PORT

# rg_mc_start NAME PORT: a memcached (the registry tests' fixture, bounded lifetime) on
# 127.0.0.1:PORT inside TP_NETNS.
rg_mc_start() {
    local out
    out=$(ip netns exec "$TP_NETNS" bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" start "$2") ||
        fail "memcached $1 did not start on port $2"
    RG_MC[$1]=${out#* }
    RG_MC_PORT[$1]=$2
}
# rg_mc_stop NAME: SIGKILL it (a crash), by PID.
rg_mc_stop() {
    [ -n "${RG_MC[$1]:-}" ] || return 0
    # shellcheck disable=SC2086
    bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" stop ${RG_MC[$1]}
    unset "RG_MC[$1]"
}
rg_cleanup() {
    local n
    for n in "${!RG_MC[@]}"; do rg_mc_stop "$n"; done
    tp_cleanup
}
trap rg_cleanup EXIT

# rg_cli ARGS...: rdmaud-registry inside the namespace, bounded.
rg_cli() {
    timeout 10 ip netns exec "$TP_NETNS" "$RDMAUD_BUILD/app/rdmaud-registry/rdmaud-registry" "$@"
}

# ---- testpmd instances on the registry ---------------------------------------------------
# rg_start NAME DEV ADDR MAC LCORE DEVARGS [TESTPMD_ARGS...]: testpmd with one net_rdmaud port
# on softud device DEV at ADDR (127.0.0.x), main lcore LCORE (forwarding on the other), DEVARGS
# appended to the vdev (registry=..., ns=..., ...).
rg_start() {
    local name=$1 dev=$2 addr=$3 mac=$4 lcore=$5 devargs=$6
    shift 6
    tp_start "$name" "$dev=$addr" -l 0,1 --main-lcore "$lcore" --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=$dev,mac=$mac,$devargs" \
        -- -i --total-num-mbufs=8192 --rxd=1024 --txd=1024 "$@"
}

# rg_xstat NAME XSTAT: the port's current value of XSTAT (rx_good_packets, registry_peers, ...).
rg_xstat() {
    tp_run "$1" "show port xstats 0"
    tp_stat "$1" "$2"
}

# rg_wait_xstat NAME FIELD OP VALUE SECONDS: wait until FIELD OP VALUE holds (OP: -eq, -ge, ...);
# prints the milliseconds it took. Fails after SECONDS.
rg_wait_xstat() {
    local name=$1 field=$2 op=$3 want=$4 secs=$5 t0 v
    t0=$(date +%s%N)
    while :; do
        v=$(rg_xstat "$name" "$field")
        # shellcheck disable=SC2086
        [ "$v" $op "$want" ] && break
        [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt $((secs * 1000)) ] &&
            fail "$name: $field is $v, not $op $want after ${secs}s"
        sleep 0.1
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
