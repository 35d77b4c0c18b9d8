/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud datapath: rx and tx bursts, nothing else. No allocation (besides
 * mbufs), lock, syscall of our own, exception or log per packet; one
 * ibv_post_recv and one ibv_post_send per burst.
 */
#include "rdmaud_rxtx.h"
#include "rdmaud_registry.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_vect.h>

#include "rdmaud_flow.h"
#include "rdmaud_mac_filter.h"
#include "rdmaud_verbs.h"

namespace rdmaud {

/* ------------------------------------------------------------------ rx */

namespace {

/* Post RECVs for count slots starting at q.cons: the prebuilt ring, cut after count WRs. */
inline int repost(RxQueue &q, uint32_t count)
{
	ibv_recv_wr *first = &q.wrs[q.cons & q.mask];
	ibv_recv_wr *last = &q.wrs[(q.cons + count - 1) & q.mask];
	ibv_recv_wr *saved = last->next;
	ibv_recv_wr *bad = nullptr;
	last->next = nullptr; /* cut the circular list after count WRs */
	int rc = ibv_post_recv(q.qp, first, &bad);
	if (unlikely(rc != 0)) {
		q.c.post_errors++;
		/* WRs from bad on were not taken (all of them when verbs names none). */
		uint32_t left = 0;
		for (const ibv_recv_wr *w = bad != nullptr ? bad : first; w != nullptr && left < count; w = w->next)
			left++;
		q.unposted += left;
	}
	last->next = saved;
	q.cons += count;
	q.c.doorbells++;
	q.c.wrs += count;
	return rc;
}

} // namespace

int rx_repost(RxQueue &q, uint32_t count)
{
	return repost(q, count);
}

int rx_stash_take(RxQueue &q, ibv_wc *wc, int n)
{
	const uint32_t k = std::min<uint32_t>(q.stash_len, static_cast<uint32_t>(std::max(n, 0)));
	const uint32_t first = std::min(k, q.nb_desc - q.stash_head); /* up to the ring's end */
	std::memcpy(wc, &q.stash[q.stash_head], first * sizeof(ibv_wc));
	std::memcpy(wc + first, &q.stash[0], (k - first) * sizeof(ibv_wc));
	q.stash_head = (q.stash_head + k) & q.mask;
	q.stash_len -= k;
	return static_cast<int>(k);
}

uint32_t rx_stash_fill(RxQueue &q)
{
	while (q.stash_len < q.nb_desc) {
		const uint32_t tail = (q.stash_head + q.stash_len) & q.mask;
		/* Contiguous room: up to the ring's end, or up to the oldest entry. */
		const uint32_t room = std::min(q.nb_desc - q.stash_len, q.nb_desc - tail);
		const int k = ibv_poll_cq(q.cq, static_cast<int>(room), &q.stash[tail]);
		if (unlikely(k < 0)) {
			q.c.cq_errors++; /* the CQ overran: the health check reports it */
			break;
		}
		q.stash_len += static_cast<uint32_t>(k);
		if (static_cast<uint32_t>(k) < room)
			break;
	}
	return q.stash_len;
}

namespace {

/*
 * k replacement mbufs: read in place from the top of this lcore's mempool
 * cache when it holds that many (the cache gives them up by lowering its
 * length, as rte_mempool_get_bulk would, without copying the pointers out),
 * else a bulk get into buf. nullptr when the pool cannot supply k.
 * The caller must read them before it puts anything back into the pool.
 */
inline __attribute__((always_inline)) rte_mbuf *const *take_mbufs(rte_mempool *mp, rte_mbuf **buf, unsigned k)
{
	rte_mempool_cache *c = rte_mempool_default_cache(mp, rte_lcore_id());
	if (likely(c != nullptr && c->len >= k)) {
		c->len -= k;
		return reinterpret_cast<rte_mbuf *const *>(&c->objs[c->len]);
	}
	if (rte_mempool_get_bulk(mp, reinterpret_cast<void **>(buf), k) != 0)
		return nullptr;
	return buf;
}

/*
 * Deliver the frames of completions wc[0..k) and give their slots the
 * replacements fresh[0..k). The loop takes successful completions of frames
 * with an Ethernet header; it stops at any other, which the caller handles.
 * kConstLkey: one MR covers the rx pool, so every slot's lkey was written once
 * at fill and a refill only changes the buffer address. Returns the count taken.
 */
template <bool kConstLkey>
inline __attribute__((always_inline)) int rx_run(RxQueue &q, const ibv_wc *wc, int k, rte_mbuf *const *fresh,
						  rte_mbuf **pkts, uint64_t &bytes)
{
	rte_mbuf **const mbufs = q.mbufs;
	ibv_sge *const sges = q.sges;
	const uintptr_t buf_off = q.buf_off;
	/* rearm_data (data_off, refcnt 1, nb_segs 1, port) and ol_flags 0: one 16-byte store. */
	static_assert(offsetof(rte_mbuf, ol_flags) == offsetof(rte_mbuf, rearm_data) + 8, "mbuf layout");
#if defined(__SSE2__)
	const __m128i head16 = _mm_set_epi64x(0, static_cast<long long>(q.rearm));
#else
	const struct {
		uint64_t rearm, ol_flags;
	} head16 = {q.rearm, 0};
#endif
	uint64_t sum = bytes;
	/* j counts up from -k to 0: the loop test is the increment's flags. */
	const ibv_wc *w = wc;
	rte_mbuf **const pend = pkts + k;
	rte_mbuf *const *const fend = fresh + k;
	intptr_t j = -static_cast<intptr_t>(k);
	for (; j != 0; j++, w++) {
		if (unlikely(w->status != IBV_WC_SUCCESS || w->byte_len < kGrhLen + RTE_ETHER_HDR_LEN))
			break;
		const uint64_t s = w->wr_id; /* the slot index */
		rte_mbuf *m = mbufs[s];
		const uint32_t len = w->byte_len - kGrhLen;
#if defined(__SSE2__)
		_mm_storeu_si128(reinterpret_cast<__m128i *>(&m->rearm_data), head16);
#else
		std::memcpy(&m->rearm_data, &head16, sizeof(head16));
#endif
		m->packet_type = 0;
		m->pkt_len = len;
		m->data_len = static_cast<uint16_t>(len);
		pend[j] = m;
		sum += len;
		rte_mbuf *r = fend[j];
		mbufs[s] = r;
		sges[s].addr = reinterpret_cast<uintptr_t>(r) + buf_off;
		if (!kConstLkey)
			sges[s].lkey = q.lkeys.lookup(r);
	}
	bytes = sum;
	return static_cast<int>(k + j);
}

template <bool kConstLkey>
uint16_t rx_burst_impl(RxQueue &q, rte_mbuf **pkts, uint16_t n)
{
	ibv_wc wc[kMaxRxBurst];
	rte_mbuf *buf[kMaxRxBurst];
	rte_mbuf *spare[kMaxRxBurst];

	/* Completions rx_queue_count took from the CQ come first: one test per burst. */
	const int want = std::min<int>(n, kMaxRxBurst);
	int k = likely(q.stash_len == 0) ? ibv_poll_cq(q.cq, want, wc) : rx_stash_take(q, wc, want);
	if (k <= 0) {
		if (unlikely(k < 0))
			q.c.cq_errors++; /* the CQ overran: the health check reports it */
		return 0;
	}
	/* Raw mbufs: a freed mbuf already has next = NULL, nb_segs = 1 and refcnt 1;
	 * the fields a received frame needs are written at delivery, not reset twice. */
	rte_mbuf *const *fresh = take_mbufs(q.mp, buf, static_cast<unsigned>(k));
	if (unlikely(fresh == nullptr)) {
		/* No replacements: drop these frames, repost their buffers unchanged. */
		q.c.nombuf += k;
		repost(q, k);
		return 0;
	}
	if (!kConstLkey)
		q.lkeys.revalidate();
	uint64_t bytes = 0;
	int j = rx_run<kConstLkey>(q, wc, k, fresh, pkts, bytes);
	uint16_t out = static_cast<uint16_t>(j);
	uint16_t nspare = 0;
	while (unlikely(j < k)) {
		/* An error or runt completion: keep the slot's buffer, the replacement goes back. */
		if (wc[j].status != IBV_WC_SUCCESS)
			q.c.wc_errors++;
		else
			q.c.runts++;
		spare[nspare++] = fresh[j];
		j++;
		const int t = rx_run<kConstLkey>(q, wc + j, k - j, fresh + j, pkts + out, bytes);
		out = static_cast<uint16_t>(out + t);
		j += t;
	}
	if (unlikely(nspare != 0))
		rte_mempool_put_bulk(q.mp, reinterpret_cast<void **>(spare), nspare);
	repost(q, static_cast<uint32_t>(k));
	q.c.packets += out;
	q.c.bytes += bytes;
	/* Once per burst: a queue without software offloads pays one test. */
	if (unlikely((__atomic_load_n(&q.ptype_layers, __ATOMIC_RELAXED) | q.rss_hash) != 0))
		rx_offloads(q, pkts, out);
	return out;
}

} // namespace

uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t n)
{
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	if (likely(q.lkey != kNoLkey))
		return rx_burst_impl<true>(q, pkts, n);
	return rx_burst_impl<false>(q, pkts, n);
}

