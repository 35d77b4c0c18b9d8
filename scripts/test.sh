#!/usr/bin/env bash
# Build if needed and run every test suite. Prints a summary line and exits non-zero on
# any failure.
# Usage: scripts/test.sh [--sanitize] [--suite NAME]... (other args go to `meson test`)
#   --sanitize  build into $RDMAUD_BUILD_SAN (default: <top>/build-asan) with AddressSanitizer,
#               UndefinedBehaviorSanitizer and LeakSanitizer (-Db_sanitize=address,undefined,
#               findings are fatal) and run the suites there; the libFuzzer targets (suite fuzz)
#               carry their own sanitizers and run in the normal build. doc/reliability.md.
set -euo pipefail
RDMAUD_SCRIPT=test
. "$(dirname "$0")/lib.sh"

sanitize=0
args=()
for a in "$@"; do
    case "$a" in
    --sanitize) sanitize=1 ;;
    *) args+=("$a") ;;
    esac
done

build=$RDMAUD_BUILD
extra=()
if [ $sanitize -eq 1 ]; then
    # Packages and DPDK's driver-SDK headers come from the normal set-up; the sanitizer build
    # shares those headers and has its own build directory.
    "$RDMAUD_TOP/scripts/setup.sh" --no-build
    build=${RDMAUD_BUILD_SAN:-$RDMAUD_TOP/build-asan}
    if [ ! -f "$build/build.ninja" ]; then
        # -O1: what the sanitizers recommend (exact stacks), and it compiles in half the time
        # of -O2 (instrumentation makes the optimizer's work much larger).
        meson setup "$build" "$RDMAUD_TOP" -Ddpdk_sdk="$RDMAUD_BUILD/dpdk-sdk" \
            -Db_sanitize=address,undefined -Doptimization=1
    fi
    ninja -C "$build"
    # Instrumented code runs 2-3x slower: the same tests get proportionally more time.
    extra=(--timeout-multiplier 3)
    # The rxe suite runs the PMD under QEMU's emulation in a VM (test/rxe/): not instrumented.
    extra+=(--no-suite rxe)
    log "sanitizer suite in $build ($(meson introspect --buildoptions "$build" |
        /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"][0])'))"
else
    "$RDMAUD_TOP/scripts/setup.sh"
fi

# Hugepage-mode tests need pages; they skip (and say why) if none can be had.
if [ "$(id -u)" -eq 0 ]; then
    "$RDMAUD_TOP/scripts/hugepages-create.sh" 0 512 || log "no hugepages: hugepage-mode tests will skip"
fi

reports=$build/meson-logs/sanitizer
if [ $sanitize -eq 1 ]; then
    # Sanitizer reports of every process of the run go here (config/meson.build: log_path).
    rm -rf "$reports"
    mkdir -p "$reports"
fi

rc=0
# One test at a time: many tests bind fixed loopback addresses and ports (softud devices,
# memcached), so two at once could collide. The suite takes a few minutes this way.
meson test -C "$build" --print-errorlogs --num-processes 1 ${extra[@]+"${extra[@]}"} \
    ${args[@]+"${args[@]}"} || rc=$?

# Sanitizer builds: any report of any process fails the run, even one whose exit status no
# test looked at (a background server, a program stopped by a signal).
nreports=0
if [ $sanitize -eq 1 ]; then
    for f in "$reports"/*; do
        [ -e "$f" ] || continue
        nreports=$((nreports + 1))
        echo "=== sanitizer report $f:"
        head -n 100 "$f"
    done
    if [ $nreports -gt 0 ]; then
        log "$nreports sanitizer report(s) in $reports"
        rc=1
    else
        log "no sanitizer reports"
    fi
fi

# One closing line, counted from meson's own log.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")
    counts[key] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $rc
