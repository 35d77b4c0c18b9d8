# Helpers for the net_rdmaud testpmd tests (sourced after lib.sh).
# shellcheck shell=bash

SOFTUD_RUN=${SOFTUD_RUN:-$RDMAUD_BUILD/lib/softud/softud-run}

# require_softud: skip unless softud-run exists and serves a verbs device.
require_softud() {
    [ -x "$SOFTUD_RUN" ] || skip "softud-run not built ($SOFTUD_RUN)"
    timeout -k 5 20 "$SOFTUD_RUN" --dev softud0=127.0.0.2 -- ibv_devinfo >"$TEST_TMP/devinfo.log" 2>&1 ||
        { cat "$TEST_TMP/devinfo.log"; skip "ibv_devinfo does not work under softud-run yet"; }
}

# run_testpmd_on DEVSPEC LOG STDIN_TEXT EAL_ARGS... -- TESTPMD_ARGS...
# dpdk-testpmd under softud-run with the softud devices in DEVSPEC
# ("softud0=127.0.0.2[,softud1=127.0.0.3]"), bounded in time.
run_testpmd_on() {
    local devspec=$1 log=$2 input=$3
    shift 3
    local devs=() d rc=0
    IFS=',' read -ra d <<<"$devspec"
    for x in "${d[@]}"; do devs+=(--dev "$x"); done
    printf '%b' "$input" | timeout -s INT -k 10 60 "$SOFTUD_RUN" "${devs[@]}" -- dpdk-testpmd \
        -d "$RDMAUD_PMD" --no-pci --file-prefix="$TEST_PREFIX" --log-level=pmd.net.rdmaud:info "$@" \
        >"$log" 2>&1 || rc=$?
    return $rc
}
