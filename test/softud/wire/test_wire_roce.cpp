/* SPDX-License-Identifier: BSD-3-Clause */
// RoCEv2 UD codec: exact layout, round trips, pad/ICRC edges, scattered ICRC, every drop cause.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "wire_test_util.h"

namespace softud::wire {
namespace {

using test::pattern;
using test::pseudo;
using test::roce_datagram;
using test::ud_header;

std::vector<uint8_t> from_hex(const std::string& s) {
    std::vector<uint8_t> v;
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        v.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    return v;
}

ParseResult parse(const std::vector<uint8_t>& d, Parsed& p, const Ipv4Pseudo& ip = pseudo()) {
    return parse_roce_v4(d, ip, p);
}

// Golden datagram computed by scapy 2.5.0 (scapy.contrib.roce.BTH, ICRC by scapy):
// IP(src=10.0.0.1, dst=10.0.0.2, id=0, flags=DF)/UDP(sport=49152, dport=4791)/
// BTH(opcode=0x64, padcount=3, dqpn=0x123456, psn=0x42)/DETH(qkey=0x11111111, srcqp=0xabc)/
// "hello" + 3 pad bytes.
const char* const kScapyGolden =
    "6430ffff00123456000000421111111100000abc68656c6c6f0000000bd3eec3";

TEST(WireRoce, EncodesTheScapyGoldenDatagramBitForBit) {
    const std::vector<uint8_t> payload{'h', 'e', 'l', 'l', 'o'};
    UdHeader ud = ud_header(false);
    ud.solicited = false;
    EXPECT_EQ(roce_datagram(pseudo(), ud, payload), from_hex(kScapyGolden));
}

TEST(WireRoce, ParsesTheScapyGoldenDatagram) {
    const auto d = from_hex(kScapyGolden);
    Parsed p;
    ASSERT_EQ(parse(d, p), ParseResult::ok);
    EXPECT_FALSE(p.ud.with_imm);
    EXPECT_FALSE(p.ud.solicited);
    EXPECT_EQ(p.ud.pkey, 0xffff);
    EXPECT_EQ(p.ud.dest_qpn, 0x123456u);
    EXPECT_EQ(p.ud.psn, 0x42u);
    EXPECT_EQ(p.ud.qkey, 0x11111111u);
    EXPECT_EQ(p.ud.src_qpn, 0xabcu);
    EXPECT_EQ(p.pad, 3);
    EXPECT_EQ(p.payload_offset, 20u);
    EXPECT_EQ(p.payload_len, 5u);
    EXPECT_EQ(std::memcmp(d.data() + p.payload_offset, "hello", 5), 0);
    EXPECT_EQ(load_icrc(d), 0xc3eed30bu);
}

TEST(WireRoce, HeaderLayoutWithImmediateAndSolicited) {
    UdHeader ud = ud_header(true);
    ud.pkey = 0x8001;
    ud.dest_qpn = 0xff000001;  // only 24 bits go on the wire
    ud.psn = 0xfffffe;
    ud.src_qpn = 0x01fedcba;
    uint8_t b[kMaxRoceHeaderLen];
    ASSERT_EQ(encode_roce_headers(ud, 6, b), 24u);
    const uint8_t want[24] = {0x65, 0x80 | 0x20, 0x80, 0x01, 0x00, 0x00, 0x00, 0x01,
                              0x00, 0xff, 0xff, 0xfe, 0x11, 0x11, 0x11, 0x11,
                              0x00, 0xfe, 0xdc, 0xba, 0xde, 0xad, 0xbe, 0xef};
    EXPECT_EQ(std::memcmp(b, want, sizeof want), 0);
}

TEST(WireRoce, EncodeRefusesShortBuffers) {
    uint8_t b[kMaxRoceHeaderLen];
    EXPECT_EQ(encode_roce_headers(ud_header(false), 0, std::span<uint8_t>(b, 19)), 0u);
    EXPECT_EQ(encode_roce_headers(ud_header(false), 0, std::span<uint8_t>(b, 20)), 20u);
    EXPECT_EQ(encode_roce_headers(ud_header(true), 0, std::span<uint8_t>(b, 23)), 0u);
    uint8_t t[kMaxTrailerLen];
    iovec v{b, 21};  // 1 payload byte after a 20-byte header: pad 3
    EXPECT_EQ(finish_roce_v4_trailer(pseudo(), {&v, 1}, std::span<uint8_t>(t, 6)), 0u);
    EXPECT_EQ(finish_roce_v4_trailer(pseudo(), {&v, 1}, t), 7u);
}

TEST(WireRoce, PadAndLengths) {
    EXPECT_EQ(pad_len(0), 0);
    EXPECT_EQ(pad_len(1), 3);
    EXPECT_EQ(pad_len(2), 2);
    EXPECT_EQ(pad_len(3), 1);
    EXPECT_EQ(pad_len(4), 0);
    EXPECT_EQ(pad_len(kMaxMtu), 0);
    EXPECT_EQ(roce_datagram_len(false, 0), 24u);
    EXPECT_EQ(roce_datagram_len(true, 1), 32u);
    EXPECT_EQ(roce_datagram_len(false, kMaxMtu), 4096u + 24u);
}

class RoceRoundTrip : public ::testing::TestWithParam<std::tuple<size_t, bool, size_t>> {};

TEST_P(RoceRoundTrip, ParsesBackWhatWasEncoded) {
    const auto [len, imm, pieces] = GetParam();
    const UdHeader ud = ud_header(imm);
    const auto payload = pattern(len, static_cast<uint8_t>(len));
    const auto d = roce_datagram(pseudo(), ud, payload, pieces);
    ASSERT_EQ(d.size(), roce_datagram_len(imm, len));
    ASSERT_EQ(d.size() % 4, 0u);
    Parsed p;
    ASSERT_EQ(parse(d, p), ParseResult::ok);
    EXPECT_EQ(p.ud.with_imm, imm);
    EXPECT_EQ(p.ud.solicited, ud.solicited);
    EXPECT_EQ(p.ud.pkey, ud.pkey);
    EXPECT_EQ(p.ud.dest_qpn, ud.dest_qpn);
    EXPECT_EQ(p.ud.psn, ud.psn);
    EXPECT_EQ(p.ud.qkey, ud.qkey);
    EXPECT_EQ(p.ud.src_qpn, ud.src_qpn);
    EXPECT_EQ(p.ud.imm_be, imm ? ud.imm_be : 0u);
    EXPECT_EQ(p.pad, pad_len(len));
    EXPECT_EQ(p.payload_offset, roce_header_len(imm));
    ASSERT_EQ(p.payload_len, len);
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), d.begin() + p.payload_offset));
    for (size_t i = 0; i < p.pad; ++i)  // pad bytes are zeros
        EXPECT_EQ(d[p.payload_offset + len + i], 0);
    // Scattered and contiguous senders produce the same bytes.
    EXPECT_EQ(d, roce_datagram(pseudo(), ud, payload, 1));
}

