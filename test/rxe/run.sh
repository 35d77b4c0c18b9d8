#!/usr/bin/env bash
# meson's entry to the rxe suite: runs SCRIPT [ARG]... inside the rxe VM (scripts/rxe-vm.sh)
# with the given layout, and passes its status on.
# Usage: run.sh LAYOUT SCRIPT [ARG]...   (SCRIPT relative to test/rxe/)
# A machine that cannot run the VM skips with the reason: not root (QEMU's 9p root and the
# kernel's modules need it), no qemu-system-x86_64 (scripts/setup.sh installs it). Anything
# else that keeps the VM from running the script (no kernel package, boot timeout, rxe
# refused) fails the test: that is a broken lane, not a missing one.
set -euo pipefail
: "${RDMAUD_TOP:?run through meson test (RDMAUD_TOP unset)}"
layout=$1 script=$2
shift 2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the rxe VM needs root (9p export of /, tap devices)"; exit 77; }
command -v qemu-system-x86_64 > /dev/null ||
    { echo "SKIP: qemu-system-x86_64 is not installed (scripts/setup.sh installs qemu-system-x86)"; exit 77; }
rc=0
bash "$RDMAUD_TOP/scripts/rxe-vm.sh" --layout "$layout" --timeout "${RXE_TEST_TIMEOUT:-400}" -- \
    bash "$RDMAUD_TOP/test/rxe/$script" "$@" || rc=$?
# 125: the VM could not run the script (the runner said why); 77 from the script inside is
# a skip of its own (it says why).
exit $rc
