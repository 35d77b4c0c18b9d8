#!/usr/bin/env bash
# Bounded libFuzzer run for meson test: run_fuzz.sh <fuzzer> <seed corpus dir> <seconds>
# New inputs go to a scratch directory (first corpus dir), never into the committed seeds.
set -euo pipefail
fuzzer=$1 seeds=$2 secs=$3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wire-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# -max_total_time bounds the fuzzing; timeout bounds everything else (start-up, a hang).
timeout -k 5 $((secs + 60)) "$fuzzer" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
    -max_len=8300 -print_final_stats=1 "$scratch" "$seeds"
