/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud <-> registry (lib/registry): address resolution in place of ARP.
 *
 * At dev_start the port publishes its endpoint record (MAC, GID or LID, the QPN
 * of every queue, Q_Key, max frame, name, a new incarnation) in its namespace and
 * the registry's Resolver thread keeps it alive; dev_stop withdraws it. A tx
 * burst that meets an unknown destination MAC drops the frame (counted) and hands
 * the MAC to the Resolver with one lock-free try-push; the Resolver asks memcached
 * off the datapath and calls back here, where a new peer table (static peers from
 * devargs plus resolved ones, each with a fresh address handle) is built and
 * published to the tx queues with one atomic store (rdmaud_peers.h). Broadcast
 * reaches every member of the namespace: the Resolver tracks the membership set.
 */
#ifndef RDMAUD_REGISTRY_H
#define RDMAUD_REGISTRY_H

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "rdmaud_devargs.h"
#include "resolver.h"

struct rte_eth_dev;

namespace rdmaud {

struct Port;

/* Builds the port's peer table from its static peers and `dynamic` ones (a static
 * entry wins over a resolved one for the same MAC) and publishes it. 0 or -errno. */
int publish_peer_table(Port &port, const std::vector<PeerSpec> &dynamic, std::string &err);

class RegistryLink final : public registry::ResolverSink {
public:
	/* Starts the Resolver for the registry devargs of port.cfg. 0 or -errno + err. */
	static int create(Port &port, std::unique_ptr<RegistryLink> &out, std::string &err);
	~RegistryLink() override;

	/* dev_start: publish this port's record (new incarnation). */
	int publish_local(const rte_eth_dev *dev, std::string &err);
	/* dev_stop: withdraw it. */
	void withdraw_local();
	/* The port's MACs changed (rte_eth_dev_mac_addr_add/remove/default_mac_addr_set): its
	 * extra MACs are published as copies of its record (kept alive and withdrawn with it), a
	 * record of any of its MACs is never taken as a peer, and the peer table is rebuilt (the
	 * default MAC is left out of the broadcast list). new_default: the port's new default MAC,
	 * stored here under the lock the resolver thread's table builds take (null: unchanged). */
	void macs_changed(const rte_ether_addr *new_default);

	/* Datapath: ask for an unknown MAC (never blocks; a full queue is counted). */
	inline void request(const rte_ether_addr &mac) noexcept
	{
		registry::Mac m;
		for (size_t i = 0; i < m.size(); i++)
			m[i] = mac.addr_bytes[i];
		resolver_->request(m);
	}

	const registry::Resolver &resolver() const { return *resolver_; }
	size_t peers() const;
	uint64_t table_builds() const { return table_builds_.load(std::memory_order_relaxed); }
	/* A copy of the resolved peers (telemetry). */
	std::vector<PeerSpec> peer_list() const;

	/* ResolverSink, from the Resolver thread. */
	void on_resolved(const registry::EndpointRecord &record) noexcept override;
	void on_expired(const registry::Mac &mac) noexcept override;
	/* End of a resolver pass: one new peer table for all of the pass's changes. */
	void on_pass_end() noexcept override;

private:
	explicit RegistryLink(Port &port) : port_(port) {}
	void republish() noexcept;
	std::vector<PeerSpec> dynamic_locked() const; /* mu_ held */

	Port &port_;
	std::unique_ptr<registry::Resolver> resolver_;
	mutable std::mutex mu_;                  /* control path only: the resolver thread vs. start/stop */
	std::map<uint64_t, PeerSpec> dynamic_;   /* resolved peers by MAC key */
	std::vector<uint64_t> own_;              /* keys of this port's MACs (mu_) */
	bool dirty_ = false;                     /* dynamic_ changed since the last table (resolver thread) */
	std::atomic<uint64_t> table_builds_{0};
	uint64_t failed_publishes_ = 0;
};

} // namespace rdmaud

#endif /* RDMAUD_REGISTRY_H */
