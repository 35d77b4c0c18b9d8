/* SPDX-License-Identifier: BSD-3-Clause */
#include "echo_resolve.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "config.h"
#include "registry.h"

namespace echo {

namespace reg = rdmaud::registry;

int resolve_servers(Options &opt, std::string &err)
{
	reg::RegistryConfig cfg;
	reg::Status st = reg::servers_from(opt.registry, &cfg.servers);
	if (st.ok() && !opt.key_file.empty())
		st = reg::load_key_file(opt.key_file, &cfg.key);
	if (!st.ok()) {
		err = "registry: " + st.message;
		return st.to_errno();
	}
	cfg.ns = opt.ns;
	std::unique_ptr<reg::Registry> registry;
	st = reg::Registry::create(cfg, &registry);
	if (!st.ok()) {
		err = "registry: " + st.message;
		return st.to_errno();
	}
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kResolveWaitS);
	for (const std::string &name : opt.server_names) {
		reg::EndpointRecord rec;
		for (;;) {
			st = registry->resolve_name(name, &rec);
			if (st.ok() || std::chrono::steady_clock::now() >= deadline)
				break;
			std::this_thread::sleep_for(std::chrono::milliseconds(200));
		}
		if (!st.ok()) {
			err = "cannot resolve server \"" + name + "\" in namespace \"" + opt.ns + "\" of registry " +
			      reg::format_servers(cfg.servers) + ": " + st.message;
			return st.to_errno();
		}
		rte_ether_addr mac;
		for (size_t i = 0; i < RTE_ETHER_ADDR_LEN; i++)
			mac.addr_bytes[i] = rec.mac[i];
		opt.servers.push_back(mac);
		std::printf("server \"%s\" is %s (%zu queue(s), incarnation %016llx)\n", name.c_str(),
			    reg::format_mac(rec.mac).c_str(), rec.qpns.size(),
			    static_cast<unsigned long long>(rec.incarnation));
	}
	return 0;
}

} // namespace echo
