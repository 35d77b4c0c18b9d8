/* SPDX-License-Identifier: BSD-3-Clause */
#include "keys.h"

#include <libmemcached/memcached.h>

namespace rdmaud::registry {

std::string endpoint_key(std::string_view ns, const Mac& mac) {
    std::string k(kKeyPrefix);
    k.append(ns).append(":ep:").append(format_mac(mac));
    return k;
}

std::string name_key(std::string_view ns, std::string_view name) {
    std::string k(kKeyPrefix);
    k.append(ns).append(":name:").append(name);
    return k;
}

uint32_t member_shard(const Mac& mac) noexcept {
    return memcached_generate_hash_value(reinterpret_cast<const char*>(mac.data()), mac.size(),
                                         MEMCACHED_HASH_FNV1A_32) %
           kMemberShards;
}

std::string members_key(std::string_view ns, uint32_t shard) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string k(kKeyPrefix);
    k.append(ns).append(":members:");
    k += kHex[(shard >> 4) & 15];
    k += kHex[shard & 15];
    return k;
}

}  // namespace rdmaud::registry