INSTANTIATE_TEST_SUITE_P(Lengths, RoceRoundTrip,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3, 4, 5, 63, 1024, 4095,
                                                              kMaxMtu),
                                            ::testing::Bool(), ::testing::Values(1, 3, 7)));

TEST(WireRoce, ScatteredIcrcEqualsContiguousForArbitrarySplits) {
    const auto d = roce_datagram(pseudo(), ud_header(true), pattern(777));
    const std::span<const uint8_t> body(d.data(), d.size() - kIcrcLen);
    const uint32_t whole = icrc_roce_v4(pseudo(), body);
    ASSERT_EQ(whole, load_icrc(d));
    std::mt19937 rng(7);
    for (int round = 0; round < 500; ++round) {
        std::vector<iovec> segs;
        size_t off = 0;
        while (off < body.size()) {
            // Small pieces (down to 0 and 1 byte) so splits land inside the BTH too.
            size_t n = std::min<size_t>(rng() % (round % 2 ? 5 : 300), body.size() - off);
            segs.push_back({const_cast<uint8_t*>(body.data()) + off, n});
            off += n;
        }
        ASSERT_EQ(icrc_roce_v4(pseudo(), segs), whole) << "round " << round;
    }
}

TEST(WireRoce, IcrcCoversTheIpv4PseudoHeader) {
    const auto d = roce_datagram(pseudo(), ud_header(false), pattern(100));
    Parsed p;
    ASSERT_EQ(parse(d, p), ParseResult::ok);
    auto check = [&](auto mutate) {
        Ipv4Pseudo ip = pseudo();
        mutate(ip);
        return parse(d, p, ip);
    };
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.saddr_be ^= 0x01000000; }), ParseResult::bad_icrc);
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.daddr_be ^= 1; }), ParseResult::bad_icrc);
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.sport++; }), ParseResult::bad_icrc);
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.dport++; }), ParseResult::bad_icrc);
    // The pitfall: a non-zero IP ID (connected socket / DF clear) changes the ICRC.
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.ip_id = 1; }), ParseResult::bad_icrc);
    EXPECT_EQ(check([](Ipv4Pseudo& ip) { ip.df = false; }), ParseResult::bad_icrc);
}

