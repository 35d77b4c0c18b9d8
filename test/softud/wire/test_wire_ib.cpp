/* SPDX-License-Identifier: BSD-3-Clause */
// IB-mode framing: LRH|[GRH]|BTH|DETH|[ImmDt]|payload|pad|ICRC, IBA variant-field masking.
#include <gtest/gtest.h>

#include <cstring>

#include "wire_test_util.h"

namespace softud::wire {
namespace {

using test::ib_datagram;
using test::pattern;
using test::ud_header;

IbLrh lrh() {
    IbLrh l;
    l.vl = 0;
    l.sl = 5;
    l.dlid = 0x0102;
    l.slid = 0x0304;
    return l;
}

IbGrh grh() {
    IbGrh g;
    g.tclass = 0x12;
    g.flow_label = 0xabcde;
    g.hop_limit = 64;
    for (int i = 0; i < 16; ++i) {
        g.sgid[i] = static_cast<uint8_t>(0xa0 + i);
        g.dgid[i] = static_cast<uint8_t>(0xb0 + i);
    }
    return g;
}

TEST(WireIb, LrhAndGrhLayout) {
    const IbGrh g = grh();
    uint8_t b[kMaxIbHeaderLen];
    IbLrh l = lrh();
    l.vl = 3;
    ASSERT_EQ(encode_ib_headers(l, &g, ud_header(true), 5, b), 72u);
    const size_t pkt = ib_datagram_len(true, true, 5);
    ASSERT_EQ(pkt, 8u + 40 + 24 + 5 + 3 + 4);
    const uint8_t want_lrh[8] = {0x30, 0x53, 0x01, 0x02, static_cast<uint8_t>(pkt / 4 >> 8),
                                 static_cast<uint8_t>(pkt / 4), 0x03, 0x04};
    EXPECT_EQ(std::memcmp(b, want_lrh, 8), 0);
    const uint8_t want_grh_w[8] = {0x61, 0x2a, 0xbc, 0xde, 0x00,
                                   static_cast<uint8_t>(pkt - 48), 0x1b, 64};
    EXPECT_EQ(std::memcmp(b + 8, want_grh_w, 8), 0);
    EXPECT_EQ(std::memcmp(b + 16, g.sgid, 16), 0);
    EXPECT_EQ(std::memcmp(b + 32, g.dgid, 16), 0);
    EXPECT_EQ(b[48], kOpUdSendOnlyImm);

    ASSERT_EQ(encode_ib_headers(lrh(), nullptr, ud_header(false), 0, b), 28u);
    EXPECT_EQ(b[1], 0x52);  // SL 5, LNH local
    EXPECT_EQ(b[5], 28 / 4 + 1);  // LRH+BTH+DETH+ICRC words
    EXPECT_EQ(b[8], kOpUdSendOnly);
}

TEST(WireIb, EncodeRefusesShortBuffersAndOversizePackets) {
    uint8_t b[kMaxIbHeaderLen];
    const IbGrh g = grh();
    EXPECT_EQ(encode_ib_headers(lrh(), &g, ud_header(true), 0, std::span<uint8_t>(b, 71)), 0u);
    EXPECT_EQ(encode_ib_headers(lrh(), nullptr, ud_header(false), 0, std::span<uint8_t>(b, 27)),
              0u);
    // PktLen is 11 bits of words: 8188 bytes at most.
    EXPECT_NE(encode_ib_headers(lrh(), &g, ud_header(true), 8188 - 79, b), 0u);
    EXPECT_EQ(encode_ib_headers(lrh(), &g, ud_header(true), 8188 - 79 + 4, b), 0u);
}

class IbRoundTrip : public ::testing::TestWithParam<std::tuple<size_t, bool, bool>> {};

TEST_P(IbRoundTrip, ParsesBackWhatWasEncoded) {
    const auto [len, with_grh, imm] = GetParam();
    const IbGrh g = grh();
    const UdHeader ud = ud_header(imm);
    const auto payload = pattern(len);
    const auto d = ib_datagram(lrh(), with_grh ? &g : nullptr, ud, payload);
    ASSERT_EQ(d.size(), ib_datagram_len(with_grh, imm, len));
    ParsedIb p;
    ASSERT_EQ(parse_ib(d, p), ParseResult::ok);
    EXPECT_EQ(p.sl, 5);
    EXPECT_EQ(p.vl, 0);
    EXPECT_EQ(p.dlid, 0x0102);
    EXPECT_EQ(p.slid, 0x0304);
    EXPECT_EQ(p.has_grh, with_grh);
    if (with_grh) {
        EXPECT_EQ(p.grh_offset, kLrhLen);
        EXPECT_EQ(p.grh.tclass, g.tclass);
        EXPECT_EQ(p.grh.flow_label, g.flow_label);
        EXPECT_EQ(p.grh.hop_limit, g.hop_limit);
        EXPECT_EQ(std::memcmp(p.grh.sgid, g.sgid, 16), 0);
        EXPECT_EQ(std::memcmp(p.grh.dgid, g.dgid, 16), 0);
    }
    EXPECT_EQ(p.base.ud.with_imm, imm);
    EXPECT_EQ(p.base.ud.dest_qpn, ud.dest_qpn);
    EXPECT_EQ(p.base.ud.src_qpn, ud.src_qpn);
    EXPECT_EQ(p.base.ud.qkey, ud.qkey);
    EXPECT_EQ(p.base.ud.imm_be, imm ? ud.imm_be : 0u);
    EXPECT_EQ(p.base.payload_offset, ib_header_len(with_grh, imm));
    ASSERT_EQ(p.base.payload_len, len);
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), d.begin() + p.base.payload_offset));
}

