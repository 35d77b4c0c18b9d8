#!/usr/bin/env bash
# Run a test program on one softud device (softud0 = 127.0.0.2) inside a private
# network namespace (its own loopback: no clash with other tests binding 127.0.0.2);
# skip when softud is not built.
set -euo pipefail
run=${RDMAUD_BUILD:?}/lib/softud/softud-run
[ -x "$run" ] || { echo "SKIP: softud-run not built"; exit 77; }
stat=$(mktemp -d)
trap 'rm -rf "$stat"' EXIT
timeout -k 10 "${ON_SOFTUD_TIMEOUT:-300}" unshare -n -- bash -c \
    'ip link set lo up && exec "$@"' _ "$run" --quiet --stat-dir "$stat" --dev softud0=127.0.0.2 -- "$@"
