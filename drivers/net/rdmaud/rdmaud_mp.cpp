/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud in a secondary process (dpdk-proc-info, dpdk-pdump, ...).
 *
 * The primary owns the port: its verbs context, QPs, CQs, address handles and
 * registry thread exist in the primary only. What is shared (hugepage memory,
 * the same addresses in every process) is ethdev's port data, the Port object
 * (rte_malloc'd dev_private) and the queues with their counters. A secondary
 * attaches to that data and gets operations that only read or reset those
 * counters: device info, link status as the primary last set it, basic and
 * per-queue stats, the PMD's xstats (the registry's counters live in the
 * primary's heap and are left out). Its bursts are ethdev's dummies: a
 * secondary cannot post to the primary's QPs. dpdk-pdump needs no more: the
 * primary (testpmd calls rte_pdump_init) copies the frames its own bursts see.
 */
#include <bus_vdev_driver.h>
#include <ethdev_driver.h>

#include "rdmaud.h"

namespace rdmaud {
namespace {

/* The primary keeps dev->data->dev_link current; a secondary only reads it. */
int link_update_secondary(rte_eth_dev *dev, int wait_to_complete)
{
	(void)dev;
	(void)wait_to_complete;
	return 0;
}

constexpr eth_dev_ops kSecondaryOps = [] {
	eth_dev_ops ops{};
	ops.dev_infos_get = dev_infos_get;
	ops.link_update = link_update_secondary;
	ops.stats_get = stats_get;
	ops.stats_reset = stats_reset;
	ops.xstats_get = xstats_get;
	ops.xstats_get_names = xstats_get_names;
	ops.xstats_reset = xstats_reset;
	return ops;
}();

} // namespace

int probe_secondary(rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);
	if (dev == nullptr) {
		RDMAUD_LOG(ERR, "%s: no such port in the primary process", name);
		return -ENODEV;
	}
	dev->device = &vdev->device;
	dev->dev_ops = &kSecondaryOps;
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	rte_eth_dev_probing_finish(dev);
	RDMAUD_LOG(INFO, "%s: port %u attached in a secondary process (stats and info only)", name,
		   dev->data->port_id);
	return 0;
}

} // namespace rdmaud
