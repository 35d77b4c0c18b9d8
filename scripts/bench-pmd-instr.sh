#!/usr/bin/env bash
# Benchmark (not a test): a PMD's own instructions per forwarded packet at full bursts, and
# forwarding Mpps, with test/pmd/pmd_bench (one process, two ports, testpmd io-style forwarding:
# rx_burst on one port -> tx_burst on the other, a fixed number of frames circulating).
#
#   rdmaud  two net_rdmaud ports over two softud devices (softud0=127.0.0.2, softud1=127.0.0.3,
#           same-host shared-memory path), each the other's static peer; the destination MACs
#           cycle over N peers, all of which lead to the other port (peers_file= devarg);
#           --macs random (default: pseudo-random MACs, as real ones hash) or seq (consecutive)
#   ring    two net_ring ports (each a loopback ring)
#   memif   a net_memif server/client pair on one socket
#
# Per configuration: one run under callgrind (--toggle-collect=bench_forward_loop: the measured
# loop only, no set-up or warm-up), self cost (Ir) per object from callgrind_annotate divided by
# the forwarded packets; then --repeat wall-clock runs, interleaved over the configurations so
# their ratios come from the same moments. Everything runs in a private network namespace.
# Results: doc/perf-pmd.md.
#
# Usage: scripts/bench-pmd-instr.sh [--bursts N] [--mpps-bursts N] [--repeat R] [--peers "1 100 10000"]
#            [--pmds "rdmaud ring memif"] [--macs random|seq] [--fast-free] [--mac-filter] [--tx-inline BYTES] [--huge]
#            [--keep DIR] [--no-callgrind] [--no-mpps] [--pmd PATH [--peers-devarg]]
#   --pmd PATH       another build of librte_net_rdmaud.so (e.g. an older commit's, to compare);
#   --peers-devarg   give the peers in the peers= devarg (builds without peers_file=; small N only)
#   --mac-filter     rdmaud ports not promiscuous, the destinations their MACs (the first the
#                    default one, the others added): the filtering rx burst (--peers at most 8)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${RDMAUD_BUILD:-$top/build}

if [ -z "${PMD_BENCH_IN_NETNS:-}" ]; then
    exec unshare -n -- env PMD_BENCH_IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

bursts=20000
mpps_bursts=1000000
repeat=3
peers_list="1 100 10000"
pmds="rdmaud ring memif"
fast_free=()
mac_filter=()
macs=random
inline_arg=""
mem=(--no-huge -m 512)
keep=""
pmd=""
peers_devarg=0
do_cg=1
do_mpps=1
while [ $# -gt 0 ]; do
    case "$1" in
    --bursts) bursts=$2; shift 2 ;;
    --mpps-bursts) mpps_bursts=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --peers) peers_list=$2; shift 2 ;;
    --pmds) pmds=$2; shift 2 ;;
    --fast-free) fast_free=(--fast-free); shift ;;
    --mac-filter) mac_filter=(--mac-filter); shift ;;
    --macs) macs=$2; shift 2 ;;
    --tx-inline) inline_arg=",tx_inline=$2"; shift 2 ;;
    --huge) mem=(--huge-unlink -m 512); shift ;;
    --keep) keep=$2; shift 2 ;;
    --no-callgrind) do_cg=0; shift ;;
    --no-mpps) do_mpps=0; shift ;;
    --pmd) pmd=$2; shift 2 ;;
    --peers-devarg) peers_devarg=1; shift ;;
    *) echo "bench-pmd-instr.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

bench=$build/test/pmd/pmd_bench
pmd=${pmd:-$(cat "$build/drivers/plugin-path" 2>/dev/null || echo "$build/drivers/librte_net_rdmaud.so")}
run=$build/lib/softud/softud-run
for f in "$bench" "$pmd" "$run"; do
    [ -e "$f" ] || { echo "bench-pmd-instr.sh: $f not built (ninja -C $build)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/pmd-bench-XXXXXX)
prefix=pmdbench$$
cleanup() {
    rm -rf "$work" "/var/run/dpdk/$prefix"* 2>/dev/null || true
}
trap cleanup EXIT
[ -n "$keep" ] && mkdir -p "$keep"
export SOFTUD_STAT_DIR=$work/stat

DST=02:00:00:01:00:00
# peers_file for pmd_bench's N destinations (the same list it cycles over), all at ADDR/QPN 0x11.
peers_file() { # N ADDR OUT
    "$bench" macs "$1" $DST "$macs" | sed "s|\$|@$2/0x11|" >"$3"
}

# cmd CONFIG: sets CMD (array) for rdmaud:N, ring or memif.
cmd() {
    local cfg=$1 eal=(--no-pci -l 0 --file-prefix="$prefix" "${mem[@]}" --log-level=lib.eal:warning)
    case "$cfg" in
    rdmaud:*)
        local n=${cfg#rdmaud:}
        [ -f "$work/peers0.$n" ] || peers_file "$n" 127.0.0.3 "$work/peers0.$n"
        [ -f "$work/peers1.$n" ] || peers_file "$n" 127.0.0.2 "$work/peers1.$n"
        local random=() p0="peers_file=$work/peers0.$n" p1="peers_file=$work/peers1.$n"
        [ "$macs" = random ] && random=(--random-macs)
        if [ "$peers_devarg" = 1 ]; then
            p0="peers=$(paste -sd';' "$work/peers0.$n")" p1="peers=$(paste -sd';' "$work/peers1.$n")"
        fi
        CMD=("$run" --quiet --dev softud0=127.0.0.2 --dev softud1=127.0.0.3 -- "${WRAP[@]}" "$bench" -d "$pmd"
             "${eal[@]}"
             "--vdev=net_rdmaud0,dev=softud0,mac=02:00:00:00:00:0a,$p0$inline_arg"
             "--vdev=net_rdmaud1,dev=softud1,mac=02:00:00:00:00:0b,$p1$inline_arg"
             -- --peers "$n" --dst $DST "${random[@]}" "${mac_filter[@]}") ;;
    ring)
        CMD=("${WRAP[@]}" "$bench" "${eal[@]}" --vdev=net_ring0 --vdev=net_ring1 -- --dst $DST) ;;
    memif)
        rm -f "$work/memif.sock"
        CMD=("${WRAP[@]}" "$bench" "${eal[@]}"
             "--vdev=net_memif0,role=server,socket=$work/memif.sock,id=0"
             "--vdev=net_memif1,role=client,socket=$work/memif.sock,id=0" -- --dst $DST) ;;
    esac
    CMD+=("${fast_free[@]}")
}

