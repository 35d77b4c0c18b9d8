#!/usr/bin/env bash
# Run a command on Linux's kernel RoCE (rdma_rxe) with rdma-core's own libibverbs, inside a
# QEMU virtual machine (software emulation: no KVM needed). The VM boots Debian's kernel
# (the package linux-image-amd64 points at, downloaded from Debian's archive and extracted,
# never installed), mounts this machine's root read-only over virtio-9p and runs CMD there,
# so rdma-core's tools, DPDK and the build tree are the host's own. doc/guides/rxe.md.
#
# Usage: scripts/rxe-vm.sh [options] [--] CMD [ARG]...
#   --layout one|two|tap  rxe devices and netdevs in the VM (test/rxe/vm-stage2.sh; default one)
#   --tap-ns NS           with --layout tap: QEMU runs in the existing network namespace NS and
#                         its tap (rxevm0) gets --tap-addr there (default 198.18.1.1/24)
#   --timeout S           the whole run, boot included (default 600)
#   --boot-timeout S      until the VM's init reports it booted (default 180)
#   --mem MB              the VM's memory (default 3072)
#   --share DIR           also mount the host directory DIR read-write at the same path in the
#                         VM, uncached (files a test on the host and CMD in the VM both use)
#   -e NAME=VALUE         a variable for CMD (RDMAUD_* and RXE_* of the caller pass anyway)
# Prints CMD's output and exits with CMD's status; 125 when the VM could not run it
# (no qemu, no kernel package, boot timeout, rxe refused, time out), with the reason.
# Every run's files are removed at exit (RXE_VM_KEEP=1 keeps them and names the directory).
set -euo pipefail
RDMAUD_SCRIPT=rxe-vm
. "$(dirname "$0")/lib.sh"

layout=one tap_ns='' share='' tap_addr=198.18.1.1/24 timeout=600 boot_timeout=180 mem=3072
envs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --layout) layout=$2; shift 2 ;;
    --tap-ns) tap_ns=$2; shift 2 ;;
    --tap-addr) tap_addr=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --boot-timeout) boot_timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --share) share=$(cd "$2" && pwd) || die "--share $2: no such directory"; shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see the usage at the top of $0)" ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || die "no command to run in the VM"
case "$layout" in one | two | tap) ;; *) die "--layout $layout: one of one, two, tap" ;; esac
[ "$layout" != tap ] || [ -n "$tap_ns" ] || die "--layout tap needs --tap-ns NS"
[ -z "$tap_ns" ] || [ -e "/run/netns/$tap_ns" ] || die "--tap-ns $tap_ns: no such network namespace"

vmfail() { printf '[rxe-vm] error: %s\n' "$*" >&2; exit 125; }
command -v qemu-system-x86_64 > /dev/null ||
    vmfail "qemu-system-x86_64 not found: apt-get install qemu-system-x86 (scripts/setup.sh does)"
[ -x /bin/busybox ] && file -L /bin/busybox 2> /dev/null | grep -q 'statically linked' ||
    vmfail "no static busybox for the VM's initramfs: apt-get install busybox-static"
for t in cpio depmod gzip; do
    command -v $t > /dev/null || vmfail "$t not found (packages cpio, kmod, gzip)"
done

cache=${RDMAUD_RXE_CACHE:-/var/cache/rdmaud/rxe-vm}
mkdir -p "$cache"

