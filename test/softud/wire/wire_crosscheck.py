#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-check softud's wire codec against independent implementations.

1. The codec (wire_pcap encode) writes datagrams exactly as softud's kernel socket would send
   them; scapy's RoCE layer recomputes each ICRC, tshark decodes each as RRoCE / InfiniBand, and
   a spec-only Python ICRC (from doc/design/softud-wire.md / the IBA rules) agrees too.
2. A codec-encoded datagram sent by a real unconnected UDP socket with DF set on loopback and
   captured by tshark carries IP ID 0 and DF and parses; the same bytes from a connected socket
   get a non-zero IP ID, which breaks the ICRC (the pitfall the IP ID 0 assumption avoids).
3. Reverse: scapy builds RoCEv2 packets (ICRC computed by scapy) and Python builds IB-mode
   packets; the codec's parser (wire_pcap parse) accepts them with the right fields, and rejects
   corrupted copies as bad_icrc.

Usage: wire_crosscheck.py <path to wire_pcap>
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import logging
import shutil
import socket

SKIP = 77  # meson's "skipped" exit code
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
try:
    from scapy.all import Ether, IP, UDP, Raw, raw, rdpcap, wrpcap
    from scapy.contrib.roce import BTH
except ImportError as e:  # scripts/setup.sh installs python3-scapy
    print("skipped: scapy with scapy.contrib.roce is not importable (%s)" % e)
    sys.exit(SKIP)
if shutil.which("tshark") is None:
    print("skipped: tshark is not installed")
    sys.exit(SKIP)

ROCE_PORT = 4791
IB_PORT = 4792
TIMEOUT = 60  # seconds for any child process
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout


# ---- spec-only ICRC (independent of the C++ code) ------------------------------------------

def icrc_roce_v4_spec(ip_hdr: bytes, udp_hdr: bytes, bth_to_pad: bytes) -> bytes:
    """CRC-32 over 8 x 0xFF, IPv4 header with TOS/TTL/checksum all-ones, UDP header with
    checksum all-ones, BTH with byte 4 all-ones, then the rest; stored little-endian."""
    ip = bytearray(ip_hdr)
    ip[1] = 0xFF
    ip[8] = 0xFF
    ip[10:12] = b"\xff\xff"
    udp = bytearray(udp_hdr)
    udp[6:8] = b"\xff\xff"
    body = bytearray(bth_to_pad)
    body[4] = 0xFF
    return struct.pack("<I", zlib.crc32(b"\xff" * 8 + bytes(ip) + bytes(udp) + bytes(body)))


def icrc_ib_spec(lrh_to_pad: bytes) -> bytes:
    """IBA: local packet -> LRH VL ones; global packet -> whole LRH ones (routers rewrite it),
    GRH TClass, FlowLabel, HopLmt ones; BTH Resv8a ones."""
    p = bytearray(lrh_to_pad)
    lnh = p[1] & 3
    if lnh == 3:
        p[0:8] = b"\xff" * 8
        p[8] |= 0x0F
        p[9:12] = b"\xff\xff\xff"
        p[15] = 0xFF
        p[48 + 4] = 0xFF
    else:
        p[0] |= 0xF0
        p[8 + 4] = 0xFF
    return struct.pack("<I", zlib.crc32(bytes(p)))


# ---- 1. codec -> scapy / tshark / spec --------------------------------------------------------

