/* SPDX-License-Identifier: BSD-3-Clause */
// Key layout in memcached (doc/design/registry.md "Keys"), for a namespace `ns`:
//   rdmaud:<ns>:ep:<mac>      endpoint record (record.h), TTL = the publisher's TTL
//   rdmaud:<ns>:name:<name>   the 17-character MAC text of the endpoint called <name>, same TTL
//   rdmaud:<ns>:members:<s>   shard s (00..3f) of the membership set (members.h), no TTL,
//                             updated by gets+cas; a MAC's shard is FNV-1a-32(MAC bytes) % 64
// <ns> and <name> are [A-Za-z0-9._-]{1,64}: no ':' so keys split unambiguously, no spaces or
// control characters so the text protocol is safe, and every key stays below 250 bytes.
#pragma once

#include <string>
#include <string_view>

#include "record.h"

namespace rdmaud::registry {

inline constexpr std::string_view kKeyPrefix = "rdmaud:";
inline constexpr size_t kMemcachedMaxKey = 250;  // memcached's KEY_MAX_LENGTH
static_assert(kKeyPrefix.size() + kMaxNameLen + 6 + kMaxNameLen < kMemcachedMaxKey,
              "keys: the longest name key fits memcached's key limit");

std::string endpoint_key(std::string_view ns, const Mac& mac);
std::string name_key(std::string_view ns, std::string_view name);
// Membership is sharded so a join or keep-alive rewrites ~1/64 of the set, not all of it (a
// 10,000-member set is 120 KB; a shard ~2 KB), and concurrent joins rarely contend.
inline constexpr uint32_t kMemberShards = 64;
static_assert((kMemberShards & (kMemberShards - 1)) == 0 && kMemberShards <= 256,
              "keys: shard numbers are two hex digits");
uint32_t member_shard(const Mac& mac) noexcept;
std::string members_key(std::string_view ns, uint32_t shard);

}  // namespace rdmaud::registry
