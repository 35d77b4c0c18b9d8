#!/usr/bin/env bash
# net_rdmaud through DPDK telemetry: two testpmd processes over softud find each other through the
# registry (a real memcached); A sends to B. Then dpdk-telemetry.py, on A's telemetry socket:
# - /ethdev/xstats,0 gives the port's xstats with the values testpmd's `show port xstats 0`
#   prints (the counters that no longer move once traffic stopped);
# - /rdmaud/registry,0 gives the registry servers and namespace of the devargs, one resolved
#   peer — B's MAC with the QPNs of B's two queues as B's own log names them — and resolver
#   counters equal to the registry_* xstats (resolved, requests);
# - an unknown port is refused (null answer).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v memcached >/dev/null || skip "memcached is not installed"
command -v dpdk-telemetry.py >/dev/null || skip "dpdk-telemetry.py is not installed"
tp_netns
trap 'tp_memcached_stop; tp_cleanup' EXIT
port=11211
tp_memcached_start "$port"

MAC_A=02:00:00:00:00:7a MAC_B=02:00:00:00:00:7b
REG="registry=127.0.0.1:$port,ns=telem"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" \
    -- -i --total-num-mbufs=8192 --rxq=2 --txq=2 --rxd=512 --txd=512
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --eth-peer=0,$MAC_B
tp_run A "set fwd rxonly"
tp_run B "set fwd rxonly"
tp_run B "start"
tp_resolve_through_registry A
tp_run A "start tx_first 4"
sleep 0.5
tp_run A "stop"
tp_run B "stop"
sleep 1.5 # let the resolver's revalidation counters settle (they move every second)
tp_snapshot A

# B's QPNs: its probe line names queue 0; queue 1 is the next QP softud created in that process.
qpn0=$(grep -oE "qpn 0x[0-9a-f]+" "${TP_LOG[B]}" | head -1 | cut -d' ' -f2)
qpn1=$(printf '0x%x' $((qpn0 + 1)))

tel_out=$TEST_TMP/telemetry.out
printf '/ethdev/xstats,0\n/rdmaud/registry,0\n/rdmaud/registry,7\n' |
    timeout -k 5 20 dpdk-telemetry.py -f "${TEST_PREFIX}A" >"$tel_out" 2>&1 ||
    { cat "$tel_out"; fail "dpdk-telemetry.py failed"; }
python3 - "$tel_out" "${TP_LOG[A]}" "$MAC_B" "$qpn0,$qpn1" "127.0.0.1:$port" <<'PY' || fail "telemetry answers do not match"
import json, re, sys
out, log, mac_b, qpns, servers = sys.argv[1:6]
dec, text, objs, i = json.JSONDecoder(), open(out).read(), [], 0
while True:  # the script prints one JSON object per answer (after the connect banner)
    j = text.find("{", i)
    if j < 0:
        break
    obj, i = dec.raw_decode(text, j)
    objs.append(obj)
xs = next((o["/ethdev/xstats"] for o in objs if "/ethdev/xstats" in o), None)
regs = [o["/rdmaud/registry"] for o in objs if "/rdmaud/registry" in o]  # port 0, then port 7
assert xs and len(regs) == 2 and regs[0], f"missing answers: {objs}"
reg = regs[0]
tp = {}  # testpmd's last "show port xstats 0"
block = open(log, errors="replace").read().rsplit("NIC extended statistics for port 0", 1)[1]
for m in re.finditer(r"^\s*(\w+): (\d+)$", block, re.M):
    tp.setdefault(m.group(1), int(m.group(2)))
bad = 0
for name in ("tx_good_packets", "rx_good_packets", "tx_resolver_hits", "tx_drop_unknown_mac", "tx_q0_packets",
             "tx_doorbells", "tx_wrs_posted", "registry_resolved", "registry_requests", "registry_peers"):
    ok = name in xs and xs[name] == tp.get(name)
    bad += not ok
    print(f"{'ok' if ok else 'FAIL'}: /ethdev/xstats {name} = {xs.get(name)}, testpmd {tp.get(name)}")
want_peer = f"{mac_b.upper()} {qpns}"
checks = [("registry", reg.get("registry") == servers), ("namespace", reg.get("namespace") == "telem"),
          ("name", reg.get("name") == "a"), ("peers", reg.get("peers") == 1),
          ("peer_macs", reg.get("peer_macs") == [want_peer]),
          ("resolved = registry_resolved", reg.get("resolved") == tp.get("registry_resolved")),
          ("requests = registry_requests", reg.get("requests") == tp.get("registry_requests")),
          ("unknown port refused", regs[1] is None)]
for what, ok in checks:
    bad += not ok
    print(f"{'ok' if ok else 'FAIL'}: /rdmaud/registry {what}")
print("registry answer:", json.dumps(reg)[:400])
sys.exit(1 if bad else 0)
PY
tp_quit A
tp_quit B
pass "xstats and registry state through dpdk-telemetry.py"
