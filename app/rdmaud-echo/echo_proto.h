/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rdmaud-echo wire format: an Ethernet frame whose payload is one EchoMsg.
 * Clients send requests; servers swap the MACs, bump the counter and send the
 * frame back as a response. Latency comes from the client's own timestamp.
 */
#ifndef RDMAUD_ECHO_PROTO_H
#define RDMAUD_ECHO_PROTO_H

#include <cstddef>
#include <cstdint>

#include <rte_ether.h>

namespace echo {

/* IEEE 802 "local experimental" EtherType 1: never used by a real protocol. */
inline constexpr uint16_t kEtherType = 0x88b5;
/* Marks our messages among anything else arriving on the port ("ECHO"). */
inline constexpr uint32_t kMagic = 0x4543484f;

enum MsgKind : uint16_t { kRequest = 1, kResponse = 2 };

struct __attribute__((packed)) EchoMsg {
	uint32_t magic;     /* kMagic */
	uint16_t kind;      /* MsgKind */
	uint16_t client;    /* client machine id << 8 | client thread */
	uint64_t seq;       /* per client thread, from 1 */
	uint64_t tsc;       /* client's rte_rdtsc() when sent */
	uint32_t counter;   /* incremented by every server that echoes the message */
	uint32_t slot;      /* client window slot, echoed back unchanged */
};
static_assert(sizeof(EchoMsg) == 32, "EchoMsg is 32 bytes on the wire");

/* Smallest frame: Ethernet header + message (the seed's 16-byte messages had no timestamp). */
inline constexpr size_t kMinFrame = sizeof(rte_ether_hdr) + sizeof(EchoMsg);

} // namespace echo

#endif
