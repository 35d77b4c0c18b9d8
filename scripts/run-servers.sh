#!/usr/bin/env bash
# Server machine of the echo example: optionally starts the registry's memcached, then
# the echo servers (one port, one worker thread per queue), publishing the port under
# $RDMAUD_SERVER_NAME in namespace $RDMAUD_NS of the registry at $HRD_REGISTRY_IP.
# Settings: scripts/echo-env.sh (environment) or the flags below. Stop with stop-echo.sh.
#
# Usage: scripts/run-servers.sh [--memcached] [--threads N] [--duration S] [--wait]
#   --memcached   start memcached on the (first) host:port of HRD_REGISTRY_IP first
#   --threads N   server worker threads / queues (RDMAUD_SERVER_THREADS)
#   --duration S  seconds to run, 0 = until stopped (RDMAUD_DURATION)
#   --wait        stay in the foreground until the servers exit, then print their summary
set -euo pipefail
RDMAUD_SCRIPT=run-servers
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/echo-env.sh"

start_memcached=0 wait_end=0
while [ $# -gt 0 ]; do
    case "$1" in
        --memcached) start_memcached=1; shift ;;
        --threads) RDMAUD_SERVER_THREADS=${2:?--threads needs a number}; shift 2 ;;
        --duration) RDMAUD_DURATION=${2:?--duration needs seconds}; shift 2 ;;
        --wait) wait_end=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -x "$ECHO_BIN" ] || die "$ECHO_BIN is not built: run scripts/setup.sh"
mkdir -p "$RDMAUD_RUN_DIR"

if [ $start_memcached -eq 1 ]; then
    first=${HRD_REGISTRY_IP%%,*}
    host=${first%:*} port=${first##*:}
    [ "$host" != "$first" ] || port=11211
    command -v memcached >/dev/null || die "memcached is not installed (scripts/setup.sh installs it)"
    memcached -l "$host" -p "$port" -U 0 -u root -m 64 >"$RDMAUD_RUN_DIR/memcached.log" 2>&1 &
    echo $! >"$RDMAUD_RUN_DIR/memcached.pid"
    for _ in $(seq 50); do # up to 5 s for it to listen
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null || die "memcached did not start on $host:$port (log: $RDMAUD_RUN_DIR/memcached.log)"
    log "registry memcached on $host:$port (pid $(cat "$RDMAUD_RUN_DIR/memcached.pid"))"
fi

# shellcheck disable=SC2046
echo_launch server "$RDMAUD_SERVER_NAME" $(echo_lcores "$RDMAUD_SERVER_THREADS") -- \
    --mode server --duration "$RDMAUD_DURATION" ${RDMAUD_ECHO_ARGS:-}
if [ $wait_end -eq 1 ]; then
    wait "$(cat "$RDMAUD_RUN_DIR/$RDMAUD_SERVER_NAME.pid")" || die "the server failed: $RDMAUD_RUN_DIR/$RDMAUD_SERVER_NAME.log"
    grep -v '^EAL' "$RDMAUD_RUN_DIR/$RDMAUD_SERVER_NAME.log"
fi
