#!/usr/bin/env bash
# Real softud traffic captured on lo during an ibv_ud_pingpong decodes as RoCE in tshark (RRoCE:
# BTH UD SEND-only, DETH with the QPNs, no expert warnings) and every ICRC verifies with scapy.
. "$(dirname "$0")/softud_test_lib.sh"
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: capturing on lo needs root"; exit 77; }
iters=20
want=$((2 * iters))
port=18617
devs=(--udp --dev sa=127.0.17.2 --dev sb=127.0.17.3)  # on the wire: no shared-memory path
bg cap timeout 30 tshark -i lo -f 'udp port 4791 and host 127.0.17.2' -c $want -a duration:20 -w "$T/cap.pcap"
for _ in $(seq 100); do grep -q "Capturing on" "$T/cap.out" && break; sleep 0.1; done
grep -q "Capturing on" "$T/cap.out" || { cat "$T/cap.out"; fail "tshark did not start"; }
bg srv timeout 20 "$SOFTUD_RUN" "${devs[@]}" -- ibv_ud_pingpong -d sa -g 0 -p $port -n $iters -s 100
wait_listen $port
bg cli timeout 20 "$SOFTUD_RUN" "${devs[@]}" -- ibv_ud_pingpong -d sb -g 0 -p $port -n $iters -s 100 127.0.0.1
wait_pid cli
wait_pid srv
wait_pid cap

tshark -r "$T/cap.pcap" -T fields -E separator=, -e frame.protocols -e infiniband.bth.opcode \
    -e infiniband.bth.destqp -e infiniband.deth.srcqp -e infiniband.deth.q_key -e _ws.expert >"$T/decode"
head -3 "$T/decode"
n=$(wc -l <"$T/decode")
[ "$n" -eq $want ] || fail "captured $n datagrams, expected $want"
# ud_pingpong: QPN 0x11 on both sides (softud's first QPN), Q_Key 0x11111111; 100 = UD SEND-only.
bad=$(grep -cvE '^eth:ethertype:ip:udp:infiniband(:data)?,100,0x0*11,0x0*11,0x0*11111111,$' "$T/decode" || true)
[ "$bad" -eq 0 ] || { cat "$T/decode"; fail "$bad datagrams not decoded as RoCE UD SEND-only without warnings"; }
pass "tshark decodes $n captured softud datagrams as RRoCE (BTH UD SEND-only, DETH)"

/usr/bin/python3 "$(dirname "$0")/verify_icrc.py" "$T/cap.pcap" $want
pass "scapy verifies the ICRC of all $n captured datagrams"
