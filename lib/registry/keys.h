/* SPDX-License-Identifier: BSD-3-Clause */
// Key layout in memcached (doc/design/registry.md "Keys"), for a namespace `ns`:
//   rdmaud:<ns>:ep:<mac>      endpoint record (record.h), TTL = the publisher's TTL
//   rdmaud:<ns>:name:<name>   the 17-character MAC text of the endpoint called <name>, same TTL
//   rdmaud:<ns>:members       the membership set (members.h), no TTL, updated by gets+cas
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
std::string members_key(std::string_view ns);

}  // namespace rdmaud::registry
