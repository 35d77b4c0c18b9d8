# Settings of the echo example's scripts (run-servers.sh, run-machine.sh, stop-echo.sh).
# Source it. Every setting comes from the environment, with these defaults; the
# scripts' flags override them.
# shellcheck shell=bash

# The registry's memcached, host[:port][,host[:port]...] — the seed's variable.
HRD_REGISTRY_IP=${HRD_REGISTRY_IP:-127.0.0.1:11211}
# Registry namespace: endpoints of one experiment see each other.
RDMAUD_NS=${RDMAUD_NS:-echo}
# Name the servers' port publishes and the clients look up.
RDMAUD_SERVER_NAME=${RDMAUD_SERVER_NAME:-echo-server}
# Verbs device and port of this machine (empty: the first device).
RDMAUD_DEV=${RDMAUD_DEV:-}
RDMAUD_IB_PORT=${RDMAUD_IB_PORT:-1}
# Source GID index on RoCE (empty: the port's first RoCE v2 IPv4 GID).
RDMAUD_GID_INDEX=${RDMAUD_GID_INDEX:-}
# Set to an IPv4 address to run on a softud device at that address (no RDMA NIC needed).
RDMAUD_SOFTUD=${RDMAUD_SOFTUD:-}
# Worker threads (one queue each) and the client's window and frame size.
RDMAUD_SERVER_THREADS=${RDMAUD_SERVER_THREADS:-1}
RDMAUD_CLIENT_THREADS=${RDMAUD_CLIENT_THREADS:-1}
RDMAUD_WINDOW=${RDMAUD_WINDOW:-16}
RDMAUD_SIZE=${RDMAUD_SIZE:-64}
# Run time in seconds (0: until stop-echo.sh or Ctrl-C).
RDMAUD_DURATION=${RDMAUD_DURATION:-10}
# EAL memory: hugepages if the machine has free ones, else --no-huge.
RDMAUD_EAL_MEM=${RDMAUD_EAL_MEM:-}
# Where pid files and logs of what these scripts start go.
RDMAUD_RUN_DIR=${RDMAUD_RUN_DIR:-/run/rdmaud-echo}

ECHO_BIN=${ECHO_BIN:-$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo}
SOFTUD_RUN=${SOFTUD_RUN:-$RDMAUD_BUILD/lib/softud/softud-run}
RDMAUD_PMD=${RDMAUD_PMD:-$(cat "$RDMAUD_BUILD/drivers/plugin-path" 2>/dev/null || echo "$RDMAUD_BUILD/drivers/librte_net_rdmaud.so")}

echo_eal_mem() {
    if [ -n "$RDMAUD_EAL_MEM" ]; then
        echo "$RDMAUD_EAL_MEM"
    elif [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge 256 ]; then
        echo "--huge-unlink"
    else
        echo "--no-huge -m 1024"
    fi
}

# echo_lcores WORKERS: EAL lcore arguments for a main lcore plus WORKERS workers, lcore i
# on CPU (i + RDMAUD_CPU_OFFSET) mod the CPU count, so several processes on one machine
# can be spread over its cores.
echo_lcores() {
    local workers=$1 ncpu list="" i
    ncpu=$(nproc)
    for ((i = 0; i <= workers; i++)); do
        list+="${list:+,}$i@$(( (i + ${RDMAUD_CPU_OFFSET:-0}) % ncpu ))"
    done
    echo "--lcores=$list"
}

# echo_devargs NAME: the net_rdmaud devargs of this machine's port.
echo_devargs() {
    local args="net_rdmaud0,registry=$HRD_REGISTRY_IP,ns=$RDMAUD_NS,name=$1,port=$RDMAUD_IB_PORT"
    [ -n "$RDMAUD_GID_INDEX" ] && args+=",gid_index=$RDMAUD_GID_INDEX"
    if [ -n "$RDMAUD_SOFTUD" ]; then
        args+=",dev=softud0"
    elif [ -n "$RDMAUD_DEV" ]; then
        args+=",dev=$RDMAUD_DEV"
    fi
    echo "$args"
}

# echo_launch ROLE NAME ARGS...: start rdmaud-echo in the background, record its pid.
echo_launch() {
    local role=$1 name=$2
    shift 2
    mkdir -p "$RDMAUD_RUN_DIR"
    local wrap=()
    [ -n "$RDMAUD_SOFTUD" ] && wrap=("$SOFTUD_RUN" --dev "softud0=$RDMAUD_SOFTUD" --)
    # shellcheck disable=SC2046
    "${wrap[@]}" "$ECHO_BIN" $(echo_eal_mem) --no-pci -d "$RDMAUD_PMD" \
        --file-prefix="rdmaud-echo-$name-$$" --vdev="$(echo_devargs "$name")" "$@" \
        >"$RDMAUD_RUN_DIR/$name.log" 2>&1 &
    echo $! >"$RDMAUD_RUN_DIR/$name.pid"
    log "$role $name started (pid $!, log $RDMAUD_RUN_DIR/$name.log)"
}