# The kernel Debian's linux-image-amd64 depends on, extracted once into the cache.
kernel_pkg=$(apt-cache depends linux-image-amd64 2> /dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kernel_pkg" ]; then
    apt-get update -q > /dev/null 2>&1 || true
    kernel_pkg=$(apt-cache depends linux-image-amd64 2> /dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$kernel_pkg" ] || vmfail "no kernel package: apt-cache knows no linux-image-amd64 (is Debian's archive reachable?)"
kver=${kernel_pkg#linux-image-}
kdir=$cache/kernel-$kver
# Modules the VM loads (with what they depend on): its disk-less root over virtio-9p,
# a virtio NIC, veth, and rxe with the verbs user interface.
MODULES=(virtio_pci virtio_net 9pnet_virtio 9p veth crc32_generic ib_uverbs rdma_rxe)
if [ ! -f "$kdir/ready" ]; then
    log "fetching $kernel_pkg from Debian's archive (once; cached in $kdir)"
    rm -rf "$kdir"
    mkdir -p "$kdir"
    tmpk=$(mktemp -d "$cache/.k.XXXXXX")
    (cd "$tmpk" && apt-get download -q "$kernel_pkg" > dl.log 2>&1) ||
        (apt-get update -q > /dev/null 2>&1; cd "$tmpk" && apt-get download -q "$kernel_pkg" > dl.log 2>&1) || {
        cat "$tmpk/dl.log" >&2
        rm -rf "$tmpk"
        vmfail "cannot download $kernel_pkg"
    }
    dpkg-deb -x "$tmpk"/*.deb "$tmpk/x"
    depmod -b "$tmpk/x" "$kver"
    mdir=$tmpk/x/lib/modules/$kver
    # Load order: each module after what it depends on (modules.dep), each once.
    python3 - "$mdir/modules.dep" "${MODULES[@]}" > "$kdir/modules.order" <<'PY' || { rm -rf "$tmpk"; vmfail "module dependencies"; }
import sys
dep = {}
for line in open(sys.argv[1]):
    mod, _, rest = line.partition(":")
    dep[mod.rsplit("/", 1)[-1].split(".ko")[0]] = (mod, rest.split())
seen, order = set(), []
def visit(name):
    if name in seen:
        return
    seen.add(name)
    if name not in dep:
        raise SystemExit(f"module {name} is not in this kernel (built in?)")
    path, deps = dep[name]
    for d in reversed(deps):
        visit(d.rsplit("/", 1)[-1].split(".ko")[0])
    order.append(path)
for m in sys.argv[2:]:
    visit(m)
print("\n".join(order))
PY
    mkdir -p "$kdir/modules"
    while read -r m; do cp "$mdir/$m" "$kdir/modules/"; done < "$kdir/modules.order"
    sed -i 's#.*/##' "$kdir/modules.order"
    cp "$tmpk/x/boot/vmlinuz-$kver" "$kdir/vmlinuz"
    rm -rf "$tmpk"
    touch "$kdir/ready"
fi

# The initramfs: static busybox, our init, the modules. Rebuilt when the init changes.
init_src=$RDMAUD_TOP/test/rxe/vm-init
initrd=$kdir/initrd-$(cat "$init_src" "$kdir/modules.order" /bin/busybox | sha1sum | cut -c1-12).gz
if [ ! -f "$initrd" ]; then
    tmpi=$(mktemp -d "$cache/.i.XXXXXX")
    mkdir -p "$tmpi/bin" "$tmpi/proc" "$tmpi/sys" "$tmpi/dev" "$tmpi/modules"
    cp /bin/busybox "$tmpi/bin/busybox"
    cp "$init_src" "$tmpi/init"
    chmod 755 "$tmpi/init"
    cp "$kdir/modules/"* "$tmpi/modules/"
    cp "$kdir/modules.order" "$tmpi/modules.order"
    (cd "$tmpi" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$tmpi"
fi

# The run's directory: shared read-write with the VM (CMD, its env, output, status).
runs=${RDMAUD_RXE_RUNS:-$RDMAUD_BUILD/rxe-vm}
mkdir -p "$runs"
work=$(mktemp -d "$runs/run.XXXXXX")
qpid=''
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2> /dev/null; then
        kill "$qpid" 2> /dev/null || true
        for _ in $(seq 50); do kill -0 "$qpid" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$qpid" 2> /dev/null || true
    fi
    if [ "${RXE_VM_KEEP:-0}" = 1 ]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
    printf 'export RXE_LAYOUT=%q\n' "$layout"
    printf 'export RDMAUD_TOP=%q RDMAUD_BUILD=%q RXE_WORK=%q\n' "$RDMAUD_TOP" "$RDMAUD_BUILD" "$work"
    while IFS='=' read -r name value; do
        case "$name" in RDMAUD_TOP | RDMAUD_BUILD) continue ;; esac
        printf 'export %s=%q\n' "$name" "$value"
    done < <(env | grep -E '^(RDMAUD|RXE)_[A-Za-z0-9_]*=' || true)
    for e in ${envs[@]+"${envs[@]}"}; do
        printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
    done
} > "$work/env"
printf '%q ' "$@" > "$work/cmd"
echo >> "$work/cmd"

extra=()
[ -z "$share" ] ||
    extra=(-virtfs "local,path=$share,mount_tag=share,security_model=none,multidevs=remap")
nic=(-nic none)
launcher=()
if [ "$layout" = tap ]; then
    nic=(-netdev tap,id=n0,ifname=rxevm0,script=no,downscript=no -device virtio-net-pci,netdev=n0)
    launcher=(ip netns exec "$tap_ns")
fi
# Debian's DPDK needs SSE4.2 and more: QEMU's default CPU model lacks it (-cpu max).
${launcher[@]+"${launcher[@]}"} qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m "$mem" \
    -display none -monitor none -serial "file:$work/console.log" -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 rdmaud.top=$RDMAUD_TOP rdmaud.work=$work rdmaud.share=$share" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$RDMAUD_TOP,mount_tag=top,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap" \
    ${extra[@]+"${extra[@]}"} "${nic[@]}" > "$work/qemu.log" 2>&1 &
qpid=$!

start=$SECONDS booted=0 tap_up=0
while kill -0 "$qpid" 2> /dev/null; do
    if [ $booted -eq 0 ] && grep -q 'rxe-vm-init: booted' "$work/console.log" 2> /dev/null; then
        booted=1
        log "VM booted in $((SECONDS - start)) s"
    fi
    if [ "$layout" = tap ] && [ $tap_up -eq 0 ] && ip netns exec "$tap_ns" ip link show rxevm0 > /dev/null 2>&1; then
        ip netns exec "$tap_ns" ip addr add "$tap_addr" dev rxevm0
        ip netns exec "$tap_ns" ip link set rxevm0 mtu "${RXE_NETDEV_MTU:-1500}" up
        tap_up=1
    fi
    if [ $booted -eq 0 ] && [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
        tail -n 30 "$work/console.log" >&2 || true
        vmfail "boot timeout: the VM did not boot within $boot_timeout s (console above)"
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
        [ -f "$work/out.log" ] && tail -n 50 "$work/out.log"
        vmfail "time out: the run took more than $timeout s; VM stopped"
    fi
    sleep 0.5
done
wait "$qpid" || true
qpid=''
[ -f "$work/out.log" ] && cat "$work/out.log"
rc=$(cat "$work/rc" 2> /dev/null || echo none)
case "$rc" in
'' | *[!0-9]*)
    tail -n 30 "$work/console.log" >&2 || true
    cat "$work/qemu.log" >&2 || true
    vmfail "the VM stopped before CMD finished (status '$rc'; console above)" ;;
esac
log "CMD exited $rc after $((SECONDS - start)) s in the VM"
exit "$rc"
