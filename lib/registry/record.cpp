/* SPDX-License-Identifier: BSD-3-Clause */
// The endpoint record codec. Layout: record.h. Every field read from the wire is bounds-checked
// before use; the decoder never indexes past `in` and never allocates more than kMaxQueues QPNs.
#include "record.h"

#include <openssl/rand.h>

#include <cstring>
#include <ctime>

#include <unistd.h>

#include "hmac.h"

namespace rdmaud::registry {
namespace {

// Domain separation: a tag over a record can never be confused with a tag over anything else
// the same key might sign, and the namespace is bound in so records cannot move between them.
constexpr std::string_view kHmacDomain = "rdmaud-registry-record-v1";

// Field offsets of the fixed header (see the table in record.h).
constexpr size_t kOffMagic = 0, kOffVersion = 4, kOffFlags = 5, kOffLink = 6, kOffQueues = 7,
                 kOffMac = 8, kOffNameLen = 14, kOffReserved1 = 15, kOffAddr = 16, kOffQkey = 32,
                 kOffMtu = 36, kOffReserved2 = 38, kOffTtl = 40, kOffReserved3 = 44,
                 kOffIncarnation = 48, kOffPublish = 56;
static_assert(kOffPublish + 8 == kRecordHeaderSize, "record: header fields fill 64 bytes");

void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i)); }
void put64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (56 - 8 * i)); }
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) << 32 | get32(p + 4); }

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool compute_tag(const HmacKey& key, std::string_view ns, std::span<const uint8_t> body, HmacTag* tag) {
    const uint8_t ns_len = static_cast<uint8_t>(ns.size());
    return hmac_sha256(key, {bytes_of(kHmacDomain), std::span<const uint8_t>(&ns_len, 1), bytes_of(ns), body},
                       tag);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

const char* reject_cause_name(RejectCause c) noexcept {
    switch (c) {
    case RejectCause::none: return "none";
    case RejectCause::truncated: return "truncated";
    case RejectCause::oversized: return "oversized";
    case RejectCause::foreign: return "foreign";
    case RejectCause::malformed: return "malformed";
    case RejectCause::bad_hmac: return "bad_hmac";
    case RejectCause::missing_hmac: return "missing_hmac";
    case RejectCause::mismatch: return "mismatch";
    case RejectCause::count_: break;
    }
    return "unknown";
}

bool valid_name(std::string_view s) noexcept {
    if (s.size() > kMaxNameLen)
        return false;
    for (char c : s)
        if (!name_char(c))
            return false;
    return true;
}

bool valid_namespace(std::string_view s) noexcept { return !s.empty() && valid_name(s); }

bool valid_unicast_mac(const Mac& m) noexcept {
    if (m[0] & 0x01)
        return false;  // group (multicast/broadcast) bit
    for (uint8_t b : m)
        if (b != 0)
            return true;
    return false;
}

RejectCause validate(const EndpointRecord& r) noexcept {
    if (!valid_unicast_mac(r.mac) || r.qpns.empty() || r.qpns.size() > kMaxQueues ||
        !valid_name(r.name) || r.mtu < kMinMtu || r.mtu > kMaxMtu || r.ttl_s == 0 ||
        r.ttl_s > kMaxTtlSeconds || r.incarnation == 0)
        return RejectCause::malformed;
    for (uint32_t q : r.qpns)
        if (q == 0 || q > kMaxQpn)
            return RejectCause::malformed;
    switch (r.link) {
    case LinkLayer::roce:
        if (r.lid != 0)
            return RejectCause::malformed;
        break;
    case LinkLayer::ib:
        if (r.lid == 0 || r.lid > kMaxUnicastLid || r.gid != Gid{})
            return RejectCause::malformed;
        break;
    default:
        return RejectCause::malformed;
    }
    return RejectCause::none;
}

bool encode_record(const EndpointRecord& r, std::string_view ns, const HmacKey& key,
                   std::vector<uint8_t>* out) noexcept {
    if (validate(r) != RejectCause::none || !valid_namespace(ns))
        return false;
    const size_t body = kRecordHeaderSize + 4 * r.qpns.size() + r.name.size();
    out->assign(body + (key.empty() ? 0 : kHmacSize), 0);
    uint8_t* p = out->data();
    std::memcpy(p + kOffMagic, kRecordMagic.data(), kRecordMagic.size());
    p[kOffVersion] = kRecordVersion;
    p[kOffFlags] = key.empty() ? 0 : kFlagHmac;
    p[kOffLink] = static_cast<uint8_t>(r.link);
    p[kOffQueues] = static_cast<uint8_t>(r.qpns.size());
    std::memcpy(p + kOffMac, r.mac.data(), r.mac.size());
    p[kOffNameLen] = static_cast<uint8_t>(r.name.size());
    if (r.link == LinkLayer::roce)
        std::memcpy(p + kOffAddr, r.gid.data(), r.gid.size());
    else
        put16(p + kOffAddr, r.lid);
    put32(p + kOffQkey, r.qkey);
    put16(p + kOffMtu, r.mtu);
    put32(p + kOffTtl, r.ttl_s);
    put64(p + kOffIncarnation, r.incarnation);
    put64(p + kOffPublish, r.publish_ms);
    size_t off = kRecordHeaderSize;
    for (uint32_t q : r.qpns) {
        put32(p + off, q);
        off += 4;
    }
    std::memcpy(p + off, r.name.data(), r.name.size());
    if (!key.empty()) {
        HmacTag tag;
        if (!compute_tag(key, ns, {p, body}, &tag))
            return false;
        std::memcpy(p + body, tag.data(), tag.size());
    }
    return true;
}

RejectCause decode_record(std::span<const uint8_t> in, std::string_view ns, const HmacKey& key,
                          EndpointRecord* out) noexcept {
    if (in.size() > kMaxRecordSize)
        return RejectCause::oversized;
    // Magic and version first: a foreign value is reported as such even when short.
    if (in.size() < kOffVersion + 1)
        return in.size() >= kRecordMagic.size() &&
                       std::memcmp(in.data(), kRecordMagic.data(), kRecordMagic.size()) != 0
                   ? RejectCause::foreign
                   : RejectCause::truncated;
    if (std::memcmp(in.data() + kOffMagic, kRecordMagic.data(), kRecordMagic.size()) != 0 ||
        in[kOffVersion] != kRecordVersion)
        return RejectCause::foreign;
    if (in.size() < kRecordHeaderSize)
        return RejectCause::truncated;
    const uint8_t* p = in.data();
    const uint8_t flags = p[kOffFlags];
    const size_t nq = p[kOffQueues];
    const size_t name_len = p[kOffNameLen];
    if ((flags & ~kFlagHmac) != 0 || nq == 0 || nq > kMaxQueues || name_len > kMaxNameLen ||
        p[kOffReserved1] != 0 || get16(p + kOffReserved2) != 0 || get32(p + kOffReserved3) != 0)
        return RejectCause::malformed;
    const size_t body = kRecordHeaderSize + 4 * nq + name_len;
    const bool has_tag = (flags & kFlagHmac) != 0;
    const size_t total = body + (has_tag ? kHmacSize : 0);
    if (in.size() < total)
        return RejectCause::truncated;
    if (in.size() > total)
        return RejectCause::malformed;  // trailing bytes: never silently ignored
    // Authenticate before interpreting anything else: an unkeyed writer learns nothing more.
    if (!key.empty()) {
        if (!has_tag)
            return RejectCause::missing_hmac;
        HmacTag tag;
        if (!compute_tag(key, ns, in.first(body), &tag) || !tags_equal(tag, in.subspan(body, kHmacSize)))
            return RejectCause::bad_hmac;
    }
    EndpointRecord r;
    std::memcpy(r.mac.data(), p + kOffMac, r.mac.size());
    const uint8_t link = p[kOffLink];
    if (link == static_cast<uint8_t>(LinkLayer::roce)) {
        r.link = LinkLayer::roce;
        std::memcpy(r.gid.data(), p + kOffAddr, r.gid.size());
    } else if (link == static_cast<uint8_t>(LinkLayer::ib)) {
        r.link = LinkLayer::ib;
        r.lid = get16(p + kOffAddr);
        for (size_t i = 2; i < 16; i++)
            if (p[kOffAddr + i] != 0)
                return RejectCause::malformed;
    } else {
        return RejectCause::malformed;
    }
    r.qkey = get32(p + kOffQkey);
    r.mtu = get16(p + kOffMtu);
    r.ttl_s = get32(p + kOffTtl);
    r.incarnation = get64(p + kOffIncarnation);
    r.publish_ms = get64(p + kOffPublish);
    r.qpns.resize(nq);
    for (size_t i = 0; i < nq; i++)
        r.qpns[i] = get32(p + kRecordHeaderSize + 4 * i);
    r.name.assign(reinterpret_cast<const char*>(p + kRecordHeaderSize + 4 * nq), name_len);
    if (validate(r) != RejectCause::none)
        return RejectCause::malformed;
    *out = std::move(r);
    return RejectCause::none;
}

std::string format_mac(const Mac& m) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < m.size(); i++) {
        if (i)
            s += ':';
        s += kHex[m[i] >> 4];
        s += kHex[m[i] & 15];
    }
    return s;
}

