/* SPDX-License-Identifier: BSD-3-Clause */
// The namespace membership set and its strict codec. One memcached value per shard (keys.h), updated
// only by read-modify-write with gets + cas (registry.cpp), so concurrent joins never lose each
// other. Each member carries its own expiry (Unix seconds): memcached cannot expire parts of a
// value, so a crashed member is dropped by the next writer or ignored by readers once expired.
// Layout (big-endian): "RUDM", version, 3 reserved zero bytes, count (4), then per member
// MAC (6), 2 reserved zero bytes, expiry (4). Members are sorted by MAC, no duplicates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "record.h"

namespace rdmaud::registry {

inline constexpr std::array<uint8_t, 4> kMembersMagic = {'R', 'U', 'D', 'M'};
inline constexpr uint8_t kMembersVersion = 1;
inline constexpr size_t kMembersHeaderSize = 12;
inline constexpr size_t kMemberEntrySize = 12;
// 65,536 x 12 B = 768 KiB: below memcached's default 1 MiB item limit with room for the header.
inline constexpr size_t kMaxMembers = 65536;
static_assert(kMembersHeaderSize + kMaxMembers * kMemberEntrySize < 1024 * 1024 - 1024,
              "members: the largest set fits one memcached item");

struct Member {
    Mac mac{};
    uint32_t expires_s = 0;  // Unix seconds
    bool operator==(const Member&) const = default;
};

std::vector<uint8_t> encode_members(const std::vector<Member>& members);
// Strict: wrong magic/version = foreign, short = truncated, unsorted/duplicate/bad MAC/reserved
// bits/trailing bytes = malformed, more than kMaxMembers = oversized.
RejectCause decode_members(std::span<const uint8_t> in, std::vector<Member>* out) noexcept;

// Pure set updates, applied inside the CAS loop. Both drop members expired at `now_s`.
// Returns false if the set is full (kMaxMembers) and `mac` is new.
bool members_join(std::vector<Member>* set, const Mac& mac, uint32_t expires_s, uint32_t now_s);
void members_leave(std::vector<Member>* set, const Mac& mac, uint32_t now_s);

}  // namespace rdmaud::registry