// A receiver on a UDP socket cannot see the IP ID, which the ICRC covers; Linux rxe (and NICs)
// send non-zero IDs. With ip_id_unknown the parser finds the ID that gives the received ICRC.
TEST(WireRoce, RecoversAnUnseenIpIdFromTheIcrc) {
    std::mt19937 rng(7);
    for (size_t len : {0u, 1u, 13u, 100u, 1000u, 4096u}) {
        for (int round = 0; round < 20; ++round) {
            Ipv4Pseudo sent = pseudo();
            sent.ip_id = static_cast<uint16_t>(rng());
            const auto d = roce_datagram(sent, ud_header(round & 1), pattern(len));
            Ipv4Pseudo seen = pseudo();  // ip_id 0: what the receiver assumes
            Parsed p;
            if (sent.ip_id != 0) {
                EXPECT_EQ(parse(d, p, seen), ParseResult::bad_icrc) << "len " << len;
            }
            seen.ip_id_unknown = true;
            ASSERT_EQ(parse(d, p, seen), ParseResult::ok) << "len " << len << " id " << sent.ip_id;
            EXPECT_EQ(p.ip_id, sent.ip_id) << "len " << len;
            EXPECT_EQ(p.payload_len, len);
        }
    }
}

TEST(WireRoce, AnUnknownIpIdStillRejectsCorruption) {
    Ipv4Pseudo sent = pseudo();
    sent.ip_id = 0xbeef;
    const auto good = roce_datagram(sent, ud_header(false), pattern(200));
    Ipv4Pseudo seen = pseudo();
    seen.ip_id_unknown = true;
    // Every single-bit error in the payload and ICRC (BTH/DETH errors may parse as other
    // causes). An error is taken for another ID only if, with some ID change, it is a
    // multiple of the CRC polynomial: about 2^-16 of errors. This datagram has none.
    size_t rejected = 0, tried = 0;
    for (size_t i = 20; i < good.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            auto d = good;
            d[i] ^= static_cast<uint8_t>(1u << bit);
            Parsed p;
            tried++;
            rejected += parse(d, p, seen) == ParseResult::bad_icrc;
        }
    }
    EXPECT_EQ(rejected, tried);
    // The other covered pseudo-header fields are not made up for.
    Parsed p;
    Ipv4Pseudo other = seen;
    other.saddr_be ^= 0x01000000;
    EXPECT_EQ(parse(good, p, other), ParseResult::bad_icrc);
}

TEST(WireRoce, EveryByteIsCoveredExceptResv8a) {
    const auto good = roce_datagram(pseudo(), ud_header(true), pattern(13));
    for (size_t i = 0; i < good.size(); ++i) {
        auto d = good;
        d[i] ^= 0x10;  // keeps TVer, opcode class and pad count readable in most bytes
        Parsed p;
        const ParseResult r = parse(d, p);
        if (i == 4)  // BTH resv8a: variant, masked out of the ICRC
            EXPECT_EQ(r, ParseResult::ok);
        else
            EXPECT_NE(r, ParseResult::ok) << "byte " << i;
    }
}

