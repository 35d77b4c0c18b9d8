#!/usr/bin/env python3
"""Checks net_rdmaud's software packet types and RSS hash against the wire.

Usage: rx_offloads_check.py CAPTURE.pcap TESTPMD_LOG DST_MAC NB_QUEUES

CAPTURE holds the RoCEv2 datagrams (UDP 4791) a sender put on the loopback; the
Ethernet frame each one carries follows BTH (12 bytes) and DETH (8 bytes). For every
frame to DST_MAC this computes, independently of DPDK, the flow hash net_rdmaud
documents (CRC32-C, seed 0x9e3779b9, without final inversion, over the IPv4
source and destination addresses, then the UDP/TCP ports of an unfragmented
packet) and the queue the sender's software RSS picks among NB_QUEUES
((hash * n) >> 32). TESTPMD_LOG is the receiver's testpmd at `set verbose 1`:
every received frame's "RSS hash", receive queue and "hw ptype". Passes when the
multisets of (hash, queue) agree, every frame has the RTE_MBUF_F_RX_RSS_HASH flag
and its hw ptype equals the layers read off the wire.
"""
import collections
import re
import struct
import sys

SEED = 0x9E3779B9


def crc32c(data, crc):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data, 0)
    assert magic == 0xA1B2C3D4, f"{path}: not a little-endian pcap file"
    linktype, = struct.unpack_from("<I", data, 20)
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, off)
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        l2 = {1: 14, 113: 16, 276: 20}[linktype]  # Ethernet, Linux cooked v1/v2
        ip = pkt[l2:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        if struct.unpack_from(">H", udp, 2)[0] != 4791:
            continue
        yield udp[8 + 12 + 8:-4]  # after UDP, BTH, DETH; before the ICRC


def expect(frame, nq):
    """(hash, queue, ptype names) of one Ethernet frame."""
    etype = struct.unpack_from(">H", frame, 12)[0]
    if etype != 0x0800:
        h = crc32c(frame[6:12] + b"\0\0", SEED)
        return h, (h * nq) >> 32, "L2_ETHER"
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    h = crc32c(ip[12:20], SEED)
    frag = struct.unpack_from(">H", ip, 6)[0] & 0x3FFF
    names = ["L2_ETHER", "L3_IPV4" if ihl == 20 else "L3_IPV4_EXT"]
    if frag:
        names.append("L4_FRAG")
    elif ip[9] in (6, 17):
        h = crc32c(ip[ihl:ihl + 4], h)
        names.append("L4_UDP" if ip[9] == 17 else "L4_TCP")
    return h, (h * nq) >> 32, " ".join(names)


def main():
    cap, log, dst, nq = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dst_bytes = bytes(int(x, 16) for x in dst.split(":"))
    want = collections.Counter()
    wire_ptypes = collections.Counter()
    for fr in frames(cap):
        if fr[:6] != dst_bytes:
            continue
        h, q, names = expect(fr, nq)
        want[(h, q)] += 1
        wire_ptypes[names] += 1
    got = collections.Counter()
    got_ptypes = collections.Counter()
    flagged = 0
    text = open(log, errors="replace").read()
    # One record per frame: "... RSS hash=0x.. - RSS queue=0x.. - hw ptype: ... - Receive queue=0x.."
    for rec in re.finditer(r"RSS hash=0x([0-9a-f]+) - RSS queue=0x([0-9a-f]+)(.*?)Receive queue=0x([0-9a-f]+)"
                           r"\s*ol_flags: ([^\n]*)", text, re.S):
        h, rq, mid, q, flags = int(rec.group(1), 16), int(rec.group(2), 16), rec.group(3), int(rec.group(4), 16), rec.group(5)
        got[(h, q)] += 1
        m = re.search(r"hw ptype: ([A-Z0-9_ ]+?)\s+-", mid)
        got_ptypes[m.group(1).strip() if m else ""] += 1
        flagged += "RTE_MBUF_F_RX_RSS_HASH" in flags
    n_want, n_got = sum(want.values()), sum(got.values())
    print(f"wire: {n_want} frames to {dst}, {len(want)} distinct (hash, queue); receiver printed {n_got}")
    print(f"queues on the wire: {sorted(collections.Counter(q for _, q in want.elements()).items())}")
    print(f"ptypes on the wire: {dict(wire_ptypes)}; reported: {dict(got_ptypes)}")
    ok = True
    if n_want == 0 or want != got:
        print(f"FAIL: (hash, queue) differ: only on the wire {list((want - got).items())[:5]}, "
              f"only received {list((got - want).items())[:5]}")
        ok = False
    if flagged != n_got:
        print(f"FAIL: {n_got - flagged} frame(s) without RTE_MBUF_F_RX_RSS_HASH")
        ok = False
    if wire_ptypes != got_ptypes:
        print("FAIL: packet types differ from the wire's")
        ok = False
    sys.exit(0 if ok else 1)


main()
