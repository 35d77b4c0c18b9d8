#!/usr/bin/env bash
# Reserve 2 MB hugepages on a NUMA node and mount hugetlbfs (safe to re-run).
# Usage: scripts/hugepages-create.sh NODE COUNT    (as in the seed: hugepages-create.sh 0 512)
# Never lowers an existing reservation. Exits non-zero if fewer than COUNT pages exist after.
set -euo pipefail
RDMAUD_SCRIPT=hugepages-create
. "$(dirname "$0")/lib.sh"

node=${1:?usage: hugepages-create.sh NODE COUNT}
count=${2:?usage: hugepages-create.sh NODE COUNT}
[[ $node =~ ^[0-9]+$ ]] || die "NODE must be a NUMA node number, not '$node'"
[[ $count =~ ^[0-9]+$ ]] || die "COUNT must be a number of 2 MB pages, not '$count'"

knob=/sys/devices/system/node/node$node/hugepages/hugepages-2048kB/nr_hugepages
if [ ! -e "$knob" ]; then
    [ "$node" -eq 0 ] || die "NUMA node $node has no 2 MB hugepage pool ($knob)"
    knob=/proc/sys/vm/nr_hugepages   # kernels without per-node pools
fi
have=$(cat "$knob")
if [ "$have" -lt "$count" ]; then
    need_root "reserving hugepages"
    echo "$count" > "$knob" || die "cannot write $knob"
    have=$(cat "$knob")
fi
if ! grep -qs '^[^ ]* [^ ]* hugetlbfs ' /proc/mounts; then
    need_root "mounting hugetlbfs"
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs on /dev/hugepages"
fi
log "node $node: $have 2 MB hugepages reserved (asked for $count); hugetlbfs mounted"
[ "$have" -ge "$count" ] || die "the kernel gave only $have of $count hugepages (memory fragmented?)"
