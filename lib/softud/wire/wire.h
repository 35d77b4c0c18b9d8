/* SPDX-License-Identifier: BSD-3-Clause */
// softud wire codec: RoCEv2 UD datagrams (BTH|DETH|[ImmDt]|payload|pad|ICRC in UDP/4791) and
// softud's InfiniBand-mode encapsulation (LRH|[GRH]|BTH|DETH|[ImmDt]|payload|pad|ICRC in UDP).
//
// Pure functions: no sockets, no verbs, no allocation, no exceptions. Everything here is on the
// device's data path. Byte-level layout and rationale: doc/design/softud-wire.md.
//
// Conventions:
//  - IPv4 addresses are in network byte order (`*_be`, as in sockaddr_in::sin_addr.s_addr);
//    ports, IP ID, QPNs, PSN, P_Key, Q_Key, LIDs are host-order numbers.
//  - `imm_be` is the immediate exactly as in ibv_send_wr::imm_data / ibv_wc::imm_data (already in
//    network order): its in-memory bytes are the bytes on the wire.
//  - ICRC values are returned as the 32-bit number whose little-endian bytes are the wire bytes.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace softud::wire {

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

// IANA-assigned RoCEv2 UDP destination port; what real NICs, tshark and scapy expect.
inline constexpr uint16_t kRoceV2UdpPort = 4791;
// softud IB-mode datagrams start with an LRH, not a BTH: a distinct port keeps tshark's
// RoCEv2 dissector (and real RoCE NICs) from misreading them (see doc/design/softud-wire.md).
inline constexpr uint16_t kIbModeUdpPort = 4792;

inline constexpr size_t kBthLen = 12;   // IBA Base Transport Header.
inline constexpr size_t kDethLen = 8;   // IBA Datagram Extended Transport Header (UD).
inline constexpr size_t kImmLen = 4;    // IBA Immediate Data extended header.
inline constexpr size_t kIcrcLen = 4;   // Invariant CRC trailer.
inline constexpr size_t kGrhLen = 40;   // IBA Global Route Header; also the UD receive-buffer GRH.
inline constexpr size_t kLrhLen = 8;    // IBA Local Route Header.
inline constexpr size_t kGidLen = 16;   // A GID is an IPv6-sized address.
inline constexpr size_t kIpv4HdrLen = 20;  // IPv4 header without options (what Linux sends).
inline constexpr size_t kUdpHdrLen = 8;    // UDP header.
inline constexpr size_t kMaxPad = 3;       // Pad brings the payload to a 4-byte multiple.

// BTH opcodes: transport UD (0b011) and the two operations UD supports.
inline constexpr uint8_t kOpUdSendOnly = 0x64;
inline constexpr uint8_t kOpUdSendOnlyImm = 0x65;
// Default full-membership partition key (the only one softud's ports have).
inline constexpr uint16_t kDefaultPkey = 0xffff;
// GRH next-header value meaning "IBA transport headers follow".
inline constexpr uint8_t kGrhNextHeaderIba = 0x1b;
// LRH LNH values: IBA local (BTH follows) and IBA global (GRH follows).
inline constexpr uint8_t kLnhIbaLocal = 0x2;
inline constexpr uint8_t kLnhIbaGlobal = 0x3;
// QPNs and PSNs are 24-bit fields.
inline constexpr uint32_t kQpnMask = 0x00ffffff;
inline constexpr uint32_t kPsnMask = 0x00ffffff;
// Largest IBA MTU; the codec itself accepts any length, the device enforces its port MTU.
inline constexpr size_t kMaxMtu = 4096;

// Headers the sender puts before the payload (no GRH/LRH: RoCE mode).
inline constexpr size_t kMaxRoceHeaderLen = kBthLen + kDethLen + kImmLen;
// Headers before the payload in IB mode (LRH + GRH + BTH + DETH + ImmDt).
inline constexpr size_t kMaxIbHeaderLen = kLrhLen + kGrhLen + kMaxRoceHeaderLen;
// What follows the payload: pad then ICRC.
inline constexpr size_t kMaxTrailerLen = kMaxPad + kIcrcLen;
// Worst-case bytes added to a payload inside the UDP datagram, per mode.
inline constexpr size_t kMaxRoceOverhead = kMaxRoceHeaderLen + kMaxTrailerLen;
inline constexpr size_t kMaxIbOverhead = kMaxIbHeaderLen + kMaxTrailerLen;

