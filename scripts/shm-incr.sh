#!/usr/bin/env bash
# Raise the SysV shared-memory limits as the seed's shm-incr.sh did (safe to re-run;
# never lowers a limit). rdmaud itself allocates through DPDK's hugepage memory and does
# not need this; it is kept for running the seed-era steps and tools unchanged.
set -euo pipefail
RDMAUD_SCRIPT=shm-incr
. "$(dirname "$0")/lib.sh"

# 64 GiB segments, 16 Mi pages of 4 KiB in all, 4096 segments: the seed's order of magnitude.
declare -A want=( [kernel.shmmax]=68719476736 [kernel.shmall]=16777216 [kernel.shmmni]=4096 )
for key in kernel.shmmax kernel.shmall kernel.shmmni; do
    cur=$(sysctl -n "$key")
    if [ "$cur" -lt "${want[$key]}" ]; then
        need_root "raising $key"
        sysctl -q -w "$key=${want[$key]}" || die "cannot set $key"
        log "$key: $cur -> ${want[$key]}"
    else
        log "$key: $cur (already >= ${want[$key]})"
    fi
done
