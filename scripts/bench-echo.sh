#!/usr/bin/env bash
# Benchmark (not a test): the echo example against the device's own floor, on softud devices.
#
# Part 1, round-trip time. Each round runs, in alternating order (odd rounds perftest first,
# even rounds echo first), on the same two softud devices (127.0.30.1 serves, 127.0.30.2
# asks), with the same placement (server process on CPU 1, client process on CPU 0: one
# process per core, nothing else of ours on either) and the same message (64 bytes):
#   - perftest `ib_send_lat -c UD -s 64 -r 256 -n SECONDS*300000`: a verbs ping-pong over
#     about as long as the echo run. perftest stamps each post_send with rdtsc; an iteration
#     (post_send, wait for the answer, repost the receive) is one round trip, and it prints
#     half of it. Floor = 2 x t_typical (median) and 2 x its 99th percentile. (-r 256: any
#     receive depth but perftest's default 512, which it raises to the iteration count for
#     UD — more than softud's 8192 work requests per queue — and then never reposts.)
#   - rdmaud-echo over net_rdmaud, one server thread, one client thread, window 1 (one
#     request in flight: ping-pong) for SECONDS: the client stamps the request with rte_rdtsc
#     before its tx burst and takes the time again when its rx burst returns the answer.
#     Its RTT is rescaled from DPDK's TSC frequency to perftest's (/proc/cpuinfo) so both use
#     one clock.
#   A row per round with both and the ratios, then the median and range of the ratios.
# Part 2, throughput against server threads (window 32 per client thread), see doc/perf.md.
#
# Usage: scripts/bench-echo.sh [ROUNDS, default 5] [SECONDS per echo run, default 3]
#   BENCH_ECHO_PATH=udp  softud's UDP path for every process (default: same-host shm path)
#   BENCH_ECHO_PARTS=rtt|stages|mpps|all (default all)
#   BENCH_ECHO_MAX_WAIT=2  an RTT round counts only if none of its four processes waited for its
#                          CPU (preempted by other tasks) more than this % of its run
#   BENCH_ECHO_QUIET=60    before each RTT round, wait up to this many seconds for the CPUs to be
#                          idle (at least 90 % over a second: other tasks would take ours); 0: no wait
#   BENCH_ECHO_NICE=0      run every benchmarked process (perftest's and echo's alike) at this nice
#                          value; e.g. -20 on a busy shared machine (root), so other tasks rarely
#                          take their CPUs during a round (the CPU-wait check still applies). With
#                          the kernel's autogroups (/proc/sys/kernel/sched_autogroup_enabled) nice
#                          only ranks tasks of one session, so the script then runs in a session of
#                          its own and gives that session's group the same nice value
# Run it in a private network namespace: unshare -n -- bash -c 'ip link set lo up; scripts/bench-echo.sh'
set -euo pipefail
RDMAUD_SCRIPT=bench-echo
. "$(dirname "$0")/lib.sh"
rounds=${1:-5}
secs=${2:-3}
path=${BENCH_ECHO_PATH:-shm}
parts=${BENCH_ECHO_PARTS:-all}
quiet=${BENCH_ECHO_QUIET:-60}
nice_n=${BENCH_ECHO_NICE:-0}
SR=$RDMAUD_BUILD/lib/softud/softud-run
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
PMD=$(rdmaud_plugin "$RDMAUD_BUILD")
[ -x "$SR" ] && [ -x "$ECHO" ] || die "build first (scripts/setup.sh)"
command -v ib_send_lat >/dev/null || die "perftest's ib_send_lat is missing (apt-get install perftest)"
case "$path" in shm) sropt=() ;; udp) sropt=(--udp) ;; *) die "BENCH_ECHO_PATH must be shm or udp, not '$path'" ;; esac
[[ "$rounds" =~ ^[1-9][0-9]*$ && "$secs" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS and SECONDS are positive integers"
[[ "$quiet" =~ ^[0-9]+$ ]] || die "BENCH_ECHO_QUIET must be a whole number of seconds, not '$quiet'"
[[ "$nice_n" =~ ^-?[0-9]+$ ]] && ((nice_n >= -20 && nice_n <= 19)) ||
    die "BENCH_ECHO_NICE must be a nice value from -20 to 19, not '$nice_n'"
if [ "$nice_n" != 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ]; then
    if [ -z "${BENCH_ECHO_SESSION:-}" ]; then
        BENCH_ECHO_SESSION=1 exec setsid -w "$0" "$@"
    fi
    echo "$nice_n" >/proc/self/autogroup || die "cannot set this session's autogroup nice to $nice_n (root?)"
fi
# Server on CPU 1, client on CPU 0 (on a one-CPU machine both share CPU 0: say so).
SCPU=1 CCPU=0
[ "$(nproc)" -ge 2 ] || { SCPU=0; log "only one CPU: server and client share it (results not comparable)"; }
work=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
S=127.0.30.1 C=127.0.30.2 QPN=0x11
SMAC=02:00:00:30:00:01 CMAC=02:00:00:30:00:02
SIZE=64
lat_n=$((secs * 300000))
cpu_mhz=$(awk -F': *' '/^cpu MHz/{print $2; exit}' /proc/cpuinfo)
log "softud $path path; server on CPU $SCPU, client on CPU $CCPU; $SIZE-byte messages; perftest clock $cpu_mhz MHz; nice $nice_n"

srun() { # device-name address cpu -- command...: one process on softud, pinned to one CPU,
          # bounded to 90 s. Run it in the background: $! is then `timeout`, the program its child.
    local dev=$1 addr=$2 cpu=$3
    shift 4
    exec nice -n "$nice_n" taskset -c "$cpu" "$SR" --quiet "${sropt[@]}" --stat-dir "$work" --dev "$dev=$addr" -- timeout 90 "$@"
}
child_of() { # PID: the child of srun's `timeout` (the program), once PID has become `timeout`
              # (srun execs nice, taskset, softud-run and timeout in turn; softud-run's own
              # short-lived children are not it) and started it (at most 2 s)
    local i c="" comm
    for ((i = 0; i < 200; i++)); do
        read -r comm 2>/dev/null <"/proc/$1/comm" || break
        [ "$comm" = timeout ] && read -r c _ 2>/dev/null <"/proc/$1/task/$1/children" && [ -n "$c" ] && break
        sleep 0.01
    done
    echo "$c"
}

# Both devices of the run that just ended took the path asked for (softud's counters). A run
# that did not (on this shared machine: a process starved so long that its peer had already
# gone, whose last datagrams then fell back to UDP) is noted in $work/offpath, and its round
# is left out of the ratios.
check_path() { # what
    local d shm mm
    for d in softud0 softud1; do
        shm=$("$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$work" "$d" shm_tx_batches)
        mm=$("$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$work" "$d" sendmmsg_calls)
        if [ "$path" = shm ] && { [ "$shm" -eq 0 ] || [ "$mm" -ne 0 ]; }; then
            echo "$1: $d sent $mm sendmmsg (UDP), $shm shm batches" >>"$work/offpath"
        elif [ "$path" = udp ] && [ "$shm" -ne 0 ]; then
            echo "$1: $d used shared memory ($shm shm batches)" >>"$work/offpath"
        fi
    done
    return 0
}

# sched_watch PID OUT: until PID ends, writes to OUT its schedstat ("ns on the CPU, ns
# runnable but waiting for it") when first seen and when last seen (every 50 ms).
sched_watch() {
    local first="" run wait _
    while read -r run wait _ 2>/dev/null <"/proc/$1/schedstat"; do
        [ -n "$first" ] || first="$run $wait"
        echo "$first $run $wait" >"$2"
        sleep 0.05
    done
}
# wait_pct OUT: the share (%) of that time it waited for its CPU (other tasks had it).
wait_pct() {
    awk '{r = $3 - $1; w = $4 - $2; printf "%.2f", (r + w > 0 ? 100 * w / (r + w) : 0)}' "$1" 2>/dev/null || echo 0
}

# wait_idle: returns once the CPUs were at least 90 % idle over a second (/proc/stat), or
# after $quiet seconds; prints the seconds waited and the last idle share.
wait_idle() {
    local t0=$SECONDS a b idle=0
    while :; do
        a=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
        sleep 1
        b=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
        idle=$(echo "$a $b" | awk '{printf "%.0f", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0)}')
        if [ "$idle" -ge 90 ] || [ $((SECONDS - t0)) -ge "$quiet" ]; then break; fi
    done
    echo "$((SECONDS - t0)) $idle"
}

# ib_send_lat once -> "p50_rtt p99_rtt cpu_wait_pct": microseconds (2 x perftest's half
# round trips), and the larger of the two processes' shares of time spent waiting for their
# CPU (from their schedstat, sampled while they run).
run_lat() {
    local sp cp
    rm -f "$work"/lat_?.sched
    srun softud0 "$S" "$SCPU" -- ib_send_lat -c UD -d softud0 -x 0 -s $SIZE -n $lat_n -r 256 \
        >"$work/lat_s.log" 2>&1 &
    sp=$!
    sched_watch "$(child_of $sp)" "$work/lat_s.sched" &
    sleep 0.5
    srun softud1 "$C" "$CCPU" -- ib_send_lat -c UD -d softud1 -x 0 -s $SIZE -n $lat_n -r 256 "$S" \
        >"$work/lat_c.log" 2>&1 &
    cp=$!
    sched_watch "$(child_of $cp)" "$work/lat_c.sched" &
    wait "$cp" || true
    wait "$sp" || true
    check_path ib_send_lat
    wait # the schedstat watchers end with their processes
    # No result (it ran out of its 90 s, starved by other tasks, or failed): the round is noted
    # and left out, its logs shown.
    if ! awk -v s=$SIZE -v n=$lat_n '$1 == s && $2 == n {printf "%s %s ", 2 * $5, 2 * $8; found = 1} END {exit !found}' \
        "$work/lat_c.log"; then
        tail -5 "$work/lat_c.log" "$work/lat_s.log" >&2
        echo "ib_send_lat printed no result" >>"$work/offpath"
        echo "nan nan 100"
        return
    fi
    awk -v a="$(wait_pct "$work/lat_s.sched")" -v b="$(wait_pct "$work/lat_c.sched")" 'BEGIN {print (a > b ? a : b)}'
}

# rdmaud-echo once: server_threads client_threads window server_cpus client_cpus [echo options]
# -> the client's ECHO-SUMMARY json. Each process's lcores (main + workers) are mapped to the
# CPUs given ("1" or "0,1": worker i on the i-th CPU, round-robin; the main lcore, which only
# sleeps and prints, on the first).
lcore_map() { # threads cpu-list -> EAL --lcores value
    local n=$1 i m
    IFS=, read -ra cpus <<<"$2"
    m="0@${cpus[0]}"
    for ((i = 0; i < n; i++)); do m+=",$((i + 1))@${cpus[i % ${#cpus[@]}]}"; done
    echo "$m"
}
# Peers: static (devargs `peers`, one QPN per MAC: single-queue ports only) or, with MC_PORT
# set, the registry on 127.0.0.1:MC_PORT (every queue's QPN: multi-queue ports).
run_echo() {
    local st=$1 ct=$2 win=$3 scpus=$4 ccpus=$5
    shift 5
    local eal=(--no-pci --no-huge -m 256 -d "$PMD") sdev cdev find
    if [ -n "${MC_PORT:-}" ]; then
        sdev="net_rdmaud0,dev=softud0,mac=$SMAC,registry=127.0.0.1:$MC_PORT,ns=bench$$,name=srv"
        cdev="net_rdmaud0,dev=softud1,mac=$CMAC,registry=127.0.0.1:$MC_PORT,ns=bench$$,name=cli"
        find=(--server-name srv --registry "127.0.0.1:$MC_PORT" --ns "bench$$")
    else
        sdev="net_rdmaud0,dev=softud0,mac=$SMAC,peers=$CMAC@$C/$QPN"
        cdev="net_rdmaud0,dev=softud1,mac=$CMAC,peers=$SMAC@$S/$QPN"
        find=(--server "$SMAC")
    fi
    # The client starts once this server's port is up (its placement line): a request sent
    # before that finds no mailbox and no socket at the server's address and is lost.
    rm -f "$work/s.log" "$work/c.log"
    nice -n "$nice_n" timeout -s INT 90 "$SR" --quiet "${sropt[@]}" --stat-dir "$work" --dev "softud0=$S" -- "$ECHO" \
        --lcores "$(lcore_map "$st" "$scpus")" "${eal[@]}" --file-prefix="be-s$$" --vdev="$sdev" -- \
        --mode server --duration 0 --quiet "$@" >"$work/s.log" 2>&1 & pids+=($!)
    local i
    for ((i = 0; i < 400; i++)); do grep -q '^placement' "$work/s.log" 2>/dev/null && break; sleep 0.05; done
    grep -q '^placement' "$work/s.log" || { cat "$work/s.log" >&2; die "the echo server did not start within 20 s"; }
    nice -n "$nice_n" timeout -s INT 90 "$SR" --quiet "${sropt[@]}" --stat-dir "$work" --dev "softud1=$C" -- "$ECHO" \
        --lcores "$(lcore_map "$ct" "$ccpus")" "${eal[@]}" --file-prefix="be-c$$" --vdev="$cdev" -- \
        --mode client "${find[@]}" --window "$win" --duration "$secs" --quiet "$@" >"$work/c.log" 2>&1 || true
    kill -INT "${pids[-1]}" 2>/dev/null || true
    wait "${pids[-1]}" || true
    unset 'pids[-1]'
    check_path rdmaud-echo
    grep '^ECHO-SUMMARY' "$work/c.log" | cut -d' ' -f2- | grep . ||
        { cat "$work/c.log" "$work/s.log" >&2; die "rdmaud-echo client printed no summary"; }
}

if [ "$parts" = all ] || [ "$parts" = rtt ]; then
    : >"$work/rtt.txt"
    for ((r = 1; r <= rounds; r++)); do
        rm -f "$work/offpath"
        if [ "$quiet" -gt 0 ]; then
            read -r waited idle < <(wait_idle)
            log "round $r: waited ${waited}s for idle CPUs (${idle}% idle)"
        fi
        if ((r % 2)); then
            lat=$(run_lat); e=$(run_echo 1 1 1 "$SCPU" "$CCPU")
        else
            e=$(run_echo 1 1 1 "$SCPU" "$CCPU"); lat=$(run_lat)
        fi
        swait=$(grep '^ECHO-SUMMARY' "$work/s.log" | cut -d' ' -f2- |
            /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin).get("cpu_wait_pct", 0))')
        [ -f "$work/offpath" ] && { tr '\n' ';' <"$work/offpath" >"$work/note.$r"; log "round $r: $(cat "$work/note.$r")"; }
        echo "$r $(cut -d' ' -f1 /proc/loadavg) $lat $swait $e" >>"$work/rtt.txt"
        log "round $r: ib_send_lat p50 p99 wait% / echo server wait% / echo summary: $(tail -1 "$work/rtt.txt" | cut -d' ' -f3-)"
    done
    /usr/bin/python3 - "$work/rtt.txt" "$cpu_mhz" "$path" <<'PY'
import json, os, statistics, sys
MAX_WAIT = float(os.environ.get("BENCH_ECHO_MAX_WAIT", "2"))
mhz = float(sys.argv[2])
work = os.path.dirname(sys.argv[1])
rows = []  # the rounds that count
done = []  # every round without loss or fallback, contended ones included
print(f"RTT, softud {sys.argv[3]} path, 64-byte messages, window 1 (us; ratio = echo / ib_send_lat;")
print("load = 1-minute load average after the round, ~2 from the two pollers themselves)")
print("| round | load | CPU waited: perftest / echo | ib_send_lat p50 / p99 | echo p50 / p99 / max | echo sent (lost) | p50 ratio | p99 ratio |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r, load, l50, l99, lwait, swait, js = line.split(" ", 6)
    e = json.loads(js)
    k = e["tsc_hz"] / (mhz * 1e6)  # DPDK's TSC frequency -> perftest's clock
    e50, e99, emax = (e["rtt_us"][q] * k for q in ("p50", "p99", "max"))
    l50, l99 = float(l50), float(l99)
    note = os.path.join(work, f"note.{r}")
    ewait = max(float(swait), e.get("cpu_wait_pct", 0))
    lwait = float(lwait)
    why = open(note).read().strip() if os.path.exists(note) else ("echo lost requests" if e["lost"] else "")
    if not why:
        done.append((e50 / l50, e99 / l99))
    if not why and max(lwait, ewait) > MAX_WAIT:
        why = f"contended (a process waited for its CPU more than {MAX_WAIT:g}% of the time)"
    if not why:
        rows.append((e50 / l50, e99 / l99))
    print(f"| {r} | {load} | {lwait:.1f}% / {ewait:.1f}% | {l50:.2f} / {l99:.2f} | {e50:.2f} / {e99:.2f} / {emax:.0f} | {e['sent']} ({e['lost']}) "
          f"| {e50 / l50:.2f}x | {e99 / l99:.2f}x |" + (f" left out: {why}" if why else ""))
print(f"{len(rows)} of the rounds count: each of the four processes waited for its CPU at most "
      f"{MAX_WAIT:g}% of its run (BENCH_ECHO_MAX_WAIT), nothing was lost, every datagram took the path asked for")
for what, sel in (("uncontended rounds", rows), ("all rounds without loss, contended ones included", done)):
    for name, i in (("p50", 0), ("p99", 1)):
        v = [x[i] for x in sel]
        if v:
            print(f"{name} ratio ({what}): median {statistics.median(v):.2f}x, range {min(v):.2f}x-{max(v):.2f}x "
                  f"over {len(v)} rounds")
PY
fi

if [ "$parts" = all ] || [ "$parts" = stages ]; then
    # Where the server's share of a round trip goes: one more window-1 run, the server timing
    # each step of its loop with the TSC (rdmaud-echo --stages; a few rdtsc per poll).
    e=$(run_echo 1 1 1 "$SCPU" "$CCPU" --stages)
    echo
    echo "Server loop steps, window 1 (rdmaud-echo --stages; client RTT p50 in that run:" \
        "$(echo "$e" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["rtt_us"]["p50"])') us)"
    grep '^STAGES' "$work/s.log"
fi

if [ "$parts" = all ] || [ "$parts" = mpps ]; then
    # Part 2: the server's throughput against its thread count. Two CPUs for server and
    # client together, so the CPU budget is fixed and the question is what splitting it over
    # more server threads (each its own queue, its own QP) costs. All with --idle-yield (a
    # thread sharing its CPU gives it up when it has nothing to do):
    #   A    1 server thread  (CPU 1)        <- 1 client thread  (CPU 0), window 32
    #   A64  the same with window 64: as many requests in flight as B and C
    #   B    2 server threads (both CPU 1)   <- 2 client threads (both CPU 0), window 32 each
    #   C    2 server threads (CPU 0 and 1)  <- 2 client threads (CPU 0 and 1), window 32 each
    # Multi-queue ports find each other's queues through the registry (static peers name one
    # QPN per MAC), so this part runs a memcached in this namespace for all four.
    # memcached lives as long as every run of this part may take (90 s each at most).
    read -r MC_PORT mc_wrapper mc_pid < <(RDMAUD_MC_LIFETIME=$((rounds * 4 * 95 + 60)) \
        bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" start) ||
        die "memcached did not start"
    trap 'bash "$RDMAUD_TOP/test/registry/memcached_fixture.sh" stop $mc_wrapper $mc_pid; cleanup' EXIT
    echo
    echo "Echo Mpps against server threads, softud $path path, registry peers, --idle-yield"
    echo "| round | config | server threads (CPUs) | client threads (CPUs) x window | CPU waited: server / client | Mpps | server threads' shares | server frames per post_send | client lost (late) / server port drops | answers handed between client threads |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for ((r = 1; r <= rounds; r++)); do
        for cfg in "A 1 1 32 $SCPU $CCPU" "A64 1 1 64 $SCPU $CCPU" \
                   "B 2 2 32 $SCPU $CCPU" "C 2 2 32 $CCPU,$SCPU $CCPU,$SCPU"; do
            read -r name st ct win scpus ccpus <<<"$cfg"
            rm -f "$work/offpath"
            js=$(run_echo "$st" "$ct" "$win" "$scpus" "$ccpus" --idle-yield)
            srv=$(grep '^ECHO-SUMMARY' "$work/s.log" | cut -d' ' -f2-)
            wrs=$("$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$work" softud0 post_send_wrs)
            calls=$("$RDMAUD_BUILD/lib/softud/softud-stat" --dir "$work" softud0 post_send_calls)
            note=$({ tr '\n' ';' <"$work/offpath"; } 2>/dev/null || true)
            /usr/bin/python3 - "$r" "$name" "$st" "$ct" "$win" "$scpus" "$ccpus" "$js" "$srv" "$wrs" "$calls" "$note" <<'PY'
import json, sys
r, name, st, ct, win, sc, cc = sys.argv[1:8]
c = json.loads(sys.argv[8])
s = json.loads(sys.argv[9]) if sys.argv[9] else {}
t = s.get("thread_mpps", [])
share = " / ".join(f"{100 * x / sum(t):.0f}%" for x in t) if t and sum(t) else "?"
burst = int(sys.argv[10]) / max(int(sys.argv[11]), 1)
drops = s.get("port", {}).get("oerrors", "?")
waited = f"{s.get('cpu_wait_pct', 0):.1f}% / {c.get('cpu_wait_pct', 0):.1f}%"
print(f"| {r} | {name} | {st} ({sc}) | {ct} ({cc}) x {win} | {waited} | {c['mpps']:.3f} | {share} | {burst:.1f} "
      f"| {c['lost']} ({c['late']}) / {drops} | {c['forwarded']} |" + (f" {sys.argv[12]}" if sys.argv[12] else ""))
PY
        done
    done
fi