static_assert(kMaxRoceHeaderLen == 24 && kMaxIbHeaderLen == 72 && kMaxTrailerLen == 7);
static_assert(kMaxRoceHeaderLen % 4 == 0 && kMaxIbHeaderLen % 4 == 0,
              "headers are whole words, so pad depends only on the payload length");

// ---------------------------------------------------------------------------------------------
// Header values
// ---------------------------------------------------------------------------------------------

// The transport-level content of one UD SEND (what BTH/DETH/ImmDt carry).
struct UdHeader {
    bool with_imm = false;       // opcode 0x65 (ImmDt present) instead of 0x64
    bool solicited = false;      // BTH SE bit
    uint16_t pkey = kDefaultPkey;
    uint32_t dest_qpn = 0;       // 24 bits
    uint32_t psn = 0;            // 24 bits
    uint32_t qkey = 0;
    uint32_t src_qpn = 0;        // 24 bits
    uint32_t imm_be = 0;         // network order, as ibv_send_wr::imm_data
};

// The IPv4/UDP fields that enter the RoCEv2 ICRC. Sender and receiver each rebuild them.
// Total length and UDP length are derived from the datagram length; protocol is 17; TOS, TTL
// and the checksums are masked by the ICRC rules so they are not needed.
struct Ipv4Pseudo {
    uint32_t saddr_be = 0;
    uint32_t daddr_be = 0;
    uint16_t sport = 0;                 // host order
    uint16_t dport = kRoceV2UdpPort;    // host order
    uint16_t ip_id = 0;                 // host order; 0 for unconnected DF sends on Linux
    bool df = true;                     // IP flags: DF; fragment offset is always 0
    // Receiver only: the IP ID was not seen (a UDP socket does not show it). The ICRC covers
    // it, and senders other than Linux UDP sockets (rxe, NICs) set it: the datagram is
    // accepted when ip_id, or some other 16-bit ID, gives the received ICRC (icrc_id_for).
    bool ip_id_unknown = false;
};

// IB-mode LRH fields the sender chooses (LVer 0; LNH and PktLen are derived).
struct IbLrh {
    uint8_t vl = 0;      // 4 bits
    uint8_t sl = 0;      // 4 bits
    uint16_t dlid = 0;
    uint16_t slid = 0;
};

// IB-mode GRH fields the sender chooses (IPVer 6, NxtHdr 0x1B and PayLen are derived).
struct IbGrh {
    uint8_t tclass = 0;
    uint32_t flow_label = 0;   // 20 bits
    uint8_t hop_limit = 0;
    uint8_t sgid[kGidLen] = {};
    uint8_t dgid[kGidLen] = {};
};

// ---------------------------------------------------------------------------------------------
// Lengths
// ---------------------------------------------------------------------------------------------

// Pad bytes after a payload of `payload_len` bytes.
constexpr uint8_t pad_len(size_t payload_len) noexcept {
    return static_cast<uint8_t>((4 - (payload_len & 3)) & 3);
}
// BTH + DETH [+ ImmDt].
constexpr size_t roce_header_len(bool with_imm) noexcept {
    return kBthLen + kDethLen + (with_imm ? kImmLen : 0);
}
// LRH [+ GRH] + BTH + DETH [+ ImmDt].
constexpr size_t ib_header_len(bool with_grh, bool with_imm) noexcept {
    return kLrhLen + (with_grh ? kGrhLen : 0) + roce_header_len(with_imm);
}
// Pad + ICRC after a payload of `payload_len` bytes.
constexpr size_t trailer_len(size_t payload_len) noexcept {
    return pad_len(payload_len) + kIcrcLen;
}
// Whole UDP payload of a RoCEv2 UD datagram.
constexpr size_t roce_datagram_len(bool with_imm, size_t payload_len) noexcept {
    return roce_header_len(with_imm) + payload_len + trailer_len(payload_len);
}
// Whole UDP payload of an IB-mode datagram.
constexpr size_t ib_datagram_len(bool with_grh, bool with_imm, size_t payload_len) noexcept {
    return ib_header_len(with_grh, with_imm) + payload_len + trailer_len(payload_len);
}

