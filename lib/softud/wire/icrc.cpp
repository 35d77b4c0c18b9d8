/* SPDX-License-Identifier: BSD-3-Clause */
// ICRC computation (RoCEv2/IPv4 and IB mode) over scattered segments, with zlib's CRC-32.
//
// The ICRC is the ordinary CRC-32 (zlib/Ethernet: reflected 0x04C11DB7, init and final
// inversion) over the masked headers and the rest of the packet; zlib's result is already the
// inverted value the IBA stores, so the ICRC is crc32() itself, sent little-endian.
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "bytes.h"
#include "layout.h"
#include "wire.h"

namespace softud::wire {
namespace {

using namespace detail;
using namespace layout;

// Stand-in for the LRH that RoCE packets do not carry: 8 bytes of ones.
constexpr size_t kRoceMaskedLrhLen = 8;
// Prefix of a RoCEv2/IPv4 ICRC that is built from masked copies: LRH stand-in, IPv4, UDP, BTH.
constexpr size_t kRocePrefixLen = kRoceMaskedLrhLen + kIpv4HdrLen + kUdpHdrLen + kBthLen;
// Prefix of an IB-mode ICRC copied for masking: LRH, GRH, BTH.
constexpr size_t kIbPrefixLen = kLrhLen + kGrhLen + kBthLen;
// IPv4 header constants used in the pseudo header.
constexpr uint8_t kIpv4VerIhl = 0x45;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint16_t kIpFlagDf = 0x4000;

// Reads a list of segments front to back.
class SegmentReader {
public:
    explicit SegmentReader(std::span<const iovec> segs) noexcept : segs_(segs) {}

    // Copies up to n bytes into dst; returns how many were available.
    size_t copy(uint8_t* dst, size_t n) noexcept {
        size_t done = 0;
        while (done < n && idx_ < segs_.size()) {
            const iovec& v = segs_[idx_];
            size_t take = std::min(n - done, v.iov_len - off_);
            if (take != 0)
                std::memcpy(dst + done, static_cast<const uint8_t*>(v.iov_base) + off_, take);
            done += take;
            off_ += take;
            if (off_ == v.iov_len) {
                ++idx_;
                off_ = 0;
            }
        }
        return done;
    }

