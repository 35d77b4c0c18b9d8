/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud MAC addresses and receive modes: the ethdev ops that add, remove
 * and replace the port's unicast MACs, set its multicast groups and switch the
 * promiscuous and allmulticast modes. They update the port's MacFilter
 * (rdmaud_mac_filter.h) and pick the rx burst: unfiltered when promiscuous,
 * else the filtering variant (rdmaud_rx_filter.cpp). With a registry, the
 * extra unicast MACs are published as records of this port (same GID, QPNs and
 * Q_Key), so a remote port resolves them to us; without one they only open the
 * filter (a static peer must list them in its peers= devarg to send to them).
 */
#include <cerrno>

#include <ethdev_driver.h>
#include <rte_ethdev.h>

#include "rdmaud.h"

namespace rdmaud {

namespace {

std::string mac_str(const rte_ether_addr &a)
{
	char s[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(s, sizeof(s), &a);
	return s;
}

} // namespace

std::vector<rte_ether_addr> extra_macs(const Port &port)
{
	std::vector<rte_ether_addr> v;
	for (uint32_t i = 1; i < kMaxMacAddrs; i++) {
		const uint64_t key = port.filter.uc[i];
		if (key == kNoMacKey)
			continue;
		rte_ether_addr a;
		const uint64_t raw = key >> 16;
		std::memcpy(a.addr_bytes, &raw, RTE_ETHER_ADDR_LEN);
		v.push_back(a);
	}
	return v;
}

void rx_select(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	if (port.rx_base == nullptr || !port.started)
		return; /* stopped: dev_start chooses */
	const eth_rx_burst_t fn = port.filter.promisc ? port.rx_base : select_rx_filter(port.rx_base);
	if (dev->rx_pkt_burst == fn)
		return;
	dev->rx_pkt_burst = fn;
	/*
	 * ethdev copies dev->rx_pkt_burst into rte_eth_fp_ops at rte_eth_dev_start, after
	 * dev_start and the promiscuous/allmulticast/MAC replay: a change on a started port
	 * must be written there too (as cnxk does). One aligned pointer store; both bursts
	 * take the same queue, so a burst that loaded the old one completes correctly.
	 */
	if (dev->data->dev_started)
		__atomic_store_n(&rte_eth_fp_ops[dev->data->port_id].rx_pkt_burst, fn, __ATOMIC_RELEASE);
}

namespace {

/* The port's MACs changed: registry records and peer table follow. */
void macs_changed(rte_eth_dev *dev, const rte_ether_addr *new_default)
{
	Port &port = *port_of(dev);
	if (port.registry) {
		port.registry->macs_changed(new_default);
		return;
	}
	if (new_default == nullptr)
		return; /* without a registry an extra MAC only opens the filter */
	port.mac = *new_default;
	std::string err;
	if (publish_peer_table(port, {}, err) != 0)
		RDMAUD_LOG(ERR, "port %u: peer table not rebuilt for MAC %s: %s", dev->data->port_id,
			   mac_str(*new_default).c_str(), err.c_str());
}

void set_mode(rte_eth_dev *dev, uint8_t MacFilter::*mode, bool on)
{
	Port &port = *port_of(dev);
	port.filter.write_begin();
	port.filter.set(port.filter.*mode, static_cast<uint8_t>(on));
	port.filter.write_end();
	rx_select(dev);
}

} // namespace

int mac_addr_add(rte_eth_dev *dev, rte_ether_addr *addr, uint32_t index, uint32_t vmdq)
{
	Port &port = *port_of(dev);
	if (index == 0 && mac_key(*addr) == port.filter.uc[0])
		return 0; /* the default MAC, added again */
	if (index == 0 || index >= kMaxMacAddrs || vmdq != 0) {
		RDMAUD_LOG(ERR, "port %u: MAC %s: index %u / pool %u out of range (indexes 1..%u, pool 0)",
			   dev->data->port_id, mac_str(*addr).c_str(), index, vmdq, kMaxMacAddrs - 1);
		return -EINVAL;
	}
	if (!rte_is_unicast_ether_addr(addr)) {
		RDMAUD_LOG(ERR, "port %u: MAC %s is not unicast: join multicast groups with "
			   "rte_eth_dev_set_mc_addr_list", dev->data->port_id, mac_str(*addr).c_str());
		return -EINVAL;
	}
	const uint64_t key = mac_key(*addr);
	if (port.filter.uc[index] == key)
		return 0; /* the replay of rte_eth_dev_start */
	port.filter.write_begin();
	port.filter.set_unicast(index, key);
	port.filter.write_end();
	macs_changed(dev, nullptr);
	RDMAUD_LOG(INFO, "port %u: MAC %s added (index %u)%s", dev->data->port_id, mac_str(*addr).c_str(), index,
		   port.registry ? ", published in the registry" : "");
	return 0;
}

void mac_addr_remove(rte_eth_dev *dev, uint32_t index)
{
	Port &port = *port_of(dev);
	if (index == 0 || index >= kMaxMacAddrs || port.filter.uc[index] == kNoMacKey)
		return;
	port.filter.write_begin();
	port.filter.set_unicast(index, kNoMacKey);
	port.filter.write_end();
	macs_changed(dev, nullptr);
	RDMAUD_LOG(INFO, "port %u: MAC index %u removed", dev->data->port_id, index);
}

int mac_addr_set(rte_eth_dev *dev, rte_ether_addr *addr)
{
	Port &port = *port_of(dev);
	if (!rte_is_unicast_ether_addr(addr)) {
		RDMAUD_LOG(ERR, "port %u: default MAC %s is not unicast", dev->data->port_id, mac_str(*addr).c_str());
		return -EINVAL;
	}
	const uint64_t key = mac_key(*addr);
	if (key == mac_key(port.mac))
		return 0; /* unchanged (also the replay of rte_eth_dev_start) */
	for (uint32_t i = 1; i < kMaxMacAddrs; i++)
		if (port.filter.uc[i] == key) {
			RDMAUD_LOG(ERR, "port %u: MAC %s is already the port's extra MAC %u: remove it first",
				   dev->data->port_id, mac_str(*addr).c_str(), i);
			return -EEXIST;
		}
	const std::string old = mac_str(port.mac);
	port.filter.write_begin();
	port.filter.set_unicast(0, key);
	port.filter.write_end();
	const bool published = port.registry && port.started;
	if (published)
		port.registry->withdraw_local(); /* the record of the old MAC leaves the registry */
	macs_changed(dev, addr);
	if (published) {
		std::string err;
		if (port.registry->publish_local(dev, err) != 0)
			RDMAUD_LOG(ERR, "port %u: not published in the registry: %s", dev->data->port_id, err.c_str());
	}
	RDMAUD_LOG(INFO, "port %u: default MAC %s (was %s)", dev->data->port_id, mac_str(*addr).c_str(), old.c_str());
	return 0;
}

int set_mc_addr_list(rte_eth_dev *dev, rte_ether_addr *mc_addr_set, uint32_t nb_mc_addr)
{
	Port &port = *port_of(dev);
	if (nb_mc_addr > kMaxMcAddrs) {
		RDMAUD_LOG(ERR, "port %u: %u multicast groups; the port joins at most %u", dev->data->port_id,
			   nb_mc_addr, kMaxMcAddrs);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < nb_mc_addr; i++)
		if (!rte_is_multicast_ether_addr(&mc_addr_set[i]) || rte_is_broadcast_ether_addr(&mc_addr_set[i])) {
			RDMAUD_LOG(ERR, "port %u: %s is not a multicast group address", dev->data->port_id,
				   mac_str(mc_addr_set[i]).c_str());
			return -EINVAL;
		}
	MacFilter &f = port.filter;
	f.write_begin();
	for (uint32_t i = 0; i < kMaxMcAddrs; i++)
		f.set(f.mc[i], i < nb_mc_addr ? mac_key(mc_addr_set[i]) : kNoMacKey);
	f.set(f.nmc, nb_mc_addr);
	f.write_end();
	RDMAUD_LOG(INFO, "port %u: %u multicast group(s) joined", dev->data->port_id, nb_mc_addr);
	return 0;
}

int promiscuous_enable(rte_eth_dev *dev)
{
	set_mode(dev, &MacFilter::promisc, true);
	return 0;
}

int promiscuous_disable(rte_eth_dev *dev)
{
	set_mode(dev, &MacFilter::promisc, false);
	return 0;
}

int allmulticast_enable(rte_eth_dev *dev)
{
	set_mode(dev, &MacFilter::allmulti, true);
	return 0;
}

int allmulticast_disable(rte_eth_dev *dev)
{
	set_mode(dev, &MacFilter::allmulti, false);
	return 0;
}

} // namespace rdmaud
