# Helpers for script-driven integration tests. Source it.
# shellcheck shell=bash
set -euo pipefail

: "${RDMAUD_TOP:?run through meson test (RDMAUD_TOP unset)}"
: "${RDMAUD_BUILD:?run through meson test (RDMAUD_BUILD unset)}"
RDMAUD_PMD=${RDMAUD_PMD:-$(cat "$RDMAUD_BUILD/drivers/plugin-path" 2>/dev/null || echo "$RDMAUD_BUILD/drivers/librte_net_rdmaud.so")}
# Sanitizer builds: dpdk-testpmd (not instrumented) loads our instrumented PMD only with ASan's
# runtime preloaded; empty otherwise. softud-run adds it by itself.
SAN_ENV="env${RDMAUD_SANITIZE_PRELOAD:+ LD_PRELOAD=$RDMAUD_SANITIZE_PRELOAD}"

# meson's convention: exit 77 marks a skipped test.
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Each test gets a unique EAL file prefix; its runtime directory goes on exit.
TEST_PREFIX="rdmaudt$$"
TEST_TMP=$(mktemp -d)
cleanup_test() {
    rm -rf "$TEST_TMP" "/var/run/dpdk/$TEST_PREFIX"* 2>/dev/null || true
}
trap cleanup_test EXIT

# hugepage_mode: "huge" needs free 2 MB pages (reserved by scripts/hugepages-create.sh);
# "nohuge" runs EAL with --no-huge. Prints the EAL memory arguments.
eal_mem_args() {
    case "$1" in
        nohuge) echo "--no-huge -m 512" ;;
        huge)   echo "--huge-unlink" ;;
        *)      fail "unknown memory mode $1" ;;
    esac
}

ensure_hugepages() {
    local want=${1:-256}
    if ! "$RDMAUD_TOP/scripts/hugepages-create.sh" 0 "$want" >"$TEST_TMP/huge.log" 2>&1; then
        cat "$TEST_TMP/huge.log"
        skip "no hugepages could be reserved here (EAL --no-huge is covered by its own test)"
    fi
}

# run_testpmd LOG STDIN_TEXT EAL_ARGS... -- TESTPMD_ARGS...
# Runs dpdk-testpmd bounded in time with our plugin loaded; returns its exit status.
run_testpmd() {
    local log=$1 input=$2
    shift 2
    local rc=0
    printf '%b' "$input" | timeout -s INT -k 10 60 $SAN_ENV dpdk-testpmd \
        -d "$RDMAUD_PMD" --no-pci --file-prefix="$TEST_PREFIX" --log-level=pmd.net.rdmaud:info "$@" \
        >"$log" 2>&1 || rc=$?
    return $rc
}
