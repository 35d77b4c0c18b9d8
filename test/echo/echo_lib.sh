# Helpers of the echo tests. Source it after test/integration/lib.sh.
# shellcheck shell=bash

# echo_wait_started LOG: waits (at most 20 s) until the rdmaud-echo writing LOG has its port
# up (its `placement:` line). A client started before that sends to an address nobody
# serves yet, and with static peers its first requests are lost.
echo_wait_started() {
    local i
    for ((i = 0; i < 400; i++)); do
        grep -q '^placement' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$1" 2>/dev/null
    fail "the echo server did not start within 20 s ($1)"
}
