/* SPDX-License-Identifier: BSD-3-Clause */
// Helpers shared by the wire codec unit tests: build whole datagrams with the codec's own
// sender path (headers + payload segments + trailer), as softud's transmit path does.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <vector>

#include "wire.h"

namespace softud::wire::test {

inline uint32_t addr(const char* dotted) {
    in_addr a{};
    inet_pton(AF_INET, dotted, &a);
    return a.s_addr;
}

inline Ipv4Pseudo pseudo() {
    Ipv4Pseudo ip;
    ip.saddr_be = addr("10.0.0.1");
    ip.daddr_be = addr("10.0.0.2");
    ip.sport = 49152;
    ip.dport = kRoceV2UdpPort;
    ip.ip_id = 0;
    ip.df = true;
    return ip;
}

inline UdHeader ud_header(bool imm = false) {
    UdHeader ud;
    ud.with_imm = imm;
    ud.solicited = imm;
    ud.pkey = kDefaultPkey;
    ud.dest_qpn = 0x123456;
    ud.psn = 0x42;
    ud.qkey = 0x11111111;
    ud.src_qpn = 0xabc;
    ud.imm_be = htonl(0xdeadbeef);
    return ud;
}

inline std::vector<uint8_t> pattern(size_t n, uint8_t seed = 1) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

inline void append(std::vector<uint8_t>& out, const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

// A RoCEv2 datagram (UDP payload) whose payload is sent as `pieces` SGEs.
inline std::vector<uint8_t> roce_datagram(const Ipv4Pseudo& ip, const UdHeader& ud,
                                          const std::vector<uint8_t>& payload, size_t pieces = 1) {
    uint8_t hdr[kMaxRoceHeaderLen];
    uint8_t trl[kMaxTrailerLen];
    const size_t h = encode_roce_headers(ud, payload.size(), hdr);
    std::vector<iovec> v{{hdr, h}};
    const size_t step = pieces ? (payload.size() + pieces - 1) / pieces : payload.size();
    for (size_t off = 0; off < payload.size(); off += step)
        v.push_back({const_cast<uint8_t*>(payload.data()) + off,
                     std::min(step, payload.size() - off)});
    const size_t t = finish_roce_v4_trailer(ip, v, trl);
    std::vector<uint8_t> out;
    for (const iovec& s : v)
        append(out, s.iov_base, s.iov_len);
    append(out, trl, t);
    return out;
}

// An IB-mode datagram.
inline std::vector<uint8_t> ib_datagram(const IbLrh& lrh, const IbGrh* grh, const UdHeader& ud,
                                        const std::vector<uint8_t>& payload) {
    uint8_t hdr[kMaxIbHeaderLen];
    uint8_t trl[kMaxTrailerLen];
    const size_t h = encode_ib_headers(lrh, grh, ud, payload.size(), hdr);
    std::vector<iovec> v{{hdr, h}};
    if (!payload.empty())
        v.push_back({const_cast<uint8_t*>(payload.data()), payload.size()});
    const size_t t = finish_ib_trailer(v, trl);
    std::vector<uint8_t> out;
    append(out, hdr, h);
    append(out, payload.data(), payload.size());
    append(out, trl, t);
    return out;
}

}  // namespace softud::wire::test