INSTANTIATE_TEST_SUITE_P(Lengths, IbRoundTrip,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3, 4, 1000, kMaxMtu),
                                            ::testing::Bool(), ::testing::Bool()));

// Rewrites a byte and returns the parse result.
ParseResult mutated(std::vector<uint8_t> d, size_t at, uint8_t xor_mask) {
    d[at] ^= xor_mask;
    ParsedIb p;
    return parse_ib(d, p);
}

TEST(WireIb, LocalPacketMasksOnlyVlAndResv8a) {
    const auto d = ib_datagram(lrh(), nullptr, ud_header(false), pattern(10));
    EXPECT_EQ(mutated(d, 0, 0xf0), ParseResult::ok);        // VL
    EXPECT_EQ(mutated(d, 8 + 4, 0xff), ParseResult::ok);    // BTH resv8a
    EXPECT_EQ(mutated(d, 1, 0x10), ParseResult::bad_icrc);  // SL is covered
    EXPECT_EQ(mutated(d, 2, 0x01), ParseResult::bad_icrc);  // DLID
    EXPECT_EQ(mutated(d, 7, 0x01), ParseResult::bad_icrc);  // SLID
    EXPECT_EQ(mutated(d, 30, 0x01), ParseResult::bad_icrc);  // payload
}

TEST(WireIb, GlobalPacketMasksLrhAndGrhVariantFields) {
    const IbGrh g = grh();
    const auto d = ib_datagram(lrh(), &g, ud_header(false), pattern(10));
    EXPECT_EQ(mutated(d, 0, 0xf0), ParseResult::ok);      // VL
    EXPECT_EQ(mutated(d, 1, 0xf0), ParseResult::ok);      // SL (router may rewrite the LRH)
    EXPECT_EQ(mutated(d, 2, 0xff), ParseResult::ok);      // DLID
    EXPECT_EQ(mutated(d, 6, 0xff), ParseResult::ok);      // SLID
    EXPECT_EQ(mutated(d, 8, 0x0f), ParseResult::ok);      // TClass high nibble
    EXPECT_EQ(mutated(d, 9, 0xff), ParseResult::ok);      // TClass low nibble + FlowLabel
    EXPECT_EQ(mutated(d, 11, 0xff), ParseResult::ok);     // FlowLabel
    EXPECT_EQ(mutated(d, 15, 0xff), ParseResult::ok);     // HopLmt
    EXPECT_EQ(mutated(d, 48 + 4, 0xff), ParseResult::ok);  // BTH resv8a
    EXPECT_EQ(mutated(d, 16, 0x01), ParseResult::bad_icrc);  // SGID
    EXPECT_EQ(mutated(d, 47, 0x01), ParseResult::bad_icrc);  // DGID
    EXPECT_EQ(mutated(d, 48 + 5, 0x01), ParseResult::bad_icrc);  // dest QP
}

