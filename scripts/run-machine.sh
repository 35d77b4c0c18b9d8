#!/usr/bin/env bash
# Client machine i of the echo example: starts the echo clients (one port, one worker
# thread per queue), which look the servers up by name ($RDMAUD_SERVER_NAME) in the
# registry at $HRD_REGISTRY_IP and keep $RDMAUD_WINDOW requests outstanding each.
# Settings: scripts/echo-env.sh (environment) or the flags below. Stop with stop-echo.sh.
#
# Usage: scripts/run-machine.sh I [--threads N] [--duration S] [--window W] [--size B] [--wait]
#   I             this client machine's number, 0..255 (the seed's run-machine.sh i)
#   --threads N   client worker threads / queues (RDMAUD_CLIENT_THREADS)
#   --wait        stay in the foreground until the clients exit, then print their summary
set -euo pipefail
RDMAUD_SCRIPT=run-machine
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/echo-env.sh"

machine=${1:?usage: run-machine.sh I [options] (see --help)}
[ "$machine" = -h ] || [ "$machine" = --help ] && { sed -n '2,11p' "$0"; exit 0; }
[[ $machine =~ ^[0-9]+$ ]] && [ "$machine" -le 255 ] || die "machine number must be 0..255, not '$machine'"
shift
wait_end=0
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) RDMAUD_CLIENT_THREADS=${2:?--threads needs a number}; shift 2 ;;
        --duration) RDMAUD_DURATION=${2:?--duration needs seconds}; shift 2 ;;
        --window) RDMAUD_WINDOW=${2:?--window needs a number}; shift 2 ;;
        --size) RDMAUD_SIZE=${2:?--size needs bytes}; shift 2 ;;
        --wait) wait_end=1; shift ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -x "$ECHO_BIN" ] || die "$ECHO_BIN is not built: run scripts/setup.sh"

name="echo-client-$machine"
# shellcheck disable=SC2046
echo_launch client "$name" $(echo_lcores "$RDMAUD_CLIENT_THREADS") -- \
    --mode client --client-id "$machine" --server-name "$RDMAUD_SERVER_NAME" \
    --registry "$HRD_REGISTRY_IP" --ns "$RDMAUD_NS" --window "$RDMAUD_WINDOW" \
    --size "$RDMAUD_SIZE" --duration "$RDMAUD_DURATION" ${RDMAUD_ECHO_ARGS:-}
if [ $wait_end -eq 1 ]; then
    wait "$(cat "$RDMAUD_RUN_DIR/$name.pid")" || die "the client failed: $RDMAUD_RUN_DIR/$name.log"
    grep -v '^EAL' "$RDMAUD_RUN_DIR/$name.log"
fi
