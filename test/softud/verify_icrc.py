#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""verify_icrc.py PCAP COUNT: every UDP/4791 datagram in PCAP carries a RoCEv2 ICRC that scapy's
RoCE layer recomputes identically; there must be COUNT of them."""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, UDP, raw, rdpcap  # noqa: E402
from scapy.contrib.roce import BTH  # noqa: E402


def main():
    path, want = sys.argv[1], int(sys.argv[2])
    n = 0
    for i, f in enumerate(rdpcap(path), 1):
        if UDP not in f or f[UDP].dport != 4791:
            continue
        if BTH not in f:
            sys.exit("frame %d: scapy does not dissect a BTH" % i)
        sent = raw(f[UDP].payload)[-4:]
        again = f.copy()
        again[BTH].icrc = None  # scapy recomputes it from the IP/UDP/BTH/payload bytes
        mine = raw(again)[-4:]
        if mine != sent:
            sys.exit("frame %d: ICRC %s on the wire, scapy computes %s (IP id %d)"
                     % (i, sent.hex(), mine.hex(), f[IP].id))
        n += 1
    if n != want:
        sys.exit("%d RoCE datagrams in %s, expected %d" % (n, path, want))
    print("%d ICRCs verified by scapy" % n)


if __name__ == "__main__":
    main()
