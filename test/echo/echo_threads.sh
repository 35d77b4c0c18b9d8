#!/usr/bin/env bash
# rdmaud-echo with several threads on both sides, over net_rdmaud on softud, peers through
# the registry (a real memcached): a 2-thread server and two 2-thread clients. The ports
# spread received frames over their queues by flow, so an answer can arrive on a client
# queue other than its asker's; that thread hands it over. Checks that every client thread
# is answered, nothing is unaccounted, the only requests lost are the ones the server's
# port dropped while it did not know the client yet (its oerrors), and that answers were
# handed between threads at least once (client 3's flows land on each other's queues).
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/echo/echo_lib.sh"
ECHO=$RDMAUD_BUILD/app/rdmaud-echo/rdmaud-echo
SOFTUD_RUN=$RDMAUD_BUILD/lib/softud/softud-run
MC=$RDMAUD_TOP/test/registry/memcached_fixture.sh
[ -x "$SOFTUD_RUN" ] || skip "softud is not built"
command -v memcached >/dev/null || skip "memcached is not installed"

S=127.0.23.1 C1=127.0.23.2 C3=127.0.23.3
pids=() mc=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    [ ${#mc[@]} -eq 0 ] || bash "$MC" stop "${mc[@]}"
    cleanup_test
}
trap cleanup EXIT
read -r port w m < <(bash "$MC" start) || fail "memcached did not start"
mc=("$w" "$m")
reg="registry=127.0.0.1:$port,ns=t$$"

run_echo() { # name addr threads args...
    local name=$1 addr=$2 n=$3 lc="0@0" i
    shift 3
    for ((i = 1; i <= n; i++)); do lc+=",$i@$((i % $(nproc)))"; done
    timeout -s INT -k 5 60 "$SOFTUD_RUN" --stat-dir "$TEST_TMP" --dev "softud0=$addr" -- \
        "$ECHO" --lcores "$lc" --no-pci --no-huge -m 256 -d "$RDMAUD_PMD" \
        --file-prefix="$TEST_PREFIX-$name" --vdev="net_rdmaud0,dev=softud0,$reg,name=$name" \
        -- --idle-yield --timeout-ms 1000 "$@" >"$TEST_TMP/$name.log" 2>&1
}
# The server outlives the clients (2 s each, started within about a second) by a margin.
run_echo srv $S 2 --mode server --duration 8 --quiet & pids+=($!)
echo_wait_started "$TEST_TMP/srv.log"
for c in 1 3; do
    addr=C$c
    run_echo "c$c" "${!addr}" 2 --mode client --client-id $c --server-name srv --registry "127.0.0.1:$port" \
        --ns "t$$" --window 16 --duration 2 & pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
pids=()
grep -h "ECHO-SUMMARY\|^requests\|^throughput" "$TEST_TMP"/srv.log "$TEST_TMP"/c1.log "$TEST_TMP"/c3.log
[ $rc -eq 0 ] || { cat "$TEST_TMP"/*.log; fail "an echo process failed (status $rc)"; }

/usr/bin/python3 - "$TEST_TMP" <<'PY'
import json, os, sys
def summary(name):
    for line in open(os.path.join(sys.argv[1], name + ".log")):
        if line.startswith("ECHO-SUMMARY "):
            return json.loads(line.split(" ", 1)[1])
    sys.exit(f"FAIL: no ECHO-SUMMARY from {name}")
s = summary("srv")
lost = forwarded = 0
for name in ("c1", "c3"):
    c = summary(name)
    assert c["threads"] == 2 and all(t > 0 for t in c["thread_mpps"]), f"{name}: a thread got no answer: {c}"
    assert c["unaccounted"] == 0 and c["late"] == 0 and c["foreign"] == 0, f"{name}: {c}"
    lost += c["lost"]
    forwarded += c["forwarded"]
assert all(t > 0 for t in s["thread_mpps"]), f"a server thread answered nothing: {s}"
assert lost == s["port"]["oerrors"], \
    f"clients lost {lost} requests, the server's port dropped {s['port']['oerrors']} (to unresolved peers)"
assert forwarded > 0, "no answer arrived on another thread's queue: the hand-over was not exercised"
print(f"PASS: 4 client threads answered, {forwarded} answers handed between threads, "
      f"{lost} lost = the server's drops before it knew the clients")
PY
