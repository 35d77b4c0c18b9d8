# Helpers for the net_rdmaud testpmd tests (sourced after lib.sh).
# shellcheck shell=bash

SOFTUD_RUN=${SOFTUD_RUN:-$RDMAUD_BUILD/lib/softud/softud-run}

# How softud is brought in: softud-run when it exists, else the drop-in library
# from the build tree with SOFTUD_DEVICES (what softud-run sets up).
softud_env() { # DEVSPEC -> prints a command prefix ("none": no softud)
    local devspec=$1
    if [ "$devspec" = none ]; then
        echo "$SAN_ENV"
    elif [ -x "$SOFTUD_RUN" ]; then
        local d out=("$SOFTUD_RUN")
        IFS=',' read -ra d <<<"$devspec"
        for x in "${d[@]}"; do out+=(--dev "$x"); done
        echo "${out[@]} --"
    else
        echo "$SAN_ENV LD_LIBRARY_PATH=$RDMAUD_BUILD/lib/softud SOFTUD_DEVICES=$devspec"
    fi
}

# softud_available: skip unless a softud device answers ibv_devinfo.
softud_available() {
    if [ ! -x "$SOFTUD_RUN" ] && [ ! -e "$RDMAUD_BUILD/lib/softud/libibverbs.so.1" ]; then
        skip "softud is not built in $RDMAUD_BUILD"
    fi
    # shellcheck disable=SC2046
    timeout -k 5 20 unshare -n -- $(softud_env softud0=127.0.0.2) ibv_devinfo >"$TEST_TMP/devinfo.log" 2>&1 &&
        grep -q "hca_id:.*softud0" "$TEST_TMP/devinfo.log" ||
        { cat "$TEST_TMP/devinfo.log"; skip "ibv_devinfo does not work on softud yet"; }
}

# ---- interactive testpmd instances driven through a FIFO ---------------------
declare -A TP_PID TP_FD TP_LOG TP_NS
TP_NETNS=""
TP_HOSTS=()

