/* SPDX-License-Identifier: BSD-3-Clause */
// wire_pcap: the wire codec as a command-line tool, for cross-checks with scapy and tshark.
//
//   wire_pcap encode <udp.pcap> <ib.pcap>
//       Encodes a fixed set of datagrams with the codec and writes
//       - <udp.pcap>: Ethernet/IPv4/UDP frames exactly as softud's kernel socket sends them
//         (IP ID 0, DF, TTL 64, valid IP and UDP checksums): RoCEv2 to UDP 4791, IB mode to 4792;
//       - <ib.pcap>: the IB-mode packets alone (LRH first, LINKTYPE_USER0, a VCRC appended
//         as on a real IB link) so tshark's InfiniBand dissector can decode them.
//       Prints one JSON object per datagram (what was encoded) on stdout.
//   wire_pcap datagram <src> <dst> <sport> <payload_len>
//       Prints (hex) one RoCEv2 UD datagram's UDP payload encoded for that IPv4 flow with the
//       IP ID 0 / DF assumption, for a real-socket send.
//   wire_pcap parse <in.pcap>
//       Parses each Ethernet/IPv4/UDP frame (port 4791: RoCEv2, 4792: IB mode) with the codec,
//       rebuilding the ICRC pseudo header from the frame's own IPv4/UDP headers, and prints one
//       JSON object per frame (result and decoded fields).
#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "wire.h"

