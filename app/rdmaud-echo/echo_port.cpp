/* SPDX-License-Identifier: BSD-3-Clause */
#include "echo_port.h"

#include <cerrno>
#include <cstdio>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

namespace echo {

int port_open(uint16_t id, uint16_t nb_queues, unsigned frame_size, Port &port, std::string &err)
{
	char buf[256];
	port = Port{};
	port.id = id;
	if (!rte_eth_dev_is_valid_port(id)) {
		std::snprintf(buf, sizeof(buf), "port %u does not exist (%u ports probed)", id,
			      rte_eth_dev_count_avail());
		err = buf;
		return -ENODEV;
	}
	rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(id, &info);
	if (rc != 0) {
		err = "rte_eth_dev_info_get failed";
		return rc;
	}
	if (nb_queues > info.max_rx_queues || nb_queues > info.max_tx_queues) {
		std::snprintf(buf, sizeof(buf), "port %u (%s) has at most %u rx / %u tx queues, %u worker lcores need one each",
			      id, info.driver_name, info.max_rx_queues, info.max_tx_queues, nb_queues);
		err = buf;
		return -EINVAL;
	}
	if (frame_size > info.max_rx_pktlen) {
		std::snprintf(buf, sizeof(buf), "frame size %u exceeds port %u's maximum frame of %u bytes",
			      frame_size, id, info.max_rx_pktlen);
		err = buf;
		return -EINVAL;
	}
	port.socket = rte_eth_dev_socket_id(id);
	if (port.socket < 0)
		port.socket = 0;

	/* Every descriptor of every queue, a window's worth per queue and the lcore caches. */
	unsigned nb_mbufs = nb_queues * (kRxDesc + kTxDesc + 2 * kBurst) + (rte_lcore_count() + 1) * kPoolCache;
	std::snprintf(buf, sizeof(buf), "echo_pool_p%u", id);
	port.pool = rte_pktmbuf_pool_create(buf, nb_mbufs, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, port.socket);
	if (port.pool == nullptr) {
		std::snprintf(buf, sizeof(buf), "cannot create a pool of %u mbufs on socket %d: %s", nb_mbufs,
			      port.socket, rte_strerror(rte_errno));
		err = buf;
		return -rte_errno;
	}

	rte_eth_conf conf{};
	rc = rte_eth_dev_configure(id, nb_queues, nb_queues, &conf);
	if (rc != 0) {
		std::snprintf(buf, sizeof(buf), "rte_eth_dev_configure(port %u, %u queues): %s", id, nb_queues,
			      rte_strerror(-rc));
		err = buf;
		return rc;
	}
	uint16_t nb_rxd = kRxDesc, nb_txd = kTxDesc;
	rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < nb_queues; q++) {
		rc = rte_eth_rx_queue_setup(id, q, nb_rxd, port.socket, nullptr, port.pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(id, q, nb_txd, port.socket, nullptr);
		if (rc != 0) {
			std::snprintf(buf, sizeof(buf), "queue %u setup on port %u: %s", q, id, rte_strerror(-rc));
			err = buf;
			return rc;
		}
	}
	rte_eth_promiscuous_enable(id); /* best effort: not every PMD has it */
	rc = rte_eth_dev_start(id);
	if (rc != 0) {
		std::snprintf(buf, sizeof(buf), "rte_eth_dev_start(port %u): %s", id, rte_strerror(-rc));
		err = buf;
		return rc;
	}
	port.started = true;
	port.nb_queues = nb_queues;
	rte_eth_macaddr_get(id, &port.mac);
	return 0;
}

void port_close(Port &port)
{
	if (port.started) {
		rte_eth_dev_stop(port.id);
		port.started = false;
	}
	if (rte_eth_dev_is_valid_port(port.id))
		rte_eth_dev_close(port.id);
	if (port.pool != nullptr) {
		rte_mempool_free(port.pool);
		port.pool = nullptr;
	}
}

} // namespace echo
