#!/usr/bin/env bash
# in_netns.sh PROG ARGS...: runs PROG in a private network namespace with its own loopback, so
# tests binding fixed 127/8 addresses (and their shared-memory mailboxes, which are named per
# namespace) never collide with another run of the suite on this machine.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec "$@"  # without root: no namespace, as before
exec unshare -n -- bash -c 'ip link set lo up && exec "$@"' _ "$@"
