/* SPDX-License-Identifier: BSD-3-Clause */
// Address helpers: IPv4-mapped GIDs, the RoCEv2 receive GRH, LID <-> IPv4.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "wire_test_util.h"

namespace softud::wire {
namespace {

using test::addr;

TEST(WireAddr, MappedGidRoundTrip) {
    uint8_t gid[16];
    ipv4_mapped_gid(addr("192.168.7.9"), gid);
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 7, 9};
    EXPECT_EQ(std::memcmp(gid, want, 16), 0);
    auto back = gid_to_ipv4(gid);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, addr("192.168.7.9"));
}

TEST(WireAddr, NonMappedGidsAreRejected) {
    uint8_t link_local[16] = {0xfe, 0x80};
    EXPECT_FALSE(gid_to_ipv4(link_local).has_value());
    uint8_t almost[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 10, 0, 0, 1};
    EXPECT_FALSE(gid_to_ipv4(almost).has_value());
    uint8_t compat[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 10, 0, 0, 1};
    EXPECT_FALSE(gid_to_ipv4(compat).has_value());
}

// RFC 791/1071: the one's-complement sum of all ten words of a valid header is 0xffff.
bool rfc_checksum_valid(const uint8_t* h) {
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += uint32_t{h[i]} << 8 | h[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

// The acceptance rule of rdma-core 44's get_grh_header_version (libibverbs/verbs.c),
// re-implemented from its description: memory-order words, checksum zeroed, one carry fold.
bool rdma_core_accepts(const uint8_t* h) {
    uint8_t c[20];
    std::memcpy(c, h, 20);
    c[10] = c[11] = 0;
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2) {
        uint16_t w;
        std::memcpy(&w, c + i, 2);
        s += w;
    }
    s = (s & 0xffff) + (s >> 16);
    const auto want = static_cast<uint16_t>(~s);
    uint16_t got;
    std::memcpy(&got, h + 10, 2);
    return (h[0] >> 4) == 4 && (h[0] & 0xf) == 5 && got == want;
}

TEST(WireAddr, Ipv4GrhLayout) {
    Ipv4Pseudo ip = test::pseudo();
    uint8_t grh[40];
    std::memset(grh, 0xee, sizeof grh);
    build_ipv4_grh(ip, 100, 0x02, 63, grh);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(grh[i], 0) << i;
    const uint8_t* h = grh + 20;
    EXPECT_EQ(h[0], 0x45);
    EXPECT_EQ(h[1], 0x02);
    EXPECT_EQ(h[2] << 8 | h[3], 20 + 8 + 100);
    EXPECT_EQ(h[4] << 8 | h[5], 0);
    EXPECT_EQ(h[6] << 8 | h[7], 0x4000);
    EXPECT_EQ(h[8], 63);
    EXPECT_EQ(h[9], 17);
    EXPECT_EQ(std::memcmp(h + 12, &ip.saddr_be, 4), 0);
    EXPECT_EQ(std::memcmp(h + 16, &ip.daddr_be, 4), 0);
    EXPECT_TRUE(rfc_checksum_valid(h));
    EXPECT_TRUE(rdma_core_accepts(h));
}

TEST(WireAddr, Ipv4GrhChecksumIsAcceptedByRdmaCoreAndUsuallyRfcValid) {
    std::mt19937 rng(1);
    int rfc_valid = 0, total = 0, edge = 0;
    for (int i = 0; i < 200000; ++i) {
        Ipv4Pseudo ip;
        ip.saddr_be = rng();
        ip.daddr_be = rng();
        ip.ip_id = static_cast<uint16_t>(rng() & 1 ? rng() : 0);
        ip.df = rng() & 1;
        uint8_t grh[40];
        build_ipv4_grh(ip, rng() % 4200, static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                       grh);
        ASSERT_TRUE(rdma_core_accepts(grh + 20)) << i;
        ++total;
        if (rfc_checksum_valid(grh + 20))
            ++rfc_valid;
        else
            ++edge;
    }
    // The two rules disagree only when the single fold still carries: rare, but it happens.
    EXPECT_GT(rfc_valid, total * 999 / 1000);
    EXPECT_GT(edge, 0);
}

TEST(WireAddr, LidFromIpv4) {
    EXPECT_EQ(lid_from_ipv4(addr("10.1.2.3")), 0x0203);
    EXPECT_EQ(lid_from_ipv4(addr("10.1.0.1")), 0x0001);
    EXPECT_EQ(lid_from_ipv4(addr("10.1.255.254")), 0xfffe);
    EXPECT_EQ(lid_from_ipv4(addr("127.0.1.0")), 0x0100);
    EXPECT_FALSE(lid_from_ipv4(addr("10.1.0.0")).has_value());
    EXPECT_FALSE(lid_from_ipv4(addr("10.1.255.255")).has_value());
}

TEST(WireAddr, Ipv4FromLid) {
    EXPECT_EQ(ipv4_from_lid(addr("10.1.2.3"), 0x0405), addr("10.1.4.5"));
    EXPECT_EQ(ipv4_from_lid(addr("127.0.0.1"), 0x0102), addr("127.0.1.2"));
    EXPECT_EQ(ipv4_from_lid(addr("10.1.2.3"), 0x0001), addr("10.1.0.1"));
    EXPECT_EQ(ipv4_from_lid(addr("10.1.2.3"), 0xfffe), addr("10.1.255.254"));
    EXPECT_FALSE(ipv4_from_lid(addr("10.1.2.3"), 0).has_value());
    EXPECT_FALSE(ipv4_from_lid(addr("10.1.2.3"), 0xffff).has_value());
    EXPECT_FALSE(lid_valid(0));
    EXPECT_FALSE(lid_valid(0xffff));
    EXPECT_TRUE(lid_valid(1));
    // Round trip for every valid LID.
    const uint32_t own = addr("172.16.9.9");
    for (uint32_t lid = 1; lid < 0xffff; ++lid) {
        auto a = ipv4_from_lid(own, static_cast<uint16_t>(lid));
        ASSERT_TRUE(a.has_value());
        ASSERT_EQ(lid_from_ipv4(*a), lid);
    }
}

}  // namespace
}  // namespace softud::wire