tp_cleanup() {
    local n
    for n in "${!TP_PID[@]}"; do
        kill -INT "${TP_PID[$n]}" 2>/dev/null || true
    done
    sleep 1
    for n in "${!TP_PID[@]}"; do
        kill -KILL "${TP_PID[$n]}" 2>/dev/null || true
    done
    [ -n "$TP_NETNS" ] && ip netns del "$TP_NETNS" 2>/dev/null
    for n in "${TP_HOSTS[@]}"; do ip netns del "$n" 2>/dev/null; done
    [ -n "${KEEP_LOGS:-}" ] && cp "$TEST_TMP"/*.log "$KEEP_LOGS"/ 2>/dev/null
    cleanup_test
}
trap tp_cleanup EXIT

# tp_netns: run every following tp_start inside a fresh network namespace.
# Named by PID and a random number: a namespace an earlier killed run left behind on the
# same machine (with a PID since reused) must not make this run skip.
tp_netns() {
    TP_NETNS="rdmaudt$$-$RANDOM"
    ip netns add "$TP_NETNS" || skip "cannot create a network namespace $TP_NETNS"
    ip -n "$TP_NETNS" link set lo up
}

# tp_hosts ADDR_A ADDR_B: two namespaces ("hosts") joined by a veth pair, with
# ADDR_A/24 and ADDR_B/24; instances A and B then start in one each.
tp_hosts() {
    local a=rdmaudA$$-$RANDOM b=rdmaudB$$-$RANDOM
    ip netns add "$a" && ip netns add "$b" || skip "cannot create network namespaces"
    TP_HOSTS=("$a" "$b")
    ip link add "rdv$$a" netns "$a" type veth peer name "rdv$$b" netns "$b" || fail "veth pair"
    ip -n "$a" addr add "$1/24" dev "rdv$$a"
    ip -n "$b" addr add "$2/24" dev "rdv$$b"
    ip -n "$a" link set "rdv$$a" up; ip -n "$a" link set lo up
    ip -n "$b" link set "rdv$$b" up; ip -n "$b" link set lo up
    TP_NS[A]=$a
    TP_NS[B]=$b
}

# tp_start NAME DEVSPEC EAL_AND_TESTPMD_ARGS... : start dpdk-testpmd -i in the background
# and wait for its prompt (tp_launch: do not wait).
tp_start() {
    tp_launch "$@"
    tp_wait "$1" "testpmd> " "${TP_START_WAIT:-30}"
}
tp_launch() {
    local name=$1 devspec=$2
    shift 2
    local fifo=$TEST_TMP/$name.in log=$TEST_TMP/$name.log ns=()
    mkdir -p "$TEST_TMP/stat"
    rm -f "$fifo"
    mkfifo "$fifo"
    TP_LOG[$name]=$log
    [ -n "$TP_NETNS" ] && ns=(ip netns exec "$TP_NETNS")
    [ -n "${TP_NS[$name]:-}" ] && ns=(ip netns exec "${TP_NS[$name]}")
    # shellcheck disable=SC2046
    timeout -s INT -k 10 "${TP_TIMEOUT:-120}" "${ns[@]}" env SOFTUD_STAT_DIR="$TEST_TMP/stat" SOFTUD_QUIET=1 \
        $(softud_env "$devspec") stdbuf -oL ${TP_WRAP:-} dpdk-testpmd -d "$RDMAUD_PMD" --no-pci \
        --file-prefix="$TEST_PREFIX$name" --log-level=pmd.net.rdmaud:info "$@" <"$fifo" >"$log" 2>&1 &
    TP_PID[$name]=$!
    exec {fd}>"$fifo"
    TP_FD[$name]=$fd
}

# tp_cmd NAME COMMAND: type a testpmd command.
tp_cmd() { echo "$2" >&"${TP_FD[$1]}"; }

# tp_wait NAME PATTERN [SECONDS]: wait until the log has PATTERN (fixed string).
tp_wait() {
    local name=$1 pat=$2 secs=${3:-20} i
    for ((i = 0; i < secs * 10; i++)); do
        grep -qF -- "$pat" "${TP_LOG[$name]}" 2>/dev/null && return 0
        kill -0 "${TP_PID[$name]}" 2>/dev/null || { cat "${TP_LOG[$name]}"; fail "$name exited waiting for '$pat'"; }
        sleep 0.1
    done
    cat "${TP_LOG[$name]}"
    fail "$name: no '$pat' after ${secs}s"
}

# tp_count NAME PATTERN: occurrences of PATTERN (fixed string) in the log so far.
tp_count() { grep -cF -- "$2" "${TP_LOG[$1]}" 2>/dev/null || true; }

# tp_wait_more NAME PATTERN BEFORE [SECONDS]: wait until PATTERN occurs more than BEFORE times.
tp_wait_more() {
    local name=$1 pat=$2 before=$3 secs=${4:-20} i
    for ((i = 0; i < secs * 10; i++)); do
        [ "$(tp_count "$name" "$pat")" -gt "$before" ] && return 0
        kill -0 "${TP_PID[$name]}" 2>/dev/null || { cat "${TP_LOG[$name]}"; fail "$name exited waiting for '$pat'"; }
        sleep 0.1
    done
    cat "${TP_LOG[$name]}"
    fail "$name: no new '$pat' after ${secs}s"
}

# tp_run NAME COMMAND: type a command and wait until testpmd has executed it.
tp_run() {
    local before
    before=$(tp_count "$1" "Infos for port 0")
    tp_cmd "$1" "$2"
    tp_cmd "$1" "show port info 0"
    tp_wait_more "$1" "Infos for port 0" "$before" 20
    sleep 0.2
}

# tp_quit NAME: quit and wait for a clean exit.
tp_quit() {
    local name=$1 rc=0
    tp_cmd "$name" "quit"
    exec {TP_FD[$name]}>&-
    wait "${TP_PID[$name]}" || rc=$?
    unset "TP_PID[$name]"
    grep -q "Bye" "${TP_LOG[$name]}" || { cat "${TP_LOG[$name]}"; fail "$name did not exit cleanly (rc $rc)"; }
}

# tp_stat NAME FIELD: last value printed for FIELD ("RX-packets", "tx_drop_unknown_mac", ...).
tp_stat() {
    local v
    v=$(grep -oE -- "(^| )$2: +[0-9]+" "${TP_LOG[$1]}" | tail -1 | grep -oE '[0-9]+$')
    echo "${v:-0}"
}

# tp_pause NAME SECONDS: stop the testpmd process for SECONDS (a receiver that falls behind).
tp_pause() {
    local pid
    pid=$(pgrep -P "${TP_PID[$1]}") || fail "$1: no process under ${TP_PID[$1]}"
    [ "$(cat "/proc/$pid/comm")" = dpdk-testpmd ] || fail "$1: $pid is $(cat "/proc/$pid/comm"), not testpmd"
    kill -STOP "$pid"
    sleep "$2"
    kill -CONT "$pid"
}

# tp_snapshot NAME: print port stats and xstats into the log (tp_stat reads the last ones).
tp_snapshot() {
    tp_run "$1" "show port stats 0"
    tp_run "$1" "show port xstats 0"
}

# softud_counter DEVICE NAME: a counter from softud's published counter file.
softud_counter() {
    /usr/bin/python3 - "$TEST_TMP/stat/$1.counters" "$2" <<'PY'
import struct, sys
path, want = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    data = f.read()
magic, version, count, esz = struct.unpack_from("<8sIII", data, 0)
assert magic == b"SOFTUDC1", magic
for i in range(count):
    off = 64 + i * esz
    name = data[off:off + 40].rstrip(b"\0").decode()
    if name == want:
        print(struct.unpack_from("<Q", data, off + 40)[0])
        break
else:
    sys.exit(f"no counter {want} in {path}")
PY
}

# run_testpmd_on DEVSPEC LOG STDIN_TEXT EAL_ARGS... -- TESTPMD_ARGS...
# dpdk-testpmd on the softud devices in DEVSPEC ("softud0=127.0.0.2[,softud1=...]"),
# bounded in time, in a private network namespace (no clash over 127.0.0.x:4791).
run_testpmd_on() {
    local devspec=$1 log=$2 input=$3 rc=0
    shift 3
    # shellcheck disable=SC2046
    printf '%b' "$input" | timeout -s INT -k 10 60 unshare -n -- bash -c 'ip link set lo up && exec "$@"' _ \
        env SOFTUD_QUIET=1 $(softud_env "$devspec") dpdk-testpmd -d "$RDMAUD_PMD" --no-pci --file-prefix="$TEST_PREFIX" \
        --log-level=pmd.net.rdmaud:info "$@" >"$log" 2>&1 || rc=$?
    return $rc
}

expect_eq() { # LABEL GOT WANT
    [ "$2" = "$3" ] || fail "$1: got $2, expected $3"
    echo "ok: $1 = $2"
}

# ---- a registry memcached inside the test's network namespace -----------------
# tp_memcached_start PORT: the registry tests' fixture (bounded lifetime) in TP_NETNS;
# tp_memcached_stop: SIGKILL it. TP_MC_PIDS holds its pids for the EXIT trap.
TP_MC_PIDS=""
tp_memcached_start() {
    local out
    out=$(ip netns exec "$TP_NETNS" bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" start "$1") ||
        fail "memcached did not start on port $1"
    TP_MC_PIDS=${out#* }
}
tp_memcached_stop() {
    # shellcheck disable=SC2086
    [ -n "$TP_MC_PIDS" ] && bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" stop $TP_MC_PIDS
    TP_MC_PIDS=""
}

# tp_resolve_through_registry NAME: NAME (forwarding stopped, its peer the --eth-peer MAC) sends
# a burst at a time until its registry has resolved that peer (frames to an unresolved MAC are
# dropped before the wire), at most 20 rounds.
tp_resolve_through_registry() {
    local i
    for i in $(seq 1 20); do
        tp_run "$1" "start tx_first 1"
        tp_run "$1" "stop"
        tp_run "$1" "show port xstats 0"
        [ "$(tp_stat "$1" registry_peers)" -ge 1 ] && return 0
        sleep 0.2
    done
    fail "$1 did not resolve its peer through the registry"
}

# ---- two ports, each the other's static peer -----------------------------------
# tp_static_pair: A on softud0 (127.0.0.2, MAC TP_MAC_A) and B on softud1 (127.0.0.3,
# TP_MAC_B), each the other's static peer (a process's first QP, its port's queue 0, is
# QPN 0x11); A forwards on lcore 1, B on lcore 0. Extra testpmd arguments: TP_A_ARGS, TP_B_ARGS.
TP_MAC_A=02:00:00:00:00:0a
TP_MAC_B=02:00:00:00:00:0b
TP_A_ARGS=()
TP_B_ARGS=()
tp_static_pair() {
    tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=softud0,mac=$TP_MAC_A,peers=$TP_MAC_B@127.0.0.3/0x11" \
        -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --eth-peer=0,$TP_MAC_B "${TP_A_ARGS[@]}"
    tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
        --vdev="net_rdmaud0,dev=softud1,mac=$TP_MAC_B,peers=$TP_MAC_A@127.0.0.2/0x11" \
        -- -i --total-num-mbufs=8192 --rxd=1024 --txd=512 --eth-peer=0,$TP_MAC_A "${TP_B_ARGS[@]}"
}

# softud_drops DEVICE: datagrams for DEVICE that it counted as dropped, the sum of its drop_*
# counters: every cause, incl. drop_no_recv (no receive posted) and drop_overflow (its
# shared-memory ring stayed full while the receiver was starved of CPU, e.g. in a sanitizer
# build; counted by the receiver once it drains the lane). 0 before the device has published
# any counters. The one helper every frame ledger uses.
softud_drops() {
    [ -e "$TEST_TMP/stat/$1.counters" ] || { echo 0; return; }
    "$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$TEST_TMP/stat" "$1" |
        awk '$1 ~ /^drop_/ {s += $2} END {print s + 0}'
}

# softud_wait_ledger SENDER RECEIVER [SECONDS]: wait (bounded) until the receiver device has
# delivered or dropped every datagram the sender device sent (they may still be in flight).
softud_wait_ledger() {
    local i want got
    for ((i = 0; i < ${3:-10} * 10; i++)); do
        want=$(softud_counter "$1" tx_packets)
        got=$(($(softud_counter "$2" rx_packets) + $(softud_drops "$2")))
        [ "$got" -ge "$want" ] && return 0
        sleep 0.1
    done
    echo "softud_wait_ledger: $2 delivered or dropped $got of the $want datagrams $1 sent"
}

# ---- the packet ledger under receive-side faults --------------------------------
# softud_ledger_wait SENDER RECEIVER [SECONDS]: wait (bounded) until every datagram the
# sender device sent (plus the receiver's injected duplicates) was delivered or counted by
# the receiver device: rx_packets + Σ drop_* + fault_drop. Held (delayed/reordered) datagrams
# are released within their delay. Returns 1 when the time is up.
softud_ledger_wait() {
    local i want got
    for ((i = 0; i < ${3:-10} * 10; i++)); do
        want=$(($(softud_counter "$1" tx_packets) + $(softud_counter "$2" fault_dup)))
        got=$(($(softud_counter "$2" rx_packets) + $(softud_drops "$2") + $(softud_counter "$2" fault_drop)))
        [ "$got" -ge "$want" ] && return 0
        sleep 0.1
    done
    echo "softud_ledger_wait: $2 delivered or counted $got of the $want datagrams expected"
    return 1
}

# tp_ledger_check A B: the exact ledger of a run where port A (device softud0) sent to port B
# (softud1), with faults on B's device; both ports stopped and snapshotted (tp_snapshot). Checks
#   A's port TX-packets                 = softud0 tx_packets (every posted WR left as a datagram)
#   softud0 tx_packets + softud1 fault_dup = softud1 rx_packets + Σ drop_* + fault_drop
#   softud1 rx_packets                  = B's RX-packets + RX-nombuf + rx_mac_filtered + cq_lost
# and prints one LEDGER line with every term.
tp_ledger_check() {
    local a_tx b_rx b_nombuf b_filt sd_tx sd_rx dup fdrop drops lost held
    a_tx=$(tp_stat "$1" TX-packets)
    b_rx=$(tp_stat "$2" RX-packets) b_nombuf=$(tp_stat "$2" RX-nombuf) b_filt=$(tp_stat "$2" rx_mac_filtered)
    sd_tx=$(softud_counter softud0 tx_packets)
    sd_rx=$(softud_counter softud1 rx_packets)
    dup=$(softud_counter softud1 fault_dup) fdrop=$(softud_counter softud1 fault_drop)
    drops=$(softud_drops softud1) lost=$(softud_counter softud1 cq_lost)
    held=$(softud_counter softud1 fault_held_at_close)
    echo "LEDGER: A port TX-packets $a_tx | softud0 sent $sd_tx | softud1 fault_dup $dup:" \
         "delivered $sd_rx, drop_* $drops (nonzero drop_/fault_: $("$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$TEST_TMP/stat" softud1 |
            awk '$1 ~ /^(drop_|fault_)/ && $2 > 0 {printf "%s%s %s", sep, $1, $2; sep=", "}')), fault_drop $fdrop," \
         "cq_lost $lost, held $held | B port RX-packets $b_rx, RX-nombuf $b_nombuf, rx_mac_filtered $b_filt"
    expect_eq "A's port TX-packets = datagrams its device sent" "$sd_tx" "$a_tx"
    expect_eq "sent + duplicated = delivered + dropped by cause (softud1)" \
        "$((sd_rx + drops + fdrop + held))" "$((sd_tx + dup))"
    expect_eq "delivered = B's port RX-packets + RX-nombuf + MAC-filtered + completions lost to a failed CQ" \
        "$((b_rx + b_nombuf + b_filt + lost))" "$sd_rx"
}

# tp_pid NAME: the pid of instance NAME's dpdk-testpmd (a descendant of the launcher).
tp_pid() {
    local todo=("${TP_PID[$1]}") p c
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]} todo=("${todo[@]:1}")
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dpdk-testpmd ] && { echo "$p"; return 0; }
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
    done
    fail "no dpdk-testpmd process under $1"
}

# tp_fd_kinds NAME: instance NAME's open file descriptors, by kind ("socket", "anon_inode:[eventfd]",
# "/dev/shm/...", with digits and the EAL file prefix removed; not the test's FIFOs and logs, which
# later instances inherit), counted and sorted: equal output = same resources held.
tp_fd_kinds() {
    local pid
    pid=$(tp_pid "$1")
    find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
        grep -v "^$TEST_TMP/" | sed -E 's#^/run/dpdk/[^/]+/#/run/dpdk/PREFIX/#; s/[0-9]//g' | sort | uniq -c
}
