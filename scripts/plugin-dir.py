#!/usr/bin/env python3
"""Where EAL can load the net_rdmaud plugin from: plugin-dir.py BUILD_DRIVERS_DIR [OVERRIDE]

EAL's -d refuses a plugin when its directory or any directory above it is world-writable
(eal_common_options.c, verify_perms: "directory path /tmp is world-writable and insecure").
Prints BUILD_DRIVERS_DIR when its whole path is safe. Otherwise (a clone under /tmp) prints
a private directory the build copies the plugin into: OVERRIDE when given, else
$XDG_CACHE_HOME or ~/.cache, then rdmaud/plugins/<hash of the build directory>. Exits 1 with a
message naming the world-writable directory and what to do when no safe place exists."""
import hashlib
import os
import stat
import sys


def insecure(path):
    """The first existing world-writable directory on the way from / to path, or None."""
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    for i in range(1, len(parts) + 1):
        d = os.sep.join(parts[:i]) or os.sep
        try:
            if os.stat(d).st_mode & stat.S_IWOTH:
                return d
        except FileNotFoundError:
            return None  # below here nothing exists yet: it is created 0700
    return None


def main():
    drivers = os.path.abspath(sys.argv[1])
    override = sys.argv[2] if len(sys.argv) > 2 else ""
    bad = insecure(drivers)
    if bad is None and not override:
        print(drivers)
        return 0
    if override:
        target = os.path.abspath(override)
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        key = hashlib.sha1(drivers.encode()).hexdigest()[:16]
        target = os.path.join(cache, "rdmaud", "plugins", key)
    worse = insecure(target)
    if worse is not None:
        sys.stderr.write(
            f"net_rdmaud: EAL refuses plugins below the world-writable directory {bad or worse}, and the "
            f"fallback {target} lies below the world-writable {worse} too: clone the tree elsewhere "
            f"(not under /tmp), or give -Dplugin_dir=DIR with no world-writable directory above it\n")
        return 1
    print(target)
    return 0


sys.exit(main())
