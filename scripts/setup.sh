#!/usr/bin/env bash
# One-time (idempotent) set-up of a Debian 12 machine for rdmaud, then build.
#   1. installs the Debian packages the project needs (only what is missing);
#   2. fetches DPDK's driver-SDK headers, which Debian's libdpdk-dev does not ship,
#      from Debian's own dpdk source package of exactly the installed version, into
#      the build tree (never committed);
#   3. configures (meson) and builds (ninja) into build/.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
RDMAUD_SCRIPT=setup
. "$(dirname "$0")/lib.sh"

PACKAGES=(
    build-essential g++ pkg-config meson ninja-build python3 python3-pyelftools
    dpdk libdpdk-dev dpdk-dev
    libibverbs-dev ibverbs-utils rdma-core perftest
    libmemcached-dev memcached libmemcached-tools
    libnuma-dev zlib1g-dev libgtest-dev libssl-dev
    tshark python3-scapy iproute2 valgrind
    clang libclang-rt-14-dev
    dpkg-dev xz-utils ca-certificates
    # the rxe lane (scripts/rxe-vm.sh): QEMU, and what its initramfs is made of
    qemu-system-x86 busybox-static cpio kmod
)

build=1
[ "${1:-}" = "--no-build" ] && build=0

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "all ${#PACKAGES[@]} Debian packages present"
        return
    fi
    need_root "installing ${missing[*]}"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer for it.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Debian's source entries are off by default; the SDK headers come from there.
ensure_deb_src() {
    if grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    need_root "adding a deb-src entry"
    log "adding deb-src entries for bookworm (/etc/apt/sources.list.d/rdmaud-deb-src.sources)"
    cat > /etc/apt/sources.list.d/rdmaud-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -q
}

# The files of DPDK's source a vdev ethdev PMD needs, relative to the tarball root.
SDK_FILES=(
    lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
    drivers/bus/vdev/bus_vdev_driver.h
    lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h
    buildtools/pmdinfogen.py buildtools/coff.py buildtools/gen-pmdinfo-cfile.py
)

fetch_sdk() {
    local sdk=$RDMAUD_BUILD/dpdk-sdk
    local upstream debver
    upstream=$(pkg-config --modversion libdpdk) || die "pkg-config cannot find libdpdk (is libdpdk-dev installed?)"
    debver=$(dpkg-query -W -f='${Version}' libdpdk-dev)
    # 22.11.11-0+deb12u1 -> 22.11.11
    local debupstream=${debver%%-*}
    debupstream=${debupstream#*:}
    if [ "$debupstream" != "$upstream" ]; then
        die "installed libdpdk-dev $debver does not match pkg-config's libdpdk $upstream; refusing to mix driver headers of another version"
    fi
    if [ -f "$sdk/VERSION" ] && [ "$(cat "$sdk/VERSION")" = "$upstream" ]; then
        log "DPDK driver-SDK headers $upstream already in $sdk"
        return
    fi
    ensure_deb_src
    local tmp
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    log "fetching Debian source package dpdk=$debver (for its driver-SDK headers)"
    (cd "$tmp" && apt-get source --download-only -q "dpdk=$debver" >/dev/null 2>"$tmp/err") || {
        cat "$tmp/err" >&2
        die "apt-get source dpdk=$debver failed: the exact installed DPDK version must be in Debian's source archive"
    }
    local tarball
    tarball=$(ls "$tmp"/dpdk_"$upstream".orig.tar.* 2>/dev/null | head -1)
    [ -n "$tarball" ] || die "no dpdk_$upstream.orig tarball in the source package"
    # The tarball's top directory (dpdk-stable-X) is not derivable: match any.
    local members=()
    for f in "${SDK_FILES[@]}"; do members+=("*/$f"); done
    # The public rte_ethdev.h too, to prove the tarball is the installed version.
    members+=("*/lib/ethdev/rte_ethdev.h")
    tar -xf "$tarball" -C "$tmp" --wildcards "${members[@]}"
    local top
    top=$(cd "$tmp" && ls -d */lib/ethdev | cut -d/ -f1)
    [ -n "$top" ] || die "unexpected layout of $tarball"
    if ! cmp -s "$tmp/$top/lib/ethdev/rte_ethdev.h" /usr/include/dpdk/rte_ethdev.h; then
        die "rte_ethdev.h of source $debver differs from the installed one: not the same DPDK"
    fi
    rm -rf "$sdk"
    mkdir -p "$sdk/include" "$sdk/buildtools"
    for f in "${SDK_FILES[@]}"; do
        case "$f" in
            *.h)  cp "$tmp/$top/$f" "$sdk/include/" ;;
            *)    cp "$tmp/$top/$f" "$sdk/buildtools/" ;;
        esac
    done
    echo "$upstream" > "$sdk/VERSION"
    log "DPDK driver-SDK headers $upstream extracted to $sdk"
}

configure_and_build() {
    if [ ! -f "$RDMAUD_BUILD/build.ninja" ]; then
        meson setup "$RDMAUD_BUILD" "$RDMAUD_TOP"
    fi
    ninja -C "$RDMAUD_BUILD"
}

install_packages
mkdir -p "$RDMAUD_BUILD"
fetch_sdk
[ $build -eq 1 ] && configure_and_build
log "ready: $RDMAUD_BUILD"
