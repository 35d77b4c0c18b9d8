#!/usr/bin/env bash
# Build if needed and run every test suite. Prints a summary line and exits non-zero on
# any failure. Usage: scripts/test.sh [--suite NAME]... (extra args go to `meson test`)
set -euo pipefail
RDMAUD_SCRIPT=test
. "$(dirname "$0")/lib.sh"

"$RDMAUD_TOP/scripts/setup.sh"

# Hugepage-mode tests need pages; they skip (and say why) if none can be had.
if [ "$(id -u)" -eq 0 ]; then
    "$RDMAUD_TOP/scripts/hugepages-create.sh" 0 512 || log "no hugepages: hugepage-mode tests will skip"
fi

rc=0
# One test at a time: many tests bind fixed loopback addresses and ports (softud devices,
# memcached), so two at once could collide. The suite takes a few minutes this way.
meson test -C "$RDMAUD_BUILD" --print-errorlogs --num-processes 1 "$@" || rc=$?

# One closing line, counted from meson's own log.
/usr/bin/python3 - "$RDMAUD_BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")
    counts[key] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $rc
