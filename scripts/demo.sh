#!/usr/bin/env bash
# The README's main job: the echo example on one machine, over net_rdmaud on softud,
# with a real memcached registry.
#   - installs/builds as needed (scripts/setup.sh);
#   - creates three "machines": network namespaces rdmaud-demo[-TAG]-{server,client1,client2}
#     joined by a bridge (or, where namespaces cannot be made, three loopback addresses);
#   - the server machine runs memcached (the registry) and the echo servers
#     (scripts/run-servers.sh), each client machine the echo clients
#     (scripts/run-machine.sh i), all on softud devices at the machines' addresses;
#   - shows their live output, then a summary (throughput, latency, losses and drops);
#   - removes everything it created, also on Ctrl-C.
# Settings: DEMO_SECONDS (default 10), RDMAUD_SERVER_THREADS (2), RDMAUD_CLIENT_THREADS (1),
# RDMAUD_WINDOW (16), RDMAUD_SIZE (64); DEMO_NETNS=0 forces loopback addresses;
# DEMO_WORKDIR (/tmp) holds the run's logs while it lasts; DEMO_TAG names this run's
# namespaces (rdmaud-demo-TAG-*), so that runs at the same time do not meet.
set -euo pipefail
RDMAUD_SCRIPT=demo
. "$(dirname "$0")/lib.sh"

DEMO_SECONDS=${DEMO_SECONDS:-10}
DEMO_NETNS=${DEMO_NETNS:-1}
export RDMAUD_SERVER_THREADS=${RDMAUD_SERVER_THREADS:-2}
export RDMAUD_CLIENT_THREADS=${RDMAUD_CLIENT_THREADS:-1}
export RDMAUD_NS=demo RDMAUD_SERVER_NAME=echo-server
# More busy-polling processes than cores on a laptop: idle workers yield.
export RDMAUD_ECHO_ARGS="--idle-yield"

[ "${DEMO_SKIP_SETUP:-0}" = 1 ] || "$RDMAUD_TOP/scripts/setup.sh"
need_root "the demo (network namespaces, hugepages)"

work=$(mktemp -d "${DEMO_WORKDIR:-/tmp}/rdmaud-demo.XXXXXX")
hosts=(server client1 client2)
declare -A addr ns
created_ns=()
tail_pid=""
cleanup() {
    set +e
    for h in "${hosts[@]}"; do
        [ -d "$work/$h" ] && RDMAUD_RUN_DIR="$work/$h" "$RDMAUD_TOP/scripts/stop-echo.sh" >/dev/null 2>&1
    done
    [ -n "$tail_pid" ] && { pkill -P "$tail_pid" 2>/dev/null; kill "$tail_pid" 2>/dev/null; }
    for n in "${created_ns[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_prefix=rdmaud-demo${DEMO_TAG:+-$DEMO_TAG}
make_netns_hosts() {
    local sw=$ns_prefix-sw
    ip netns add "$sw" 2>/dev/null || return 1
    created_ns+=("$sw")
    ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up || return 1
    local i=1
    for h in "${hosts[@]}"; do
        local n=$ns_prefix-$h
        ip netns add "$n" || return 1
        created_ns+=("$n")
        ip -n "$sw" link add "$h" type veth peer name eth0 netns "$n" || return 1
        ip -n "$sw" link set "$h" master br0 up || return 1
        ip -n "$n" link set lo up
        ip -n "$n" link set eth0 mtu 9000 up
        ip -n "$sw" link set "$h" mtu 9000
        addr[$h]=198.18.0.$i
        ip -n "$n" addr add "${addr[$h]}/24" dev eth0 || return 1
        ns[$h]=$n
        i=$((i + 10))
    done
}

if [ "$DEMO_NETNS" = 1 ] && make_netns_hosts; then
    log "machines: network namespaces on a bridge: server ${addr[server]}, client1 ${addr[client1]}, client2 ${addr[client2]}"
    registry="${addr[server]}:11211"
else
    for n in "${created_ns[@]}"; do ip netns del "$n" 2>/dev/null; done
    created_ns=()
    log "network namespaces unavailable: using loopback addresses"
    addr=([server]=127.0.23.1 [client1]=127.0.23.11 [client2]=127.0.23.12)
    ns=([server]="" [client1]="" [client2]="")
    registry="127.0.0.1:$(free_tcp_port)"
fi
export HRD_REGISTRY_IP=$registry

on_host() { # HOST CMD...: run CMD as machine HOST
    local h=$1
    shift
    if [ -n "${ns[$h]}" ]; then ip netns exec "${ns[$h]}" "$@"; else "$@"; fi
}
host_env() { # HOST: the echo scripts' settings for machine HOST
    echo "RDMAUD_RUN_DIR=$work/$1 RDMAUD_SOFTUD=${addr[$1]} SOFTUD_STAT_DIR=$work/$1/stat"
}

"$RDMAUD_TOP/scripts/hugepages-create.sh" 0 512 >/dev/null 2>&1 || log "no hugepages: EAL runs with --no-huge"
mkdir -p "$work"/{server,client1,client2}/stat

log "registry: memcached on $registry; server machine starts $RDMAUD_SERVER_THREADS server thread(s)"
# shellcheck disable=SC2046
on_host server env $(host_env server) RDMAUD_CPU_OFFSET=1 \
    "$RDMAUD_TOP/scripts/run-servers.sh" --memcached --duration $((DEMO_SECONDS + 8))
sleep 2
i=1
for h in client1 client2; do
    # shellcheck disable=SC2046
    on_host "$h" env $(host_env "$h") RDMAUD_CPU_OFFSET=0 \
        "$RDMAUD_TOP/scripts/run-machine.sh" $i --duration "$DEMO_SECONDS"
    i=$((i + 1))
done

# Live output: every machine's per-second lines, prefixed with its name.
(
    for h in "${hosts[@]}"; do
        tail -n +1 -F "$work/$h"/echo-*.log 2>/dev/null | grep --line-buffered -E '^\[|server "|placement|probe' |
            sed -u "s/^/[$h] /" &
    done
    wait
) &
tail_pid=$!

# Wait for the clients, then the servers.
for h in client1 client2; do
    for f in "$work/$h"/*.pid; do
        pid=$(cat "$f")
        while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
    done
done
RDMAUD_RUN_DIR="$work/server" "$RDMAUD_TOP/scripts/stop-echo.sh" >/dev/null
sleep 1
pkill -P "$tail_pid" 2>/dev/null || true # the tail pipelines first: they are its children
kill "$tail_pid" 2>/dev/null || true
tail_pid=""

echo
/usr/bin/python3 "$RDMAUD_TOP/scripts/demo_summary.py" "$work" server client1 client2