def check_encoded(tool, tmp):
    udp_pcap = os.path.join(tmp, "encoded_udp.pcap")
    ib_pcap = os.path.join(tmp, "encoded_ib.pcap")
    manifest = [json.loads(line) for line in run([tool, "encode", udp_pcap, ib_pcap]).splitlines()]
    frames = rdpcap(udp_pcap)
    check(len(frames) == len(manifest), "frame count %d == manifest %d" % (len(frames), len(manifest)))
    roce = [m for m in manifest if m["mode"] == "roce"]
    ib = [m for m in manifest if m["mode"] == "ib"]
    check(len(roce) == 20 and len(ib) == 20, "20 RoCE and 20 IB-mode datagrams")

    n_scapy = 0
    for m in manifest:
        f = frames[m["n"] - 1]
        ip, udp = f[IP], f[UDP]
        check(ip.id == 0 and ip.flags == "DF" and ip.ttl == 64, "frame %d: IP ID 0, DF" % m["n"])
        payload = raw(udp.payload)
        ip_hdr, udp_hdr = raw(ip)[:20], raw(udp)[:8]
        want = bytes.fromhex(m["icrc"])
        check(payload[-4:] == want, "frame %d: ICRC bytes at the end" % m["n"])
        if m["mode"] == "roce":
            check(udp.dport == ROCE_PORT, "frame %d: dport 4791" % m["n"])
            check(icrc_roce_v4_spec(ip_hdr, udp_hdr, payload[:-4]) == want,
                  "frame %d: spec ICRC == codec ICRC" % m["n"])
            # scapy: dissect, then recompute the ICRC from scratch.
            b = f[BTH]
            check(b.opcode == m["opcode"] and b.dqpn == m["dqpn"] and b.psn == m["psn"]
                  and b.padcount == m["pad"] and b.solicited == m["se"] and b.pkey == m["pkey"],
                  "frame %d: scapy BTH fields" % m["n"])
            again = f.copy()
            again[BTH].icrc = None
            scapy_icrc = raw(again)[-4:]
            check(scapy_icrc == want, "frame %d: scapy ICRC %s == codec %s"
                  % (m["n"], scapy_icrc.hex(), want.hex()))
            n_scapy += 1
            deth = raw(b.payload)[:8]
            qkey, sqpn = struct.unpack("!I", deth[:4])[0], int.from_bytes(deth[5:8], "big")
            check(qkey == m["qkey"] and sqpn == m["sqpn"], "frame %d: DETH" % m["n"])
        else:
            check(udp.dport == IB_PORT, "frame %d: dport 4792" % m["n"])
            check(icrc_ib_spec(payload[:-4]) == want, "frame %d: IBA-rule ICRC == codec" % m["n"])
    print("scapy recomputed %d RoCE ICRCs; spec ICRC checked on %d datagrams" % (n_scapy, len(manifest)))

    # tshark, RoCE pcap. Wireshark 4.0 tries its Mellanox EoIB heuristic on the bytes after a
    # zero-length UD payload and reports them malformed: that heuristic is not ours to satisfy.
    fields = ["frame.number", "udp.dstport", "infiniband.bth.opcode", "infiniband.bth.destqp",
              "infiniband.deth.q_key", "infiniband.deth.srcqp", "infiniband.bth.psn",
              "infiniband.bth.padcnt", "infiniband.bth.se", "infiniband.bth.p_key",
              "infiniband.immdt", "infiniband.invariant.crc", "_ws.expert"]
    out = run(["tshark", "-r", udp_pcap, "--disable-protocol", "infiniband.eoib", "-T", "fields",
               "-E", "occurrence=f"] + sum([["-e", x] for x in fields], []))
    rows = {int(r.split("\t")[0]): r.split("\t") for r in out.splitlines() if r}
    for m in manifest:
        r = dict(zip(fields, rows[m["n"]]))
        if m["mode"] == "ib":
            check(r["infiniband.bth.opcode"] == "", "frame %d: tshark leaves UDP 4792 alone" % m["n"])
            continue
        ok = (int(r["infiniband.bth.opcode"]) == m["opcode"]
              and int(r["infiniband.bth.destqp"], 16) == m["dqpn"]
              and int(r["infiniband.deth.q_key"], 16) == m["qkey"]
              and int(r["infiniband.deth.srcqp"], 16) == m["sqpn"]
              and int(r["infiniband.bth.psn"]) == m["psn"]
              and int(r["infiniband.bth.padcnt"]) == m["pad"]
              and int(r["infiniband.bth.se"] in ("1", "True")) == m["se"]
              and int(r["infiniband.bth.p_key"]) == m["pkey"]
              and (r["infiniband.immdt"] or None) == m["imm"]
              and int(r["infiniband.invariant.crc"], 16) == int(m["icrc"], 16)
              and r["_ws.expert"] == "")
        check(ok, "frame %d: tshark RRoCE decode %r vs %r" % (m["n"], r, m))

    # tshark, IB-mode packets on an IB link type (LRH first).
    ib_fields = ["frame.number", "infiniband.lrh.lnh", "infiniband.lrh.sl", "infiniband.lrh.dlid",
                 "infiniband.lrh.slid", "infiniband.lrh.pktlen", "infiniband.grh.sgid",
                 "infiniband.grh.nxthdr", "infiniband.bth.opcode", "infiniband.bth.destqp",
                 "infiniband.deth.q_key", "infiniband.deth.srcqp", "infiniband.invariant.crc",
                 "_ws.expert"]
    out = run(["tshark", "-r", ib_pcap, "-o",
               'uat:user_dlts:"User 0 (DLT=147)","infiniband","0","","0",""',
               "--disable-protocol", "infiniband.eoib", "-T", "fields", "-E", "occurrence=f"]
              + sum([["-e", x] for x in ib_fields], []))
    rows = {int(r.split("\t")[0]): r.split("\t") for r in out.splitlines() if r}
    for m in ib:
        r = dict(zip(ib_fields, rows[m["ib_n"]]))
        words = (8 + (40 if m["grh"] else 0) + 20 + (4 if m["imm"] else 0) + m["len"] + m["pad"] + 4) // 4
        ok = (int(r["infiniband.lrh.lnh"], 16) == (3 if m["grh"] else 2)
              and int(r["infiniband.lrh.sl"]) == m["sl"]
              and int(r["infiniband.lrh.dlid"]) == m["dlid"]
              and int(r["infiniband.lrh.slid"]) == m["slid"]
              and int(r["infiniband.lrh.pktlen"]) == words
              and (r["infiniband.grh.sgid"] == "::ffff:10.0.0.1") == m["grh"]
              and int(r["infiniband.bth.opcode"]) == m["opcode"]
              and int(r["infiniband.bth.destqp"], 16) == m["dqpn"]
              and int(r["infiniband.deth.q_key"], 16) == m["qkey"]
              and int(r["infiniband.deth.srcqp"], 16) == m["sqpn"]
              and int(r["infiniband.invariant.crc"], 16) == int(m["icrc"], 16)
              and r["_ws.expert"] == "")
        check(ok, "IB packet %d: tshark InfiniBand decode %r vs %r" % (m["ib_n"], r, m))
    print("tshark decoded %d RRoCE and %d InfiniBand packets" % (len(roce), len(ib)))


