#!/usr/bin/env bash
# Bounded libFuzzer run: run_fuzz.sh <fuzzer> <seed corpus dir> <seconds> [libFuzzer flags...]
# Every committed seed (regression inputs included) runs first; new inputs go to a scratch
# directory, never into the committed corpus. A crash, leak, sanitizer report, timeout or
# out-of-memory fails the test with libFuzzer's report and the failing input (base64).
set -euo pipefail
fuzzer=$1 seeds=$2 secs=$3
shift 3
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || { echo "FAIL: no seeds in $seeds" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rdmaud-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/corpus" "$scratch/artifacts"
rc=0
# -max_total_time bounds the fuzzing; timeout bounds everything else (start-up, a hang).
# libFuzzer exits with 77 on a finding by default, meson's "skipped": make every finding exit 1.
timeout -k 5 $((secs + 60)) "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "$@" "$scratch/corpus" "$seeds" \
    >"$scratch/log" 2>&1 || rc=$?
tail -40 "$scratch/log"
for f in "$scratch"/artifacts/*; do
    [ -e "$f" ] || continue
    echo "--- failing input $(basename "$f") (base64):"
    base64 "$f"
done
exit "$rc"