// ---------------------------------------------------------------------------------------------
// Encode (sender). Typical use, no payload copy:
//   uint8_t hdr[kMaxRoceHeaderLen], trl[kMaxTrailerLen];
//   size_t h = encode_roce_headers(ud, len, hdr);
//   iovec v[] = {{hdr, h}, {sge1, n1}, ..., {sgeK, nK}, {trl, 0}};
//   v[K+1].iov_len = finish_roce_v4_trailer(ip, {v, K+1}, trl);
//   sendmmsg(... v ...);
// ---------------------------------------------------------------------------------------------

// Writes BTH|DETH|[ImmDt] for a payload of `payload_len` bytes (pad count set accordingly).
// Returns the number of bytes written, 0 if `out` is too small.
size_t encode_roce_headers(const UdHeader& ud, size_t payload_len, std::span<uint8_t> out) noexcept;

// Writes LRH|[GRH]|BTH|DETH|[ImmDt] (GRH iff `grh` is non-null). LRH PktLen and GRH PayLen are
// computed from `payload_len`. Returns bytes written, 0 if `out` is too small or the packet
// length does not fit the 11-bit PktLen.
size_t encode_ib_headers(const IbLrh& lrh, const IbGrh* grh, const UdHeader& ud,
                         size_t payload_len, std::span<uint8_t> out) noexcept;

// RoCEv2/IPv4 ICRC over `segments` = the UDP payload from the BTH through the pad inclusive
// (ICRC excluded), in any segmentation. Lengths in the pseudo IPv4/UDP headers are derived from
// the segments' total plus kIcrcLen.
uint32_t icrc_roce_v4(const Ipv4Pseudo& ip, std::span<const iovec> segments) noexcept;
uint32_t icrc_roce_v4(const Ipv4Pseudo& ip, std::span<const uint8_t> bth_through_pad) noexcept;

// IB-mode ICRC per the IBA variant-field rules over `segments` = LRH through pad inclusive, in
// any segmentation. Local packet (no GRH): LRH VL and BTH resv8a masked to ones. Global packet
// (GRH): the whole LRH (routers rewrite it), GRH TClass/FlowLabel/HopLmt and BTH resv8a masked;
// this equals the RoCEv1 ICRC of the same GRH|BTH|... packet.
uint32_t icrc_ib(std::span<const iovec> segments) noexcept;
uint32_t icrc_ib(std::span<const uint8_t> lrh_through_pad) noexcept;

// The IP ID a RoCEv2/IPv4 datagram was sent with, recovered from its ICRC when the receiver
// cannot see the IP header. `icrc_with_id` is the ICRC computed with ip.ip_id, `received` the
// datagram's; `icrc_len_bytes` the ICRC's input length (the 8-byte LRH stand-in, IPv4 and UDP
// headers, BTH through pad). The CRC is affine in its input, so the ID's contribution is a
// linear map of its 16 bits: solving it costs a few hundred operations, cached per length.
// Returns false when no ID gives `received` (a corrupted datagram: a random error passes with
// probability 2^-16, where a known ID leaves 2^-32).
bool icrc_id_for(uint32_t icrc_with_id, uint32_t received, size_t icrc_len_bytes,
                 uint16_t& id_delta) noexcept;
// The ICRC's input length for a RoCEv2/IPv4 datagram whose UDP payload (BTH through ICRC) is
// `udp_payload_len` bytes.
size_t roce_v4_icrc_input_len(size_t udp_payload_len) noexcept;

// Writes pad (zeros) and ICRC into `trailer` given `segments` = headers + payload (no pad).
// Returns the trailer length (pad + 4), 0 if `trailer` is too small.
size_t finish_roce_v4_trailer(const Ipv4Pseudo& ip, std::span<const iovec> segments,
                              std::span<uint8_t> trailer) noexcept;
size_t finish_ib_trailer(std::span<const iovec> segments, std::span<uint8_t> trailer) noexcept;

// ---------------------------------------------------------------------------------------------
// Parse (receiver)
// ---------------------------------------------------------------------------------------------

