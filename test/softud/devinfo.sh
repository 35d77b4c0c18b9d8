#!/usr/bin/env bash
# ibv_devices / ibv_devinfo -v on softud list the devices with the right GID, MTU and link layer;
# the generated library has exactly the installed rdma-core ABI; without softud-run programs
# still load rdma-core's own library.
. "$(dirname "$0")/softud_test_lib.sh"

"$SOFTUD_RUN" --dev sd0=127.0.11.2 --dev sd1=127.0.11.3:ib:mtu=2048 --mtu 1024 -- ibv_devices >"$T/devices"
expect_grep "$T/devices" '^\s+sd0\s+025355447f000b02' "ibv_devices lists sd0 with its GUID"
expect_grep "$T/devices" '^\s+sd1\s+025355447f000b03' "ibv_devices lists sd1"

"$SOFTUD_RUN" --dev sd0=127.0.11.2 --dev sd1=127.0.11.3:ib:mtu=2048 --mtu 1024 -- ibv_devinfo -v >"$T/info"
awk '/^hca_id:\tsd0/{on=1} /^hca_id:\tsd1/{on=0} on' "$T/info" >"$T/sd0"
awk '/^hca_id:\tsd1/{on=1} on' "$T/info" >"$T/sd1"
expect_grep "$T/sd0" 'GID\[  0\]:\s+::ffff:127\.0\.11\.2, RoCE v2' "sd0 GID[0] is the IPv4-mapped address, RoCE v2"
expect_grep "$T/sd0" 'active_mtu:\s+1024 \(3\)' "sd0 active MTU from --mtu"
expect_grep "$T/sd0" 'max_mtu:\s+4096 \(5\)' "max MTU 4096"
expect_grep "$T/sd0" 'link_layer:\s+Ethernet' "sd0 is RoCE (Ethernet link layer)"
expect_grep "$T/sd0" 'state:\s+PORT_ACTIVE' "port active"
expect_grep "$T/sd1" 'link_layer:\s+InfiniBand' "sd1 is in InfiniBand mode"
expect_grep "$T/sd1" 'port_lid:\s+2819' "sd1 LID = low 16 bits of 127.0.11.3 (0x0b03)"
expect_grep "$T/sd1" 'active_mtu:\s+2048 \(4\)' "sd1 per-device mtu overrides --mtu"
pass "ibv_devices / ibv_devinfo -v"

# Bad configuration is refused with a message, not a crash.
if "$SOFTUD_RUN" --dev sd0=127.0.11.2 --mtu 1000 -- true 2>"$T/err"; then fail "--mtu 1000 accepted"; fi
expect_grep "$T/err" 'mtu' "bad --mtu explained"
SOFTUD_DEVICES="x=not-an-ip" LD_PRELOAD=${RDMAUD_SANITIZE_PRELOAD:-} LD_LIBRARY_PATH=$RDMAUD_BUILD/lib/softud ibv_devices >"$T/bad" 2>&1 || true
expect_grep "$T/bad" 'SOFTUD_DEVICES: not an IPv4 address' "bad SOFTUD_DEVICES explained"
pass "configuration errors"

# The ABI: same version nodes and the same versioned symbols as the installed library.
installed="$(pkg-config --variable=libdir libibverbs)/libibverbs.so.1"
syms() { readelf --dyn-syms -W "$1" | awk '$7 != "UND" && $8 ~ /@/ {print $4, $8}' | sort; }
nodes() { readelf -V -W "$1" | sed -n '/.gnu.version_d/,/.gnu.version_r/p' | grep -oE 'Name: \S+|Parent 1: \S+'; }
diff <(syms "$installed") <(syms "$RDMAUD_BUILD/lib/softud/libibverbs.so.1") || fail "exported symbols differ from $installed"
diff <(nodes "$installed" | tail -n +2) <(nodes "$RDMAUD_BUILD/lib/softud/libibverbs.so.1" | tail -n +2) \
    || fail "version nodes differ from $installed"
readelf -d "$RDMAUD_BUILD/lib/softud/libibverbs.so.1" | grep -q 'SONAME.*\[libibverbs.so.1\]' || fail "SONAME"
echo "$(syms "$installed" | wc -l) versioned symbols identical"
pass "ABI matches $installed"

# Programs that also load rdma-core providers / librdmacm resolve every symbol against softud.
for obj in "$(command -v ib_send_bw)" "$(pkg-config --variable=libdir libibverbs)/libmlx5.so.1" \
           "$(pkg-config --variable=libdir libibverbs)/librdmacm.so.1" /usr/bin/dpdk-testpmd; do
    [ -e "$obj" ] || continue
    LD_LIBRARY_PATH=$RDMAUD_BUILD/lib/softud ldd -r "$obj" >"$T/ldd" 2>&1
    grep -q "libibverbs.so.1 => $RDMAUD_BUILD/lib/softud/libibverbs.so.1" "$T/ldd" || { cat "$T/ldd"; fail "$obj does not bind softud"; }
    if grep -E 'undefined symbol|not found' "$T/ldd"; then fail "$obj: unresolved symbols with softud"; fi
done
pass "ldd -r: perftest, libmlx5, librdmacm, dpdk-testpmd resolve against softud"

# Without softud-run nothing changes.
resolved=$(ldd "$(command -v ibv_devinfo)" | awk '$1 == "libibverbs.so.1" {print $3}')
[ "$(realpath "$resolved")" = "$(realpath "$installed")" ] \
    || fail "ibv_devinfo does not use rdma-core's library outside softud-run ($resolved)"
pass "rdma-core untouched without softud-run"