namespace {

using namespace softud::wire;

constexpr uint32_t kPcapMagic = 0xa1b2c3d4;    // microsecond pcap, written in host order
constexpr uint32_t kLinkEthernet = 1;          // LINKTYPE_ETHERNET
// LINKTYPE_USER0: tshark 4.0 has no pcap mapping for LINKTYPE_INFINIBAND (247); the test maps
// USER0 to the "infiniband" dissector (packets start at the LRH) with -o uat:user_dlts.
constexpr uint32_t kLinkInfiniband = 147;
constexpr size_t kEthHdrLen = 14;
constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint8_t kTtl = 64;                   // Linux default for unicast UDP
constexpr uint16_t kIpFlagDf = 0x4000;

struct Pcap {
    FILE* f = nullptr;
    uint32_t n = 0;
    bool open(const char* path, uint32_t linktype) {
        f = std::fopen(path, "wb");
        if (!f)
            return false;
        // magic, version 2.4 (two 16-bit fields), thiszone, sigfigs, snaplen, linktype
        const uint32_t magic = kPcapMagic;
        const uint16_t ver[2] = {2, 4};
        const uint32_t rest[4] = {0, 0, 65535, linktype};
        std::fwrite(&magic, 4, 1, f);
        std::fwrite(ver, 2, 2, f);
        std::fwrite(rest, 4, 4, f);
        return true;
    }
    void write(const std::vector<uint8_t>& frame) {
        const uint32_t rec[4] = {1700000000u + n, n, static_cast<uint32_t>(frame.size()),
                                 static_cast<uint32_t>(frame.size())};
        ++n;
        std::fwrite(rec, 4, 4, f);
        std::fwrite(frame.data(), 1, frame.size(), f);
    }
    ~Pcap() {
        if (f)
            std::fclose(f);
    }
};

void put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
    v[at] = static_cast<uint8_t>(x >> 8);
    v[at + 1] = static_cast<uint8_t>(x);
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint16_t inet_csum(const uint8_t* p, size_t n, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += get16(p + i);
    if (n & 1)
        sum += uint32_t{p[n - 1]} << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// Ethernet/IPv4/UDP around a UDP payload, as the kernel would build it for `ip`.
std::vector<uint8_t> frame(const Ipv4Pseudo& ip, const std::vector<uint8_t>& udp_payload) {
    const size_t udp_len = kUdpHdrLen + udp_payload.size();
    std::vector<uint8_t> f(kEthHdrLen + kIpv4HdrLen + udp_len, 0);
    const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    std::memcpy(f.data(), macs, 12);
    put16(f, 12, kEthTypeIpv4);
    uint8_t* h = f.data() + kEthHdrLen;
    h[0] = 0x45;
    put16(f, kEthHdrLen + 2, static_cast<uint16_t>(kIpv4HdrLen + udp_len));
    put16(f, kEthHdrLen + 4, ip.ip_id);
    put16(f, kEthHdrLen + 6, ip.df ? kIpFlagDf : 0);
    h[8] = kTtl;
    h[9] = 17;
    std::memcpy(h + 12, &ip.saddr_be, 4);
    std::memcpy(h + 16, &ip.daddr_be, 4);
    put16(f, kEthHdrLen + 10, inet_csum(h, kIpv4HdrLen));
    const size_t u = kEthHdrLen + kIpv4HdrLen;
    put16(f, u, ip.sport);
    put16(f, u + 2, ip.dport);
    put16(f, u + 4, static_cast<uint16_t>(udp_len));
    std::memcpy(f.data() + u + kUdpHdrLen, udp_payload.data(), udp_payload.size());
    // UDP checksum over the IPv4 pseudo header (addresses, protocol, length) and the datagram.
    uint32_t sum = get16(h + 12) + get16(h + 14) + get16(h + 16) + get16(h + 18) + 17 +
                   static_cast<uint32_t>(udp_len);
    uint16_t c = inet_csum(f.data() + u, udp_len, sum);
    put16(f, u + 6, c == 0 ? 0xffff : c);
    return f;
}

// CRC-16 of the IB VCRC (polynomial 0x100B, init all-ones, reflected, inverted), computed
// bit-serially: only the tshark pcap needs it, softud never sends a VCRC.
uint16_t vcrc(const std::vector<uint8_t>& p) {
    uint16_t crc = 0xffff;
    for (uint8_t b : p) {
        crc ^= b;
        for (int i = 0; i < 8; ++i)
            crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xd008) : static_cast<uint16_t>(crc >> 1);
    }
    return static_cast<uint16_t>(~crc);
}

std::string hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

std::string ud_json(const UdHeader& ud) {
    char b[256];
    std::snprintf(b, sizeof b,
                  "\"opcode\":%u,\"se\":%d,\"pkey\":%u,\"dqpn\":%u,\"psn\":%u,\"qkey\":%u,"
                  "\"sqpn\":%u,\"imm\":%s%s%s",
                  ud.with_imm ? kOpUdSendOnlyImm : kOpUdSendOnly, ud.solicited ? 1 : 0, ud.pkey,
                  ud.dest_qpn, ud.psn, ud.qkey, ud.src_qpn, ud.with_imm ? "\"" : "",
                  ud.with_imm ? hex(reinterpret_cast<const uint8_t*>(&ud.imm_be), 4).c_str()
                              : "null",
                  ud.with_imm ? "\"" : "");
    return b;
}

std::vector<uint8_t> payload_of(size_t n, unsigned seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>(seed * 31 + i);
    return v;
}

int encode(const char* udp_path, const char* ib_path) {
    Pcap udp, ib;
    if (!udp.open(udp_path, kLinkEthernet) || !ib.open(ib_path, kLinkInfiniband)) {
        std::perror("open");
        return 1;
    }
    Ipv4Pseudo ip;
    inet_pton(AF_INET, "10.0.0.1", &ip.saddr_be);
    inet_pton(AF_INET, "10.0.0.2", &ip.daddr_be);
    ip.ip_id = 0;
    ip.df = true;

    const size_t lens[] = {0, 1, 2, 3, 4, 5, 64, 1000, 4093, kMaxMtu};
    unsigned n = 0;
    for (size_t len : lens) {
        for (int imm = 0; imm < 2; ++imm) {
            UdHeader ud;
            ud.with_imm = imm;
            ud.solicited = (n % 3) == 0;
            ud.pkey = n % 4 == 1 ? 0x8001 : kDefaultPkey;
            ud.dest_qpn = 0x000011 + n * 0x10101;
            ud.psn = (0xfffff0 + n) & kPsnMask;
            ud.qkey = 0x11111111u * (1 + n % 7);
            ud.src_qpn = 0xfedc00 + n;
            ud.imm_be = htonl(0xa5000000u + n);
            const auto pl = payload_of(len, n);
            // RoCEv2: headers, payload in two SGEs, trailer - the sender's iovec shape.
            ip.sport = static_cast<uint16_t>(49152 + n);
            ip.dport = kRoceV2UdpPort;
            uint8_t hdr[kMaxRoceHeaderLen], trl[kMaxTrailerLen];
            const size_t h = encode_roce_headers(ud, len, hdr);
            iovec v[3] = {{hdr, h}, {const_cast<uint8_t*>(pl.data()), len / 2},
                          {const_cast<uint8_t*>(pl.data()) + len / 2, len - len / 2}};
            const size_t t = finish_roce_v4_trailer(ip, v, trl);
            std::vector<uint8_t> d(hdr, hdr + h);
            d.insert(d.end(), pl.begin(), pl.end());
            d.insert(d.end(), trl, trl + t);
            udp.write(frame(ip, d));
            ++n;
            std::printf("{\"n\":%u,\"mode\":\"roce\",%s,\"pad\":%u,\"len\":%zu,\"icrc\":\"%s\"}\n",
                        udp.n, ud_json(ud).c_str(), pad_len(len), len,
                        hex(d.data() + d.size() - 4, 4).c_str());

            // IB mode: same transport content, alternately local and global.
            const bool global = (len + imm) % 2 == 0;
            IbLrh lrh;
            lrh.vl = static_cast<uint8_t>(n % 2);
            lrh.sl = static_cast<uint8_t>(n % 16);
            lrh.dlid = 0x0002;
            lrh.slid = 0x0001;
            IbGrh grh;
            grh.tclass = 0x20;
            grh.flow_label = 0x12345;
            grh.hop_limit = 1;
            ipv4_mapped_gid(ip.saddr_be, grh.sgid);
            ipv4_mapped_gid(ip.daddr_be, grh.dgid);
            uint8_t ih[kMaxIbHeaderLen];
            const size_t ihl = encode_ib_headers(lrh, global ? &grh : nullptr, ud, len, ih);
            iovec iv[2] = {{ih, ihl}, {const_cast<uint8_t*>(pl.data()), len}};
            const size_t it = finish_ib_trailer(iv, trl);
            std::vector<uint8_t> p(ih, ih + ihl);
            p.insert(p.end(), pl.begin(), pl.end());
            p.insert(p.end(), trl, trl + it);
            Ipv4Pseudo ipb = ip;
            ipb.dport = kIbModeUdpPort;
            udp.write(frame(ipb, p));
            std::vector<uint8_t> link = p;
            const uint16_t vc = vcrc(link);
            link.push_back(static_cast<uint8_t>(vc >> 8));
            link.push_back(static_cast<uint8_t>(vc));
            ib.write(link);
            std::printf("{\"n\":%u,\"ib_n\":%u,\"mode\":\"ib\",%s,\"pad\":%u,\"len\":%zu,"
                        "\"grh\":%s,\"sl\":%u,\"vl\":%u,\"dlid\":%u,\"slid\":%u,\"icrc\":\"%s\"}\n",
                        udp.n, ib.n, ud_json(ud).c_str(), pad_len(len), len,
                        global ? "true" : "false", lrh.sl, lrh.vl, lrh.dlid, lrh.slid,
                        hex(p.data() + p.size() - 4, 4).c_str());
        }
    }
    return 0;
}

int datagram(const char* src, const char* dst, const char* sport, const char* len_arg) {
    Ipv4Pseudo ip;
    if (inet_pton(AF_INET, src, &ip.saddr_be) != 1 || inet_pton(AF_INET, dst, &ip.daddr_be) != 1)
        return 2;
    ip.sport = static_cast<uint16_t>(std::strtoul(sport, nullptr, 10));
    const size_t len = std::strtoul(len_arg, nullptr, 10);
    if (len > kMaxMtu)
        return 2;
    UdHeader ud;
    ud.dest_qpn = 0x000123;
    ud.src_qpn = 0x000456;
    ud.qkey = 0x11111111;
    const auto pl = payload_of(len, 9);
    uint8_t hdr[kMaxRoceHeaderLen], trl[kMaxTrailerLen];
    const size_t h = encode_roce_headers(ud, len, hdr);
    iovec v[2] = {{hdr, h}, {const_cast<uint8_t*>(pl.data()), len}};
    const size_t t = finish_roce_v4_trailer(ip, v, trl);
    std::printf("%s%s%s\n", hex(hdr, h).c_str(), hex(pl.data(), len).c_str(), hex(trl, t).c_str());
    return 0;
}

int parse(const char* path) {
    FILE* f = std::fopen(path, "rb");
    if (!f) {
        std::perror("open");
        return 1;
    }
    uint32_t gh[6];
    if (std::fread(gh, 4, 6, f) != 6 || gh[0] != kPcapMagic || gh[5] != kLinkEthernet) {
        std::fprintf(stderr, "%s: not a host-order microsecond Ethernet pcap\n", path);
        std::fclose(f);
        return 1;
    }
    uint32_t rec[4];
    unsigned n = 0;
    std::vector<uint8_t> buf;
    while (std::fread(rec, 4, 4, f) == 4) {
        buf.resize(rec[2]);
        if (std::fread(buf.data(), 1, buf.size(), f) != buf.size())
            break;
        ++n;
        if (buf.size() < kEthHdrLen + kIpv4HdrLen + kUdpHdrLen ||
            get16(buf.data() + 12) != kEthTypeIpv4 || buf[kEthHdrLen] != 0x45 ||
            buf[kEthHdrLen + 9] != 17) {
            std::printf("{\"n\":%u,\"result\":\"not_ipv4_udp\"}\n", n);
            continue;
        }
        const uint8_t* h = buf.data() + kEthHdrLen;
        const uint8_t* u = h + kIpv4HdrLen;
        Ipv4Pseudo ip;
        std::memcpy(&ip.saddr_be, h + 12, 4);
        std::memcpy(&ip.daddr_be, h + 16, 4);
        ip.ip_id = get16(h + 4);
        ip.df = (get16(h + 6) & kIpFlagDf) != 0;
        ip.sport = get16(u);
        ip.dport = get16(u + 2);
        const size_t udp_len = get16(u + 4);
        if (udp_len < kUdpHdrLen || u + udp_len > buf.data() + buf.size()) {
            std::printf("{\"n\":%u,\"result\":\"bad_udp_length\"}\n", n);
            continue;
        }
        std::span<const uint8_t> d(u + kUdpHdrLen, udp_len - kUdpHdrLen);
        if (ip.dport == kRoceV2UdpPort) {
            Parsed p;
            const ParseResult r = parse_roce_v4(d, ip, p);
            if (r != ParseResult::ok) {
                std::printf("{\"n\":%u,\"mode\":\"roce\",\"result\":\"%s\"}\n", n, to_string(r));
                continue;
            }
            std::printf("{\"n\":%u,\"mode\":\"roce\",\"result\":\"ok\",%s,\"pad\":%u,\"len\":%u,"
                        "\"payload\":\"%s\"}\n",
                        n, ud_json(p.ud).c_str(), p.pad, p.payload_len,
                        hex(d.data() + p.payload_offset, p.payload_len).c_str());
        } else if (ip.dport == kIbModeUdpPort) {
            ParsedIb p;
            const ParseResult r = parse_ib(d, p);
            if (r != ParseResult::ok) {
                std::printf("{\"n\":%u,\"mode\":\"ib\",\"result\":\"%s\"}\n", n, to_string(r));
                continue;
            }
            std::printf("{\"n\":%u,\"mode\":\"ib\",\"result\":\"ok\",%s,\"pad\":%u,\"len\":%u,"
                        "\"grh\":%s,\"sl\":%u,\"dlid\":%u,\"slid\":%u,\"payload\":\"%s\"}\n",
                        n, ud_json(p.base.ud).c_str(), p.base.pad, p.base.payload_len,
                        p.has_grh ? "true" : "false", p.sl, p.dlid, p.slid,
                        hex(d.data() + p.base.payload_offset, p.base.payload_len).c_str());
        } else {
            std::printf("{\"n\":%u,\"result\":\"other_port\"}\n", n);
        }
    }
    std::fclose(f);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "encode") == 0)
        return encode(argv[2], argv[3]);
    if (argc == 6 && std::strcmp(argv[1], "datagram") == 0)
        return datagram(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 3 && std::strcmp(argv[1], "parse") == 0)
        return parse(argv[2]);
    std::fprintf(stderr,
                 "usage: %s encode <udp.pcap> <ib.pcap> | datagram <src> <dst> <sport> <len> |"
                 " parse <in.pcap>\n",
                 argv[0]);
    return 2;
}
