/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud datapath structures and burst functions. Queues are allocated on
 * the verbs device's NUMA node, hot fields first; their work-request rings are
 * prebuilt at setup so a burst only patches the per-packet fields.
 */
#ifndef RDMAUD_RXTX_H
#define RDMAUD_RXTX_H

#include <cstdint>

#include <infiniband/verbs.h>
#include <rte_mbuf.h>

#include "rdmaud_mr.h"
#include "rdmaud_peers.h"

namespace rdmaud {

class RegistryLink;
struct MacFilter;

/* Segments per transmitted frame (SGEs per send WR): testpmd's --txpkts allows 8. */
inline constexpr uint32_t kMaxTxSegs = 8;
/* Segments per received frame (SGEs per RECV) with RTE_ETH_RX_OFFLOAD_SCATTER: a
 * 4096-byte frame in mbufs of testpmd's smallest useful data room (512 + headroom). */
inline constexpr uint32_t kMaxRxSegs = 8;
/* Completions polled per call: one rx burst of testpmd's maximum useful size. */
inline constexpr uint16_t kMaxRxBurst = 64;
/* Frames looked at per tx burst: bounds the on-stack arrays; the app re-offers the rest. */
inline constexpr uint16_t kMaxTxBurst = 256;
/* Send completions reaped per poll: with one per 32 sends, 16 cover 512 WRs. */
inline constexpr int kTxReapBatch = 16;

/* Receive counters; written only by the queue's polling thread. */
struct RxCounters {
	uint64_t packets;
	uint64_t bytes;
	uint64_t nombuf;      /* frames dropped: no replacement mbuf (buffer reposted) */
	uint64_t wc_errors;   /* error completions */
	uint64_t runts;       /* completions shorter than GRH + Ethernet header */
	uint64_t doorbells;   /* ibv_post_recv calls */
	uint64_t wrs;         /* RECV WRs posted */
	uint64_t post_errors; /* ibv_post_recv refused */
	uint64_t cq_errors;   /* ibv_poll_cq failed: the CQ is in error (overrun) */
	uint64_t mac_filtered; /* frames dropped by the MAC filter (not promiscuous; not in packets) */
};

/* Transmit counters; written only by the queue's polling thread. */
struct TxCounters {
	uint64_t packets;          /* UD messages posted (a broadcast counts once per copy) */
	uint64_t bytes;
	uint64_t drop_oversize;    /* frame larger than the MTU */
	uint64_t drop_unknown_mac; /* destination not in the peer table */
	uint64_t drop_no_lkey;     /* memory outside any registrable mempool (external buffer) */
	uint64_t drop_segs;        /* more segments than SGEs (or multi-seg without the offload) */
	uint64_t drop_post_error;  /* ibv_post_send refused the WR */
	uint64_t resolver_hits;
	uint64_t resolver_misses;
	uint64_t bcast_frames;     /* broadcast/multicast frames fanned out */
	uint64_t wc_errors;        /* error send completions */
	uint64_t doorbells;        /* ibv_post_send calls */
	uint64_t wrs;              /* send WRs posted */
	uint64_t signaled;         /* WRs that requested a completion */
	uint64_t inlined;          /* WRs sent inline */
	uint64_t full;             /* bursts cut short by a full send queue */
	uint64_t cq_errors;        /* ibv_poll_cq failed: the CQ is in error (overrun) */
};

struct alignas(RTE_CACHE_LINE_SIZE) RxQueue {
	/* hot */
	ibv_cq *cq;
	ibv_qp *qp;
	rte_mempool *mp;
	rte_mbuf **mbufs;       /* [nb_desc * nseg] buffers posted in each slot */
	ibv_recv_wr *wrs;       /* [nb_desc] circularly linked */
	ibv_sge *sges;          /* [nb_desc * nseg] */
	uint64_t cons;          /* sequence of the oldest posted slot */
	uint32_t mask;
	uint32_t nb_desc;
	uint16_t port_id;
	uint16_t queue_id;
	uint32_t sge_len;       /* GRH + data room of the pool's mbufs (a slot's first SGE) */
	uint32_t nseg;          /* SGEs (mbufs) per slot: 1, or more with scattered rx */
	uint32_t seg_len;       /* bytes of each later SGE (the data room after the headroom) */
	uint32_t lkey;          /* the rx pool's lkey when one MR covers it, else kNoLkey */
	uint64_t rearm;         /* data_off, refcnt 1, nb_segs 1, port: one store per mbuf */
	uintptr_t buf_off;      /* receive address - mbuf address (rx_buf_offset) */
	/* Software rx offloads, looked at once per burst (rx_offloads): ptype
	 * layers to parse (rte_net_get_ptype's mask; 0: none) and RSS hash. */
	uint32_t ptype_layers;
	/* Completions rx_queue_count polled from the CQ (verbs cannot peek at one) and no
	 * burst has delivered yet: the oldest at stash[stash_head]. A burst takes these
	 * first; one test per burst when there are none. */
	uint32_t stash_len;
	bool rss_hash;
	uint32_t stash_head;
	ibv_wc *stash;          /* [nb_desc]: a ring never holds more completions than slots */
	uint32_t unposted;      /* slots a refused ibv_post_recv left unposted, until the queue restarts */
	const MacFilter *filter;   /* the port's (read by the filtering bursts only) */
	LkeyCache lkeys;
	RxCounters c;
	RxCounters base;        /* at the last stats reset */
	bool posted;            /* slots hold mbufs posted to the QP */
};

struct alignas(RTE_CACHE_LINE_SIZE) TxQueue {
	/* hot */
	ibv_qp *qp;
	ibv_cq *cq;
	rte_mbuf **mbufs;       /* [nb_desc] mbuf to free when the slot completes (null: inlined) */
	ibv_send_wr *wrs;       /* [nb_desc] circularly linked; wr_id = slot index */
	ibv_sge *sges;          /* [nb_desc * max_segs] */
	PeerDirectory *peers;
	RegistryLink *registry; /* null without a registry: unknown MACs are only dropped */
	uint64_t head;          /* WRs posted */
	uint64_t tail;          /* WRs known complete */
	uint32_t mask;
	uint32_t nb_desc;
	uint32_t signal;        /* request a completion every this many WRs */
	uint32_t unsignaled;    /* WRs since the last signaled one */
	uint32_t inline_max;    /* frames up to this size go inline */
	uint32_t max_segs;
	uint32_t max_frame;     /* MTU + L2 header; updated by mtu_set */
	uint16_t port_id;
	uint16_t queue_id;
	bool multi_sge;         /* the multi-segment burst wrote num_sge: reset before single-SGE use */
	LkeyCache lkeys;
	TxCounters c;
	TxCounters base;
};

/* Burst functions; the tx variant is chosen at dev_start. The _ff variants
 * implement RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: the application promises that a
 * queue's mbufs come from one pool, are direct and have refcount 1, so they go
 * back with rte_mempool_put_bulk (single-segment frames only). */
uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t n);
uint16_t rx_burst_fixed_lkey(void *rxq, rte_mbuf **pkts, uint16_t n); /* every queue has one rx lkey */
using RxBurstFn = uint16_t (*)(void *, rte_mbuf **, uint16_t);
RxBurstFn select_rx_burst(bool fixed_lkey);
/* Scattered rx (rdmaud_rx_scatter.cpp): a frame spans up to nseg mbufs of its slot. */
uint16_t rx_burst_scatter(void *rxq, rte_mbuf **pkts, uint16_t n);
/* MAC filtering (rdmaud_rx_filter.cpp): base, then drop (and count) the frames the
 * queue's filter does not accept. The variant wrapping base (one of the three above). */
