/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud rx interrupts. Every rx queue's receive CQ reports to a completion
 * channel of its own (created with the QP). With intr_conf.rxq = 1, dev_start puts
 * the channels' fds in the port's interrupt handle as its rx vectors (type VDEV with
 * no counter to read: EAL does not read the fds, the driver consumes the events), so an application adds
 * them to an epoll set (rte_eth_dev_rx_intr_ctl_q) and sleeps in rte_epoll_wait:
 *   rx_queue_intr_enable   arms the CQ (ibv_req_notify_cq): the next receive
 *                          completion makes the channel fd readable;
 *   rx_queue_intr_disable  takes the event off the channel (non-blocking
 *                          ibv_get_cq_event) and acknowledges it.
 * A channel fd may also become readable without an event of its own (softud's fd
 * wakes when any datagram waits for the device): disable then finds no event, the
 * application polls an empty queue and arms it again.
 */
#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include <rte_interrupts.h>

#include "rdmaud.h"

namespace rdmaud {

int intr_init(rte_eth_dev *dev)
{
	rte_intr_handle *h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_SHARED);
	if (h == nullptr)
		return -ENOMEM;
	/* VDEV: one vector per queue (rte_intr_cap_multiple), and with an efd counter size
	 * of 0 EAL reads nothing from the fds. */
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) != 0) {
		rte_intr_instance_free(h);
		return -rte_errno;
	}
	dev->intr_handle = h;
	return 0;
}

void intr_fini(rte_eth_dev *dev)
{
	rx_intr_stop(dev);
	rte_intr_instance_free(dev->intr_handle);
	dev->intr_handle = nullptr;
}

int rx_intr_start(rte_eth_dev *dev)
{
	rte_intr_handle *h = dev->intr_handle;
	if (!dev->data->dev_conf.intr_conf.rxq || h == nullptr)
		return 0;
	Port &port = *port_of(dev);
	const uint16_t n = dev->data->nb_rx_queues;
	rx_intr_stop(dev);
	if (rte_intr_vec_list_alloc(h, "rdmaud_rx_intr", n) != 0) {
		RDMAUD_LOG(ERR, "port %u: no room for %u rx interrupt vectors", dev->data->port_id, n);
		return -rte_errno;
	}
	for (uint16_t i = 0; i < n; i++) {
		ibv_comp_channel *ch = port.qps[i].rx_channel.get();
		if (ch == nullptr) {
			RDMAUD_LOG(ERR, "port %u rxq %u: %s gave the queue no completion channel: no rx "
				   "interrupt", dev->data->port_id, i, port.dev.name.c_str());
			rx_intr_stop(dev);
			return -ENOTSUP;
		}
		const int fl = fcntl(ch->fd, F_GETFL);
		if (fl < 0 || fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
			const int e = errno;
			RDMAUD_LOG(ERR, "port %u rxq %u: completion channel fd %d: %s", dev->data->port_id, i,
				   ch->fd, strerror(e));
			rx_intr_stop(dev);
			return -e;
		}
		if (rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i) != 0 ||
		    rte_intr_efds_index_set(h, i, ch->fd) != 0) {
			rx_intr_stop(dev);
			return -rte_errno;
		}
	}
	if (rte_intr_nb_efd_set(h, n) != 0 || rte_intr_efd_counter_size_set(h, 0) != 0) {
		rx_intr_stop(dev);
		return -rte_errno;
	}
	return 0;
}

void rx_intr_stop(rte_eth_dev *dev)
{
	rte_intr_handle *h = dev->intr_handle;
	if (h == nullptr || rte_intr_nb_efd_get(h) <= 0)
		return;
	/* Out of every epoll set the application added the vectors to. */
	rte_intr_free_epoll_fd(h);
	rte_intr_vec_list_free(h);
	rte_intr_nb_efd_set(h, 0);
}

namespace {

ibv_cq *armable_cq(rte_eth_dev *dev, uint16_t idx)
{
	Port &port = *port_of(dev);
	if (idx >= dev->data->nb_rx_queues || idx >= port.nb_qps || port.qps[idx].rx_channel == nullptr)
		return nullptr;
	return port.qps[idx].recv_cq.get();
}

} // namespace

int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t idx)
{
	ibv_cq *cq = armable_cq(dev, idx);
	if (cq == nullptr)
		return -EINVAL;
	if (int rc = ibv_req_notify_cq(cq, 0); rc != 0) {
		RDMAUD_LOG(ERR, "port %u rxq %u: cannot arm the receive CQ: %s", dev->data->port_id, idx,
			   strerror(rc));
		return -rc;
	}
	return 0;
}

int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t idx)
{
	ibv_cq *cq = armable_cq(dev, idx);
	if (cq == nullptr)
		return -EINVAL;
	ibv_cq *ev_cq = nullptr;
	void *ev_ctx = nullptr;
	/* The fd is non-blocking: EAGAIN when the queue's CQ raised no event (yet). */
	if (ibv_get_cq_event(cq->channel, &ev_cq, &ev_ctx) != 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		RDMAUD_LOG(ERR, "port %u rxq %u: reading the completion channel: %s", dev->data->port_id,
			   idx, strerror(errno));
		return -errno;
	}
	ibv_ack_cq_events(ev_cq, 1);
	return 0;
}

} // namespace rdmaud
