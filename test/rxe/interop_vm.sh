#!/usr/bin/env bash
# VM side of the softud <-> rxe test (test/rxe/interop.sh starts it): rdma-core's tools on
# rxe0 (eth0, joined to the host's tap), each step's server or client as the host asks.
. "$RDMAUD_TOP/test/integration/lib.sh"
SYNC=${1:?usage: interop_vm.sh SYNC}
. "$RDMAUD_TOP/test/rxe/interop_lib.sh"
[ -e /sys/class/infiniband/rxe0 ] || fail "no rxe0 in the VM"
ibv_devinfo -v -d rxe0 > "$SYNC/vm-devinfo.txt"
sync_put vm.ready
for step in "${INTEROP_STEPS[@]}"; do
    read -r tool server <<<"$step"
    rc=0
    case $tool in
    pingpong) cmd=(ibv_ud_pingpong -d rxe0 -g 1 "${PP_ARGS[@]}") port=18515 ;;
    send_bw) cmd=(ib_send_bw -d rxe0 -x 1 "${BW_ARGS[@]}") port=18515 ;;
    esac
    if [ "$server" = vm ]; then
        timeout -k 5 60 "${cmd[@]}" > "$SYNC/$tool-$server.vm.log" 2>&1 &
        pid=$!
        wait_listen $port
        sync_put "$tool-$server.listening"
        wait $pid || rc=$?
    else
        sync_wait "$tool-$server.listening"
        timeout -k 5 60 "${cmd[@]}" $HOST_ADDR > "$SYNC/$tool-$server.vm.log" 2>&1 || rc=$?
    fi
    sync_put "$tool-$server.vm.rc" $rc
    sync_wait "$tool-$server.host.rc"
done
rdma statistic show link rxe0/1 > "$SYNC/vm-stats.txt" 2>&1 || true
grep -H . /sys/class/infiniband/rxe0/ports/1/hw_counters/* > "$SYNC/vm-hw.txt" 2>&1 || true
sync_put vm.done
