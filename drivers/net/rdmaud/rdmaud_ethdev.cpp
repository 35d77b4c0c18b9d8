/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud control plane: vdev probe/remove and the ethdev operations.
 *
 * Status: the port is probed (devargs validated, ethdev allocated and released
 * cleanly). Opening the verbs device and the rx/tx datapath are not there yet:
 * dev_configure refuses with -ENOTSUP and says so, rather than pretend.
 */
#include <cerrno>
#include <new>
#include <string>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_malloc.h>

#include "rdmaud.h"

RTE_LOG_REGISTER(rdmaud_logtype, pmd.net.rdmaud, NOTICE);

namespace rdmaud {
namespace {

Port *port_of(rte_eth_dev *dev)
{
	return static_cast<Port *>(dev->data->dev_private);
}

int dev_configure(rte_eth_dev *dev)
{
	RDMAUD_LOG(ERR, "port %u: the verbs datapath is not implemented yet; cannot configure",
		   dev->data->port_id);
	return -ENOTSUP;
}

int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info)
{
	(void)dev;
	/* The queue model's limit; dev_configure still refuses until the datapath exists. */
	info->max_rx_queues = kMaxQueues;
	info->max_tx_queues = kMaxQueues;
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = RTE_ETHER_MAX_LEN;
	return 0;
}

/* No verbs port is opened yet, so there is no link to report: down, no speed. */
int link_update(rte_eth_dev *dev, int wait_to_complete)
{
	(void)wait_to_complete;
	rte_eth_link link{};
	link.link_status = RTE_ETH_LINK_DOWN;
	link.link_speed = RTE_ETH_SPEED_NUM_NONE;
	link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	link.link_autoneg = RTE_ETH_LINK_FIXED;
	return rte_eth_linkstatus_set(dev, &link);
}

int dev_close(rte_eth_dev *dev)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	Port *port = port_of(dev);
	if (port != nullptr)
		port->~Port();
	return 0;
}

/* Filled by assignment: g++ 12 warns on partial designated initializers. */
constexpr eth_dev_ops kOps = [] {
	eth_dev_ops ops{};
	ops.dev_configure = dev_configure;
	ops.dev_close = dev_close;
	ops.link_update = link_update;
	ops.dev_infos_get = dev_infos_get;
	return ops;
}();

int probe(rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *args = rte_vdev_device_args(vdev);

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		RDMAUD_LOG(ERR, "%s: secondary processes are not supported yet", name);
		return -ENOTSUP;
	}

	DevConfig cfg;
	std::string err;
	if (parse_devargs(args, cfg, err) != 0) {
		RDMAUD_LOG(ERR, "%s: %s", name, err.c_str());
		return -EINVAL;
	}

	rte_eth_dev *dev = rte_eth_vdev_allocate(vdev, sizeof(Port));
	if (dev == nullptr) {
		RDMAUD_LOG(ERR, "%s: cannot allocate an ethdev port", name);
		return -ENOMEM;
	}
	/* dev_private is zeroed rte_malloc memory: construct the C++ object in it. */
	new (dev->data->dev_private) Port{std::move(cfg)};

	/* ethdev rte_free()s mac_addrs when the port is released. */
	dev->data->mac_addrs = static_cast<rte_ether_addr *>(
		rte_zmalloc_socket(name, sizeof(rte_ether_addr), 0, vdev->device.numa_node));
	if (dev->data->mac_addrs == nullptr) {
		RDMAUD_LOG(ERR, "%s: cannot allocate the MAC address table", name);
		port_of(dev)->~Port();
		rte_eth_dev_release_port(dev);
		return -ENOMEM;
	}
	if (port_of(dev)->cfg.mac_set)
		dev->data->mac_addrs[0] = port_of(dev)->cfg.mac;

	dev->dev_ops = &kOps;
	rte_eth_dev_probing_finish(dev);
	RDMAUD_LOG(INFO, "%s: probed as port %u", name, dev->data->port_id);
	return 0;
}

int remove(rte_vdev_device *vdev)
{
	rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
	if (dev == nullptr)
		return 0; /* already closed by the application */
	dev_close(dev);
	return rte_eth_dev_release_port(dev);
}

} // namespace
} // namespace rdmaud

/* Entry points for the vdev bus; registered in rdmaud_register.c. */
extern "C" int rdmaud_vdev_probe(rte_vdev_device *vdev) noexcept
{
	return rdmaud::probe(vdev);
}

extern "C" int rdmaud_vdev_remove(rte_vdev_device *vdev) noexcept
{
	return rdmaud::remove(vdev);
}
