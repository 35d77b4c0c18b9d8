/* SPDX-License-Identifier: BSD-3-Clause */
// Address helpers: IPv4-mapped GIDs, the RoCEv2 receive GRH, the IB-mode LID <-> IPv4 mapping.
#include <cstring>

#include "bytes.h"
#include "wire.h"

namespace softud::wire {
namespace {

using namespace detail;

// ::ffff:0:0/96, the IPv4-mapped IPv6 prefix (RFC 4291 2.5.5.2).
constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
// Offset of the IPv4 header inside a RoCEv2 IPv4 receive GRH (rdma-core's struct ibv_grh
// overlaid with 20 zero bytes then the IPv4 header).
constexpr size_t kGrhIpv4Offset = kGrhLen - kIpv4HdrLen;
static_assert(kGrhIpv4Offset == 20);
constexpr uint8_t kIpv4VerIhl = 0x45;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint16_t kIpFlagDf = 0x4000;

// IPv4 header checksum computed the way rdma-core's ibv_init_ah_from_wc verifies it: 16-bit
// words in memory order, one's-complement sum with a single carry fold, stored in memory order.
// This is the RFC 791 checksum except when the one fold still carries (about 1 header in 10^4);
// there the RFC value differs by one and rdma-core would take the GRH for IPv6, so we write the
// value that the only reader of this GRH accepts. `h` has its checksum field zeroed.
void store_ipv4_checksum(uint8_t* h) noexcept {
    uint32_t sum = 0;
    for (size_t i = 0; i < kIpv4HdrLen; i += 2) {
        uint16_t w;
        std::memcpy(&w, h + i, 2);
        sum += w;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    const auto csum = static_cast<uint16_t>(~sum);
    std::memcpy(h + 10, &csum, 2);
}

// The host-order form of an address, so octets 3-4 are the low 16 bits.
uint32_t host(uint32_t addr_be) noexcept {
    uint8_t b[4];
    std::memcpy(b, &addr_be, 4);
    return load_be32(b);
}
uint32_t net(uint32_t addr_host) noexcept {
    uint8_t b[4];
    store_be32(b, addr_host);
    uint32_t v;
    std::memcpy(&v, b, 4);
    return v;
}

}  // namespace

void ipv4_mapped_gid(uint32_t addr_be, std::span<uint8_t, kGidLen> gid) noexcept {
    std::memcpy(gid.data(), kMappedPrefix, sizeof kMappedPrefix);
    std::memcpy(gid.data() + sizeof kMappedPrefix, &addr_be, 4);
}

std::optional<uint32_t> gid_to_ipv4(std::span<const uint8_t, kGidLen> gid) noexcept {
    if (std::memcmp(gid.data(), kMappedPrefix, sizeof kMappedPrefix) != 0)
        return std::nullopt;
    uint32_t a;
    std::memcpy(&a, gid.data() + sizeof kMappedPrefix, 4);
    return a;
}

void build_ipv4_grh(const Ipv4Pseudo& ip, size_t udp_payload_len, uint8_t tos, uint8_t ttl,
                    std::span<uint8_t, kGrhLen> out) noexcept {
    std::memset(out.data(), 0, kGrhIpv4Offset);
    uint8_t* h = out.data() + kGrhIpv4Offset;
    h[0] = kIpv4VerIhl;
    h[1] = tos;
    store_be16(h + 2, static_cast<uint16_t>(kIpv4HdrLen + kUdpHdrLen + udp_payload_len));
    store_be16(h + 4, ip.ip_id);
    store_be16(h + 6, ip.df ? kIpFlagDf : 0);
    h[8] = ttl;
    h[9] = kIpProtoUdp;
    h[10] = h[11] = 0;
    std::memcpy(h + 12, &ip.saddr_be, 4);
    std::memcpy(h + 16, &ip.daddr_be, 4);
    store_ipv4_checksum(h);
}

std::optional<uint16_t> lid_from_ipv4(uint32_t addr_be) noexcept {
    const auto lid = static_cast<uint16_t>(host(addr_be));
    if (!lid_valid(lid))
        return std::nullopt;
    return lid;
}

std::optional<uint32_t> ipv4_from_lid(uint32_t own_addr_be, uint16_t lid) noexcept {
    if (!lid_valid(lid))
        return std::nullopt;
    return net((host(own_addr_be) & 0xffff0000u) | lid);
}

}  // namespace softud::wire
