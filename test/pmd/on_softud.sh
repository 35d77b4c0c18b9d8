#!/usr/bin/env bash
# Run a test program on softud inside a private network namespace (its own loopback: no clash
# with other tests binding 127.0.0.x); skip when softud is not built. Devices: softud0 =
# 127.0.0.2, or the NAME=ADDR list in ON_SOFTUD_DEVICES (space-separated).
set -euo pipefail
run=${RDMAUD_BUILD:?}/lib/softud/softud-run
[ -x "$run" ] || { echo "SKIP: softud-run not built"; exit 77; }
stat=$(mktemp -d)
trap 'rm -rf "$stat"' EXIT
devs=()
for d in ${ON_SOFTUD_DEVICES:-softud0=127.0.0.2}; do devs+=(--dev "$d"); done
timeout -k 10 "${ON_SOFTUD_TIMEOUT:-300}" unshare -n -- bash -c \
    'ip link set lo up && exec "$@"' _ "$run" --quiet --stat-dir "$stat" "${devs[@]}" -- "$@"
