#!/usr/bin/env bash
# Without any verbs device (this machine's kernel has no RDMA and softud-run is
# not in use), probe fails with a message saying so, and testpmd has no port.
. "$(dirname "$0")/lib.sh"
if ibv_devices 2>/dev/null | grep -q '^ *[a-z]'; then
    skip "a verbs device is present here"
fi
log=$TEST_TMP/nodev.log
run_testpmd "$log" 'quit\n' --no-huge -m 256 --vdev=net_rdmaud0 \
    -- -i --disable-device-start --total-num-mbufs=1024 || true
cat "$log"
grep -q "net_rdmaud0: no verbs device found" "$log" || fail "no message naming the missing device"
! grep -q "probed as port" "$log" || fail "probed without a device"
pass "probe without a verbs device refused with a clear message"
