#!/usr/bin/env bash
# Bad devargs are refused at probe with a message naming the bad key or value,
# and testpmd then has no port. Devargs are parsed before any verbs device is
# opened, so this needs none.
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
check_refused "net_rdmaud0,peers=02:00:00:00:00:01@127.0.0.3" "expected MAC@ADDR/QPN"
check_refused "net_rdmaud0,peers=02:00:00:00:00:01@127.0.0.3/1" "bad QPN"
check_refused "net_rdmaud0,peers=02:00:00:00:00:01@10.0.0.1/5;02:00:00:00:00:01@10.0.0.2/6" "MAC listed twice"
check_refused "net_rdmaud0,tx_signal=0" "invalid devarg tx_signal=0"
check_refused "net_rdmaud0,tx_inline=4096" "invalid devarg tx_inline=4096"
pass "bad devargs refused"
