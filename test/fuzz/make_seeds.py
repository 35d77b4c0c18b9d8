#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Regenerate the fuzz seed corpora from datagrams the codec itself encodes.

Usage: make_seeds.py <build dir>   (needs <build dir>/test/softud/wire/wire_pcap)
Writes test/fuzz/corpus/parse_roce/* and parse_ib/*: one control byte (see fuzz_common.h)
followed by one UDP payload, for a few payload sizes, with and without immediate/GRH.
"""
import json
import os
import subprocess
import sys
import tempfile

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import UDP, raw, rdpcap  # noqa: E402

SEED_PAYLOADS = (0, 1, 3, 64, 1000)  # payload lengths kept: pad 0/3/1, small and large


def main():
    tool = os.path.join(sys.argv[1], "test", "softud", "wire", "wire_pcap")
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        udp, ib = os.path.join(tmp, "u.pcap"), os.path.join(tmp, "i.pcap")
        out = subprocess.run([tool, "encode", udp, ib], check=True, capture_output=True,
                             text=True, timeout=60).stdout
        manifest = [json.loads(line) for line in out.splitlines()]
        counts = {}
        for m, f in zip(manifest, rdpcap(udp)):
            d = raw(f[UDP].payload)
            target = "parse_roce" if f[UDP].dport == 4791 else "parse_ib"
            n = counts.get(target, 0)
            if m["len"] not in SEED_PAYLOADS:
                continue
            counts[target] = n + 1
            out = os.path.join(here, "corpus", target)
            os.makedirs(out, exist_ok=True)
            # Alternate the control byte: as-is ICRC, and harness-fixed ICRC.
            with open(os.path.join(out, "seed-%02d" % n), "wb") as fp:
                fp.write(bytes([n & 1]) + d)
    print(counts)


if __name__ == "__main__":
    main()
