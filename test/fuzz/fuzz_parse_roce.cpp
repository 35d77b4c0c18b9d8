/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: parse_roce_v4 on arbitrary datagrams. Properties checked on every input:
// no crash / UB / out-of-bounds read; an accepted datagram's lengths add up; re-encoding the
// parsed fields and payload gives a datagram that parses to the same fields.
#include <cstring>
#include <vector>

#include "fuzz_common.h"
#include "wire.h"

using namespace softud::wire;
using softud::wire::fuzz::kFixIcrc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    std::vector<uint8_t> d(data + 1, data + size);
    Ipv4Pseudo ip;
    ip.saddr_be = 0x0100007f;  // 127.0.0.1
    ip.daddr_be = 0x0200007f;  // 127.0.0.2
    ip.sport = 50000;
    if ((ctl & kFixIcrc) && d.size() >= kIcrcLen) {
        const uint32_t c = icrc_roce_v4(ip, std::span<const uint8_t>(d).first(d.size() - kIcrcLen));
        for (size_t i = 0; i < 4; ++i)
            d[d.size() - 4 + i] = static_cast<uint8_t>(c >> (8 * i));
    }
    Parsed p;
    const ParseResult r = parse_roce_v4(d, ip, p);
    require(static_cast<size_t>(r) < kParseResultCount);
    // The header-only parser agrees with the full one up to the ICRC.
    Parsed h;
    const ParseResult rh = parse_roce_headers(d, d.size(), h);
    require(r == ParseResult::bad_icrc ? rh == ParseResult::ok : rh == r);
    if (r != ParseResult::ok)
        return 0;
    require(p.payload_offset == roce_header_len(p.ud.with_imm));
    require(size_t{p.payload_offset} + p.payload_len + p.pad + kIcrcLen == d.size());
    require(p.pad == pad_len(p.payload_len));

    uint8_t hdr[kMaxRoceHeaderLen], trl[kMaxTrailerLen];
    const size_t hl = encode_roce_headers(p.ud, p.payload_len, hdr);
    require(hl == p.payload_offset);
    iovec v[2] = {{hdr, hl}, {d.data() + p.payload_offset, p.payload_len}};
    const size_t tl = finish_roce_v4_trailer(ip, v, trl);
    require(tl == size_t{p.pad} + kIcrcLen);
    std::vector<uint8_t> again(hdr, hdr + hl);
    again.insert(again.end(), d.begin() + p.payload_offset,
                 d.begin() + p.payload_offset + p.payload_len);
    again.insert(again.end(), trl, trl + tl);
    Parsed q;
    require(parse_roce_v4(again, ip, q) == ParseResult::ok);
    require(q.ud.with_imm == p.ud.with_imm && q.ud.solicited == p.ud.solicited &&
            q.ud.pkey == p.ud.pkey && q.ud.dest_qpn == p.ud.dest_qpn && q.ud.psn == p.ud.psn &&
            q.ud.qkey == p.ud.qkey && q.ud.src_qpn == p.ud.src_qpn &&
            q.ud.imm_be == p.ud.imm_be && q.payload_len == p.payload_len);
    return 0;
}
