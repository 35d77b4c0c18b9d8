/* SPDX-License-Identifier: BSD-3-Clause */
#include "members.h"

#include <algorithm>
#include <cstring>

namespace rdmaud::registry {
namespace {

uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i)); }

void drop_expired(std::vector<Member>* set, uint32_t now_s) {
    std::erase_if(*set, [now_s](const Member& m) { return m.expires_s <= now_s; });
}

}  // namespace

std::vector<uint8_t> encode_members(const std::vector<Member>& members) {
    std::vector<uint8_t> out(kMembersHeaderSize + kMemberEntrySize * members.size(), 0);
    std::memcpy(out.data(), kMembersMagic.data(), kMembersMagic.size());
    out[4] = kMembersVersion;
    put32(out.data() + 8, static_cast<uint32_t>(members.size()));
    uint8_t* p = out.data() + kMembersHeaderSize;
    for (const Member& m : members) {
        std::memcpy(p, m.mac.data(), m.mac.size());
        put32(p + 8, m.expires_s);
        p += kMemberEntrySize;
    }
    return out;
}

RejectCause decode_members(std::span<const uint8_t> in, std::vector<Member>* out) noexcept {
    if (in.size() > kMembersHeaderSize + kMaxMembers * kMemberEntrySize)
        return RejectCause::oversized;
    if (in.size() < kMembersHeaderSize)
        return RejectCause::truncated;
    if (std::memcmp(in.data(), kMembersMagic.data(), kMembersMagic.size()) != 0 || in[4] != kMembersVersion)
        return RejectCause::foreign;
    if (in[5] != 0 || in[6] != 0 || in[7] != 0)
        return RejectCause::malformed;
    const size_t count = get32(in.data() + 8);
    if (count > kMaxMembers)
        return RejectCause::oversized;
    const size_t need = kMembersHeaderSize + count * kMemberEntrySize;
    if (in.size() < need)
        return RejectCause::truncated;
    if (in.size() > need)
        return RejectCause::malformed;
    std::vector<Member> set(count);
    const uint8_t* p = in.data() + kMembersHeaderSize;
    for (size_t i = 0; i < count; i++, p += kMemberEntrySize) {
        std::memcpy(set[i].mac.data(), p, 6);
        set[i].expires_s = get32(p + 8);
        if (p[6] != 0 || p[7] != 0 || !valid_unicast_mac(set[i].mac) ||
            (i > 0 && !(set[i - 1].mac < set[i].mac)))
            return RejectCause::malformed;
    }
    *out = std::move(set);
    return RejectCause::none;
}

bool members_join(std::vector<Member>* set, const Mac& mac, uint32_t expires_s, uint32_t now_s) {
    drop_expired(set, now_s);
    auto it = std::lower_bound(set->begin(), set->end(), mac,
                               [](const Member& m, const Mac& k) { return m.mac < k; });
    if (it != set->end() && it->mac == mac) {
        it->expires_s = std::max(it->expires_s, expires_s);
        return true;
    }
    if (set->size() >= kMaxMembers)
        return false;
    set->insert(it, Member{mac, expires_s});
    return true;
}

void members_leave(std::vector<Member>* set, const Mac& mac, uint32_t now_s) {
    drop_expired(set, now_s);
    std::erase_if(*set, [&mac](const Member& m) { return m.mac == mac; });
}

}  // namespace rdmaud::registry
