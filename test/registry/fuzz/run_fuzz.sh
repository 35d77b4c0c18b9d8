#!/usr/bin/env bash
# Runs a libFuzzer binary for a bounded time over a seed corpus copied to a scratch directory.
# Usage: run_fuzz.sh <fuzzer> <seed corpus dir> <seconds>
set -euo pipefail
fuzzer=$1 seeds=$2 secs=$3
work=$(mktemp -d /tmp/rdmaud-regfuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/ 2>/dev/null || true
timeout $((secs + 60)) "$fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
    -print_final_stats=1 "$work" 2>&1 | tail -15