configs=()
for p in $pmds; do
    if [ "$p" = rdmaud ]; then
        for n in $peers_list; do configs+=("rdmaud:$n"); done
    else
        configs+=("$p")
    fi
done

field() { # FILE PATTERN: the word after PATTERN on its line
    sed -n "s/.*$2 \([0-9.]*\).*/\1/p" "$1" | head -1
}

echo "build: $(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD -- drivers test/pmd/bench || echo '+changes'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$do_cg" = 1 ]; then
    echo "== callgrind: self Ir per forwarded packet (measured loop only, $bursts bursts)"
    for cfg in "${configs[@]}"; do
        out=$work/cg.${cfg/:/-}.out
        WRAP=(valgrind --tool=callgrind "--callgrind-out-file=$out" --toggle-collect=bench_forward_loop)
        cmd "$cfg"
        CMD+=(--bursts "$bursts")
        echo "\$ ${CMD[*]}"
        if ! timeout 1200 "${CMD[@]}" >"$work/log" 2>&1; then
            grep -v '^==' "$work/log" | tail -20
            echo "FAILED: $cfg"
            continue
        fi
        fwd=$(sed -n 's/^forwarded \([0-9]*\) in.*/\1/p' "$work/log")
        grep -E '^(forwarded|average burst|port [01] xstats)' "$work/log" | sed 's/^/  /'
        callgrind_annotate --inclusive=no --threshold=100 --auto=no "$out" >"$work/annot"
        python3 - "$work/annot" "$fwd" "$cfg" <<'PY'
import re, sys
path, fwd, cfg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
obj_of, rows = {}, []
for line in open(path, errors="replace"):
    m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(\S.*?):(.*?)(?: \[(/[^\]]*)\])?$", line)
    if not m or m.group(2) == "PROGRAM TOTALS":
        continue
    ir, fn, obj = int(m.group(1).replace(",", "")), m.group(3), m.group(4)
    if obj:
        obj_of[fn] = obj
    rows.append((ir, fn))
groups = {}
for ir, fn in rows:
    obj = obj_of.get(fn, "?")
    if "librte_net_rdmaud" in obj: g = "pmd"
    elif re.search(r"librte_net_(ring|memif)", obj): g = "pmd"
    elif "softud/libibverbs" in obj: g = "softud"
    elif "librte_" in obj: g = "dpdk-libs"
    elif "pmd_bench" in obj: g = "app"
    else: g = "other(" + obj.rsplit("/", 1)[-1] + ")"
    groups[g] = groups.get(g, 0) + ir
pp = lambda g: groups.get(g, 0) / max(fwd, 1)
print(f"  {cfg}: PMD self Ir {groups.get('pmd', 0)} / {fwd} forwarded = {pp('pmd'):.1f} Ir per packet (rx + tx)")
print("    other objects per packet: " + ", ".join(f"{g} {pp(g):.1f}" for g in sorted(groups) if g != "pmd"))
PY
        if [ -n "$keep" ]; then
            cp "$out" "$keep/"
            case "$cfg" in rdmaud:*)
                callgrind_annotate --inclusive=no --auto=yes --show-percs=no "$out" \
                    "$top/drivers/net/rdmaud/rdmaud_rxtx.cpp" >"$keep/annotate.${cfg/:/-}.txt" 2>/dev/null || true ;;
            esac
        fi
    done
fi

if [ "$do_mpps" = 1 ]; then
    echo "== wall clock: forwarded Mpps ($mpps_bursts bursts, $repeat rounds, interleaved)"
    declare -A rates
    WRAP=()
    for r in $(seq "$repeat"); do
        for cfg in "${configs[@]}"; do
            cmd "$cfg"
            CMD+=(--bursts "$mpps_bursts")
            [ "$r" = 1 ] && echo "\$ ${CMD[*]}"
            if ! timeout 600 "${CMD[@]}" >"$work/log" 2>&1; then
                tail -20 "$work/log"; echo "FAILED: $cfg"; continue
            fi
            mpps=$(sed -n 's/.* s, \([0-9.]*\) Mpps forwarded/\1/p' "$work/log")
            rates[$cfg]="${rates[$cfg]:-} $mpps"
            echo "  round $r $cfg: $mpps Mpps, average burst $(field "$work/log" 'average burst')"
        done
    done
    for cfg in "${configs[@]}"; do
        echo "  $cfg Mpps:${rates[$cfg]:-}"
    done
fi
