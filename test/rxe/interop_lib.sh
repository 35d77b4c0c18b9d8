# Helpers of the softud <-> rxe interoperability test: the host side (interop.sh) and the
# VM side (interop_vm.sh) meet in SYNC, a directory both see uncached (rxe-vm.sh --share).
# shellcheck shell=bash
HOST_ADDR=198.18.1.1 VM_ADDR=198.18.1.2
# A failure on either side tells the other at once (SYNC/abort), so it stops waiting.
fail() {
    [ -n "${SYNC:-}" ] && [ -d "$SYNC" ] && echo "$*" > "$SYNC/abort"
    echo "FAIL: $*" >&2
    exit 1
}

# sync_wait NAME [SECONDS]: wait for SYNC/NAME to exist (default 120 s); fails after that.
sync_wait() {
    local i
    for ((i = 0; i < ${2:-120} * 10; i++)); do
        [ -e "$SYNC/$1" ] && return 0
        [ -e "$SYNC/abort" ] && fail "the other side gave up: $(cat "$SYNC/abort")"
        sleep 0.1
    done
    echo "gave up waiting for $1" > "$SYNC/abort"
    fail "no $1 after ${2:-120} s"
}
sync_put() { echo "${2:-}" > "$SYNC/.$1.tmp" && mv "$SYNC/.$1.tmp" "$SYNC/$1"; }

# wait_listen PORT [NETNS]: until a TCP listener on PORT exists (at most 60 s).
wait_listen() {
    local i ns=()
    [ -n "${2:-}" ] && ns=(ip netns exec "$2")
    for ((i = 0; i < 600; i++)); do
        "${ns[@]}" ss -Hltn "sport = :$1" 2> /dev/null | grep -q . && return 0
        sleep 0.1
    done
    fail "nothing listens on TCP port $1"
}

# Pairs run in order: NAME SERVER_SIDE (vm|host) SIZE. The client always runs on the
# other side; ibv_ud_pingpong and perftest's ib_send_bw exchange QPN and GID over TCP.
INTEROP_STEPS=(
    "pingpong vm" "pingpong host"
    "send_bw vm" "send_bw host"
)
PP_ARGS=(-s 512 -n 500)
BW_ARGS=(-c UD -s 512 -D 3)
