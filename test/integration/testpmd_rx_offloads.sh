#!/usr/bin/env bash
# net_rdmaud's software packet types and RSS hash, checked against the wire. A (one queue,
# testpmd txonly with --txonly-multi-flow) sends to B (four queues: testpmd turns on RSS and
# RTE_ETH_RX_OFFLOAD_RSS_HASH); they find each other through the registry (a real memcached), so
# A's software RSS spreads its flows over B's four QPs; B's testpmd (RSS mode with four queues)
# turns on RTE_ETH_RX_OFFLOAD_RSS_HASH with `port config 0 rx_offload rss_hash on`. softud runs without its shared-memory
# path (SOFTUD_SHM=0): every datagram crosses the loopback as RoCEv2, captured by dumpcap.
# B prints every frame (set verbose 1). Checks:
# - before `set port 0 ptype_mask`, frames carry no packet type (parsing is off by default);
# - after it, each frame's hw ptype equals the layers of the captured frame;
# - each frame's RSS hash equals the flow hash computed in Python from the captured frame's
#   headers, and it arrived on the queue that hash selects (rx_offloads_check.py);
# - without RTE_ETH_RX_OFFLOAD_RSS_HASH (port config ... rss_hash off) no frame has the flag.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
command -v memcached >/dev/null || skip "memcached is not installed"
command -v dumpcap >/dev/null || skip "dumpcap (wireshark) is not installed"
tp_netns
CAP_PID=""
trap '[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null; tp_memcached_stop; tp_cleanup' EXIT
port=11211
tp_memcached_start "$port"

MAC_A=02:00:00:00:00:5a MAC_B=02:00:00:00:00:5b
REG="registry=127.0.0.1:$port,ns=rxoff"
TP_WRAP="env SOFTUD_SHM=0"
tp_start B softud1=127.0.0.3 -l 0,1 --main-lcore 1 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud1,mac=$MAC_B,$REG,name=b" \
    -- -i --total-num-mbufs=8192 --rxq=4 --txq=4 --rxd=512 --txd=512
tp_start A softud0=127.0.0.2 -l 0,1 --main-lcore 0 --no-huge -m 512 \
    --vdev="net_rdmaud0,dev=softud0,mac=$MAC_A,$REG,name=a" \
    -- -i --total-num-mbufs=8192 --rxd=512 --txd=512 --eth-peer=0,$MAC_B --txonly-multi-flow
tp_run A "set fwd rxonly" # tx_first: exactly N bursts from the txonly generator
tp_run B "set fwd rxonly"
tp_run B "port stop 0"
tp_run B "port config 0 rx_offload rss_hash on"
tp_run B "port start 0"
tp_run B "show port 0 rx_offload configuration"
grep -A1 "Rx Offloading Configuration of port 0" "${TP_LOG[B]}" | grep -q "RSS_HASH" ||
    fail "B's port did not take RTE_ETH_RX_OFFLOAD_RSS_HASH"

# Until A has resolved B (through the registry) its frames are dropped before the wire.
tp_resolve_through_registry A

# round NAME: capture while A sends 2 bursts of 32 to B, which prints every frame.
round() {
    local cap=$TEST_TMP/$1.pcap
    ip netns exec "$TP_NETNS" timeout -k 5 60 dumpcap -i lo -f "udp port 4791" -P -w "$cap" \
        >"$TEST_TMP/$1.dumpcap.log" 2>&1 &
    CAP_PID=$!
    for _ in $(seq 1 50); do grep -q "Capturing on" "$TEST_TMP/$1.dumpcap.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    : >"$TEST_TMP/B.$1.mark"
    local from
    from=$(wc -l <"${TP_LOG[B]}")
    tp_run B "set verbose 1"
    tp_run B "start"
    tp_run A "start tx_first 2"
    sleep 1
    tp_run A "stop"
    tp_run B "stop"
    tp_run B "set verbose 0"
    sleep 0.5
    kill -INT "$CAP_PID"; wait "$CAP_PID" || true
    CAP_PID=""
    tail -n +"$from" "${TP_LOG[B]}" >"$TEST_TMP/B.$1.log"
}

round noptype
n=$(grep -c "RSS hash=" "$TEST_TMP/B.noptype.log" || true)
[ "$n" -ge 64 ] || { cat "$TEST_TMP/B.noptype.log"; fail "B printed $n frames, expected 64"; }
grep -q "hw ptype:" "$TEST_TMP/B.noptype.log" && fail "frames carry packet types before ptype_mask was set"
echo "ok: $n frames, no packet type before set ptype_mask"

tp_run B "set port 0 ptype_mask 0x0fffffff"
grep -q "Successfully set following ptypes for Port 0" "${TP_LOG[B]}" || fail "ptype_mask refused"
round ptype
python3 "$RDMAUD_TOP/test/integration/rx_offloads_check.py" "$TEST_TMP/ptype.pcap" "$TEST_TMP/B.ptype.log" \
    "$MAC_B" 4 || fail "packet types / RSS hash differ from the wire"

tp_run B "port stop 0"
tp_run B "port config 0 rx_offload rss_hash off"
tp_run B "port start 0"
round nohash
n=$(grep -c "length=" "$TEST_TMP/B.nohash.log" || true)
[ "$n" -ge 64 ] || fail "B printed $n frames without the RSS hash offload, expected 64"
grep -q "RTE_MBUF_F_RX_RSS_HASH" "$TEST_TMP/B.nohash.log" && fail "RSS hash flag set with the offload off"
echo "ok: $n frames without RTE_MBUF_F_RX_RSS_HASH when the offload is off"
tp_quit A
tp_quit B
pass "packet types and RSS hash match the wire"
