/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud rx queues: setup (pool checks, registration, prebuilt RECV ring on
 * the device's NUMA node), start (fill and post every slot with one call),
 * stop (take the buffers back after the QP was reset) and release.
 */
#include <cerrno>
#include <cstring>

#include <rte_malloc.h>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

static_assert(RTE_PKTMBUF_HEADROOM >= kGrhLen,
	      "the GRH is received into the mbuf headroom: DPDK must be built with >= 40 bytes of it");


RxQueue *rxq_alloc(uint32_t nb, uint32_t sge_len, int socket, uint32_t nseg, uint32_t seg_len)
{
	const size_t bytes = sizeof(RxQueue) +
			     nb * (nseg * sizeof(rte_mbuf *) + sizeof(ibv_recv_wr) + nseg * sizeof(ibv_sge) + sizeof(ibv_wc));
	auto *q = static_cast<RxQueue *>(rte_zmalloc_socket("rdmaud_rxq", bytes, RTE_CACHE_LINE_SIZE, socket));
	if (q == nullptr)
		return nullptr;
	q->nb_desc = nb;
	q->mask = nb - 1;
	q->mbufs = reinterpret_cast<rte_mbuf **>(q + 1);
	q->wrs = reinterpret_cast<ibv_recv_wr *>(q->mbufs + nb * nseg);
	q->sges = reinterpret_cast<ibv_sge *>(q->wrs + nb);
	q->stash = reinterpret_cast<ibv_wc *>(q->sges + nb * nseg);
	static_assert(alignof(ibv_sge) >= alignof(ibv_wc), "the stash follows the SGEs");
	q->sge_len = sge_len;
	q->nseg = nseg;
	q->seg_len = seg_len;
	for (uint32_t i = 0; i < nb; i++) {
		q->wrs[i].wr_id = i;
		q->wrs[i].sg_list = &q->sges[i * nseg];
		q->wrs[i].num_sge = static_cast<int>(nseg);
		q->wrs[i].next = &q->wrs[(i + 1) & q->mask];
		for (uint32_t j = 0; j < nseg; j++)
			q->sges[i * nseg + j].length = j == 0 ? sge_len : seg_len;
	}
	return q;
}

int rxq_fill(RxQueue &q)
{
	const uint32_t nbufs = q.nb_desc * q.nseg;
	if (rte_pktmbuf_alloc_bulk(q.mp, q.mbufs, nbufs) != 0)
		return -ENOMEM;
	q.lkeys.revalidate();
	for (uint32_t i = 0; i < nbufs; i++) {
		rte_mbuf *m = q.mbufs[i];
		/* A slot's first buffer takes the GRH in its headroom; later ones start at data_off. */
		const uint32_t grh = i % q.nseg == 0 ? kGrhLen : 0;
		q.sges[i].addr = reinterpret_cast<uintptr_t>(m->buf_addr) + m->data_off - grh;
		q.sges[i].lkey = q.lkeys.lookup(m);
		if (q.sges[i].lkey == kNoLkey) {
			rte_pktmbuf_free_bulk(q.mbufs, nbufs);
			return -EFAULT;
		}
	}
	/* One MR covers the pool (the usual case): its lkey is a constant of the queue. */
	q.lkey = q.lkeys.reg->pool_lkey(q.mp);
	q.buf_off = rx_buf_offset(q.mp);
	/* A freshly reset mbuf with our port is the template of what rx_burst rearms. */
	q.mbufs[0]->port = q.port_id;
	std::memcpy(&q.rearm, &q.mbufs[0]->rearm_data, sizeof(q.rearm));
	q.cons = 0;
	q.stash_head = q.stash_len = 0;
	q.unposted = 0;
	q.posted = true;
	if (int rc = rx_repost(q, q.nb_desc); rc != 0) {
		rxq_drain(q);
		return -rc;
	}
	return 0;
}

void rxq_drain(RxQueue &q)
{
	if (!q.posted)
		return;
	ibv_wc wc[kMaxRxBurst];
	while (ibv_poll_cq(q.cq, kMaxRxBurst, wc) > 0)
		;
	q.stash_head = q.stash_len = 0; /* their slots' buffers are freed below */
	rte_pktmbuf_free_bulk(q.mbufs, q.nb_desc * q.nseg);
	q.posted = false;
}

int rx_queue_setup(rte_eth_dev *dev, uint16_t idx, uint16_t desc, unsigned int socket,
		   const rte_eth_rxconf *conf, rte_mempool *mp)
{
	Port &port = *port_of(dev);
	if (idx >= port.nb_qps)
		return -EINVAL;
	if (conf != nullptr && conf->rx_deferred_start)
		port.rx_deferred |= 1u << idx;
	else
		port.rx_deferred &= ~(1u << idx);
	const uint32_t frame = max_frame(dev);
	const uint32_t room = rte_pktmbuf_data_room_size(mp);
	const bool scatter = ((dev->data->dev_conf.rxmode.offloads | (conf != nullptr ? conf->offloads : 0)) &
			      RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
	if (room <= RTE_PKTMBUF_HEADROOM) {
		RDMAUD_LOG(ERR, "port %u rxq %u: mempool %s has %u bytes of data room, no more than the "
			   "%u of headroom", dev->data->port_id, idx, mp->name, room, RTE_PKTMBUF_HEADROOM);
		return -EINVAL;
	}
	const uint32_t seg_room = room - RTE_PKTMBUF_HEADROOM;
	uint32_t nseg = 1;
	if (seg_room < frame) {
		if (!scatter) {
			RDMAUD_LOG(ERR, "port %u rxq %u: mempool %s has %u bytes of data room; %u of headroom "
				   "(the GRH lands there) plus frames of %u bytes (MTU %u) need %u: use larger "
				   "mbufs, a smaller MTU or RTE_ETH_RX_OFFLOAD_SCATTER", dev->data->port_id, idx,
				   mp->name, room, RTE_PKTMBUF_HEADROOM, frame, dev->data->mtu,
				   RTE_PKTMBUF_HEADROOM + frame);
			return -EINVAL;
		}
		nseg = (frame + seg_room - 1) / seg_room;
		if (nseg > port.qps[idx].max_recv_sge) {
			RDMAUD_LOG(ERR, "port %u rxq %u: frames of %u bytes (MTU %u) in mbufs of %u bytes "
				   "(mempool %s) need %u segments; %s receives into at most %u", dev->data->port_id,
				   idx, frame, dev->data->mtu, seg_room, mp->name, nseg, port.dev.name.c_str(),
				   port.qps[idx].max_recv_sge);
			return -EINVAL;
		}
	}
	/* As mlx4/mlx5: accepted, but every received frame then crosses nodes. A pool
	 * in an external memory heap has that heap's socket id (never a device's). */
	if (port.dev.numa_node >= 0 && mp->socket_id != SOCKET_ID_ANY && mp->socket_id != port.dev.numa_node)
		RDMAUD_LOG(WARNING, "port %u rxq %u: mempool %s is on %s %d, the device on NUMA node %d: "
			   "expect cross-node traffic", dev->data->port_id, idx, mp->name,
			   rte_malloc_heap_socket_is_external(mp->socket_id) == 1 ? "external heap socket" : "NUMA node",
			   mp->socket_id, port.dev.numa_node);
	if (static_cast<int>(socket) != SOCKET_ID_ANY && port.dev.numa_node >= 0 && static_cast<int>(socket) != port.dev.numa_node)
		RDMAUD_LOG(INFO, "port %u rxq %u: queue placed on the device's NUMA node %d, not %u",
			   dev->data->port_id, idx, port.dev.numa_node, socket);
	if (int rc = port.mrs.register_pool(mp); rc != 0) {
		RDMAUD_LOG(ERR, "port %u rxq %u: cannot register mempool %s with %s: %s", dev->data->port_id,
			   idx, mp->name, port.dev.name.c_str(), rte_strerror(-rc));
		return rc;
	}
	rx_queue_release(dev, idx);

	const uint32_t nb = ring_size(desc, port.qps[idx].max_recv_wr);
	RxQueue *q = rxq_alloc(nb, seg_room + kGrhLen, port.dev.numa_node, nseg, seg_room);
	if (q == nullptr) {
		RDMAUD_LOG(ERR, "port %u rxq %u: cannot allocate its ring", dev->data->port_id, idx);
		return -ENOMEM;
	}
	q->cq = port.qps[idx].recv_cq.get();
	q->qp = port.qps[idx].qp.get();
	q->mp = mp;
	q->port_id = dev->data->port_id;
	q->queue_id = idx;
	q->lkeys.init(&port.mrs);
	q->filter = &port.filter;
	rxq_set_offloads(dev, *q, conf != nullptr ? conf->offloads : 0);
	dev->data->rx_queues[idx] = q;
	if (nseg > 1)
		RDMAUD_LOG(INFO, "port %u rxq %u: scattered rx, up to %u mbufs of %u bytes per frame",
			   dev->data->port_id, idx, nseg, seg_room);
	if (nb != static_cast<uint32_t>(desc))
		RDMAUD_LOG(INFO, "port %u rxq %u: %u descriptors (asked %u; rings are powers of two "
			   "from %u to %u)", dev->data->port_id, idx, nb, desc, kMinDesc, port.qps[idx].max_recv_wr);
	return 0;
}

void rx_queue_release(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<RxQueue *>(dev->data->rx_queues[idx]);
	if (q == nullptr)
		return;
	if (q->posted)
		rxq_stop(dev, idx);
	rte_free(q);
	dev->data->rx_queues[idx] = nullptr;
}

int rxq_start(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<RxQueue *>(dev->data->rx_queues[idx]);
	if (q == nullptr)
		return -EINVAL;
	if (int rc = rxq_fill(*q); rc != 0) {
		RDMAUD_LOG(ERR, "port %u rxq %u: cannot post %u receive buffers from mempool %s: %s",
			   dev->data->port_id, idx, q->nb_desc, q->mp->name, rte_strerror(-rc));
		return rc;
	}
	dev->data->rx_queue_state[idx] = RTE_ETH_QUEUE_STATE_STARTED;
	return 0;
}

/* Called once the QP is in RESET (no RECV outstanding): every slot's buffer is ours again. */
void rxq_stop(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<RxQueue *>(dev->data->rx_queues[idx]);
	if (q == nullptr)
		return;
	rxq_drain(*q);
	dev->data->rx_queue_state[idx] = RTE_ETH_QUEUE_STATE_STOPPED;
}

} // namespace rdmaud