    // Continues `crc` over everything not yet read.
    uLong crc_rest(uLong crc) noexcept {
        for (; idx_ < segs_.size(); ++idx_, off_ = 0) {
            const iovec& v = segs_[idx_];
            const auto* p = static_cast<const Bytef*>(v.iov_base) + off_;
            size_t left = v.iov_len - off_;
            while (left != 0) {  // zlib's length is uInt: feed in chunks
                uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
                crc = crc32(crc, p, chunk);
                p += chunk;
                left -= chunk;
            }
        }
        return crc;
    }

private:
    std::span<const iovec> segs_;
    size_t idx_ = 0;
    size_t off_ = 0;
};

size_t total_len(std::span<const iovec> segs) noexcept {
    size_t n = 0;
    for (const iovec& v : segs)
        n += v.iov_len;
    return n;
}

void mask_bth(uint8_t* bth, size_t have) noexcept {
    if (have > kBthResv8a)
        bth[kBthResv8a] = 0xff;
}

// Continues `crc` over `n` zero bytes (n <= kMaxPad).
uLong crc_zeros(uLong crc, size_t n) noexcept {
    static constexpr uint8_t kZeros[kMaxPad] = {};
    return n == 0 ? crc : crc32(crc, kZeros, static_cast<uInt>(n));
}

// RoCEv2/IPv4 ICRC over segments followed by `zeros` zero bytes (the pad, when the caller's
// segments stop at the payload).
uint32_t roce_icrc(const Ipv4Pseudo& ip, std::span<const iovec> segments, size_t zeros) noexcept {
    const size_t udp_len = kUdpHdrLen + total_len(segments) + zeros + kIcrcLen;
    const size_t ip_len = kIpv4HdrLen + udp_len;

    uint8_t pre[kRocePrefixLen];
    std::memset(pre, 0xff, kRoceMaskedLrhLen);
    uint8_t* iph = pre + kRoceMaskedLrhLen;
    iph[0] = kIpv4VerIhl;
    iph[1] = 0xff;  // TOS (DSCP/ECN) masked
    store_be16(iph + 2, static_cast<uint16_t>(ip_len));
    store_be16(iph + 4, ip.ip_id);
    store_be16(iph + 6, ip.df ? kIpFlagDf : 0);
    iph[8] = 0xff;  // TTL masked
    iph[9] = kIpProtoUdp;
    iph[10] = iph[11] = 0xff;  // header checksum masked
    std::memcpy(iph + 12, &ip.saddr_be, 4);
    std::memcpy(iph + 16, &ip.daddr_be, 4);
    uint8_t* udph = iph + kIpv4HdrLen;
    store_be16(udph + 0, ip.sport);
    store_be16(udph + 2, ip.dport);
    store_be16(udph + 4, static_cast<uint16_t>(udp_len));
    udph[6] = udph[7] = 0xff;  // UDP checksum masked

    SegmentReader rd(segments);
    uint8_t* bth = udph + kUdpHdrLen;
    size_t have = rd.copy(bth, kBthLen);
    mask_bth(bth, have);

    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, pre, static_cast<uInt>(kRocePrefixLen - kBthLen + have));
    return static_cast<uint32_t>(crc_zeros(rd.crc_rest(crc), zeros));
}

// IB-mode ICRC over segments followed by `zeros` zero bytes.
uint32_t ib_icrc(std::span<const iovec> segments, size_t zeros) noexcept {
    uint8_t pre[kIbPrefixLen];
    SegmentReader rd(segments);
    size_t have = rd.copy(pre, kLrhLen);
    if (have == kLrhLen) {
        const bool grh = (pre[kLrhSlLnh] & kLrhLnhMask) == kLnhIbaGlobal;
        if (grh)
            std::memset(pre, 0xff, kLrhLen);  // global packet: routers may rewrite all of LRH
        else
            pre[kLrhVlLver] |= kLrhVlMask;    // local packet: only VL varies (LVer kept)
        const size_t got = rd.copy(pre + kLrhLen, (grh ? kGrhLen : 0) + kBthLen);
        uint8_t* p = pre + kLrhLen;
        size_t bth_have = got;
        if (grh) {
            // TClass and FlowLabel masked (IPVer kept), HopLmt masked.
            static constexpr uint8_t kGrhMask[kGrhHopLimit + 1] = {0x0f, 0xff, 0xff, 0xff,
                                                                  0x00, 0x00, 0x00, 0xff};
            for (size_t i = 0; i < std::min(got, sizeof kGrhMask); ++i)
                p[i] |= kGrhMask[i];
            p += kGrhLen;
            bth_have = got > kGrhLen ? got - kGrhLen : 0;
        }
        mask_bth(p, bth_have);
        have += got;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, pre, static_cast<uInt>(have));
    return static_cast<uint32_t>(crc_zeros(rd.crc_rest(crc), zeros));
}

size_t finish_trailer(size_t seg_len, std::span<uint8_t> trailer, uint32_t (*icrc)(size_t pad,
                      const void* ctx), const void* ctx) noexcept {
    const size_t pad = pad_len(seg_len);
    if (trailer.size() < pad + kIcrcLen)
        return 0;
    std::memset(trailer.data(), 0, pad);
    store_le32(trailer.data() + pad, icrc(pad, ctx));
    return pad + kIcrcLen;
}

// Where the IP ID sits in a RoCEv2/IPv4 ICRC's input: after the LRH stand-in, 4 bytes into
// the IPv4 header; kIdLen bytes.
constexpr size_t kIcrcIdOffset = kRoceMaskedLrhLen + 4;
constexpr size_t kIdLen = 2;

// For one ICRC input length: the 16 ICRC differences each ID bit makes, as an XOR basis
// indexed by its top bit (val), with the ID bits that make it (mask).
struct IdBasis {
    size_t len = 0;
    uint32_t have = 0;  // bit b: val[b] is set
    uint32_t val[32];
    uint16_t mask[32];
};

void build_id_basis(IdBasis& b, size_t len) noexcept {
    b.len = len;
    b.have = 0;
    // The CRC of ID||rest differs from that of 0||rest by the difference of the two IDs'
    // CRCs carried over the bytes after the ID (zlib's combine operator); what precedes the
    // ID cancels.
    const uLong shift = crc32_combine_gen(static_cast<z_off_t>(len - kIcrcIdOffset - kIdLen));
    const uint8_t zero[kIdLen] = {};
    const uLong c0 = crc32(0L, zero, kIdLen);
    for (unsigned i = 0; i < 16; ++i) {
        uint8_t id[kIdLen];
        store_be16(id, static_cast<uint16_t>(1u << i));
        uint32_t v = static_cast<uint32_t>(crc32_combine_op(crc32(0L, id, kIdLen) ^ c0, 0, shift));
        uint16_t m = static_cast<uint16_t>(1u << i);
        for (int bit = 31; bit >= 0 && v != 0; --bit) {
            if (((v >> bit) & 1) == 0)
                continue;
            if ((b.have >> bit) & 1) {
                v ^= b.val[bit];
                m ^= b.mask[bit];
                continue;
            }
            b.val[bit] = v;
            b.mask[bit] = m;
            b.have |= 1u << bit;
            break;
        }
    }
}

}  // namespace

