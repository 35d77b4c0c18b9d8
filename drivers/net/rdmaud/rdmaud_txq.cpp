/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud tx queues: setup (prebuilt SEND ring on the device's NUMA node,
 * inline and signaling parameters fixed), start, stop (free what the reset QP
 * never completed) and release.
 */
#include <cerrno>

#include <rte_malloc.h>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

TxQueue *txq_alloc(uint32_t nb, uint32_t segs, int socket)
{
	const size_t bytes = sizeof(TxQueue) +
			     nb * (sizeof(rte_mbuf *) + sizeof(ibv_send_wr) + segs * sizeof(ibv_sge));
	auto *q = static_cast<TxQueue *>(rte_zmalloc_socket("rdmaud_txq", bytes, RTE_CACHE_LINE_SIZE, socket));
	if (q == nullptr)
		return nullptr;
	q->nb_desc = nb;
	q->mask = nb - 1;
	q->max_segs = segs;
	q->mbufs = reinterpret_cast<rte_mbuf **>(q + 1);
	q->wrs = reinterpret_cast<ibv_send_wr *>(q->mbufs + nb);
	q->sges = reinterpret_cast<ibv_sge *>(q->wrs + nb);
	for (uint32_t i = 0; i < nb; i++) {
		q->wrs[i].wr_id = i;
		q->wrs[i].next = &q->wrs[(i + 1) & q->mask];
		q->wrs[i].opcode = IBV_WR_SEND;
		q->wrs[i].sg_list = &q->sges[i * segs];
		q->wrs[i].num_sge = 1;
	}
	return q;
}

void txq_drain(TxQueue &q)
{
	tx_reap(q);
	for (uint64_t w = q.tail; w < q.head; w++) {
		rte_mbuf *m = q.mbufs[w & q.mask];
		if (m != nullptr)
			rte_pktmbuf_free(m);
		q.mbufs[w & q.mask] = nullptr;
	}
	q.tail = q.head;
}

int tx_queue_setup(rte_eth_dev *dev, uint16_t idx, uint16_t desc, unsigned int socket,
		   const rte_eth_txconf *conf)
{
	(void)socket; /* queues live on the device's node, as the rx side */
	Port &port = *port_of(dev);
	if (idx >= port.nb_qps)
		return -EINVAL;
	if (conf != nullptr && conf->tx_deferred_start)
		port.tx_deferred |= 1u << idx;
	else
		port.tx_deferred &= ~(1u << idx);
	tx_queue_release(dev, idx);

	const UdQp &qp = port.qps[idx];
	const uint32_t nb = ring_size(desc, qp.max_send_wr);
	const uint32_t segs = std::min<uint32_t>(kMaxTxSegs, qp.max_send_sge);
	TxQueue *q = txq_alloc(nb, segs, port.dev.numa_node);
	if (q == nullptr) {
		RDMAUD_LOG(ERR, "port %u txq %u: cannot allocate its ring", dev->data->port_id, idx);
		return -ENOMEM;
	}
	q->qp = qp.qp.get();
	q->cq = qp.send_cq.get();
	q->inline_max = std::min<uint32_t>(port.cfg.tx_inline, qp.max_inline);
	/* A signaled WR at least every nb/2 sends keeps the ring reclaimable. */
	q->signal = std::min<uint32_t>(port.cfg.tx_signal, nb / 2);
	q->peers = &port.peers;
	q->port_id = dev->data->port_id;
	q->queue_id = idx;
	q->lkeys.init(&port.mrs);
	dev->data->tx_queues[idx] = q;
	if (q->signal != port.cfg.tx_signal)
		RDMAUD_LOG(NOTICE, "port %u txq %u: completion every %u sends (tx_signal=%u exceeds half "
			   "of the %u-descriptor ring)", dev->data->port_id, idx, q->signal, port.cfg.tx_signal, nb);
	return 0;
}

void tx_queue_release(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<TxQueue *>(dev->data->tx_queues[idx]);
	if (q == nullptr)
		return;
	txq_stop(dev, idx);
	rte_free(q);
	dev->data->tx_queues[idx] = nullptr;
}

int txq_start(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<TxQueue *>(dev->data->tx_queues[idx]);
	if (q == nullptr)
		return -EINVAL;
	/* A queue stopped while rx queue i ran may still hold sends the device has not
	 * completed: they keep their slots (a later completion frees them). */
	if (q->head == q->tail) {
		q->head = q->tail = 0;
		q->unsignaled = 0;
	}
	q->max_frame = max_frame(dev);
	q->lkeys.init(&port_of(dev)->mrs);
	q->registry = port_of(dev)->registry.get();
	q->peers->online(idx);
	dev->data->tx_queue_state[idx] = RTE_ETH_QUEUE_STATE_STARTED;
	return 0;
}

/* After the QP was reset: completions that never came free their buffers here. */
void txq_stop(rte_eth_dev *dev, uint16_t idx)
{
	auto *q = static_cast<TxQueue *>(dev->data->tx_queues[idx]);
	if (q == nullptr)
		return;
	q->peers->offline(idx);
	txq_drain(*q);
	dev->data->tx_queue_state[idx] = RTE_ETH_QUEUE_STATE_STOPPED;
}

void txq_set_max_frame(rte_eth_dev *dev, uint32_t frame)
{
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++) {
		auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
		if (q != nullptr)
			__atomic_store_n(&q->max_frame, frame, __ATOMIC_RELAXED);
	}
}

} // namespace rdmaud
