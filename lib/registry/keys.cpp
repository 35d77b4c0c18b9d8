/* SPDX-License-Identifier: BSD-3-Clause */
#include "keys.h"

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

std::string members_key(std::string_view ns) {
    std::string k(kKeyPrefix);
    k.append(ns).append(":members");
    return k;
}

}  // namespace rdmaud::registry