uint16_t rx_burst_fixed_lkey(void *rxq, rte_mbuf **pkts, uint16_t n)
{
	return rx_burst_impl<true>(*static_cast<RxQueue *>(rxq), pkts, n);
}

RxBurstFn select_rx_burst(bool fixed_lkey)
{
	return fixed_lkey ? rx_burst_fixed_lkey : rx_burst;
}

uintptr_t rx_buf_offset(rte_mempool *mp)
{
	return sizeof(rte_mbuf) + rte_pktmbuf_priv_size(mp) + RTE_PKTMBUF_HEADROOM - kGrhLen;
}

/* ------------------------------------------------------------------ tx */

namespace {

/* Sequence number of ring slot `slot`, the first of the outstanding WRs being at sequence `from`. */
inline uint64_t seq_of_slot(uint64_t from, uint64_t slot, uint32_t mask)
{
	return from + ((slot - from) & mask);
}

/* Give a run of the ring's mbufs back: each to its pool (refcounts, chains,
 * indirect mbufs), or straight into the one pool with MBUF_FAST_FREE. */
template <bool kFastFree>
inline void free_run(rte_mbuf **v, unsigned n)
{
	if (!kFastFree) {
		rte_pktmbuf_free_bulk(v, n);
		return;
	}
	/* Inlined frames left null slots: put the others in batches. */
	rte_mbuf *batch[64];
	unsigned b = 0;
	for (unsigned i = 0; i < n; i++) {
		if (v[i] == nullptr)
			continue;
		batch[b++] = v[i];
		if (b == RTE_DIM(batch)) {
			rte_mempool_put_bulk(batch[0]->pool, reinterpret_cast<void **>(batch), b);
			b = 0;
		}
	}
	if (b != 0)
		rte_mempool_put_bulk(batch[0]->pool, reinterpret_cast<void **>(batch), b);
}

template <bool kFastFree>
void tx_reap_impl(TxQueue &q)
{
	ibv_wc wc[kTxReapBatch];
	uint64_t last = UINT64_MAX; /* slot of the newest completion seen */
	int k;
	while ((k = ibv_poll_cq(q.cq, kTxReapBatch, wc)) > 0) {
		for (int j = 0; j < k; j++) {
			if (unlikely(wc[j].status != IBV_WC_SUCCESS))
				q.c.wc_errors++; /* the QP is now in error: dev_stop/start resets it */
		}
		/* Completions come in posting order: everything up to the last one is done. */
		last = wc[k - 1].wr_id;
		if (k < kTxReapBatch)
			break;
	}
	if (unlikely(k < 0))
		q.c.cq_errors++; /* the CQ overran: the health check reports it */
	if (last == UINT64_MAX || q.head == q.tail)
		return;
	const uint64_t done = seq_of_slot(q.tail, last, q.mask) + 1;
	/* Free [tail, done) in at most two contiguous runs of the ring. */
	const uint32_t from = static_cast<uint32_t>(q.tail) & q.mask;
	const uint64_t cnt = done - q.tail;
	const uint32_t first = static_cast<uint32_t>(std::min<uint64_t>(cnt, q.nb_desc - from));
	/* Freed slots are left null: a burst that inlines a frame writes nothing there. */
	free_run<kFastFree>(&q.mbufs[from], first);
	std::memset(&q.mbufs[from], 0, first * sizeof(q.mbufs[0]));
	if (cnt > first) {
		free_run<kFastFree>(&q.mbufs[0], static_cast<unsigned>(cnt - first));
		std::memset(&q.mbufs[0], 0, (cnt - first) * sizeof(q.mbufs[0]));
	}
	q.tail = done;
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

/* Address handle, remote QPN and Q_Key: adjacent in a PeerEntry as in the WR's
 * wr.ud, copied with one 16-byte move. */
static_assert(offsetof(PeerEntry, qpn) == offsetof(PeerEntry, ah) + 8 &&
	      offsetof(PeerEntry, qkey) == offsetof(PeerEntry, ah) + 12, "PeerEntry layout");
static_assert(offsetof(ibv_send_wr, wr.ud.remote_qpn) == offsetof(ibv_send_wr, wr.ud.ah) + 8 &&
	      offsetof(ibv_send_wr, wr.ud.remote_qkey) == offsetof(ibv_send_wr, wr.ud.ah) + 12, "ibv_send_wr layout");
inline void set_dest(ibv_send_wr *wr, const PeerEntry &e)
{
	std::memcpy(&wr->wr.ud.ah, &e.ah, 16);
}

/* A large frame's lkey in a burst that inlines small ones: the cache is
 * revalidated here, not for every burst (most bursts of small frames look
 * nothing up). */
__attribute__((noinline)) uint32_t lkey_of(TxQueue &q, const rte_mbuf *m)
{
	q.lkeys.revalidate();
	return q.lkeys.lookup(m);
}

/* Software RSS for a multi-queue peer (out of line: static peers have one queue). */
__attribute__((noinline)) uint32_t rss_qpn(const PeerTable *tab, const PeerEntry *e, const rte_mbuf *m,
					   const rte_ether_hdr *eh)
{
	return tab->qpn_for(*e, flow_hash(m, eh));
}

/* Destination MAC of a frame as a peer-table key (mac_key's encoding). */
inline uint64_t dst_key(const rte_ether_hdr *eh)
{
	return frame_dst_key(eh); /* dst and the start of src: within the header */
}

/* A burst's state; the general path works on it in memory. Only done[] is
 * used by a burst of common frames: the other fields are set when the general
 * path starts. */
struct TxBurst {
	uint64_t head0;           /* q.head at the start */
	uint64_t head;            /* next WR */
	uint64_t bytes;
	uint64_t requested;       /* last unknown MAC handed to the resolver in this burst */
	uint32_t room;            /* free WRs at the start */
	uint32_t bcast_wrs;       /* WRs of broadcast copies (the rest were resolver hits) */
	uint32_t inlined;
	uint16_t nd;
	rte_mbuf *done[kMaxTxBurst]; /* dropped or inlined: freed after the post */

	uint32_t free_wrs() const { return room - static_cast<uint32_t>(head - head0); }
	void drop(rte_mbuf *m, uint64_t &counter)
	{
		counter++;
		done[nd++] = m;
	}
};

/* Fill the next WR for frame m (segment lkeys in lk unless inlined). */
template <bool kMultiSeg, bool kFastFree>
inline void fill_wr(TxQueue &q, TxBurst &b, rte_mbuf *m, const PeerEntry &e, uint32_t len, bool inl,
		    bool keep_mbuf, const uint32_t *lk)
{
	const uint32_t s = static_cast<uint32_t>(b.head) & q.mask;
	ibv_send_wr *wr = &q.wrs[s];
	ibv_sge *sge = wr->sg_list;
	set_dest(wr, e);
	int i = 0;
	for (rte_mbuf *seg = m; seg != nullptr; seg = kMultiSeg ? seg->next : nullptr, i++) {
		sge[i].addr = rte_pktmbuf_mtod(seg, uintptr_t);
		sge[i].length = kMultiSeg ? seg->data_len : len;
		sge[i].lkey = inl ? 0 : lk[i];
	}
	if (kMultiSeg)
		wr->num_sge = i;
	wr->send_flags = inl ? IBV_SEND_INLINE : 0;
	if (!inl && keep_mbuf)
		q.mbufs[s] = m; /* null since its last reap */
	b.head++;
}

/*
 * One frame, every case: drops (each counted), unknown MACs (asked of the
 * resolver once per MAC and burst), broadcast fan-out, multi-segment frames,
 * software RSS. false: the ring has no room for it (not taken).
 */
template <bool kMultiSeg, bool kInline, bool kFastFree>
__attribute__((noinline)) bool tx_one(TxQueue &q, TxBurst &b, const PeerTable *tab, rte_mbuf *m)
{
	uint32_t lk[kMaxTxSegs] = {};
	if (kInline)
		q.lkeys.revalidate(); /* not done for the burst (see lkey_of) */
	const uint32_t len = m->pkt_len;
	if (unlikely(len > __atomic_load_n(&q.max_frame, __ATOMIC_RELAXED))) {
		b.drop(m, q.c.drop_oversize);
		return true;
	}
	if (kMultiSeg ? m->nb_segs > q.max_segs : m->nb_segs != 1) {
		b.drop(m, q.c.drop_segs);
		return true;
	}
	const auto *eh = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
	const bool inl = kInline && len <= q.inline_max;
	const uint64_t key = dst_key(eh);
	if ((key & kMacKeyGroupBit) == 0) {
		const PeerEntry *e = tab->find(key);
		if (e == nullptr) {
			q.c.resolver_misses++;
			if (q.registry != nullptr && key != b.requested) { /* once per MAC and burst */
				q.registry->request(eh->dst_addr);
				b.requested = key;
			}
			b.drop(m, q.c.drop_unknown_mac);
			return true;
		}
		if (!inl && !seg_lkeys<kMultiSeg>(q, m, lk)) {
			b.drop(m, q.c.drop_no_lkey);
			return true;
		}
		PeerEntry dest = *e;
		if (e->nqpn > 1)
			dest.qpn = rss_qpn(tab, e, m, eh);
		fill_wr<kMultiSeg, kFastFree>(q, b, m, dest, len, inl, true, lk);
		b.bytes += len;
		if (inl) {
			b.inlined++;
			b.done[b.nd++] = m;
		}
		return true;
	}
	/* Broadcast / multicast: one UD message per known peer, same buffers. */
	const uint32_t copies = tab->bcast_count;
	if (copies == 0 || copies > q.nb_desc) {
		b.drop(m, q.c.drop_unknown_mac);
		return true;
	}
	if (copies > b.free_wrs()) {
		q.c.full++;
		return false;
	}
	if (!inl) {
		if (!seg_lkeys<kMultiSeg>(q, m, lk)) {
			b.drop(m, q.c.drop_no_lkey);
			return true;
		}
		/* Every copy's completion frees the chain once. With MBUF_FAST_FREE
		 * (refcount 1 promised) the last copy's completion frees it instead:
		 * completions come in order, so the earlier copies are done too. */
		if (!kFastFree)
			for (rte_mbuf *seg = m; seg != nullptr; seg = seg->next)
				rte_mbuf_refcnt_update(seg, static_cast<int16_t>(copies - 1));
	}
	for (uint32_t p = 0; p < copies; p++)
		fill_wr<kMultiSeg, kFastFree>(q, b, m, tab->bcast[p], len, inl, !kFastFree || p + 1 == copies, lk);
	b.bcast_wrs += copies;
	q.c.bcast_frames++;
	b.bytes += static_cast<uint64_t>(len) * copies;
	if (inl) {
		b.inlined += copies;
		b.done[b.nd++] = m;
	}
	return true;
}

/* Where a run of common frames stopped; 16 bytes, returned in two registers. */
struct TxRunEnd {
	int32_t k;        /* frames left untaken, negated (0: the run took them all) */
	uint32_t bytes;   /* bytes of the frames taken (at most kMaxTxBurst of 64 KiB) */
	uint32_t held;    /* frames taken not inline: held in the ring until their completion */
	uint32_t pad;
};
static_assert(sizeof(TxRunEnd) == 16, "returned in registers");

/*
 * The common frame — one segment, within the MTU, unicast to a known peer — with
 * the ring state in registers: frames end[k] for k from its (negative) start up
 * to 0, or to the first other frame. Each frame taken uses the next WR (from
 * wr on); an inlined one is freed by the caller after the post (its WR says
 * IBV_SEND_INLINE; its ring slot stays null). Out of line, with what is needed
 * afterwards returned in registers, so the loop has every register to itself.
 * kRss: the table has multi-queue peers (software RSS).
 */
template <bool kMultiSeg, bool kInline, bool kRss>
__attribute__((noinline)) TxRunEnd tx_run(TxQueue &q, const PeerTable *tab, rte_mbuf **const end, intptr_t k,
					  ibv_send_wr *wr)
{
	const uint32_t max_frame = __atomic_load_n(&q.max_frame, __ATOMIC_RELAXED);
	/* Frames up to this size go inline; no larger than the MTU, so an inlined
	 * frame needs no second size check. */
	const uint32_t inline_max = kInline ? std::min(q.inline_max, max_frame) : 0;
	/* PeerTable::slot(key) as a byte offset into the slots. */
	const auto *const peer_base = reinterpret_cast<const uint8_t *>(tab->slots);
	static_assert(sizeof(PeerEntry) == 32, "slot offset = index << 5");
	const uint32_t peer_shift = tab->shift;
	uint32_t bytes = 0; /* at most kMaxTxBurst frames of 64 KiB */
	uint32_t held = 0;
	for (; k != 0; k++) {
		rte_mbuf *m = end[k];
		const uint32_t len = m->data_len;
		if (unlikely(m->nb_segs != 1))
			break;
		const auto *eh = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
		/* A group (broadcast/multicast) MAC is in no slot: it leaves the loop as a miss. */
		const uint64_t key = dst_key(eh);
		const uint64_t off = static_cast<uint64_t>(PeerTable::hash(key) >> peer_shift) << 5;
		const PeerEntry *e = reinterpret_cast<const PeerEntry *>(peer_base + off);
		if (unlikely(e->key != key)) {
			do { /* linear probing, short at load <= 1/3; the table's last slot is free */
				if (e->key == kEmptyKey)
					goto out;
				e++;
			} while (e->key != key);
		}
		ibv_sge *sge = wr->sg_list;
		if (kInline && len <= inline_max) {
			wr->send_flags = IBV_SEND_INLINE;
		} else {
			if (unlikely(len > max_frame))
				break;
			/* Out of line where small frames go inline: the inline loop keeps its registers. */
			const uint32_t lkey = kInline ? lkey_of(q, m) : q.lkeys.lookup(m);
			if (unlikely(lkey == kNoLkey))
				break;
			sge->lkey = lkey;
			wr->send_flags = 0;
			q.mbufs[wr->wr_id] = m;
			held++;
		}
		set_dest(wr, *e);
		if (kRss && e->nqpn > 1)
			wr->wr.ud.remote_qpn = rss_qpn(tab, e, m, eh);
		sge->addr = reinterpret_cast<uintptr_t>(eh);
		sge->length = len;
		if (kMultiSeg)
			wr->num_sge = 1;
		wr = wr->next;
		bytes += len;
	}
out:
	return TxRunEnd{static_cast<int32_t>(k), bytes, held, 0};
}

/* tx_run with or without software RSS, as the table needs. */
template <bool kMultiSeg, bool kInline>
inline __attribute__((always_inline)) TxRunEnd tx_run_any(TxQueue &q, const PeerTable *tab, rte_mbuf **end,
							  intptr_t k, ibv_send_wr *wr)
{
	if (likely(tab->multi_count == 0))
		return tx_run<kMultiSeg, kInline, false>(q, tab, end, k, wr);
	return tx_run<kMultiSeg, kInline, true>(q, tab, end, k, wr);
}

/* Append to b.done the inlined frames among pkts[0, count), sent from sequence h0 on. */
inline void collect_inlined(const TxQueue &q, TxBurst &b, rte_mbuf *const *pkts, uint32_t count, uint64_t h0)
{
	for (uint32_t j = 0; j < count; j++)
		if (q.wrs[(h0 + j) & q.mask].send_flags & IBV_SEND_INLINE)
			b.done[b.nd++] = pkts[j];
}

/*
 * The rest of a burst whose common loop stopped at pkts[i], a frame it does
 * not take: that frame goes to tx_one, then the loop continues after it, and
 * so on while the ring has room. b holds the burst's state. Returns the
 * number of frames taken.
 */
template <bool kMultiSeg, bool kInline, bool kFastFree>
__attribute__((noinline)) uint32_t tx_rest(TxQueue &q, TxBurst &b, const PeerTable *tab, rte_mbuf **pkts, uint32_t n,
					   uint32_t i)
{
	for (;;) {
		if (!tx_one<kMultiSeg, kInline, kFastFree>(q, b, tab, pkts[i]))
			return i; /* a broadcast's copies do not fit: counted as full */
		if (++i == n)
			return i;
		const uint32_t cap = b.free_wrs();
		if (cap == 0) {
			q.c.full++;
			return i;
		}
		const uint32_t lim = std::min<uint32_t>(n, i + cap);
		const intptr_t k0 = -static_cast<intptr_t>(lim - i);
		const TxRunEnd r = tx_run_any<kMultiSeg, kInline>(q, tab, pkts + lim, k0, &q.wrs[b.head & q.mask]);
		const uint32_t taken = static_cast<uint32_t>(r.k - k0);
		if (kInline && r.held != taken)
			collect_inlined(q, b, pkts + i, taken, b.head);
		b.head += taken;
		b.bytes += r.bytes;
		b.inlined += taken - r.held;
		i += taken;
		if (i == n)
			return i;
		if (i == lim) { /* the run used every free WR */
			q.c.full++;
			return i;
		}
	}
}

/*
 * One burst: frames are written into the next WRs of the ring, and the WRs of
 * the burst go to the device with one ibv_post_send, one in q.signal
 * requesting a completion (set after the loop, at the positions the running
 * count gives). Dropped and inlined frames are freed after the post.
 * Common frames go through tx_run, any other through tx_one. Frames are taken
 * in runs no longer than the free WRs (a unicast frame uses one), so the runs
 * never check the ring.
 */
template <bool kMultiSeg, bool kInline, bool kFastFree>
uint16_t tx_burst_impl(void *txq, rte_mbuf **pkts, uint16_t n)
{
	TxQueue &q = *static_cast<TxQueue *>(txq);
	n = std::min(n, kMaxTxBurst);
	/* Completions are reaped when half the ring is outstanding, or when this
	 * burst might not fit: one reap then frees many bursts' mbufs. */
	const uint32_t outstanding = static_cast<uint32_t>(q.head - q.tail);
	if (outstanding >= (q.nb_desc >> 1) || q.nb_desc - outstanding < n)
		tx_reap_impl<kFastFree>(q);
	if (!kMultiSeg && unlikely(q.multi_sge)) {
		/* The multi-segment variant ran before (stop, reconfigure, start): one SGE again. */
		for (uint32_t s = 0; s < q.nb_desc; s++)
			q.wrs[s].num_sge = 1;
		q.multi_sge = false;
	}
	if (kMultiSeg)
		q.multi_sge = true;
	if (!kInline)
		q.lkeys.revalidate(); /* inline variants: in lkey_of and tx_one */
	const PeerTable *tab = q.peers->acquire();
	ibv_send_wr *const wrs = q.wrs;
	rte_mbuf **const slots = q.mbufs;
	const uint32_t mask = q.mask;
	TxBurst b;
	const uint64_t head0 = q.head;
	const uint32_t room = q.nb_desc - static_cast<uint32_t>(head0 - q.tail);

	/* First, the whole burst (as much as the ring holds) through the common loop. */
	const uint32_t lim = std::min<uint32_t>(n, room);
	const intptr_t k0 = -static_cast<intptr_t>(lim);
	const TxRunEnd r = tx_run_any<kMultiSeg, kInline>(q, tab, pkts + lim, k0, &wrs[head0 & mask]);
	uint32_t i = static_cast<uint32_t>(r.k - k0);
	uint32_t posted = i;
	uint64_t bytes = r.bytes;
	uint32_t inlined = kInline ? i - r.held : 0;
	uint32_t hits = i;
	/* Frames to free after the post: pkts[0, posted) when the burst took only
	 * common frames, all inlined (no list to build); else the list b.done. */
	rte_mbuf **free_list = pkts;
	uint32_t nfree = inlined;
	if (unlikely(i != n || (kInline && r.held != 0))) {
		b.nd = 0;
		if (kInline && r.held != i)
			collect_inlined(q, b, pkts, i, head0);
		free_list = b.done;
		if (i != n) {
			/* A frame the loop does not take, or a full ring: the general path. */
			b.head0 = head0;
			b.head = head0 + i;
			b.room = room;
			b.bytes = bytes;
			b.requested = 0;
			b.bcast_wrs = 0;
			b.inlined = inlined;
			if (i == lim)
				q.c.full++; /* the ring is full */
			else
				i = tx_rest<kMultiSeg, kInline, kFastFree>(q, b, tab, pkts, n, i);
			posted = static_cast<uint32_t>(b.head - head0);
			bytes = b.bytes;
			inlined = b.inlined;
			hits = posted - b.bcast_wrs;
		}
		nfree = b.nd;
	}
	q.c.resolver_hits += hits;
	if (kInline)
		q.c.inlined += inlined;
	const uint64_t head = head0 + posted;
	if (posted != 0) {
		/* Selective signaling: a completion every q.signal WRs, counted across bursts. */
		const uint32_t signal = q.signal;
		uint32_t p = signal - 1 - q.unsignaled;
		uint32_t next_unsignaled = q.unsignaled + posted;
		for (; p < posted; p += signal) {
			wrs[(head0 + p) & mask].send_flags |= IBV_SEND_SIGNALED;
			q.c.signaled++;
			next_unsignaled = posted - 1 - p;
		}
		q.unsignaled = next_unsignaled;
		/* The ring is circular: cut it after the burst's last WR for the post. */
		ibv_send_wr *first = &wrs[head0 & mask];
		ibv_send_wr *last = &wrs[(head - 1) & mask];
		ibv_send_wr *after = last->next;
		last->next = nullptr;
		ibv_send_wr *bad = nullptr;
		int rc = ibv_post_send(q.qp, first, &bad);
		last->next = after;
		q.head = head;
		q.c.doorbells++;
		if (likely(rc == 0)) {
			q.c.wrs += posted;
			q.c.packets += posted;
			q.c.bytes += bytes;
		} else {
			/* WRs from bad on were not posted: release their slots and buffers. */
			const uint64_t from = bad != nullptr ? seq_of_slot(head0, bad->wr_id, mask) : head0;
			for (uint64_t w = from; w < head; w++) {
				rte_mbuf *m = slots[w & mask];
				if (m != nullptr)
					rte_pktmbuf_free(m);
				slots[w & mask] = nullptr;
				q.c.drop_post_error++;
			}
			q.c.wrs += from - head0;
			q.c.packets += from - head0;
			q.c.bytes += bytes * (from - head0) / posted; /* approximate on this rare path */
			q.head = from;
		}
	}
	if (nfree != 0) {
		if (kFastFree)
			rte_mempool_put_bulk(free_list[0]->pool, reinterpret_cast<void **>(free_list), nfree);
		else
			rte_pktmbuf_free_bulk(free_list, nfree);
	}
	q.peers->quiescent(q.queue_id);
	return static_cast<uint16_t>(i);
}

} // namespace

void tx_reap(TxQueue &q)
{
	tx_reap_impl<false>(q);
}

uint16_t tx_burst_single(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, false, false>(q, p, n); }
uint16_t tx_burst_single_inline(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, true, false>(q, p, n); }
uint16_t tx_burst_single_ff(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, false, true>(q, p, n); }
uint16_t tx_burst_single_inline_ff(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<false, true, true>(q, p, n); }
uint16_t tx_burst_multi(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<true, false, false>(q, p, n); }
uint16_t tx_burst_multi_inline(void *q, rte_mbuf **p, uint16_t n) { return tx_burst_impl<true, true, false>(q, p, n); }

TxBurstFn select_tx_burst(bool multi_seg, bool use_inline, bool fast_free)
{
	if (multi_seg) /* a chain's segments are freed one by one: no fast-free variant */
		return use_inline ? tx_burst_multi_inline : tx_burst_multi;
	if (fast_free)
		return use_inline ? tx_burst_single_inline_ff : tx_burst_single_ff;
	return use_inline ? tx_burst_single_inline : tx_burst_single;
}

} // namespace rdmaud