# ---- 2. scapy / Python -> codec ----------------------------------------------------------------

def roce_packet(i, with_imm, length, ip_id, df, fecn=0):
    payload = bytes((i * 13 + k) & 0xFF for k in range(length))
    pad = (-length) % 4
    deth = struct.pack("!I", 0x1000 + i) + b"\x00" + (0x40000 + i).to_bytes(3, "big")
    imm = struct.pack("!I", 0xC0DE0000 + i) if with_imm else b""
    return (Ether() / IP(src="192.168.1.%d" % (i + 1), dst="192.168.1.200", id=ip_id,
                         flags="DF" if df else 0, ttl=17 + i)
            / UDP(sport=50000 + i, dport=ROCE_PORT)
            / BTH(opcode=0x65 if with_imm else 0x64, solicited=i % 2, padcount=pad,
                  pkey=0xFFFF, fecn=fecn, dqpn=0x100 + i, psn=i * 1000, ackreq=0)
            / Raw(deth + imm + payload + b"\x00" * pad))


def ib_packet(i, grh, length):
    payload = bytes((i * 7 + k) & 0xFF for k in range(length))
    pad = (-length) % 4
    transport = (bytes([0x64, pad << 4, 0xFF, 0xFF, 0]) + (0x200 + i).to_bytes(3, "big")
                 + (i).to_bytes(4, "big") + struct.pack("!I", 0x2000 + i) + b"\x00"
                 + (0x300 + i).to_bytes(3, "big"))
    total = 8 + (40 if grh else 0) + len(transport) + length + pad + 4
    lrh = bytes([0x00, 0x30 | (3 if grh else 2)]) + struct.pack("!HHH", 0x0102, total // 4, 0x0203)
    g = b""
    if grh:
        g = (struct.pack("!IHBB", (6 << 28) | (0x40 << 20) | 0x54321, total - 48, 0x1B, 7)
             + bytes(10) + b"\xff\xff" + bytes([192, 168, 2, 3])
             + bytes(10) + b"\xff\xff" + bytes([192, 168, 1, 2]))
    body = lrh + g + transport + payload + b"\x00" * pad
    return body + icrc_ib_spec(body)


def flip(pkt_bytes, offset_from_udp_payload, frame_hdr_len=42):
    b = bytearray(pkt_bytes)
    b[frame_hdr_len + offset_from_udp_payload] ^= 0x01
    return Ether(bytes(b))


def check_parsed(tool, tmp):
    pkts, expect = [], []
    cases = [(0, False, 0, 0, True), (1, True, 1, 0, True), (2, False, 2, 0, True),
             (3, True, 3, 0, True), (4, False, 1024, 0, True), (5, True, 4096, 0, True),
             (6, False, 17, 0x1234, False),  # connected-socket style: IP ID set, DF clear
             (7, True, 5, 0, True)]
    for i, imm, length, ip_id, df in cases:
        p = Ether(raw(roce_packet(i, imm, length, ip_id, df)))  # freeze scapy's ICRC
        pkts.append(p)
        expect.append(("ok", i, imm, length))
        # a flipped bit in the DETH (covered by the ICRC, not a header check) -> bad_icrc
        pkts.append(flip(raw(p), 12 + 7))
        expect.append(("bad_icrc", i, imm, length))
    # FECN/BECN live in BTH byte 4, masked by both scapy and the codec.
    pkts.append(Ether(raw(roce_packet(8, False, 8, 0, True, fecn=1))))
    expect.append(("ok", 8, False, 8))
    # Not UD: an RC SEND-only is refused.
    rc = roce_packet(9, False, 8, 0, True)
    rc[BTH].opcode = 0x04
    pkts.append(Ether(raw(rc)))
    expect.append(("bad_opcode", 9, False, 8))
    # IB mode in UDP 4792, built and checksummed by Python only.
    for j, (grh, length) in enumerate([(False, 0), (True, 1), (False, 6), (True, 4096)]):
        i = 20 + j
        body = ib_packet(i, grh, length)
        p = Ether(raw(Ether() / IP(src="192.168.2.3", dst="192.168.1.2", flags="DF", id=0)
                      / UDP(sport=40000, dport=IB_PORT) / Raw(body)))
        pkts.append(p)
        expect.append(("ok_ib", i, grh, length))
        pkts.append(flip(raw(p), len(body) - 6 if length else 8 + (40 if grh else 0) + 13))
        expect.append(("bad_icrc", i, grh, length))
    path = os.path.join(tmp, "scapy_built.pcap")
    wrpcap(path, pkts)
    got = [json.loads(line) for line in run([tool, "parse", path]).splitlines()]
    check(len(got) == len(expect), "parsed %d of %d frames" % (len(got), len(expect)))
    for g, (result, i, flag, length) in zip(got, expect):
        tag = "scapy frame %d (%s)" % (g["n"], result)
        if result == "ok":
            pl = bytes((i * 13 + k) & 0xFF for k in range(length)).hex()
            check(g["result"] == "ok" and g["dqpn"] == 0x100 + i and g["sqpn"] == 0x40000 + i
                  and g["qkey"] == 0x1000 + i and g["psn"] == i * 1000 and g["se"] == i % 2
                  and g["len"] == length and g["payload"] == pl
                  and g["imm"] == ("%08x" % (0xC0DE0000 + i) if flag else None), "%s: %r" % (tag, g))
        elif result == "ok_ib":
            pl = bytes((i * 7 + k) & 0xFF for k in range(length)).hex()
            check(g["result"] == "ok" and g["mode"] == "ib" and g["grh"] == flag
                  and g["dqpn"] == 0x200 + i and g["sqpn"] == 0x300 + i and g["qkey"] == 0x2000 + i
                  and g["sl"] == 3 and g["dlid"] == 0x0102 and g["slid"] == 0x0203
                  and g["len"] == length and g["payload"] == pl, "%s: %r" % (tag, g))
        else:
            check(g["result"] == result, "%s: got %s" % (tag, g["result"]))
    print("codec parsed %d scapy/Python-built frames as expected" % len(got))


# ---- real kernel send on loopback -----------------------------------------------------------

IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # <linux/in.h>
LO_SRC, LO_DST = "127.0.0.77", "127.0.0.78"  # loopback addresses no other test uses


def check_kernel_send(tool, tmp):
    if os.geteuid() != 0:
        print("kernel-send check skipped: capturing on lo needs root")
        return
    pcap = os.path.join(tmp, "lo.pcap")
    cap = subprocess.Popen(["timeout", "30", "tshark", "-i", "lo", "-f",
                            "udp and src host %s and dst host %s" % (LO_SRC, LO_DST),
                            "-c", "2", "-a", "duration:15", "-F", "pcap", "-w", pcap],
                           stderr=subprocess.PIPE, text=True)
    try:
        for line in cap.stderr:  # wait until the capture is live
            if "Capture started" in line:
                break
        time.sleep(0.5)  # the message precedes the first read of the ring by a few ms
        sent = []
        for connected in (False, True):
            so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            so.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            so.bind((LO_SRC, 0))
            sport = so.getsockname()[1]
            d = bytes.fromhex(run([tool, "datagram", LO_SRC, LO_DST, str(sport), "5"]).strip())
            if connected:
                so.connect((LO_DST, ROCE_PORT))
                so.send(d)
            else:
                so.sendto(d, (LO_DST, ROCE_PORT))
            so.close()
            sent.append(d)
        cap.wait(timeout=30)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    frames = rdpcap(pcap)
    check(len(frames) == 2, "captured %d of 2 loopback datagrams" % len(frames))
    if len(frames) != 2:
        return
    unconnected, connected = frames[0], frames[1]
    check(unconnected[IP].id == 0 and unconnected[IP].flags == "DF",
          "unconnected DF socket: IP ID %d flags %s" % (unconnected[IP].id, unconnected[IP].flags))
    check(raw(unconnected[UDP].payload) == sent[0], "kernel sent the codec's bytes unchanged")
    got = [json.loads(line) for line in run([tool, "parse", pcap]).splitlines()]
    check(got[0]["result"] == "ok" and got[0]["dqpn"] == 0x123 and got[0]["len"] == 5,
          "codec parses the kernel-sent datagram: %r" % got[0])
    c_ip = connected[IP]
    check(c_ip.id != 0, "connected socket gets a non-zero IP ID (%d)" % c_ip.id)
    # The codec encoded for ID 0; the kernel put another ID in the header, so a receiver that
    # checks against the header as it arrived (a real RoCE NIC, or wire_pcap parse, which uses
    # the captured ID) sees a bad ICRC.
    payload = raw(connected[UDP].payload)
    check(icrc_roce_v4_spec(raw(c_ip)[:20], raw(connected[UDP])[:8], payload[:-4])
          != payload[-4:], "connected socket: ICRC no longer matches the header as sent")
    check(got[1]["result"] == "bad_icrc", "connected socket datagram parses as %s" % got[1]["result"])
    print("kernel send: unconnected+DF -> IP ID %d DF, parse %s; connected -> IP ID %d, parse %s"
          % (unconnected[IP].id, got[0]["result"], c_ip.id, got[1]["result"]))


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="wire-xcheck-") as tmp:
        check_encoded(tool, tmp)
        check_kernel_send(tool, tmp)
        check_parsed(tool, tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all cross-checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
