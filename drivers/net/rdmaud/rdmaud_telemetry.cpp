/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud telemetry: /rdmaud/registry,<port> — the port's address resolution
 * as DPDK telemetry sees it (dpdk-telemetry.py, or the telemetry socket). The
 * port's xstats need nothing here: ethdev's /ethdev/xstats,<port> reads them
 * through xstats_get.
 *
 * Answer (a flat dict, as DPDK 22.11 telemetry nests arrays only): port, mac,
 * registry ("" without one), namespace, name, static_peers (devargs peers),
 * peers (resolved through the registry), peer_macs (array: "MAC qpn,qpn,...")
 * and every resolver counter by its name (requests, resolved, failures, ...).
 * The callback runs on the telemetry thread of the primary process, concurrently
 * with the application's control path: it reads only ports probe attached to the
 * table below, under its lock, which dev_close takes to detach a port before
 * tearing it down (so a port is never read while or after it is destroyed). It
 * reads the resolved peers under the registry link's lock and the counters
 * atomically.
 */
#include <array>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <rte_telemetry.h>

#include "rdmaud.h"

namespace rdmaud {
namespace {

/* This process's open net_rdmaud ports by port id (a secondary process attaches none). */
struct PortTable {
	std::mutex lock;
	std::array<const Port *, RTE_MAX_ETHPORTS> ports{};
};

PortTable &port_table()
{
	static PortTable t; /* constructed before the first probe or telemetry command */
	return t;
}

int registry_cmd(const char *cmd, const char *params, rte_tel_data *d)
{
	(void)cmd;
	if (params == nullptr || *params == '\0')
		return -EINVAL;
	char *end = nullptr;
	const unsigned long id = std::strtoul(params, &end, 10);
	if (*end != '\0' || id >= RTE_MAX_ETHPORTS)
		return -EINVAL;
	PortTable &t = port_table();
	std::lock_guard<std::mutex> g(t.lock); /* the port is not closed while it is read */
	if (t.ports[id] == nullptr)
		return -EINVAL; /* not ours, closed, or its state lives in another process */
	const Port &port = *t.ports[id];
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &port.mac);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "port", id);
	rte_tel_data_add_dict_string(d, "mac", mac);
	rte_tel_data_add_dict_string(d, "registry", port.registry ? port.cfg.registry.c_str() : "");
	rte_tel_data_add_dict_string(d, "namespace", port.registry ? port.cfg.registry_ns.c_str() : "");
	rte_tel_data_add_dict_string(d, "name", port.cfg.registry_name.c_str());
	rte_tel_data_add_dict_u64(d, "static_peers", port.cfg.peers.size());
	if (!port.registry) {
		rte_tel_data_add_dict_u64(d, "peers", 0);
		return 0;
	}
	const RegistryLink &link = *port.registry;
	const std::vector<PeerSpec> peers = link.peer_list();
	rte_tel_data_add_dict_u64(d, "peers", peers.size());
	rte_tel_data *list = rte_tel_data_alloc();
	if (list == nullptr)
		return -ENOMEM;
	rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
	for (const PeerSpec &p : peers) {
		char m[RTE_ETHER_ADDR_FMT_SIZE];
		rte_ether_format_addr(m, sizeof(m), &p.mac);
		std::string s = m;
		for (size_t i = 0; i < p.queue_qpns.size(); i++) {
			char q[16];
			std::snprintf(q, sizeof(q), "%s0x%x", i == 0 ? " " : ",", p.queue_qpns[i]);
			s += q;
		}
		if (s.size() >= RTE_TEL_MAX_STRING_LEN)
			s.resize(RTE_TEL_MAX_STRING_LEN - 1);
		if (rte_tel_data_add_array_string(list, s.c_str()) != 0)
			break; /* RTE_TEL_MAX_ARRAY_ENTRIES: the count above is complete */
	}
	rte_tel_data_add_dict_container(d, "peer_macs", list, 0);
	for (size_t i = 0; i < registry::kResolverCounterCount; i++)
		rte_tel_data_add_dict_u64(d, registry::kResolverCounterNames[i],
					  link.resolver().get(static_cast<registry::ResolverCounter>(i)));
	return 0;
}

} // namespace

void telemetry_attach(uint16_t port_id, const Port *port)
{
	PortTable &t = port_table();
	std::lock_guard<std::mutex> g(t.lock);
	t.ports[port_id] = port;
}

void telemetry_detach(uint16_t port_id)
{
	PortTable &t = port_table();
	std::lock_guard<std::mutex> g(t.lock); /* waits for a callback reading the port */
	t.ports[port_id] = nullptr;
}

} // namespace rdmaud

RTE_INIT(rdmaud_telemetry_init)
{
	rte_telemetry_register_cmd("/rdmaud/registry", rdmaud::registry_cmd,
				   "net_rdmaud port's address resolution: registry, resolved peers, resolver "
				   "counters. Parameters: int port_id");
}