TEST(WireIb, ScatteredIcrcEqualsContiguous) {
    const IbGrh g = grh();
    const auto d = ib_datagram(lrh(), &g, ud_header(true), pattern(333));
    const std::span<const uint8_t> body(d.data(), d.size() - kIcrcLen);
    const uint32_t whole = icrc_ib(body);
    ASSERT_EQ(whole, load_icrc(d));
    for (size_t step : {1u, 2u, 3u, 7u, 13u, 47u, 61u}) {
        std::vector<iovec> v;
        for (size_t off = 0; off < body.size(); off += step)
            v.push_back({const_cast<uint8_t*>(body.data()) + off,
                         std::min(step, body.size() - off)});
        EXPECT_EQ(icrc_ib(v), whole) << "step " << step;
    }
}

TEST(WireIb, DropCauses) {
    const IbGrh g = grh();
    const auto local = ib_datagram(lrh(), nullptr, ud_header(false), pattern(8));
    const auto global = ib_datagram(lrh(), &g, ud_header(false), pattern(8));
    ParsedIb p;
    EXPECT_EQ(parse_ib(std::span(local).first(7), p), ParseResult::truncated);
    EXPECT_EQ(parse_ib(std::span(global).first(60), p), ParseResult::truncated);
    EXPECT_EQ(mutated(local, 0, 0x01), ParseResult::bad_version);       // LVer
    EXPECT_EQ(mutated(local, 1, 0x02), ParseResult::bad_lnh);           // LNH 0 (raw)
    EXPECT_EQ(mutated(local, 1, 0x03), ParseResult::bad_lnh);           // LNH 1 (raw IPv6)
    EXPECT_EQ(mutated(local, 5, 0x01), ParseResult::bad_length);        // PktLen
    EXPECT_EQ(mutated(global, 8, 0x20), ParseResult::bad_version);      // GRH IPVer 4
    EXPECT_EQ(mutated(global, 14, 0x01), ParseResult::bad_next_header);  // NxtHdr
    EXPECT_EQ(mutated(global, 13, 0x04), ParseResult::bad_length);      // PayLen
    EXPECT_EQ(mutated(local, 8, 0x40), ParseResult::bad_opcode);        // BTH opcode 0x24
    EXPECT_EQ(mutated(local, 9, 0x02), ParseResult::bad_version);       // BTH TVer
    EXPECT_EQ(mutated(local, 20, 0x01), ParseResult::bad_icrc);          // DETH src QP
    // A local-packet header rewritten as global without a GRH: lengths disagree.
    auto as_global = local;
    as_global[1] |= 0x01;
    EXPECT_NE(parse_ib(as_global, p), ParseResult::ok);
    // Not a multiple of 4: PktLen cannot match.
    auto longer = local;
    longer.push_back(0);
    EXPECT_EQ(parse_ib(longer, p), ParseResult::bad_length);
    // Pad count too large for an empty payload.
    auto empty = ib_datagram(lrh(), nullptr, ud_header(false), {});
    empty[9] |= 0x30;
    EXPECT_EQ(parse_ib(empty, p), ParseResult::bad_pad);
}

}  // namespace
}  // namespace softud::wire
