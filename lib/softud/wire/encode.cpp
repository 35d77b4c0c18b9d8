/* SPDX-License-Identifier: BSD-3-Clause */
// Header encoders: BTH|DETH|[ImmDt] (RoCEv2) and LRH|[GRH]|BTH|DETH|[ImmDt] (IB mode).
#include <cstring>

#include "bytes.h"
#include "layout.h"
#include "wire.h"

namespace softud::wire {
namespace {

using namespace detail;
using namespace layout;

// Writes BTH|DETH|[ImmDt] at p (caller checked the room).
void put_transport(uint8_t* p, const UdHeader& ud, size_t payload_len) noexcept {
    p[kBthOpcode] = ud.with_imm ? kOpUdSendOnlyImm : kOpUdSendOnly;
    // SE | MigReq 0 | PadCnt | TVer 0
    p[kBthFlags] = static_cast<uint8_t>((ud.solicited ? kBthSeBit : 0) |
                                        pad_len(payload_len) << kBthPadShift);
    store_be16(p + kBthPkey, ud.pkey);
    p[kBthResv8a] = 0;
    store_be24(p + kBthDestQp, ud.dest_qpn & kQpnMask);
    p[kBthAckReq] = 0;  // UD never requests acks
    store_be24(p + kBthPsn, ud.psn & kPsnMask);

    uint8_t* d = p + kBthLen;
    store_be32(d + kDethQkey, ud.qkey);
    d[kDethSrcQp - 1] = 0;
    store_be24(d + kDethSrcQp, ud.src_qpn & kQpnMask);

    if (ud.with_imm)
        std::memcpy(d + kDethLen, &ud.imm_be, kImmLen);  // already network order
}

}  // namespace

size_t encode_roce_headers(const UdHeader& ud, size_t payload_len,
                           std::span<uint8_t> out) noexcept {
    const size_t n = roce_header_len(ud.with_imm);
    if (out.size() < n)
        return 0;
    put_transport(out.data(), ud, payload_len);
    return n;
}

size_t encode_ib_headers(const IbLrh& lrh, const IbGrh* grh, const UdHeader& ud,
                         size_t payload_len, std::span<uint8_t> out) noexcept {
    const bool with_grh = grh != nullptr;
    const size_t n = ib_header_len(with_grh, ud.with_imm);
    const size_t pkt = ib_datagram_len(with_grh, ud.with_imm, payload_len);
    if (out.size() < n || pkt > kMaxIbPacketLen || payload_len > kMaxIbPacketLen)
        return 0;
    uint8_t* p = out.data();
    p[kLrhVlLver] = static_cast<uint8_t>((lrh.vl & 0xf) << 4);  // LVer 0
    p[kLrhSlLnh] = static_cast<uint8_t>((lrh.sl & 0xf) << 4 |
                                        (with_grh ? kLnhIbaGlobal : kLnhIbaLocal));
    store_be16(p + kLrhDlid, lrh.dlid);
    store_be16(p + kLrhPktLen, static_cast<uint16_t>(pkt / 4));
    store_be16(p + kLrhSlid, lrh.slid);
    p += kLrhLen;
    if (with_grh) {
        store_be32(p + kGrhVerClassFlow, uint32_t{kGrhIpVer} << 28 | uint32_t{grh->tclass} << 20 |
                                             (grh->flow_label & kFlowLabelMask));
        store_be16(p + kGrhPayLen, static_cast<uint16_t>(pkt - kLrhLen - kGrhLen));
        p[kGrhNextHdr] = kGrhNextHeaderIba;
        p[kGrhHopLimit] = grh->hop_limit;
        std::memcpy(p + kGrhSgid, grh->sgid, kGidLen);
        std::memcpy(p + kGrhDgid, grh->dgid, kGidLen);
        p += kGrhLen;
    }
    put_transport(p, ud, payload_len);
    return n;
}

}  // namespace softud::wire
