#!/usr/bin/env bash
# Bad devargs are refused at probe with a message naming the bad key or value,
# and testpmd then has no port.
. "$(dirname "$0")/lib.sh"

check_refused() {
    local devargs=$1 expect=$2
    local log=$TEST_TMP/bad.log
    run_testpmd "$log" 'quit\n' --no-huge -m 256 --vdev="$devargs" \
        -- -i --disable-device-start --total-num-mbufs=1024 || true
    grep -qF "$expect" "$log" || { cat "$log"; fail "--vdev=$devargs: no error naming '$expect'"; }
    ! grep -q "probed as port" "$log" || { cat "$log"; fail "--vdev=$devargs was probed"; }
    echo "refused as expected: --vdev=$devargs"
}

check_refused "net_rdmaud0,bogus=1" 'unknown devarg "bogus"'
check_refused "net_rdmaud0,port=0" "invalid devarg port=0"
check_refused "net_rdmaud0,qkey=0x80000001" "invalid devarg qkey=0x80000001"
check_refused "net_rdmaud0,mac=01:00:5e:00:00:01" "invalid devarg mac=01:00:5e:00:00:01"
check_refused "net_rdmaud0,gid_index=abc" "invalid devarg gid_index=abc"
pass "bad devargs refused"
