#!/usr/bin/env bash
# perftest's ib_send_bw / ib_send_lat with -c UD between two softud devices (RoCE: -x 0).
#   perftest.sh bw|lat [netns]
. "$(dirname "$0")/softud_test_lib.sh"
which=${1:?bw|lat}
case $which in
bw)  net=15 tool=ib_send_bw ;;
lat) net=16 tool=ib_send_lat ;;
*) fail "bw or lat" ;;
esac
# The UDP-path variants (SOFTUD_SHM=0) run beside the default ones: other addresses and port.
[ "${SOFTUD_SHM:-1}" = 0 ] && net=$((net + 100))
port=$((18600 + net))
devs=(--dev "sa=127.0.$net.2" --dev "sb=127.0.$net.3")
bg srv timeout 60 "$SOFTUD_RUN" "${devs[@]}" -- $tool -c UD -x 0 -d sa -p $port -n 2000
wait_listen $port
bg cli timeout 60 "$SOFTUD_RUN" "${devs[@]}" -- $tool -c UD -x 0 -d sb -p $port -n 2000 127.0.0.1
wait_pid cli
wait_pid srv
cat "$T/cli.out"
if [ "$which" = bw ]; then
    expect_grep "$T/cli.out" '^ 4096 +2000 ' "ib_send_bw result line (4096 B, 2000 iterations)"
else
    expect_grep "$T/cli.out" '^ 2 +2000 ' "ib_send_lat result line (2 B, 2000 iterations)"
fi
expect_grep "$T/cli.out" 'Connection type : UD' "UD transport"
expect_grep "$T/cli.out" 'Link type +: Ethernet' "RoCE link"
pass "$tool -c UD"
