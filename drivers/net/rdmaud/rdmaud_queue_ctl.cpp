/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud per-queue start and stop (and deferred start). Rx queue i and tx
 * queue i share UD QP i, and a verbs QP cannot give back its posted receives
 * without leaving RTS; so:
 *   rx queue i stop   QP i goes to RESET, which discards its posted receives; the
 *                     receive CQ is drained and every receive buffer goes back to
 *                     its pool. If tx queue i is started, QP i returns to RTS at once
 *                     (same QPN: peers need no update); a send posted during those
 *                     microseconds fails and is counted (tx_drop_post_error), and a
 *                     NIC may discard sends not yet on the wire (softud has none:
 *                     a datagram leaves when posted). Frames for rx queue i are then
 *                     dropped by the device (no receive posted) until it restarts.
 *   rx queue i start  QP i to RTS if it is not there, the ring refilled and posted.
 *   tx queue i stop   reaps completions. With rx queue i stopped too, QP i goes to
 *                     RESET and the mbufs of every unfinished send are freed; with
 *                     rx queue i running the QP stays in RTS, and frames whose sends
 *                     have not completed stay in the ring (the device may still read
 *                     them) until a later completion or the QP's next reset frees them.
 *   tx queue i start  QP i to RTS if it is not there.
 * A queue set up with rx/tx_deferred_start is left stopped by dev_start.
 */
#include <cerrno>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

namespace {

bool rx_started(const rte_eth_dev *dev, uint16_t i)
{
	return i < dev->data->nb_rx_queues && dev->data->rx_queues[i] != nullptr &&
	       dev->data->rx_queue_state[i] == RTE_ETH_QUEUE_STATE_STARTED;
}

bool tx_started(const rte_eth_dev *dev, uint16_t i)
{
	return i < dev->data->nb_tx_queues && dev->data->tx_queues[i] != nullptr &&
	       dev->data->tx_queue_state[i] == RTE_ETH_QUEUE_STATE_STARTED;
}

/* QP i in RTS (from whatever state a stop left it in). */
int qp_up(rte_eth_dev *dev, uint16_t i)
{
	Port &port = *port_of(dev);
	ibv_qp *qp = port.qps[i].qp.get();
	const int st = qp_state(qp);
	if (st == IBV_QPS_RTS)
		return 0;
	int rc = st == IBV_QPS_RESET ? 0 : qp_to_reset(qp);
	if (rc == 0)
		rc = qp_to_rts(port.dev, qp, port.cfg.qkey);
	if (rc != 0)
		RDMAUD_LOG(ERR, "port %u: QP %u (0x%x) cannot reach RTS: %s", dev->data->port_id, i, qp->qp_num,
			   rte_strerror(-rc));
	return rc;
}

int qp_down(rte_eth_dev *dev, uint16_t i)
{
	ibv_qp *qp = port_of(dev)->qps[i].qp.get();
	int rc = qp_to_reset(qp);
	if (rc != 0)
		RDMAUD_LOG(ERR, "port %u: QP %u (0x%x) did not go to RESET: %s", dev->data->port_id, i,
			   qp->qp_num, rte_strerror(-rc));
	return rc;
}

} // namespace

bool queue_deferred(const rte_eth_dev *dev, bool rx, uint16_t i)
{
	const Port &port = *static_cast<const Port *>(dev->data->dev_private);
	return ((rx ? port.rx_deferred : port.tx_deferred) >> i) & 1u;
}

int rx_queue_start(rte_eth_dev *dev, uint16_t i)
{
	auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
	if (q == nullptr)
		return -EINVAL;
	if (rx_started(dev, i))
		return 0;
	if (int rc = qp_up(dev, i); rc != 0)
		return rc;
	if (int rc = rxq_start(dev, i); rc != 0)
		return rc;
	/* The burst chosen at dev_start reads one lkey per queue when every rx pool was one
	 * memory region: a queue set up since then with a pool of several cannot join it. */
	if (port_of(dev)->rx_base == select_rx_burst(true) && q->lkey == kNoLkey) {
		RDMAUD_LOG(ERR, "port %u rxq %u: mempool %s spans several memory regions, but the port "
			   "started with the single-region rx burst: stop and start the port", dev->data->port_id,
			   i, q->mp->name);
		rx_queue_stop(dev, i);
		return -EINVAL;
	}
	RDMAUD_LOG(INFO, "port %u rxq %u started: %u receive buffers posted", dev->data->port_id, i, q->nb_desc);
	return 0;
}

int rx_queue_stop(rte_eth_dev *dev, uint16_t i)
{
	auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
	if (q == nullptr)
		return -EINVAL;
	if (!q->posted) {
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
		return 0;
	}
	/* RESET discards every posted receive: the buffers are ours to free. */
	int rc = qp_down(dev, i);
	if (rc != 0)
		return rc;
	rxq_stop(dev, i);
	if (tx_started(dev, i))
		rc = qp_up(dev, i);
	else if (auto *tq = static_cast<TxQueue *>(i < dev->data->nb_tx_queues ? dev->data->tx_queues[i] : nullptr))
		txq_drain(*tq); /* the reset ended the sends a stopped tx queue still held */
	RDMAUD_LOG(INFO, "port %u rxq %u stopped: QP 0x%x reset%s, %u receive buffers returned to %s",
		   dev->data->port_id, i, port_of(dev)->qps[i].qp->qp_num,
		   tx_started(dev, i) ? " and back to RTS for txq" : "", q->nb_desc, q->mp->name);
	return rc;
}

int tx_queue_start(rte_eth_dev *dev, uint16_t i)
{
	if (i >= dev->data->nb_tx_queues || dev->data->tx_queues[i] == nullptr)
		return -EINVAL;
	if (tx_started(dev, i))
		return 0;
	if (int rc = qp_up(dev, i); rc != 0)
		return rc;
	return txq_start(dev, i);
}

int tx_queue_stop(rte_eth_dev *dev, uint16_t i)
{
	auto *q = static_cast<TxQueue *>(i < dev->data->nb_tx_queues ? dev->data->tx_queues[i] : nullptr);
	if (q == nullptr)
		return -EINVAL;
	if (!tx_started(dev, i))
		return 0;
	if (!rx_started(dev, i)) {
		int rc = qp_down(dev, i);
		if (rc != 0)
			return rc;
		txq_stop(dev, i); /* reaps, then frees what the reset QP will never complete */
		return 0;
	}
	q->peers->offline(i);
	tx_reap(*q);
	dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	if (q->head != q->tail)
		RDMAUD_LOG(INFO, "port %u txq %u stopped with %u sends not completed: their mbufs are freed "
			   "by a later completion or when QP %u is reset", dev->data->port_id, i,
			   static_cast<unsigned>(q->head - q->tail), i);
	return 0;
}

} // namespace rdmaud
