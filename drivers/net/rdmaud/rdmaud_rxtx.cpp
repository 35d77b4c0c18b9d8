/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud datapath: rx and tx bursts, nothing else. No allocation (besides
 * mbufs), lock, syscall of our own, exception or log per packet; one
 * ibv_post_recv and one ibv_post_send per burst.
 */
#include "rdmaud_rxtx.h"
#include "rdmaud_registry.h"

#include <algorithm>
#include <netinet/in.h>
#include <cstring>

#include <rte_hash_crc.h>
#include <rte_ip.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>

#include "rdmaud_verbs.h"

namespace rdmaud {

/* ------------------------------------------------------------------ rx */

int rx_repost(RxQueue &q, uint32_t count)
{
	ibv_recv_wr *first = &q.wrs[q.cons & q.mask];
	ibv_recv_wr *last = &q.wrs[(q.cons + count - 1) & q.mask];
	ibv_recv_wr *saved = last->next;
	ibv_recv_wr *bad = nullptr;
	last->next = nullptr; /* cut the circular list after count WRs */
	int rc = ibv_post_recv(q.qp, first, &bad);
	last->next = saved;
	q.cons += count;
	q.c.doorbells++;
	q.c.wrs += count;
	if (unlikely(rc != 0))
		q.c.post_errors++;
	return rc;
}

uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t n)
{
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	ibv_wc wc[kMaxRxBurst];
	rte_mbuf *repl[kMaxRxBurst];

	int k = ibv_poll_cq(q.cq, std::min<int>(n, kMaxRxBurst), wc);
	if (k <= 0) {
		if (unlikely(k < 0))
			q.c.wc_errors++;
		return 0;
	}
	/* Raw mbufs: a freed mbuf already has next = NULL, nb_segs = 1 and refcnt 1;
	 * the fields a received frame needs are written at delivery, not reset twice. */
	if (unlikely(rte_mempool_get_bulk(q.mp, reinterpret_cast<void **>(repl), k) != 0)) {
		/* No replacements: drop these frames, repost their buffers unchanged. */
		q.c.nombuf += k;
		rx_repost(q, k);
		return 0;
	}
	if (unlikely(q.lkey == kNoLkey))
		q.lkeys.revalidate();
	uint16_t out = 0;
	uint16_t spare = 0;
	uint64_t bytes = 0;
	for (int j = 0; j < k; j++) {
		const uint32_t s = static_cast<uint32_t>(wc[j].wr_id);
		rte_mbuf *m = q.mbufs[s];
		if (likely(wc[j].status == IBV_WC_SUCCESS && wc[j].byte_len >= kGrhLen + RTE_ETHER_HDR_LEN)) {
			const uint32_t len = wc[j].byte_len - kGrhLen;
			std::memcpy(&m->rearm_data, &q.rearm, sizeof(q.rearm));
			m->ol_flags = 0;
			m->packet_type = 0;
			m->data_len = static_cast<uint16_t>(len);
			m->pkt_len = len;
			pkts[out++] = m;
			bytes += len;
			rte_mbuf *r = repl[j];
			q.mbufs[s] = r;
			q.sges[s].addr = reinterpret_cast<uintptr_t>(r->buf_addr) + RTE_PKTMBUF_HEADROOM - kGrhLen;
			q.sges[s].lkey = likely(q.lkey != kNoLkey) ? q.lkey : q.lkeys.lookup(r);
		} else {
			/* Keep the slot's buffer; the replacement goes back to the pool. */
			if (wc[j].status != IBV_WC_SUCCESS)
				q.c.wc_errors++;
			else
				q.c.runts++;
			repl[spare++] = repl[j];
		}
	}
	if (unlikely(spare != 0))
		rte_mempool_put_bulk(q.mp, reinterpret_cast<void **>(repl), spare);
	rx_repost(q, k);
	q.c.packets += out;
	q.c.bytes += bytes;
	return out;
}

/* ------------------------------------------------------------------ tx */

void tx_reap(TxQueue &q)
{
	ibv_wc wc[kTxReapBatch];
	uint64_t done = q.tail;
	int k;
	while ((k = ibv_poll_cq(q.cq, kTxReapBatch, wc)) > 0) {
		for (int j = 0; j < k; j++) {
			if (unlikely(wc[j].status != IBV_WC_SUCCESS)) {
				q.c.wc_errors++; /* the QP is now in error: dev_stop/start resets it */
			}
			/* Completions come in posting order: everything up to wr_id is done. */
			done = std::max(done, wc[j].wr_id + 1);
		}
		if (k < kTxReapBatch)
			break;
	}
	if (done == q.tail)
		return;
	/* Free [tail, done) in at most two contiguous runs of the ring. */
	uint32_t from = q.tail & q.mask;
	uint64_t cnt = done - q.tail;
	uint32_t first = static_cast<uint32_t>(std::min<uint64_t>(cnt, q.nb_desc - from));
	rte_pktmbuf_free_bulk(&q.mbufs[from], first);
	if (cnt > first)
		rte_pktmbuf_free_bulk(&q.mbufs[0], static_cast<unsigned>(cnt - first));
	q.tail = done;
}

