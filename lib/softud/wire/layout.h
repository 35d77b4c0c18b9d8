/* SPDX-License-Identifier: BSD-3-Clause */
// Internal: byte offsets and bit fields of the IBA headers softud puts on the wire.
// Field names follow the IBA specification, volume 1, chapter 9 (BTH, DETH) and 7 (LRH, GRH).
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire.h"

namespace softud::wire::layout {

// BTH: opcode | SE M PadCnt(2) TVer(4) | P_Key(16) | resv8a | DestQP(24) | A resv7 | PSN(24)
inline constexpr size_t kBthOpcode = 0;
inline constexpr size_t kBthFlags = 1;
inline constexpr size_t kBthPkey = 2;
inline constexpr size_t kBthResv8a = 4;   // variant: masked to 0xFF in the ICRC
inline constexpr size_t kBthDestQp = 5;
inline constexpr size_t kBthAckReq = 8;
inline constexpr size_t kBthPsn = 9;
inline constexpr uint8_t kBthSeBit = 0x80;
inline constexpr unsigned kBthPadShift = 4;
inline constexpr uint8_t kBthPadMask = 0x3;
inline constexpr uint8_t kBthTverMask = 0x0f;

// DETH: Q_Key(32) | reserved(8) | SrcQP(24)
inline constexpr size_t kDethQkey = 0;
inline constexpr size_t kDethSrcQp = 5;

// LRH: VL(4) LVer(4) | SL(4) rsv(2) LNH(2) | DLID(16) | rsv(5) PktLen(11) | SLID(16)
inline constexpr size_t kLrhVlLver = 0;
inline constexpr size_t kLrhSlLnh = 1;
inline constexpr size_t kLrhDlid = 2;
inline constexpr size_t kLrhPktLen = 4;
inline constexpr size_t kLrhSlid = 6;
inline constexpr uint8_t kLrhVlMask = 0xf0;    // variant: masked in the ICRC
inline constexpr uint8_t kLrhLnhMask = 0x03;
inline constexpr uint16_t kLrhPktLenMask = 0x07ff;  // 11 bits of 4-byte words

// GRH: IPVer(4) TClass(8) FlowLabel(20) | PayLen(16) | NxtHdr(8) | HopLmt(8) | SGID | DGID
inline constexpr size_t kGrhVerClassFlow = 0;
inline constexpr size_t kGrhPayLen = 4;
inline constexpr size_t kGrhNextHdr = 6;
inline constexpr size_t kGrhHopLimit = 7;
inline constexpr size_t kGrhSgid = 8;
inline constexpr size_t kGrhDgid = 24;
inline constexpr uint8_t kGrhIpVer = 6;
inline constexpr uint32_t kFlowLabelMask = 0x000fffff;

// Wire layouts as byte arrays: sizes pinned so offsets above cannot drift.
struct Bth { uint8_t b[kBthLen]; };
struct Deth { uint8_t b[kDethLen]; };
struct Lrh { uint8_t b[kLrhLen]; };
struct Grh { uint8_t b[kGrhLen]; };
static_assert(sizeof(Bth) == 12 && kBthPsn + 3 == kBthLen);
static_assert(sizeof(Deth) == 8 && kDethSrcQp + 3 == kDethLen);
static_assert(sizeof(Lrh) == 8 && kLrhSlid + 2 == kLrhLen);
static_assert(sizeof(Grh) == 40 && kGrhDgid + kGidLen == kGrhLen);

// Largest LRH PktLen in bytes: the 11-bit word count.
inline constexpr size_t kMaxIbPacketLen = size_t{kLrhPktLenMask} * 4;
static_assert(ib_datagram_len(true, true, kMaxMtu) <= kMaxIbPacketLen,
              "a max-MTU IB-mode packet must fit LRH PktLen");

}  // namespace softud::wire::layout
