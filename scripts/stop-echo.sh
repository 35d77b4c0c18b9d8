#!/usr/bin/env bash
# Stops what run-servers.sh / run-machine.sh started on this machine — and nothing else:
# only the PIDs they recorded in $RDMAUD_RUN_DIR, each checked to still be that program.
# SIGINT first (the echo processes print their summary), SIGKILL after 10 s.
set -euo pipefail
RDMAUD_SCRIPT=stop-echo
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/echo-env.sh"

[ -d "$RDMAUD_RUN_DIR" ] || { log "nothing to stop ($RDMAUD_RUN_DIR does not exist)"; exit 0; }
pids=()
for f in "$RDMAUD_RUN_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    # A recycled PID must not be killed: it has to be one of the programs we start.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'rdmaud-echo|memcached'; then
        kill -INT "$pid" 2>/dev/null && pids+=("$pid") && log "stopping $(basename "$f" .pid) (pid $pid)"
    fi
    rm -f "$f"
done
for _ in $(seq 100); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
done
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null && { kill -KILL "$p" 2>/dev/null || true; log "pid $p killed after 10 s"; }
done
log "stopped ${#pids[@]} process(es)"
