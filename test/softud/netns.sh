#!/usr/bin/env bash
# The same tools across two network namespaces joined by a veth pair (198.18.0.1/24 and
# 198.18.0.2/24): ibv_ud_pingpong (RoCE, IB mode, event mode), ib_send_bw and ib_send_lat -c UD.
# The namespaces are created here and removed on exit.
. "$(dirname "$0")/softud_test_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for ip netns"; exit 77; }
A=sud-a-$$ B=sud-b-$$
CLEANUP+=("ip netns del $A 2>/dev/null" "ip netns del $B 2>/dev/null")
ip netns add $A
ip netns add $B
ip link add sud0-$$ netns $A type veth peer name sud1-$$ netns $B
ip -n $A addr add 198.18.0.1/24 dev sud0-$$
ip -n $B addr add 198.18.0.2/24 dev sud1-$$
for ns in $A $B; do
    ip -n $ns link set lo up
done
ip -n $A link set sud0-$$ mtu 9000 up
ip -n $B link set sud1-$$ mtu 9000 up
ip -n $B -br link show sud1-$$ | grep -q UP || fail "veth pair is not up"

# run_pair NAME PORT SUFFIX CMD...: server in A, client in B (server address appended), each
# with one device "softud0" on its namespace address (SUFFIX e.g. ":ib").
run_pair() {
    local name=$1 port=$2 sfx=$3; shift 3
    bg "${name}_srv" timeout 60 ip netns exec $A "$SOFTUD_RUN" --dev "softud0=198.18.0.1$sfx" -- "$@" -d softud0 -p "$port"
    wait_listen "$port" $A
    bg "${name}_cli" timeout 60 ip netns exec $B "$SOFTUD_RUN" --dev "softud0=198.18.0.2$sfx" -- "$@" -d softud0 -p "$port" 198.18.0.1
    wait_pid "${name}_cli"
    wait_pid "${name}_srv"
    cat "$T/${name}_cli.out"
}

run_pair pp_roce 18621 "" ibv_ud_pingpong -g 0 -n 1000
expect_grep "$T/pp_roce_cli.out" '1000 iters in' "pingpong RoCE across namespaces"
expect_grep "$T/pp_roce_cli.out" 'GID ::ffff:198.18.0.1' "server GID is its namespace address"
pass "ibv_ud_pingpong RoCE across namespaces"

run_pair pp_ib 18622 ":ib" ibv_ud_pingpong -n 1000
expect_grep "$T/pp_ib_cli.out" '1000 iters in' "pingpong IB mode across namespaces"
expect_grep "$T/pp_ib_cli.out" 'remote address: LID 0x0001' "server LID 1 (198.18.0.1)"
pass "ibv_ud_pingpong IB mode across namespaces"

run_pair pp_ev 18623 "" ibv_ud_pingpong -g 0 -e -n 1000
expect_grep "$T/pp_ev_cli.out" '1000 iters in' "pingpong event mode across namespaces"
pass "ibv_ud_pingpong -e across namespaces"

run_pair bw 18624 "" ib_send_bw -c UD -x 0 -n 2000
expect_grep "$T/bw_cli.out" '^ 4096 +2000 ' "ib_send_bw across namespaces"
pass "ib_send_bw -c UD across namespaces"

run_pair lat 18625 "" ib_send_lat -c UD -x 0 -n 2000
expect_grep "$T/lat_cli.out" '^ 2 +2000 ' "ib_send_lat across namespaces"
pass "ib_send_lat -c UD across namespaces"