bool parse_mac(std::string_view s, Mac* out) noexcept {
    if (s.size() != 17)
        return false;
    Mac m;
    for (size_t i = 0; i < 6; i++) {
        const int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return false;
        m[i] = uint8_t(hi << 4 | lo);
    }
    *out = m;
    return true;
}

std::string format_gid(const Gid& g) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < g.size(); i++) {
        if (i && i % 2 == 0)
            s += ':';
        s += kHex[g[i] >> 4];
        s += kHex[g[i] & 15];
    }
    return s;
}

bool parse_gid(std::string_view s, Gid* out) noexcept {
    if (s.size() != 39)
        return false;
    Gid g;
    for (size_t i = 0; i < 8; i++) {
        for (size_t j = 0; j < 2; j++) {
            const int hi = hex_digit(s[5 * i + 2 * j]), lo = hex_digit(s[5 * i + 2 * j + 1]);
            if (hi < 0 || lo < 0)
                return false;
            g[2 * i + j] = uint8_t(hi << 4 | lo);
        }
        if (i < 7 && s[5 * i + 4] != ':')
            return false;
    }
    *out = g;
    return true;
}

uint64_t new_incarnation() noexcept {
    for (int attempt = 0; attempt < 4; attempt++) {
        uint64_t v = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) == 1 && v != 0)
            return v;
    }
    // OpenSSL's CSPRNG failed (unseeded?): time + pid still differs across restarts.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t v = (uint64_t(ts.tv_sec) << 32 ^ uint64_t(ts.tv_nsec)) ^ (uint64_t(getpid()) << 44);
    return v ? v : 1;
}

}  // namespace rdmaud::registry
