/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud scattered rx (RTE_ETH_RX_OFFLOAD_SCATTER): frames larger than one
 * mbuf's data room. Each RECV work request has q.nseg SGEs, one mbuf each: the
 * first receives the GRH in its headroom and the frame's start, the others the
 * rest at their data offset. A completion's frame becomes a chain of the slot's
 * first ceil(len / seg_len) mbufs; only those are replaced, the slot's unused
 * ones stay posted. Chosen at dev_start when a queue needs more than one mbuf
 * per frame; the single-mbuf bursts in rdmaud_rxtx.cpp are not touched.
 */
#include <rte_branch_prediction.h>
#include <rte_ether.h>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

namespace {

/* Mbufs the frame of completion w uses; 0 for one that delivers nothing. */
inline uint32_t segs_of(const RxQueue &q, const ibv_wc &w)
{
	if (w.status != IBV_WC_SUCCESS || w.byte_len < kGrhLen + RTE_ETHER_HDR_LEN)
		return 0;
	const uint32_t len = w.byte_len - kGrhLen;
	return (len + q.seg_len - 1) / q.seg_len;
}

} // namespace

uint16_t rx_burst_scatter(void *rxq, rte_mbuf **pkts, uint16_t n)
{
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	ibv_wc wc[kMaxRxBurst];
	rte_mbuf *fresh[kMaxRxBurst * kMaxRxSegs];

	/* Completions rx_queue_count took from the CQ come first. */
	const int want = std::min<int>(n, kMaxRxBurst);
	const int k = likely(q.stash_len == 0) ? ibv_poll_cq(q.cq, want, wc) : rx_stash_take(q, wc, want);
	if (k <= 0) {
		if (unlikely(k < 0))
			q.c.cq_errors++; /* the CQ overran: the health check reports it */
		return 0;
	}
	uint32_t need = 0;
	for (int j = 0; j < k; j++)
		need += segs_of(q, wc[j]);
	if (need != 0 && rte_mempool_get_bulk(q.mp, reinterpret_cast<void **>(fresh), need) != 0) {
		/* No replacements: drop these frames, repost their buffers unchanged. */
		q.c.nombuf += k;
		rx_repost(q, static_cast<uint32_t>(k));
		return 0;
	}
	if (q.lkey == kNoLkey)
		q.lkeys.revalidate();
	const uint32_t nseg = q.nseg;
	uint32_t f = 0;
	uint16_t out = 0;
	uint64_t bytes = 0;
	for (int j = 0; j < k; j++) {
		const uint32_t used = segs_of(q, wc[j]);
		if (used == 0) {
			/* An error or runt completion: the slot keeps its buffers. */
			if (wc[j].status != IBV_WC_SUCCESS)
				q.c.wc_errors++;
			else
				q.c.runts++;
			continue;
		}
		const uint32_t len = wc[j].byte_len - kGrhLen;
		const size_t base = static_cast<size_t>(wc[j].wr_id) * nseg;
		rte_mbuf *head = q.mbufs[base];
		rte_mbuf *prev = nullptr;
		uint32_t left = len;
		for (uint32_t i = 0; i < used; i++) {
			rte_mbuf *m = q.mbufs[base + i];
			/* data_off, refcnt 1, nb_segs 1, port; no flags, no type. */
			std::memcpy(&m->rearm_data, &q.rearm, sizeof(q.rearm));
			m->ol_flags = 0;
			m->packet_type = 0;
			m->data_len = static_cast<uint16_t>(std::min(left, q.seg_len));
			m->pkt_len = m->data_len;
			m->next = nullptr;
			left -= m->data_len;
			if (prev != nullptr)
				prev->next = m;
			prev = m;
			/* The replacement takes this SGE: the GRH offset only in a slot's first. */
			rte_mbuf *r = fresh[f++];
			q.mbufs[base + i] = r;
			ibv_sge &sge = q.sges[base + i];
			sge.addr = reinterpret_cast<uintptr_t>(r) + q.buf_off + (i == 0 ? 0 : kGrhLen);
			if (q.lkey == kNoLkey)
				sge.lkey = q.lkeys.lookup(r);
		}
		head->nb_segs = static_cast<uint16_t>(used);
		head->pkt_len = len;
		pkts[out++] = head;
		bytes += len;
	}
	rx_repost(q, static_cast<uint32_t>(k));
	q.c.packets += out;
	q.c.bytes += bytes;
	if (unlikely((__atomic_load_n(&q.ptype_layers, __ATOMIC_RELAXED) | q.rss_hash) != 0))
		rx_offloads(q, pkts, out);
	return out;
}

} // namespace rdmaud
