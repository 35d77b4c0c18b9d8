#!/usr/bin/env bash
# Inside the rxe VM: what net_rdmaud reports of rxe0 agrees with rdma-core's own tools.
#   GID: the probe line's GID and index = ibv_devinfo's RoCE v2 IPv4 entry at that index
#   MTU: the port's max frame = the active path MTU (1024 on a 1500-byte netdev)
#   link: testpmd's link status and speed = the verbs port's state, width x lane speed
#   objects: `rdma resource show qp` lists the port's UD QPs (by QPN) for testpmd's PID
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/integration/testpmd_common.sh"
[ -e /sys/class/infiniband/rxe0 ] || skip "no rxe0 here: run through test/rxe/run.sh (inside the rxe VM)"
TP_START_WAIT=90 TP_TIMEOUT=240

ibv_devinfo -v -d rxe0 > "$TEST_TMP/devinfo.txt"
tp_start A none -l 0,1 --no-huge -m 512 --vdev=net_rdmaud0,dev=rxe0 \
    -- -i --total-num-mbufs=8192 --rxq=2 --txq=2
tp_run A "show port info 0"
probe=$(grep -m1 -E 'qpn 0x[0-9a-f]+' "${TP_LOG[A]}")
echo "PMD: $probe"
gid=$(grep -oE 'gid [0-9a-f:.]+' <<<"$probe" | cut -d' ' -f2)
index=$(grep -oE '\(index [0-9]+\)' <<<"$probe" | grep -oE '[0-9]+')
max_frame=$(grep -oE 'max frame [0-9]+' <<<"$probe" | grep -oE '[0-9]+$')
grep -q 'RoCE v2' <<<"$probe" || fail "the PMD did not report RoCE v2"
# ibv_devinfo -v: "GID[  1]:		::ffff:198.18.0.1, RoCE v2"
want=$(grep -E "GID\[ *$index\]:" "$TEST_TMP/devinfo.txt" | head -1 | sed 's/.*\]:[[:space:]]*//; s/,.*//')
type=$(grep -E "GID\[ *$index\]:" "$TEST_TMP/devinfo.txt" | head -1 | sed 's/.*, //')
expect_eq "GID at index $index" "$gid" "$want"
expect_eq "GID type at index $index" "$type" "RoCE v2"
grep -qE '^::ffff:[0-9.]+$' <<<"$gid" || fail "GID $gid is not IPv4-mapped"
expect_eq "max frame = active_mtu" "$max_frame" "$(awk '/active_mtu/ {print $2; exit}' "$TEST_TMP/devinfo.txt")"
grep -q 'state:.*PORT_ACTIVE' "$TEST_TMP/devinfo.txt" || fail "rxe0 is not ACTIVE"
rdma link show rxe0/1 | grep -q 'state ACTIVE' || fail "rdma link: rxe0/1 not ACTIVE"
grep -q 'Link status: up' "${TP_LOG[A]}" || fail "testpmd shows the link down"
# active_width "1X (1)", active_speed "10.0 Gbps (8)": Mb/s = lanes x Gb/s x 1000
lanes=$(awk '/active_width/ {print $2; exit}' "$TEST_TMP/devinfo.txt" | tr -d X)
gbps=$(awk '/active_speed/ {print $2; exit}' "$TEST_TMP/devinfo.txt")
speed=$(awk -v l="$lanes" -v g="$gbps" 'BEGIN {printf "%d", l * g * 1000}')
pmd_speed=$(grep -oE 'Link speed: [0-9.]+ [GM]bps' "${TP_LOG[A]}" | tail -1)
echo "verbs: width $lanes x $gbps Gb/s; testpmd: $pmd_speed"
case "$pmd_speed" in
*Gbps) got=$(awk -v s="$(echo "$pmd_speed" | awk '{print $3}')" 'BEGIN {printf "%d", s * 1000}') ;;
*) got=$(echo "$pmd_speed" | awk '{print $3}') ;;
esac
expect_eq "link speed (Mb/s)" "$got" "$speed"
# The port's QPs, as the kernel lists them for testpmd's process.
pid=$(pgrep -P "${TP_PID[A]}" -x dpdk-testpmd || pgrep -f "file-prefix=${TEST_PREFIX}A" | head -1)
rdma resource show qp link rxe0/1 > "$TEST_TMP/qp.txt"
cat "$TEST_TMP/qp.txt"
nqp=$(grep -c "pid $pid " "$TEST_TMP/qp.txt" || true)
expect_eq "UD QPs of testpmd (2 queues)" "$(grep "pid $pid " "$TEST_TMP/qp.txt" | grep -c 'type UD' || true)" 2
expect_eq "QPs of testpmd" "$nqp" 2
qpn=$(grep -oE 'qpn 0x[0-9a-f]+' <<<"$probe" | cut -d' ' -f2)
grep "pid $pid " "$TEST_TMP/qp.txt" | grep -q "lqpn $((qpn)) " || fail "queue 0's QPN $qpn is not in rdma's list"
tp_quit A
pass "net_rdmaud's report of rxe0 agrees with ibv_devinfo and rdma"
