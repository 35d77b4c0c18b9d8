/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud rx MAC filtering: the rx bursts of a port that is not promiscuous.
 * Each wraps one base burst (rdmaud_rxtx.cpp, rdmaud_rx_scatter.cpp), decides
 * every received frame against the queue's MacFilter (rdmaud_mac_filter.h),
 * compacts the array in place and frees the rejected mbufs in one bulk call;
 * they count in rx_mac_filtered instead of packets/bytes. The base bursts are
 * not touched: a promiscuous port (ethdev's usual mode, testpmd's default) runs
 * them directly. The variant is chosen at dev_start and again whenever the
 * promiscuous mode changes (rdmaud_ethdev.cpp: rx_select).
 */
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "rdmaud_mac_filter.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

namespace {

static_assert(kMaxRxBurst <= 64, "one bit per frame of a burst");

/* Broadcast and multicast: out of line, the unicast loop keeps its registers. */
__attribute__((noinline)) bool accepts_group(const MacFilter &f, uint64_t key)
{
	return f.accepts_group(key);
}

template <RxBurstFn kBase>
uint16_t rx_burst_filtered(void *rxq, rte_mbuf **pkts, uint16_t n)
{
	const uint16_t got = kBase(rxq, pkts, n);
	if (got == 0)
		return 0;
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	const MacFilter &f = *q.filter;
	/* Decide the whole burst under one reading of the filter; again if it changed. */
	uint64_t keep;
	uint32_t s;
	do {
		s = f.read_begin();
		/* The port's unicast MACs, the default one (index 0, always set) first: most
		 * frames are to it. */
		uint64_t macs[kMaxMacAddrs];
		macs[0] = kNoMacKey; /* set from probe on; never read unset */
		const uint32_t nmacs = f.unicast(macs);
		keep = 0;
		for (uint16_t i = 0; i < got; i++) {
			const uint64_t key = frame_dst_key(rte_pktmbuf_mtod(pkts[i], void *));
			bool ok = key == macs[0];
			if (unlikely(!ok)) {
				if ((key & kMacKeyGroupBit) == 0) {
					for (uint32_t j = 1; j < nmacs; j++)
						ok |= key == macs[j];
				} else {
					ok = accepts_group(f, key);
				}
			}
			keep |= static_cast<uint64_t>(ok) << i;
		}
	} while (unlikely(f.read_retry(s)));
	const uint64_t all = got == 64 ? ~uint64_t{0} : (uint64_t{1} << got) - 1;
	if (likely(keep == all))
		return got;
	rte_mbuf *drop[kMaxRxBurst];
	uint16_t out = 0, nd = 0;
	uint64_t bytes = 0;
	for (uint16_t i = 0; i < got; i++) {
		if (keep & (uint64_t{1} << i)) {
			pkts[out++] = pkts[i];
		} else {
			bytes += pkts[i]->pkt_len;
			drop[nd++] = pkts[i];
		}
	}
	rte_pktmbuf_free_bulk(drop, nd);
	/* The base burst counted them as received: they were not. */
	q.c.packets -= nd;
	q.c.bytes -= bytes;
	q.c.mac_filtered += nd;
	return out;
}

} // namespace

RxBurstFn select_rx_filter(RxBurstFn base)
{
	if (base == rx_burst_fixed_lkey)
		return rx_burst_filtered<rx_burst_fixed_lkey>;
	if (base == rx_burst_scatter)
		return rx_burst_filtered<rx_burst_scatter>;
	return rx_burst_filtered<rx_burst>;
}

} // namespace rdmaud
