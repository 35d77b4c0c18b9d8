/* SPDX-License-Identifier: BSD-3-Clause */
// Datagram parsers: every way a received datagram can be malformed maps to one ParseResult.
#include <cstring>

#include "bytes.h"
#include "layout.h"
#include "wire.h"

namespace softud::wire {
namespace {

using namespace detail;
using namespace layout;

constexpr const char* kResultNames[kParseResultCount] = {
    "ok",       "truncated",  "bad_version", "bad_opcode", "bad_pad",
    "bad_length", "bad_icrc", "bad_lnh",     "bad_next_header",
};

// Transport headers at `head` (the BTH), for a BTH..ICRC span of `len` bytes.
ParseResult parse_transport(std::span<const uint8_t> head, size_t len, Parsed& out) noexcept {
    if (len < kBthLen + kDethLen + kIcrcLen || head.size() < kBthLen)
        return ParseResult::truncated;
    const uint8_t* b = head.data();
    if ((b[kBthFlags] & kBthTverMask) != 0)
        return ParseResult::bad_version;
    const uint8_t op = b[kBthOpcode];
    if (op != kOpUdSendOnly && op != kOpUdSendOnlyImm)
        return ParseResult::bad_opcode;
    const bool imm = op == kOpUdSendOnlyImm;
    const size_t hdr = roce_header_len(imm);
    if (len < hdr + kIcrcLen || head.size() < hdr)
        return ParseResult::truncated;
    if (len % 4 != 0)
        return ParseResult::bad_length;
    const size_t body = len - hdr - kIcrcLen;  // payload + pad, a multiple of 4
    const uint8_t pad = (b[kBthFlags] >> kBthPadShift) & kBthPadMask;
    if (pad > body)
        return ParseResult::bad_pad;

    UdHeader& ud = out.ud;
    ud.with_imm = imm;
    ud.solicited = (b[kBthFlags] & kBthSeBit) != 0;
    ud.pkey = load_be16(b + kBthPkey);
    ud.dest_qpn = load_be24(b + kBthDestQp);
    ud.psn = load_be24(b + kBthPsn);
    const uint8_t* d = b + kBthLen;
    ud.qkey = load_be32(d + kDethQkey);
    ud.src_qpn = load_be24(d + kDethSrcQp);
    ud.imm_be = 0;
    if (imm)
        std::memcpy(&ud.imm_be, d + kDethLen, kImmLen);
    out.pad = pad;
    out.payload_offset = static_cast<uint32_t>(hdr);
    out.payload_len = static_cast<uint32_t>(body - pad);
    return ParseResult::ok;
}

}  // namespace

const char* to_string(ParseResult r) noexcept {
    const auto i = static_cast<size_t>(r);
    return i < kParseResultCount ? kResultNames[i] : "invalid";
}

uint32_t load_icrc(std::span<const uint8_t> datagram) noexcept {
    return load_le32(datagram.data() + datagram.size() - kIcrcLen);
}

ParseResult parse_roce_headers(std::span<const uint8_t> head, size_t datagram_len,
                               Parsed& out) noexcept {
    return parse_transport(head, datagram_len, out);
}

ParseResult parse_roce_v4(std::span<const uint8_t> udp_payload, const Ipv4Pseudo& ip,
                          Parsed& out, bool check_icrc) noexcept {
    const ParseResult r = parse_transport(udp_payload, udp_payload.size(), out);
    if (r != ParseResult::ok)
        return r;
    if (!check_icrc)
        return ParseResult::ok;
    const uint32_t want = load_icrc(udp_payload);
    const uint32_t got = icrc_roce_v4(ip, udp_payload.first(udp_payload.size() - kIcrcLen));
    out.ip_id = ip.ip_id;
    if (got == want)
        return ParseResult::ok;
    uint16_t delta = 0;
    if (ip.ip_id_unknown &&
        icrc_id_for(got, want, roce_v4_icrc_input_len(udp_payload.size()), delta)) {
        out.ip_id = static_cast<uint16_t>(ip.ip_id ^ delta);
        return ParseResult::ok;
    }
    return ParseResult::bad_icrc;
}

ParseResult parse_ib(std::span<const uint8_t> udp_payload, ParsedIb& out, bool check_icrc) noexcept {
    const size_t len = udp_payload.size();
    if (len < kLrhLen)
        return ParseResult::truncated;
    const uint8_t* p = udp_payload.data();
    if ((p[kLrhVlLver] & 0x0f) != 0)
        return ParseResult::bad_version;
    const uint8_t lnh = p[kLrhSlLnh] & kLrhLnhMask;
    if (lnh != kLnhIbaLocal && lnh != kLnhIbaGlobal)
        return ParseResult::bad_lnh;
    const bool grh = lnh == kLnhIbaGlobal;
    const size_t net = kLrhLen + (grh ? kGrhLen : 0);
    if (len < net + kBthLen + kDethLen + kIcrcLen)
        return ParseResult::truncated;
    if (static_cast<size_t>(load_be16(p + kLrhPktLen) & kLrhPktLenMask) * 4 != len)
        return ParseResult::bad_length;

    out.vl = p[kLrhVlLver] >> 4;
    out.sl = p[kLrhSlLnh] >> 4;
    out.dlid = load_be16(p + kLrhDlid);
    out.slid = load_be16(p + kLrhSlid);
    out.has_grh = grh;
    out.grh_offset = 0;
    out.grh = IbGrh{};
    if (grh) {
        const uint8_t* g = p + kLrhLen;
        const uint32_t w0 = load_be32(g + kGrhVerClassFlow);
        if ((w0 >> 28) != kGrhIpVer)
            return ParseResult::bad_version;
        if (g[kGrhNextHdr] != kGrhNextHeaderIba)
            return ParseResult::bad_next_header;
        if (load_be16(g + kGrhPayLen) != len - net)
            return ParseResult::bad_length;
        out.grh_offset = kLrhLen;
        out.grh.tclass = static_cast<uint8_t>(w0 >> 20);
        out.grh.flow_label = w0 & kFlowLabelMask;
        out.grh.hop_limit = g[kGrhHopLimit];
        std::memcpy(out.grh.sgid, g + kGrhSgid, kGidLen);
        std::memcpy(out.grh.dgid, g + kGrhDgid, kGidLen);
    }
    const ParseResult r = parse_transport(udp_payload.subspan(net), len - net, out.base);
    if (r != ParseResult::ok)
        return r;
    out.base.payload_offset += static_cast<uint32_t>(net);
    if (check_icrc && icrc_ib(udp_payload.first(len - kIcrcLen)) != load_icrc(udp_payload))
        return ParseResult::bad_icrc;
    return ParseResult::ok;
}

}  // namespace softud::wire