// Why a datagram is dropped (or ok). Stable order: usable as a counter index.
enum class ParseResult : uint8_t {
    ok = 0,
    truncated,      // shorter than the headers + ICRC its opcode/LNH requires
    bad_version,    // BTH TVer != 0 (or LRH LVer != 0, GRH IPVer != 6)
    bad_opcode,     // not a UD SEND-only [with immediate]
    bad_pad,        // pad count larger than what follows the headers
    bad_length,     // not a multiple of 4, or LRH PktLen / GRH PayLen disagree with the length
    bad_icrc,       // ICRC mismatch
    bad_lnh,        // IB mode: LNH is not IBA local/global
    bad_next_header,  // IB mode: GRH NxtHdr != 0x1B
    count_          // number of values; not a result
};
inline constexpr size_t kParseResultCount = static_cast<size_t>(ParseResult::count_);

// Short stable name ("ok", "truncated", ...), for counters and test output.
const char* to_string(ParseResult r) noexcept;

// A parsed RoCEv2 UD datagram. Offsets are from the start of the UDP payload.
struct Parsed {
    UdHeader ud;
    uint8_t pad = 0;
    uint32_t payload_offset = 0;
    uint32_t payload_len = 0;
    uint16_t ip_id = 0;     // RoCEv2: the IP ID its ICRC was computed with (recovered if unknown)
};

// A parsed IB-mode datagram.
struct ParsedIb {
    Parsed base;            // transport fields, payload offset/length
    uint8_t vl = 0;
    uint8_t sl = 0;
    uint16_t dlid = 0;
    uint16_t slid = 0;
    bool has_grh = false;
    uint32_t grh_offset = 0;  // if has_grh: the 40 GRH bytes start here (LRH is at offset 0)
    IbGrh grh;              // if has_grh: decoded fields
};

// Full check of one RoCEv2 UD datagram (UDP payload as received) incl. ICRC against `ip`
// (`check_icrc` false: everything but the ICRC, for datagrams that crossed no wire).
ParseResult parse_roce_v4(std::span<const uint8_t> udp_payload, const Ipv4Pseudo& ip,
                          Parsed& out, bool check_icrc = true) noexcept;

// Header-only check for callers that receive scattered: `head` holds at least the first
// kMaxRoceHeaderLen bytes (or the whole datagram if shorter), `datagram_len` is the UDP payload
// length. No ICRC check: verify with icrc_roce_v4 and load_icrc.
ParseResult parse_roce_headers(std::span<const uint8_t> head, size_t datagram_len,
                               Parsed& out) noexcept;

// Full check of one IB-mode datagram (UDP payload as received) incl. ICRC (unless `check_icrc`
// is false).
ParseResult parse_ib(std::span<const uint8_t> udp_payload, ParsedIb& out, bool check_icrc = true) noexcept;

// The ICRC stored in the last 4 bytes of `datagram` (precondition: size >= 4).
uint32_t load_icrc(std::span<const uint8_t> datagram) noexcept;

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

// GID of a RoCEv2 IPv4 port: ::ffff:a.b.c.d.
void ipv4_mapped_gid(uint32_t addr_be, std::span<uint8_t, kGidLen> gid) noexcept;
// The IPv4 address of an IPv4-mapped GID; nullopt for any other GID.
std::optional<uint32_t> gid_to_ipv4(std::span<const uint8_t, kGidLen> gid) noexcept;

// The 40 bytes a RoCEv2 IPv4 UD receive puts before the payload: bytes 0-19 zero, 20-39 an
// IPv4 header (version 4, IHL 5, protocol UDP, header checksum) as ibv_init_ah_from_wc parses it.
// The checksum is computed as rdma-core verifies it (single carry fold), which equals the
// RFC 791 value except in rare headers where rdma-core's rule differs by one.
// `udp_payload_len` is the whole UDP payload (BTH..ICRC), for the IP total length.
void build_ipv4_grh(const Ipv4Pseudo& ip, size_t udp_payload_len, uint8_t tos, uint8_t ttl,
                    std::span<uint8_t, kGrhLen> out) noexcept;

// IB-mode LID mapping. A device's LID is the low 16 bits of its IPv4 address (third octet high,
// fourth low); the peer with LID L is at (own first two octets).L>>8.L&0xff.
// LID 0 (reserved) and 0xFFFF (permissive) are not assignable.
constexpr bool lid_valid(uint16_t lid) noexcept { return lid != 0 && lid != 0xffff; }
std::optional<uint16_t> lid_from_ipv4(uint32_t addr_be) noexcept;
std::optional<uint32_t> ipv4_from_lid(uint32_t own_addr_be, uint16_t lid) noexcept;

}  // namespace softud::wire
