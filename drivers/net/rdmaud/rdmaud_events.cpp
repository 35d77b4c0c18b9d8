/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud device events: the verbs context's asynchronous events, read on the
 * EAL interrupt thread (the context's async_fd in an interrupt handle of its own).
 *   IBV_EVENT_PORT_ACTIVE / IBV_EVENT_PORT_ERR on our port: the link status is
 *     queried again and, when it changed and the application asked for
 *     intr_conf.lsc, RTE_ETH_EVENT_INTR_LSC is raised;
 *   IBV_EVENT_DEVICE_FATAL: the device is gone; the link goes down and, with
 *     intr_conf.rmv, RTE_ETH_EVENT_INTR_RMV is raised (the application then closes
 *     the port);
 *   any other event is logged.
 */
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rte_interrupts.h>

#include "rdmaud.h"

namespace rdmaud {

namespace {

void async_handler(void *arg)
{
	auto *dev = static_cast<rte_eth_dev *>(arg);
	Port &port = *port_of(dev);
	ibv_context *ctx = port.dev.ctx.get();
	bool lsc = false, rmv = false;
	ibv_async_event ev;
	while (ibv_get_async_event(ctx, &ev) == 0) {
		switch (ev.event_type) {
		case IBV_EVENT_PORT_ACTIVE:
		case IBV_EVENT_PORT_ERR:
			if (ev.element.port_num == port.dev.port) {
				RDMAUD_LOG(NOTICE, "port %u: %s port %u is %s", dev->data->port_id, port.dev.name.c_str(),
					   port.dev.port, ev.event_type == IBV_EVENT_PORT_ACTIVE ? "active" : "down");
				lsc = true;
			}
			break;
		case IBV_EVENT_DEVICE_FATAL:
			RDMAUD_LOG(ERR, "port %u: %s reported a fatal error: the device is gone, close the port",
				   dev->data->port_id, port.dev.name.c_str());
			lsc = rmv = true;
			break;
		default:
			RDMAUD_LOG(WARNING, "port %u: %s: asynchronous event %s", dev->data->port_id,
				   port.dev.name.c_str(), ibv_event_type_str(ev.event_type));
			break;
		}
		ibv_ack_async_event(&ev);
	}
	/* link_update returns 0 when the stored link status changed. */
	if (lsc && dev->dev_ops->link_update(dev, 0) == 0 && dev->data->dev_conf.intr_conf.lsc)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, nullptr);
	if (rmv && dev->data->dev_conf.intr_conf.rmv)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RMV, nullptr);
}

} // namespace

int events_start(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	const int fd = port.dev.ctx->async_fd;
	const int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -errno;
	rte_intr_handle *h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (h == nullptr)
		return -ENOMEM;
	int rc = rte_intr_type_set(h, RTE_INTR_HANDLE_EXT);
	if (rc == 0)
		rc = rte_intr_fd_set(h, fd);
	if (rc == 0)
		rc = rte_intr_callback_register(h, async_handler, dev);
	if (rc != 0) {
		rte_intr_instance_free(h);
		return rc < 0 ? rc : -rte_errno;
	}
	port.async_intr = h;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_INTR_RMV;
	return 0;
}

void events_stop(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	if (port.async_intr == nullptr)
		return;
	/* -EAGAIN while the handler runs: wait for it (bounded: 1 s). */
	for (int i = 0; i < 1000; i++) {
		int rc = rte_intr_callback_unregister(port.async_intr, async_handler, dev);
		if (rc != -EAGAIN)
			break;
		usleep(1000);
	}
	rte_intr_instance_free(port.async_intr);
	port.async_intr = nullptr;
}

} // namespace rdmaud