RxBurstFn select_rx_filter(RxBurstFn base);
/* A pool's buffer follows its mbuf and private area (rte_mbuf_buf_addr), so the
 * receive address (GRH in the headroom) is this far from the mbuf. Pools with
 * pinned external buffers have no lkey: rxq_fill refuses them. */
uintptr_t rx_buf_offset(rte_mempool *mp);
/* The software rx offloads of pkts[0, n) (rdmaud_offload.cpp): packet type
 * and RSS hash, as q asks. Out of line, called for bursts of queues with one. */
void rx_offloads(const RxQueue &q, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_single(void *txq, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_single_inline(void *txq, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_single_ff(void *txq, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_single_inline_ff(void *txq, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_multi(void *txq, rte_mbuf **pkts, uint16_t n);
uint16_t tx_burst_multi_inline(void *txq, rte_mbuf **pkts, uint16_t n);
using TxBurstFn = uint16_t (*)(void *, rte_mbuf **, uint16_t);
TxBurstFn select_tx_burst(bool multi_seg, bool use_inline, bool fast_free);

/* Allocate a queue with its prebuilt WR ring on NUMA node socket (fields
 * other than the rings are the caller's); nullptr when out of memory. A slot
 * has nseg SGEs: sge_len bytes (GRH included), then seg_len bytes each. */
RxQueue *rxq_alloc(uint32_t nb_desc, uint32_t sge_len, int socket, uint32_t nseg = 1, uint32_t seg_len = 0);
TxQueue *txq_alloc(uint32_t nb_desc, uint32_t max_segs, int socket);
/* Fill every slot with an mbuf of q.mp and post them all with one call. 0 or -errno. */
int rxq_fill(RxQueue &q);
/* Give back every slot's buffer (the QP holds none: reset, or never posted). */
void rxq_drain(RxQueue &q);
/* Free what the send queue never completed (after a QP reset). */
void txq_drain(TxQueue &q);

/* Reap send completions and free finished mbufs (also used at stop). The ring's
 * WRs carry their slot index as wr_id: a completion's sequence number is found
 * from the oldest outstanding one. */
void tx_reap(TxQueue &q);
/* Post RECVs for count slots starting at q.cons; 0 or the verbs error. */
int rx_repost(RxQueue &q, uint32_t count);
/* Up to n of the completions rx_queue_count stashed, oldest first, into wc (every burst
 * variant calls it instead of polling the CQ while q.stash_len != 0). */
int rx_stash_take(RxQueue &q, ibv_wc *wc, int n);
/* Poll the CQ into the stash until it is empty (bounded by the ring): the completions
 * received and not yet delivered. rx_queue_count and rx_descriptor_status (rdmaud_info.cpp)
 * are built on it; like a burst, called only by the queue's polling thread. */
uint32_t rx_stash_fill(RxQueue &q);
uint32_t rx_queue_count(void *rxq);
int rx_descriptor_status(void *rxq, uint16_t offset);

} // namespace rdmaud

#endif /* RDMAUD_RXTX_H */
