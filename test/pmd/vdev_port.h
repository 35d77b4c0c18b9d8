/* SPDX-License-Identifier: BSD-3-Clause */
/* Test helper: create a net_rdmaud vdev and start it with one rx and one tx queue. */
#ifndef RDMAUD_TEST_VDEV_PORT_H
#define RDMAUD_TEST_VDEV_PORT_H

#include <cstdio>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

/* Probe vdev `name` with `args`, configure it (conf) with desc-descriptor queues
 * (rx from mp) and start it. 0 or -errno, with a FAIL line naming the port. */
inline int open_vdev_port(const char *name, const char *args, const rte_eth_conf &conf, uint16_t desc,
			  rte_mempool *mp, uint16_t &port)
{
	int rc = rte_vdev_init(name, args);
	if (rc == 0)
		rc = rte_eth_dev_get_port_by_name(name, &port);
	if (rc == 0)
		rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, desc, 0, nullptr, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, desc, 0, nullptr);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0)
		std::printf("FAIL: port %s (%s): %s\n", name, args, rte_strerror(-rc));
	return rc;
}

#endif
