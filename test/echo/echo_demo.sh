#!/usr/bin/env bash
# The README's main job, shortened: scripts/demo.sh (memcached registry, a server and two
# client machines in network namespaces, net_rdmaud on softud). Checks its summary says
# every client was answered and nothing is unaccounted, and that it left no namespace or
# process behind.
. "$RDMAUD_TOP/test/integration/lib.sh"
[ -x "$RDMAUD_BUILD/lib/softud/softud-run" ] || skip "softud is not built"
[ "$(id -u)" -eq 0 ] || skip "the demo needs root (network namespaces)"

out=$TEST_TMP/demo.out
rc=0
DEMO_TAG=t$$ DEMO_WORKDIR=$TEST_TMP DEMO_SKIP_SETUP=1 DEMO_SECONDS=3 timeout -k 10 120 bash "$RDMAUD_TOP/scripts/demo.sh" >"$out" 2>&1 || rc=$?
cat "$out"
[ $rc -eq 0 ] || fail "scripts/demo.sh exited with $rc"
grep -q "^RESULT: OK" "$out" || fail "the demo's summary is not OK"
grep -q ", 0 unaccounted" "$out" || fail "the demo left requests unaccounted"
for c in client1 client2; do
    grep -qE "^$c +[0-9]+ +[1-9][0-9]* " "$out" || fail "$c has no answered requests in the summary"
done
grep -q "machines: network namespaces" "$out" || echo "note: ran on loopback addresses (no namespaces)"
left=$(ip netns list 2>/dev/null | grep -c "^rdmaud-demo-t$$-" || true)
[ "$left" -eq 0 ] || fail "the demo left $left network namespace(s) behind"
# Everything the demo starts has its work directory in its command line (tail) or its
# environment (memcached and the echo processes get RDMAUD_RUN_DIR=<work>/<machine>).
left=$(grep -ls "$TEST_TMP/[r]dmaud-demo\." /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null |
    cut -d/ -f3 | sort -u | grep -vx "$$" || true)
if [ -n "$left" ]; then
    for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done
    fail "the demo left processes behind: $left"
fi
pass "demo summary OK, nothing left behind"
