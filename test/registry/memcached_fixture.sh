#!/usr/bin/env bash
# A real memcached on 127.0.0.1 for the registry tests (GoogleTest fixtures call it through
# popen, script tests source-free call it too):
#   memcached_fixture.sh start [PORT]  -> prints "PORT WRAPPER_PID MEMCACHED_PID" once listening
#   memcached_fixture.sh stop PID...   -> SIGKILL each PID (the wrapper and memcached)
# Every memcached runs under `timeout` (RDMAUD_MC_LIFETIME seconds, default 300), so a test that
# dies without cleaning up still leaves nothing behind for long. Without PORT a free port is
# found by trying random ones: memcached exits when the port is taken, and the port only counts
# as ours once `ss` shows our memcached PID listening on it.
set -euo pipefail

lifetime=${RDMAUD_MC_LIFETIME:-300}

start() {
    local want=${1:-} attempt port wrapper mc i log
    local user=()
    [ "$(id -u)" = 0 ] && user=(-u nobody)   # memcached refuses to run as root without -u
    for attempt in $(seq 1 20); do
        port=${want:-$((20000 + RANDOM % 40000))}
        log=$(mktemp /tmp/rdmaud-mc.XXXXXX)
        timeout -s KILL "$lifetime" memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 -m 64 -t 2 \
            </dev/null >"$log" 2>&1 &
        wrapper=$!
        for i in $(seq 1 400); do   # up to 2 s
            mc=$(cat "/proc/$wrapper/task/$wrapper/children" 2>/dev/null | awk '{print $1}') || true
            if [ -n "$mc" ] && ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$mc,"; then
                rm -f "$log"
                echo "$port $wrapper $mc"
                return 0
            fi
            kill -0 "$wrapper" 2>/dev/null || break
            sleep 0.005
        done
        kill -KILL "$wrapper" ${mc:+"$mc"} 2>/dev/null || true
        wait "$wrapper" 2>/dev/null || true
        if [ -n "$want" ]; then
            # A fixed port (a restart) may still be in TIME_WAIT reuse trouble: retry a few times.
            [ "$attempt" -ge 10 ] && { echo "memcached would not start on port $want: $(cat "$log")" >&2; rm -f "$log"; return 1; }
            sleep 0.1
        fi
        rm -f "$log"
    done
    echo "no free port for memcached after 20 attempts" >&2
    return 1
}

stop() {
    local pid
    for pid in "$@"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start [PORT] | stop PID..." >&2; exit 2 ;;
esac
