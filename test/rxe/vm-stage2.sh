#!/bin/bash
# Second stage of the rxe test VM, run by test/rxe/vm-init in a chroot of the host's root.
# Makes the netdevs and rxe devices of the run's layout, then runs the command that
# scripts/rxe-vm.sh left in WORK/cmd, its output to WORK/out.log and its exit status to
# WORK/rc. WORK/env holds the variables the runner passes (RXE_LAYOUT among them).
#
# Layouts (the addresses exist only inside the VM, or inside the host namespace the runner
# made for a tap):
#   one  rxe0 on veth v0 (198.18.0.1/24); its peer v1 (198.18.0.2) has no rxe device
#   two  rxe0 on v0 (198.18.0.1) and rxe1 on v1 (198.18.0.2); policy routes send what one
#        address sends to the other out of its own veth end, so rxe0 <-> rxe1 crosses the link
#   tap  rxe0 on the VM's virtio NIC eth0 (198.18.1.2/24), joined to a tap on the host
work=$1
rc_file=$work/rc
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
. "$work/env"

fail() {
    echo "rxe-vm: $*" | tee -a "$work/out.log"
    echo 125 > "$rc_file"
    exit 1
}

ulimit -l unlimited
ip link set lo up

add_rxe() { # name netdev
    rdma link add "$1" type rxe netdev "$2" 2> "$work/rxe.err" ||
        fail "rxe refused: rdma link add $1 type rxe netdev $2: $(cat "$work/rxe.err")"
}

case "${RXE_LAYOUT:-one}" in
one | two)
    ip link add v0 mtu "${RXE_NETDEV_MTU:-1500}" type veth peer name v1 mtu "${RXE_NETDEV_MTU:-1500}" ||
        fail "cannot create the veth pair"
    ip addr add 198.18.0.1/24 dev v0
    ip addr add 198.18.0.2/24 dev v1
    ip link set v0 up
    ip link set v1 up
    add_rxe rxe0 v0
    if [ "$RXE_LAYOUT" = two ]; then
        # The local table after our rules: a packet one address sends to the other leaves
        # by its own veth end; arriving on the other end it is local (accept_local).
        ip rule add pref 100 lookup local
        ip rule del pref 0
        ip route add 198.18.0.2/32 dev v0 src 198.18.0.1 table 10
        ip route add 198.18.0.1/32 dev v1 src 198.18.0.2 table 11
        ip rule add pref 10 from 198.18.0.1 to 198.18.0.2 iif lo lookup 10
        ip rule add pref 11 from 198.18.0.2 to 198.18.0.1 iif lo lookup 11
        for c in all v0 v1; do
            sysctl -qw net.ipv4.conf.$c.accept_local=1 net.ipv4.conf.$c.rp_filter=0
        done
        add_rxe rxe1 v1
    fi
    ;;
tap)
    ip link set eth0 mtu "${RXE_NETDEV_MTU:-1500}" up || fail "the VM has no NIC eth0"
    ip addr add 198.18.1.2/24 dev eth0
    add_rxe rxe0 eth0
    ;;
*) fail "unknown layout RXE_LAYOUT=$RXE_LAYOUT" ;;
esac

# Wait (bounded) for every rxe port to be ACTIVE with its IPv4 GID.
for i in $(seq 50); do
    n=$(rdma link show 2> /dev/null | grep -c 'state ACTIVE')
    [ "$n" -ge "$(rdma link show 2> /dev/null | grep -c link)" ] && [ "$n" -gt 0 ] && break
    sleep 0.2
done
rdma link show > "$work/rdma-link.txt" 2>&1
echo "rxe-vm: $(tr '\n' ' ' < "$work/rdma-link.txt")"

cd "$work" || fail "no work directory"
echo running > "$rc_file"
bash "$work/cmd" > "$work/out.log" 2>&1
echo $? > "$rc_file"
