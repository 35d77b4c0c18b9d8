#!/usr/bin/env bash
# softud on this machine <-> Linux rxe in the VM, over a real link: QEMU's tap in a network
# namespace the test creates (198.18.1.1 there; 198.18.1.2 on the VM's eth0, rxe0 on it).
# rdma-core's ibv_ud_pingpong and perftest's ib_send_bw -c UD in both directions (server on
# either side): softud's RoCE v2 framing and ICRC against an implementation we did not write.
# Runs on the host (meson suite rxe); the VM runs test/rxe/interop_vm.sh.
. "$RDMAUD_TOP/test/integration/lib.sh"
. "$RDMAUD_TOP/test/integration/testpmd_common.sh" # expect_eq, softud_counter
. "$RDMAUD_TOP/test/rxe/interop_lib.sh"
[ "$(id -u)" -eq 0 ] || skip "the rxe VM needs root"
command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 is not installed (scripts/setup.sh installs it)"
SOFTUD_RUN=$RDMAUD_BUILD/lib/softud/softud-run
[ -x "$SOFTUD_RUN" ] || skip "softud is not built"

NS=rdmaudx$$-$RANDOM
SYNC=$(mktemp -d "$RDMAUD_BUILD/rxe-vm/interop.XXXXXX" 2> /dev/null || { mkdir -p "$RDMAUD_BUILD/rxe-vm" && mktemp -d "$RDMAUD_BUILD/rxe-vm/interop.XXXXXX"; })
vm_pid=''
cleanup() {
    [ -n "$vm_pid" ] && kill "$vm_pid" 2> /dev/null && wait "$vm_pid" 2> /dev/null
    ip netns del "$NS" 2> /dev/null
    rm -rf "$SYNC"
    cleanup_test
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
bash "$RDMAUD_TOP/scripts/rxe-vm.sh" --layout tap --tap-ns "$NS" --tap-addr "$HOST_ADDR/24" --share "$SYNC" \
    --timeout 420 -- bash "$RDMAUD_TOP/test/rxe/interop_vm.sh" "$SYNC" > "$TEST_TMP/vm.log" 2>&1 &
vm_pid=$!
sync_wait vm.ready 180
# A verbs program on softud0 (198.18.1.1, path MTU 1024 as rxe's) in NS.
softud=(ip netns exec "$NS" env SOFTUD_STAT_DIR="$TEST_TMP/stat" "$SOFTUD_RUN" --quiet --udp
    --dev "softud0=$HOST_ADDR:mtu=1024" --)
mkdir -p "$TEST_TMP/stat"
failed=()
for step in "${INTEROP_STEPS[@]}"; do
    read -r tool server <<<"$step"
    case $tool in
    pingpong) cmd=(ibv_ud_pingpong -d softud0 -g 0 "${PP_ARGS[@]}") port=18515 ;;
    send_bw) cmd=(ib_send_bw -d softud0 -x 0 "${BW_ARGS[@]}") port=18515 ;;
    esac
    rc=0
    if [ "$server" = host ]; then
        timeout -k 5 60 "${softud[@]}" "${cmd[@]}" > "$TEST_TMP/$tool-$server.log" 2>&1 &
        pid=$!
        wait_listen $port "$NS"
        sync_put "$tool-$server.listening"
        wait $pid || rc=$?
    else
        sync_wait "$tool-$server.listening"
        timeout -k 5 60 "${softud[@]}" "${cmd[@]}" $VM_ADDR > "$TEST_TMP/$tool-$server.log" 2>&1 || rc=$?
    fi
    sync_put "$tool-$server.host.rc" $rc
    sync_wait "$tool-$server.vm.rc" 90
    vm_rc=$(cat "$SYNC/$tool-$server.vm.rc")
    where=$([ "$server" = vm ] && echo "server rxe, client softud" || echo "server softud, client rxe")
    echo "== $tool ($where): softud side exit $rc, rxe side exit $vm_rc"
    tail -n 3 "$TEST_TMP/$tool-$server.log" | sed 's/^/   softud: /'
    tail -n 3 "$SYNC/$tool-$server.vm.log" | sed 's/^/   rxe:    /'
    [ "$rc" -eq 0 ] && [ "$vm_rc" -eq 0 ] || failed+=("$tool ($where)")
done
sync_wait vm.done 60
grep -E 'rcvd_pkts|sent_pkts|rdma_recvs|rdma_sends' "$SYNC/vm-hw.txt" | sed 's#.*/##; s/^/   rxe counter: /' || true
# rxe numbers its IP IDs (the ICRC covers them); softud's socket never sees them and takes
# them from the ICRC: without that, every rxe datagram would be a drop_icrc here.
recovered=$(softud_counter softud0 rx_ip_id_recovered) icrc=$(softud_counter softud0 drop_icrc)
echo "softud: $recovered datagrams with an IP ID recovered from the ICRC, $icrc bad ICRCs"
[ "$recovered" -gt 0 ] || failed+=("rxe sent no datagram with a non-zero IP ID: the ICRC check of unseen IDs went untested")
expect_eq "softud drop_icrc" "$icrc" 0
wait "$vm_pid" || { cat "$TEST_TMP/vm.log"; fail "the VM side failed"; }
vm_pid=''
[ ${#failed[@]} -eq 0 ] || fail "failed: ${failed[*]}"
pass "ibv_ud_pingpong and ib_send_bw -c UD between softud and rxe, both directions"
