# Shared helpers for rdmaud's scripts. Source it; do not run it.
# shellcheck shell=bash

RDMAUD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RDMAUD_BUILD=${RDMAUD_BUILD:-$RDMAUD_TOP/build}

log()  { printf '[%s] %s\n' "${RDMAUD_SCRIPT:-rdmaud}" "$*"; }
die()  { printf '[%s] error: %s\n' "${RDMAUD_SCRIPT:-rdmaud}" "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (run it with sudo)"
}

# free_tcp_port: print a TCP port on 127.0.0.1 nobody listens on.
free_tcp_port() {
    /usr/bin/python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# rdmaud_plugin BUILD: the net_rdmaud plugin EAL can load (-d) for build directory BUILD: its
# drivers/ when no directory above is world-writable, else the private copy the build keeps
# (drivers/meson.build, scripts/plugin-dir.py).
rdmaud_plugin() {
    local f=$1/drivers/plugin-path
    if [ -f "$f" ]; then cat "$f"; else echo "$1/drivers/librte_net_rdmaud.so"; fi
}
