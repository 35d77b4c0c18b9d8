#!/usr/bin/env bash
# The README's main job. Until the echo example over softud and memcached exists, this
# runs the smaller end-to-end check that does exist: build everything, then have DPDK's
# dpdk-testpmd load the net_rdmaud plugin, probe a port and close it again.
set -euo pipefail
RDMAUD_SCRIPT=demo
. "$(dirname "$0")/lib.sh"

"$RDMAUD_TOP/scripts/setup.sh"
log "NOTE: the echo demo (servers and clients over softud with a memcached registry) is not"
log "built yet; showing what exists: the net_rdmaud plugin probed by dpdk-testpmd."

prefix="rdmaud-demo-$$"
trap 'rm -rf "/var/run/dpdk/$prefix"' EXIT
printf 'show port info 0\nquit\n' | timeout -s INT -k 10 60 dpdk-testpmd \
    -d "$RDMAUD_BUILD/drivers/librte_net_rdmaud.so" --vdev=net_rdmaud0 \
    --no-pci --no-huge -m 512 --file-prefix="$prefix" \
    -- -i --disable-device-start --total-num-mbufs=2048
log "done: dpdk-testpmd probed and closed net_rdmaud0"
