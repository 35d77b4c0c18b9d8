/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rdmaud-echo wire format: an IPv4/UDP datagram in an Ethernet frame whose UDP
 * payload is one EchoMsg. Clients send requests to UDP port 7 (echo); servers
 * swap the MAC and IP addresses and the ports, bump the counter and send the
 * frame back. Each client thread is its own flow (its own source port), so a
 * receiver's RSS — software RSS in net_rdmaud — spreads threads over queues.
 * The addresses are only labels inside frames carried by the port; no IP stack
 * ever routes them. Latency comes from the client's own timestamp.
 */
#ifndef RDMAUD_ECHO_PROTO_H
#define RDMAUD_ECHO_PROTO_H

#include <cstddef>
#include <cstdint>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

namespace echo {

/* The UDP echo service's port (RFC 862): what a request is sent to. */
inline constexpr uint16_t kEchoUdpPort = 7;
/* Client thread t sends from UDP port kClientPortBase + t: one flow per thread. */
inline constexpr uint16_t kClientPortBase = 10000;
/* Labels inside the frames, from the RFC 2544 benchmarking range 198.18.0.0/15:
 * client machine c, thread t is 198.18.c.t+1; servers are 198.19.0.1. */
inline constexpr uint32_t kClientNet = (198u << 24) | (18u << 16);
inline constexpr uint32_t kServerAddr = (198u << 24) | (19u << 16) | 1u;
/* Marks our messages among anything else arriving on UDP port 7 ("EC"). */
inline constexpr uint16_t kMagic = 0x4543;

enum MsgKind : uint8_t { kRequest = 1, kResponse = 2 };

struct __attribute__((packed)) EchoMsg {
	uint16_t magic;    /* kMagic */
	uint8_t kind;      /* MsgKind */
	uint8_t counter;   /* incremented by every server that echoes the message */
	uint16_t client;   /* client machine id << 8 | client thread */
	uint16_t slot;     /* client window slot, echoed back unchanged */
	uint32_t seq;      /* per client thread, from 1 (wraps; matched with the slot) */
	uint64_t tsc;      /* client's rte_rdtsc() when sent */
};
static_assert(sizeof(EchoMsg) == 20, "EchoMsg is 20 bytes on the wire");

struct EchoFrame { /* DPDK's headers are packed: no padding between them */
	rte_ether_hdr eth;
	rte_ipv4_hdr ip;
	rte_udp_hdr udp;
	EchoMsg msg;
};
/* The smallest frame fits the customary 64 bytes. */
inline constexpr size_t kMinFrame = sizeof(EchoFrame);
static_assert(kMinFrame == 62, "echo frames fit 64 bytes");

} // namespace echo

#endif