TEST(WireRoce, DropCauses) {
    const auto good = roce_datagram(pseudo(), ud_header(false), pattern(8));
    Parsed p;
    auto with = [&](auto mutate) {
        auto d = good;
        mutate(d);
        return parse(d, p);
    };
    // truncated: shorter than BTH+DETH+ICRC; or an imm opcode with no room for ImmDt.
    EXPECT_EQ(parse(std::vector<uint8_t>{}, p), ParseResult::truncated);
    EXPECT_EQ(parse(std::vector<uint8_t>(good.begin(), good.begin() + 23), p),
              ParseResult::truncated);
    auto imm_short = roce_datagram(pseudo(), ud_header(false), {});
    ASSERT_EQ(imm_short.size(), 24u);
    imm_short[0] = kOpUdSendOnlyImm;
    EXPECT_EQ(parse(imm_short, p), ParseResult::truncated);
    // bad_version: TVer != 0.
    EXPECT_EQ(with([](auto& d) { d[1] |= 0x01; }), ParseResult::bad_version);
    // bad_opcode: RC SEND only, UC SEND only, CNP, UD with a non-send operation.
    for (uint8_t op : {0x04, 0x24, 0x81, 0x66, 0x60})
        EXPECT_EQ(with([op](auto& d) { d[0] = op; }), ParseResult::bad_opcode) << int(op);
    // bad_length: not a multiple of 4.
    EXPECT_EQ(with([](auto& d) { d.push_back(0); }), ParseResult::bad_length);
    // bad_pad: pad count larger than what follows the headers (empty payload, pad 3).
    auto empty = roce_datagram(pseudo(), ud_header(false), {});
    empty[1] |= 0x30;
    EXPECT_EQ(parse(empty, p), ParseResult::bad_pad);
    // A pad count that fits but disagrees with the sender's is only caught by the ICRC.
    EXPECT_EQ(with([](auto& d) { d[1] ^= 0x10; }), ParseResult::bad_icrc);
    // bad_icrc: payload byte, ICRC byte.
    EXPECT_EQ(with([](auto& d) { d[21] ^= 0x80; }), ParseResult::bad_icrc);
    EXPECT_EQ(with([](auto& d) { d.back() ^= 0x01; }), ParseResult::bad_icrc);
}

TEST(WireRoce, ParseHeadersWithoutIcrcForScatteredReceive) {
    const auto d = roce_datagram(pseudo(), ud_header(true), pattern(301));
    Parsed p;
    ASSERT_EQ(parse_roce_headers(std::span(d).first(kMaxRoceHeaderLen), d.size(), p),
              ParseResult::ok);
    EXPECT_EQ(p.payload_len, 301u);
    EXPECT_EQ(p.payload_offset, 24u);
    // Head too short for the opcode's headers.
    EXPECT_EQ(parse_roce_headers(std::span(d).first(20), d.size(), p), ParseResult::truncated);
    // The receiver then checks the ICRC over its own segments.
    iovec v[2] = {{const_cast<uint8_t*>(d.data()), 24}, {const_cast<uint8_t*>(d.data()) + 24,
                                                         d.size() - 24 - kIcrcLen}};
    EXPECT_EQ(icrc_roce_v4(pseudo(), v), load_icrc(d));
}

TEST(WireRoce, ResultNamesAreDistinct) {
    std::set<std::string> names;
    for (size_t i = 0; i < kParseResultCount; ++i) {
        const std::string n = to_string(static_cast<ParseResult>(i));
        EXPECT_NE(n, "invalid");
        names.insert(n);
    }
    EXPECT_EQ(names.size(), kParseResultCount);
    EXPECT_STREQ(to_string(ParseResult::bad_icrc), "bad_icrc");
    EXPECT_STREQ(to_string(ParseResult::count_), "invalid");
}

}  // namespace
}  // namespace softud::wire