size_t roce_v4_icrc_input_len(size_t udp_payload_len) noexcept {
    return kRoceMaskedLrhLen + kIpv4HdrLen + kUdpHdrLen + udp_payload_len - kIcrcLen;
}

bool icrc_id_for(uint32_t icrc_with_id, uint32_t received, size_t icrc_len_bytes,
                 uint16_t& id_delta) noexcept {
    uint32_t d = icrc_with_id ^ received;
    id_delta = 0;
    if (d == 0)
        return true;
    if (icrc_len_bytes < kIcrcIdOffset + kIdLen)
        return false;
    thread_local IdBasis basis;  // per receiving thread; a drain is mostly one size
    if (basis.len != icrc_len_bytes)
        build_id_basis(basis, icrc_len_bytes);
    uint16_t m = 0;
    for (int bit = 31; bit >= 0; --bit) {
        if (((d >> bit) & 1) == 0)
            continue;
        if (((basis.have >> bit) & 1) == 0)
            return false;
        d ^= basis.val[bit];
        m ^= basis.mask[bit];
    }
    id_delta = m;
    return true;
}

uint32_t icrc_roce_v4(const Ipv4Pseudo& ip, std::span<const iovec> segments) noexcept {
    return roce_icrc(ip, segments, 0);
}

uint32_t icrc_roce_v4(const Ipv4Pseudo& ip, std::span<const uint8_t> bth_through_pad) noexcept {
    iovec v{const_cast<uint8_t*>(bth_through_pad.data()), bth_through_pad.size()};
    return roce_icrc(ip, std::span<const iovec>(&v, 1), 0);
}

uint32_t icrc_ib(std::span<const iovec> segments) noexcept {
    return ib_icrc(segments, 0);
}

uint32_t icrc_ib(std::span<const uint8_t> lrh_through_pad) noexcept {
    iovec v{const_cast<uint8_t*>(lrh_through_pad.data()), lrh_through_pad.size()};
    return ib_icrc(std::span<const iovec>(&v, 1), 0);
}

size_t finish_roce_v4_trailer(const Ipv4Pseudo& ip, std::span<const iovec> segments,
                              std::span<uint8_t> trailer) noexcept {
    struct Ctx {
        const Ipv4Pseudo* ip;
        std::span<const iovec> segs;
    } ctx{&ip, segments};
    return finish_trailer(total_len(segments), trailer, [](size_t pad, const void* c) noexcept {
        const auto* x = static_cast<const Ctx*>(c);
        return roce_icrc(*x->ip, x->segs, pad);
    }, &ctx);
}

size_t finish_ib_trailer(std::span<const iovec> segments, std::span<uint8_t> trailer) noexcept {
    return finish_trailer(total_len(segments), trailer, [](size_t pad, const void* c) noexcept {
        return ib_icrc(*static_cast<const std::span<const iovec>*>(c), pad);
    }, &segments);
}

}  // namespace softud::wire
