#!/usr/bin/env bash
# DPDK's own dpdk-pmdinfo.py lists the plugin's driver and its devargs.
. "$(dirname "$0")/lib.sh"
out=$(/usr/bin/python3 "$(command -v dpdk-pmdinfo.py)" "$RDMAUD_PMD")
echo "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
info = json.loads(sys.argv[1])
names = [d.get("name") for d in info]
assert names == ["net_rdmaud"], f"drivers listed: {names}"
params = info[0].get("params", "")
for key in ("dev=", "port=", "gid_index=", "qkey=", "mac="):
    assert key in params, f"devarg {key} missing from {params!r}"
PY
pass "dpdk-pmdinfo.py lists net_rdmaud with its devargs"
