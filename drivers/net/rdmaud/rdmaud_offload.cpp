/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud software rx offloads: packet type parsing and the RSS hash.
 *
 * A UD QP hands over the frame and nothing else (no parsed headers, no hash),
 * so both are computed in software, and only when the application asks:
 *  - packet types: rte_eth_dev_set_ptype_mask() with a non-zero mask enables
 *    rte_net_get_ptype() on every received frame for the layers in the mask
 *    (the mask 0 disables it, the default: a frame's packet_type is then 0,
 *    RTE_PTYPE_UNKNOWN);
 *  - RSS hash: RTE_ETH_RX_OFFLOAD_RSS_HASH (port or queue) stores flow_hash()
 *    of the frame in mbuf->hash.rss with RTE_MBUF_F_RX_RSS_HASH. It is the
 *    hash a sending net_rdmaud port used to pick this queue (rdmaud_flow.h), so
 *    frames of one flow carry one hash and arrive on one queue.
 * The rx burst looks at the queue's two settings once per burst and calls
 * rx_offloads() only when one is on; the common path pays one test per burst.
 */
#include <rte_net.h>

#include "rdmaud.h"
#include "rdmaud_flow.h"

namespace rdmaud {

void rx_offloads(const RxQueue &q, rte_mbuf **pkts, uint16_t n)
{
	const uint32_t layers = __atomic_load_n(&q.ptype_layers, __ATOMIC_RELAXED);
	for (uint16_t i = 0; i < n; i++) {
		rte_mbuf *m = pkts[i];
		if (layers != 0)
			m->packet_type = rte_net_get_ptype(m, nullptr, layers);
		if (q.rss_hash) {
			m->hash.rss = flow_hash(m, rte_pktmbuf_mtod(m, const rte_ether_hdr *));
			m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
		}
	}
}

/* What rte_net_get_ptype() recognises, outer and inner (tunnels it follows: IP in IP, GRE). */
const uint32_t *supported_ptypes_get(rte_eth_dev *dev)
{
	(void)dev;
	static const uint32_t ptypes[] = {
		RTE_PTYPE_L2_ETHER,
		RTE_PTYPE_L2_ETHER_VLAN,
		RTE_PTYPE_L2_ETHER_QINQ,
		RTE_PTYPE_L3_IPV4,
		RTE_PTYPE_L3_IPV4_EXT,
		RTE_PTYPE_L3_IPV6,
		RTE_PTYPE_L3_IPV6_EXT,
		RTE_PTYPE_L4_TCP,
		RTE_PTYPE_L4_UDP,
		RTE_PTYPE_L4_SCTP,
		RTE_PTYPE_L4_FRAG,
		RTE_PTYPE_TUNNEL_IP,
		RTE_PTYPE_TUNNEL_GRE,
		RTE_PTYPE_INNER_L2_ETHER,
		RTE_PTYPE_INNER_L2_ETHER_VLAN,
		RTE_PTYPE_INNER_L3_IPV4,
		RTE_PTYPE_INNER_L3_IPV4_EXT,
		RTE_PTYPE_INNER_L3_IPV6,
		RTE_PTYPE_INNER_L3_IPV6_EXT,
		RTE_PTYPE_INNER_L4_TCP,
		RTE_PTYPE_INNER_L4_UDP,
		RTE_PTYPE_INNER_L4_SCTP,
		RTE_PTYPE_INNER_L4_FRAG,
		RTE_PTYPE_UNKNOWN, /* ends the list */
	};
	return ptypes;
}

/* ethdev passes whole layer masks (RTE_PTYPE_L2_MASK, ...): rte_net_get_ptype's
 * layers argument as it is. Effective at once, on running queues too. */
int ptypes_set(rte_eth_dev *dev, uint32_t ptype_mask)
{
	Port &port = *port_of(dev);
	port.ptype_layers = ptype_mask;
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]))
			__atomic_store_n(&q->ptype_layers, ptype_mask, __ATOMIC_RELAXED);
	RDMAUD_LOG(INFO, "port %u: packet type parsing %s (layers 0x%08x)", dev->data->port_id,
		   ptype_mask != 0 ? "on" : "off", ptype_mask);
	return 0;
}

void rxq_set_offloads(rte_eth_dev *dev, RxQueue &q, uint64_t queue_offloads)
{
	const uint64_t offloads = dev->data->dev_conf.rxmode.offloads | queue_offloads;
	q.rss_hash = (offloads & RTE_ETH_RX_OFFLOAD_RSS_HASH) != 0;
	q.ptype_layers = port_of(dev)->ptype_layers;
}

} // namespace rdmaud
