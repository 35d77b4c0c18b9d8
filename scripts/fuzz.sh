#!/usr/bin/env bash
# Long libFuzzer runs of every fuzz target (the test suite runs each for 15 s; this runs each
# for a number of executions). Results go to doc/reliability.md by hand, from the summary.
# Usage: scripts/fuzz.sh [--runs N] [--max-time SECONDS] [TARGET...]
#   --runs N          executions per target (default 10000000)
#   --max-time S      upper bound per target in seconds, whatever --runs says (default 14400)
#   TARGET            parse_roce parse_ib registry_record devargs rx_burst (default: all)
# Each target keeps a working corpus in $RDMAUD_BUILD/fuzz/<target>/corpus (seeded from
# test/fuzz/corpus/<target>, which is never written), logs to $RDMAUD_BUILD/fuzz/<target>.log,
# and crashing inputs to $RDMAUD_BUILD/fuzz/<target>/artifacts/. A summary table (executions,
# executions/s, coverage, corpus, findings) is printed and written to $RDMAUD_BUILD/fuzz/summary.md.
# Runs niced; exits non-zero when any target found something.
set -euo pipefail
RDMAUD_SCRIPT=fuzz
. "$(dirname "$0")/lib.sh"

runs=10000000
max_time=14400
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --max-time) max_time=${2:?--max-time needs seconds}; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(parse_roce parse_ib registry_record devargs rx_burst)

# Longest input each target reads (as in test/fuzz/meson.build).
declare -A MAX_LEN=([parse_roce]=8300 [parse_ib]=8300 [registry_record]=1024 [devargs]=4096
                    [rx_burst]=2048)

[ -f "$RDMAUD_BUILD/build.ninja" ] || "$RDMAUD_TOP/scripts/setup.sh"
ninja -C "$RDMAUD_BUILD" $(printf 'test/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null
out=$RDMAUD_BUILD/fuzz
mkdir -p "$out"
summary=$out/summary.md
{
    echo "| target | executions | seconds | exec/s | coverage (edges) | features | corpus | findings |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
} >"$summary"

found=0
for t in "${targets[@]}"; do
    [ -n "${MAX_LEN[$t]:-}" ] || die "unknown target $t"
    fuzzer=$RDMAUD_BUILD/test/fuzz/fuzz_$t
    [ -x "$fuzzer" ] || die "$fuzzer not built (is clang installed?)"
    work=$out/$t
    mkdir -p "$work/corpus" "$work/artifacts"
    log "$t: $runs executions (at most ${max_time}s), log in $out/$t.log"
    start=$(date +%s)
    rc=0
    # -timeout: one input may take 30 s at most (a hang is a finding; every input of every
    # target runs in milliseconds, the margin is for a starved process on a shared machine);
    # -rss_limit_mb likewise.
    timeout -k 30 $((max_time + 300)) nice -n 19 "$fuzzer" -runs="$runs" -max_total_time="$max_time" \
        -max_len="${MAX_LEN[$t]}" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "$RDMAUD_TOP/test/fuzz/corpus/$t" \
        >"$out/$t.log" 2>&1 || rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo 0)
    rate=$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo 0)
    # The last status line libFuzzer printed: "#N DONE cov: C ft: F corp: K/SIZE ..."
    last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9a-zA-Z]+).*/\1/p' <<<"$last")
    n_art=$(find "$work/artifacts" -type f ! -name '*.rerun.log' | wc -l)
    # A timeout is re-run alone (not niced, 30 s bound): one that then completes was a stall of
    # the machine, not of the code; it is reported as such and kept.
    for a in "$work"/artifacts/timeout-*; do
        [ -e "$a" ] || continue
        if timeout 30 "$fuzzer" -runs=1 "$a" >"$a.rerun.log" 2>&1; then
            log "$t: $(basename "$a") completes when re-run alone: $(grep -oE 'in [0-9]+ ms' "$a.rerun.log")"
        else
            log "$t: $(basename "$a") hangs again when re-run alone: a finding"
        fi
    done
    if [ "$rc" -ne 0 ] || [ "$n_art" -gt 0 ]; then
        found=1
        findings="exit $rc, $n_art input(s) in $work/artifacts"
    else
        findings="none"
    fi
    echo "| $t | $execs | $secs | $rate | ${cov:-?} | ${ft:-?} | ${corp:-?} | $findings |" >>"$summary"
    log "$t: $execs executions in ${secs}s, cov ${cov:-?}, findings: $findings"
done
cat "$summary"
exit $found
