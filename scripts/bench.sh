#!/usr/bin/env bash
# The benchmark suite (not a test; not part of scripts/test.sh): runs every benchmark the
# project names, each beside its peers in the same run, keeps the raw logs, and regenerates
# doc/perf.md and its plots (doc/perf/*.png) from them (scripts/bench_report.py).
#
#   softud     64-byte UD SEND msgs/s: plain UDP vs softud's UDP path vs its shared-memory path
#              (test/softud/bench/bench.sh)
#   testpmd    forwarding Mpps of net_rdmaud on softud vs net_memif, net_af_packet, net_tap by
#              frame size, and by queue count (scripts/bench-testpmd.sh)
#   pmd        the PMD's own instructions per forwarded packet and Mpps at full bursts, 1 to
#              10,000 peers, vs net_ring and net_memif; WRs per doorbell (scripts/bench-pmd-instr.sh)
#   echo       echo RTT vs ib_send_lat -c UD on the same softud devices (scripts/bench-echo.sh)
#   registry   10,000 endpoints: resolution rate, memory per peer, one server vs two mirrors
#
# Usage: scripts/bench.sh [--quick] [--only "softud testpmd pmd echo registry"] [--out DIR]
#            [--no-report]
#   --quick  shorter runs (a smoke run of the whole suite: minutes, numbers rougher)
#   --out    the results directory (default build/bench-DATE); an earlier run's directory is
#            added to: a part re-run (--only) replaces its logs and the report lists every run
# Bounded: every step has its own time limit; the whole default run takes about 25 minutes on
# the 2-CPU machine. Root is needed (network namespaces, hugepages).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export RDMAUD_BUILD=${RDMAUD_BUILD:-$top/build}
all="softud testpmd pmd echo registry"
only=$all
quick=0
report=1
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --only) only=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-report) report=0; shift ;;
        *) echo "usage: $0 [--quick] [--only LIST] [--out DIR] [--no-report]" >&2; exit 2 ;;
    esac
done
out=${out:-$RDMAUD_BUILD/bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
log() { echo "[bench] $*" >&2; }

"$top/scripts/setup.sh" >&2
command -v gnuplot >/dev/null || {
    log "installing gnuplot-nox (plots)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >&2
}

if [ "$quick" = 1 ]; then
    SOFTUD_ARGS=(2 1); TP_SECS=2; TP_SIZES="64 1024"; TP_QUEUES="2 4"
    PMD_ARGS=(--bursts 2000 --mpps-bursts 50000 --repeat 1 --peers "1 100 10000"); ECHO_ROUNDS=1
    REG_N=2000
else
    SOFTUD_ARGS=(5 3); TP_SECS=5; TP_SIZES="64 256 1024 1500"; TP_QUEUES="2 4 8"
    PMD_ARGS=(--bursts 20000 --mpps-bursts 300000 --repeat 3 --peers "1 100 1000 10000"); ECHO_ROUNDS=5
    REG_N=10000
fi

# Machine and build, for the report.
{
    echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit=$(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD -- drivers lib app test scripts || echo '+changes')"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cpus=$(nproc)"
    echo "mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "os=$(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo '?')"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command=scripts/bench.sh$([ "$quick" = 1 ] && echo ' --quick')$([ "$only" = "$all" ] || echo " --only \"$only\"")"
} >>"$out/machine.txt"   # appended: parts of one report may come from runs into the same --out

step() { # NAME SECONDS COMMAND...: run bounded, log to $out/NAME.log
    local name=$1 secs=$2
    shift 2
    log "$name (at most ${secs}s): $*"
    local t0=$SECONDS rc=0
    timeout -k 10 "$secs" "$@" >"$out/$name.log" 2>&1 || rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - t0))" >>"$out/steps.txt"
    [ $rc -eq 0 ] || log "$name failed (rc $rc): see $out/$name.log"
}

for s in $only; do
    case "$s" in
        softud)
            step softud 300 unshare -n -- bash -c 'ip link set lo up && exec "$@"' _ \
                bash "$top/test/softud/bench/bench.sh" "${SOFTUD_ARGS[@]}" ;;
        testpmd)
            step testpmd-size 900 bash "$top/scripts/bench-testpmd.sh" --secs "$TP_SECS" \
                --sizes "$TP_SIZES" --queues 1 --pmds "rdmaud memif af_packet tap"
            step testpmd-queues 600 bash "$top/scripts/bench-testpmd.sh" --secs "$TP_SECS" \
                --sizes 64 --queues "$TP_QUEUES" --pmds "rdmaud memif" ;;
        pmd)
            step pmd 1200 bash "$top/scripts/bench-pmd-instr.sh" "${PMD_ARGS[@]}" ;;
        echo)
            step echo 900 unshare -n -- bash -c 'ip link set lo up && exec "$@"' _ \
                bash "$top/scripts/bench-echo.sh" "$ECHO_ROUNDS" ;;
        registry)
            step registry-1 300 "$RDMAUD_BUILD/test/registry/registry_bench" "$REG_N" --servers 1
            step registry-2 300 "$RDMAUD_BUILD/test/registry/registry_bench" "$REG_N" --servers 2 ;;
        *) log "unknown benchmark $s"; exit 2 ;;
    esac
done
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

if [ "$report" = 1 ]; then
    /usr/bin/python3 "$top/scripts/bench_report.py" "$out" "$top/doc"
    log "wrote $top/doc/perf.md and $top/doc/perf/*.png from $out"
fi
