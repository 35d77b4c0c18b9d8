/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud flow hash: the software RSS of both ends. A sender hashes a frame
 * to pick the queue of a multi-queue peer; a receiver with
 * RTE_ETH_RX_OFFLOAD_RSS_HASH computes the same function on the received frame
 * for mbuf->hash.rss. One definition, so the two always agree: the value an
 * application reads is the hash that chose its queue.
 */
#ifndef RDMAUD_FLOW_H
#define RDMAUD_FLOW_H

#include <cstdint>
#include <cstring>
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

namespace rdmaud {

/* The hash's seed. Part of the wire contract: sender (queue choice) and
 * receiver (hash.rss) use the same. */
inline constexpr uint32_t kFlowHashSeed = 0x9e3779b9;

/*
 * The flow of a frame, as a NIC's RSS would see it: CRC32-C (seed
 * kFlowHashSeed) of the IPv4 source and destination addresses (8 bytes as on
 * the wire), continued over the TCP/UDP ports (4 bytes) of an unfragmented
 * packet; any other frame by its source MAC (6 bytes, zero-padded to 8).
 * Reads the first segment only (m's data_len bounds it).
 */
inline uint32_t flow_hash(const rte_mbuf *m, const rte_ether_hdr *eh)
{
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= sizeof(*eh) + sizeof(rte_ipv4_hdr)) {
		const auto *ip = reinterpret_cast<const uint8_t *>(eh + 1);
		const auto *hdr = reinterpret_cast<const rte_ipv4_hdr *>(ip);
		uint64_t addrs;
		std::memcpy(&addrs, &hdr->src_addr, sizeof(addrs)); /* src and dst are adjacent */
		uint32_t h = rte_hash_crc_8byte(addrs, kFlowHashSeed);
		const uint32_t ihl = (hdr->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
		const bool first_fragment_only =
			(hdr->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) == 0;
		if ((hdr->next_proto_id == IPPROTO_UDP || hdr->next_proto_id == IPPROTO_TCP) && first_fragment_only &&
		    m->data_len >= sizeof(*eh) + ihl + sizeof(uint32_t)) {
			uint32_t ports;
			std::memcpy(&ports, ip + ihl, sizeof(ports));
			h = rte_hash_crc_4byte(ports, h);
		}
		return h;
	}
	uint64_t src = 0;
	std::memcpy(&src, eh->src_addr.addr_bytes, RTE_ETHER_ADDR_LEN);
	return rte_hash_crc_8byte(src, kFlowHashSeed);
}

} // namespace rdmaud

#endif /* RDMAUD_FLOW_H */