namespace {

/*
 * Fill the next send WR for frame m to peer e. Segment lkeys were checked by
 * the caller (kInline frames need none). Returns the WR, linked by the caller.
 */
/*
 * Software RSS: the flow of a frame sent to a multi-queue peer picks the peer's
 * queue, as a NIC's RSS would: IPv4 addresses, plus the TCP/UDP ports of an
 * unfragmented packet; any other frame by its source MAC. CRC32-C instructions,
 * and only for peers with several queues.
 */
inline uint32_t flow_hash(const rte_mbuf *m, const rte_ether_hdr *eh)
{
	constexpr uint32_t kSeed = 0x9e3779b9; /* any constant: both ends need not agree */
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= sizeof(*eh) + sizeof(rte_ipv4_hdr)) {
		const auto *ip = reinterpret_cast<const uint8_t *>(eh + 1);
		const auto *hdr = reinterpret_cast<const rte_ipv4_hdr *>(ip);
		uint64_t addrs;
		std::memcpy(&addrs, &hdr->src_addr, sizeof(addrs)); /* src and dst are adjacent */
		uint32_t h = rte_hash_crc_8byte(addrs, kSeed);
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
	return rte_hash_crc_8byte(src, kSeed);
}

template <bool kMultiSeg>
inline ibv_send_wr *fill_wr(TxQueue &q, rte_mbuf *m, const PeerEntry &e, uint32_t qpn, bool inl,
			   const uint32_t *lkeys) __attribute__((always_inline));
template <bool kMultiSeg>
inline ibv_send_wr *fill_wr(TxQueue &q, rte_mbuf *m, const PeerEntry &e, uint32_t qpn, bool inl,
			   const uint32_t *lkeys)
{
	const uint32_t s = static_cast<uint32_t>(q.head) & q.mask;
	ibv_send_wr *wr = &q.wrs[s];
	ibv_sge *sge = wr->sg_list;
	wr->wr_id = q.head;
	wr->wr.ud.ah = e.ah;
	wr->wr.ud.remote_qpn = qpn;
	wr->wr.ud.remote_qkey = e.qkey;
	unsigned flags = 0;
	if (++q.unsignaled >= q.signal) {
		flags |= IBV_SEND_SIGNALED;
		q.unsignaled = 0;
		q.c.signaled++;
	}
	if (kMultiSeg) {
		int i = 0;
		for (rte_mbuf *seg = m; seg != nullptr; seg = seg->next, i++) {
			sge[i].addr = rte_pktmbuf_mtod(seg, uintptr_t);
			sge[i].length = seg->data_len;
			sge[i].lkey = inl ? 0 : lkeys[i];
		}
		wr->num_sge = i;
	} else {
		sge[0].addr = rte_pktmbuf_mtod(m, uintptr_t);
		sge[0].length = m->data_len;
		sge[0].lkey = inl ? 0 : lkeys[0];
		wr->num_sge = 1;
	}
	if (inl) {
		flags |= IBV_SEND_INLINE;
		q.mbufs[s] = nullptr; /* copied at post time; freed after the post */
	} else {
		q.mbufs[s] = m;
	}
	wr->send_flags = flags;
	q.head++;
	return wr;
}

/* lkeys of every segment of m into out; false if one has none. */
template <bool kMultiSeg>
inline bool seg_lkeys(TxQueue &q, rte_mbuf *m, uint32_t *out)
{
	if (!kMultiSeg) {
		out[0] = q.lkeys.lookup(m);
		return out[0] != kNoLkey;
	}
	int i = 0;
	for (rte_mbuf *seg = m; seg != nullptr; seg = seg->next, i++) {
		out[i] = q.lkeys.lookup(seg);
		if (unlikely(out[i] == kNoLkey))
			return false;
	}
	return true;
}

template <bool kMultiSeg, bool kInline>
uint16_t tx_burst_impl(void *txq, rte_mbuf **pkts, uint16_t n)
{
	TxQueue &q = *static_cast<TxQueue *>(txq);
	rte_mbuf *done[kMaxTxBurst]; /* dropped or inlined: freed after the post */
	uint32_t lk[kMaxTxSegs] = {};
	uint16_t nd = 0;
	uint16_t i;
	uint64_t bytes = 0, hits = 0, inlined = 0;

	n = std::min(n, kMaxTxBurst);
	if (q.head - q.tail >= q.signal)
		tx_reap(q);
	q.lkeys.revalidate();
	const PeerTable *tab = q.peers->acquire();
	uint64_t requested = 0; /* last unknown MAC handed to the resolver in this burst */
	uint32_t room = q.nb_desc - static_cast<uint32_t>(q.head - q.tail);
	ibv_send_wr *first = nullptr;
	ibv_send_wr **link = &first;

	for (i = 0; i < n; i++) {
		rte_mbuf *m = pkts[i];
		if (unlikely(m->pkt_len > q.max_frame)) {
			q.c.drop_oversize++;
			done[nd++] = m;
			continue;
		}
		if (unlikely(kMultiSeg ? m->nb_segs > q.max_segs : m->nb_segs != 1)) {
			q.c.drop_segs++;
			done[nd++] = m;
			continue;
		}
		const auto *eh = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
		const bool inl = kInline && m->pkt_len <= q.inline_max;
		if (likely(!rte_is_multicast_ether_addr(&eh->dst_addr))) {
			if (unlikely(room == 0)) {
				q.c.full++;
				break;
			}
			const uint64_t key = mac_key(eh->dst_addr);
			const PeerEntry *e = tab->find(key);
			if (unlikely(e == nullptr)) {
				q.c.resolver_misses++;
				q.c.drop_unknown_mac++;
				if (q.registry != nullptr && key != requested) { /* once per MAC and burst */
					q.registry->request(eh->dst_addr);
					requested = key;
				}
				done[nd++] = m;
				continue;
			}
			hits++;
			if (!inl && unlikely(!seg_lkeys<kMultiSeg>(q, m, lk))) {
				q.c.drop_no_lkey++;
				done[nd++] = m;
				continue;
			}
			const uint32_t qpn = e->nqpn > 1 ? tab->qpn_for(*e, flow_hash(m, eh)) : e->qpn;
			ibv_send_wr *wr = fill_wr<kMultiSeg>(q, m, *e, qpn, inl, lk);
			*link = wr;
			link = &wr->next;
			room--;
			bytes += m->pkt_len;
			if (inl) {
				inlined++;
				done[nd++] = m;
			}
			continue;
		}
		/* Broadcast / multicast: one UD message per known peer, same buffers. */
		const uint32_t copies = tab->bcast_count;
		if (unlikely(copies == 0 || copies > q.nb_desc)) {
			q.c.drop_unknown_mac++;
			done[nd++] = m;
			continue;
		}
		if (unlikely(copies > room)) {
			q.c.full++;
			break;
		}
		if (!inl) {
			if (unlikely(!seg_lkeys<kMultiSeg>(q, m, lk))) {
				q.c.drop_no_lkey++;
				done[nd++] = m;
				continue;
			}
			/* Every copy's completion frees the chain once. */
			for (rte_mbuf *seg = m; seg != nullptr; seg = seg->next)
				rte_mbuf_refcnt_update(seg, static_cast<int16_t>(copies - 1));
		}
		for (uint32_t p = 0; p < copies; p++) {
			ibv_send_wr *wr = fill_wr<kMultiSeg>(q, m, tab->bcast[p], tab->bcast[p].qpn, inl, lk);
			*link = wr;
			link = &wr->next;
		}
		room -= copies;
		q.c.bcast_frames++;
		bytes += static_cast<uint64_t>(m->pkt_len) * copies;
		if (inl) {
			inlined += copies;
			done[nd++] = m;
		}
	}
	*link = nullptr;
	q.c.resolver_hits += hits;
	q.c.inlined += inlined;

	if (first != nullptr) {
		ibv_send_wr *bad = nullptr;
		const uint64_t posted_before = first->wr_id;
		const uint64_t wrs = q.head - posted_before;
		int rc = ibv_post_send(q.qp, first, &bad);
		q.c.doorbells++;
		if (likely(rc == 0)) {
			q.c.wrs += wrs;
			q.c.packets += wrs;
			q.c.bytes += bytes;
		} else {
			/* WRs from bad on were not posted: release their slots and buffers. */
			uint64_t from = bad != nullptr ? bad->wr_id : posted_before;
			for (uint64_t w = from; w < q.head; w++) {
				rte_mbuf *m = q.mbufs[w & q.mask];
				if (m != nullptr)
					rte_pktmbuf_free(m);
				q.mbufs[w & q.mask] = nullptr;
				q.c.drop_post_error++;
			}
			q.c.wrs += from - posted_before;
			q.c.packets += from - posted_before;
			q.c.bytes += bytes * (from - posted_before) / wrs; /* approximate on this rare path */
			q.head = from;
		}
	}
	if (nd != 0)
		rte_pktmbuf_free_bulk(done, nd);
	q.peers->quiescent(q.queue_id);
	return i;
}

} // namespace

uint16_t tx_burst_single(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, false>(q, p, n); }
uint16_t tx_burst_single_inline(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, true>(q, p, n); }
uint16_t tx_burst_multi(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<true, false>(q, p, n); }
uint16_t tx_burst_multi_inline(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<true, true>(q, p, n); }

TxBurstFn select_tx_burst(bool multi_seg, bool use_inline)
{
	if (multi_seg)
		return use_inline ? tx_burst_multi_inline : tx_burst_multi;
	return use_inline ? tx_burst_single_inline : tx_burst_single;
}

} // namespace rdmaud
