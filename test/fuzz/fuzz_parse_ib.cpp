/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: parse_ib on arbitrary datagrams. Properties checked on every input: no crash
// / UB / out-of-bounds read; an accepted datagram's lengths add up and agree with LRH PktLen;
// re-encoding the parsed fields and payload gives a datagram that parses to the same fields.
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
    if ((ctl & kFixIcrc) && d.size() >= kIcrcLen) {
        const uint32_t c = icrc_ib(std::span<const uint8_t>(d).first(d.size() - kIcrcLen));
        for (size_t i = 0; i < 4; ++i)
            d[d.size() - 4 + i] = static_cast<uint8_t>(c >> (8 * i));
    }
    ParsedIb p;
    const ParseResult r = parse_ib(d, p);
    require(static_cast<size_t>(r) < kParseResultCount);
    if (r != ParseResult::ok)
        return 0;
    const Parsed& b = p.base;
    require(b.payload_offset == ib_header_len(p.has_grh, b.ud.with_imm));
    require(size_t{b.payload_offset} + b.payload_len + b.pad + kIcrcLen == d.size());
    require(d.size() % 4 == 0);

    IbLrh lrh;
    lrh.vl = p.vl;
    lrh.sl = p.sl;
    lrh.dlid = p.dlid;
    lrh.slid = p.slid;
    uint8_t hdr[kMaxIbHeaderLen], trl[kMaxTrailerLen];
    const size_t hl = encode_ib_headers(lrh, p.has_grh ? &p.grh : nullptr, b.ud, b.payload_len, hdr);
    require(hl == b.payload_offset);
    iovec v[2] = {{hdr, hl}, {d.data() + b.payload_offset, b.payload_len}};
    const size_t tl = finish_ib_trailer(v, trl);
    require(tl == size_t{b.pad} + kIcrcLen);
    std::vector<uint8_t> again(hdr, hdr + hl);
    again.insert(again.end(), d.begin() + b.payload_offset,
                 d.begin() + b.payload_offset + b.payload_len);
    again.insert(again.end(), trl, trl + tl);
    ParsedIb q;
    require(parse_ib(again, q) == ParseResult::ok);
    require(q.has_grh == p.has_grh && q.sl == p.sl && q.vl == p.vl && q.dlid == p.dlid &&
            q.slid == p.slid && q.base.ud.dest_qpn == b.ud.dest_qpn &&
            q.base.ud.src_qpn == b.ud.src_qpn && q.base.ud.qkey == b.ud.qkey &&
            q.base.ud.imm_be == b.ud.imm_be && q.base.payload_len == b.payload_len);
    if (p.has_grh)
        require(q.grh.tclass == p.grh.tclass && q.grh.flow_label == p.grh.flow_label &&
                q.grh.hop_limit == p.grh.hop_limit &&
                std::memcmp(q.grh.sgid, p.grh.sgid, kGidLen) == 0 &&
                std::memcmp(q.grh.dgid, p.grh.dgid, kGidLen) == 0);
    return 0;
}
