/* SPDX-License-Identifier: BSD-3-Clause */
// The endpoint record: what one started port tells the registry about itself, and its strict
// binary codec. Wire layout (all integers big-endian), doc/design/registry.md "Record":
//
//   off len field
//     0   4 magic "RUDE"
//     4   1 version (kRecordVersion)
//     5   1 flags: bit 0 = HMAC-SHA256 tag follows; other bits must be zero
//     6   1 link layer: 1 = RoCE (address is a 16-byte GID), 2 = InfiniBand (address is a LID)
//     7   1 queue count n, 1..kMaxQueues
//     8   6 MAC (unicast, not all-zero)
//    14   1 name length, 0..kMaxNameLen
//    15   1 reserved, zero
//    16  16 address: GID, or IB: LID in bytes 0-1 and zeros after
//    32   4 Q_Key
//    36   2 MTU (payload bytes, kMinMtu..kMaxMtu)
//    38   2 reserved, zero
//    40   4 TTL the publisher asked for (seconds, 1..kMaxTtlSeconds)
//    44   4 reserved, zero
//    48   8 incarnation (non-zero, new on every start)
//    56   8 publish time (Unix milliseconds)
//    64  4n QPN of each queue (24-bit, non-zero)
//     .   . name bytes ([A-Za-z0-9._-])
//     .  32 HMAC-SHA256 over a domain string, the namespace, and every byte before the tag
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rdmaud::registry {

using Mac = std::array<uint8_t, 6>;
using Gid = std::array<uint8_t, 16>;

inline constexpr std::array<uint8_t, 4> kRecordMagic = {'R', 'U', 'D', 'E'};
inline constexpr uint8_t kRecordVersion = 1;   // bump on any layout change; old readers reject
inline constexpr size_t kRecordHeaderSize = 64;  // fixed part, before the QPNs
inline constexpr size_t kMaxQueues = 16;       // the PMD's queue limit; bounds the QPN array
inline constexpr size_t kMaxNameLen = 64;      // keeps name keys far below memcached's 250 bytes
inline constexpr size_t kHmacSize = 32;        // SHA-256 output
inline constexpr uint16_t kMinMtu = 256;       // smallest IB MTU
inline constexpr uint16_t kMaxMtu = 9216;      // largest jumbo frame any NIC here would carry
inline constexpr uint32_t kMaxTtlSeconds = 86400;  // memcached reads >30 days as a timestamp
inline constexpr uint32_t kMaxQpn = 0xFFFFFF;  // QPNs are 24-bit on the wire (BTH DestQP)
inline constexpr uint16_t kMaxUnicastLid = 0xBFFF;  // 0xC000.. is multicast, 0 reserved
inline constexpr size_t kMaxRecordSize = kRecordHeaderSize + 4 * kMaxQueues + kMaxNameLen + kHmacSize;
static_assert(kMaxRecordSize == 224, "record: the largest valid record is 224 bytes");
static_assert(kMaxNameLen <= 255, "record: name length is one byte");
static_assert(kMaxQueues <= 255, "record: queue count is one byte");

inline constexpr uint8_t kFlagHmac = 0x01;

enum class LinkLayer : uint8_t { roce = 1, ib = 2 };

struct EndpointRecord {
    Mac mac{};
    LinkLayer link = LinkLayer::roce;
    Gid gid{};          // RoCE only
    uint16_t lid = 0;   // IB only
    std::vector<uint32_t> qpns;  // one per queue, 1..kMaxQueues entries
    uint32_t qkey = 0;
    uint16_t mtu = 1024;
    uint32_t ttl_s = 0;          // filled by publish()
    uint64_t incarnation = 0;
    uint64_t publish_ms = 0;     // filled by publish()
    std::string name;

    bool operator==(const EndpointRecord&) const = default;
};

// Why a record was refused. Counted per cause by the Resolver; names are stable (xstats).
enum class RejectCause : uint8_t {
    none,
    truncated,     // shorter than its own header/lengths say
    oversized,     // longer than kMaxRecordSize: never even parsed
    foreign,       // wrong magic or version: not ours, or a newer/older codec
    malformed,     // a field out of bounds, reserved bits set, trailing bytes, bad name chars
    bad_hmac,      // tag present but does not verify with our key
    missing_hmac,  // a key is configured and the record carries no tag
    mismatch,      // valid record under the wrong key (MAC or name differs from the lookup)
    count_
};
inline constexpr size_t kRejectCauseCount = static_cast<size_t>(RejectCause::count_);
const char* reject_cause_name(RejectCause c) noexcept;

// Shared HMAC key; empty = records are neither signed nor checked.
using HmacKey = std::vector<uint8_t>;

// Checks the fields of `r` against the bounds above (the encoder refuses what the decoder would).
RejectCause validate(const EndpointRecord& r) noexcept;

// Encodes `r` (signed when `key` is non-empty; `ns` is bound into the tag so a record cannot be
// replayed into another namespace). Returns false when `r` is invalid.
bool encode_record(const EndpointRecord& r, std::string_view ns, const HmacKey& key,
                   std::vector<uint8_t>* out) noexcept;

// Strict decoder. Fills `out` only on success (RejectCause::none).
RejectCause decode_record(std::span<const uint8_t> in, std::string_view ns, const HmacKey& key,
                          EndpointRecord* out) noexcept;

// Names: 0..kMaxNameLen of [A-Za-z0-9._-]. Namespaces: 1..kMaxNameLen of the same.
bool valid_name(std::string_view s) noexcept;
bool valid_namespace(std::string_view s) noexcept;
bool valid_unicast_mac(const Mac& m) noexcept;

// "02:00:00:00:00:01" (lowercase); parse accepts exactly 6 two-digit hex groups split by ':'.
std::string format_mac(const Mac& m);
bool parse_mac(std::string_view s, Mac* out) noexcept;
std::string format_gid(const Gid& g);  // "fe80:0000:...": 8 groups of 4 hex digits
bool parse_gid(std::string_view s, Gid* out) noexcept;

// A fresh incarnation number: 64 random bits from OpenSSL's CSPRNG, never zero.
uint64_t new_incarnation() noexcept;

}  // namespace rdmaud::registry
