/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_registry.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include <rte_cycles.h>

#include "rdmaud.h"

namespace rdmaud {

namespace reg = registry;

/* How long dev_start waits for the first publish of the port's record: longer than the
 * registry's connect timeout (150 ms), short enough not to stall a start. */
static constexpr unsigned kFirstPublishWaitMs = 400;

int publish_peer_table(Port &port, const std::vector<PeerSpec> &dynamic, std::string &err)
{
	std::vector<PeerEntry> entries;
	std::vector<uint32_t> qpns;
	std::unordered_set<uint64_t> keys;
	entries.reserve(port.cfg.peers.size() + dynamic.size());
	keys.reserve(port.cfg.peers.size() + dynamic.size());
	auto add = [&](const PeerSpec &p) -> bool {
		uint64_t key = mac_key(p.mac);
		if (!keys.insert(key).second)
			return true; /* static entries come first and win */
		ibv_ah *ah = port.ahs.acquire(p, err);
		if (ah == nullptr) {
			char mac[RTE_ETHER_ADDR_FMT_SIZE];
			rte_ether_format_addr(mac, sizeof(mac), &p.mac);
			err = std::string("peer ") + mac + ": " + err;
			return false;
		}
		PeerEntry e{key, ah, p.qpn, p.qkey_set ? p.qkey : port.cfg.qkey, 0, 0};
		if (p.queue_qpns.size() > 1) {
			e.nqpn = static_cast<uint16_t>(p.queue_qpns.size());
			e.qpn_off = static_cast<uint32_t>(qpns.size());
			qpns.insert(qpns.end(), p.queue_qpns.begin(), p.queue_qpns.end());
		}
		entries.push_back(e);
		return true;
	};
	bool ok = true;
	for (const PeerSpec &p : port.cfg.peers)
		ok = ok && add(p);
	for (const PeerSpec &p : dynamic)
		ok = ok && add(p);
	PeerTable *t = ok ? PeerTable::build(entries, qpns, mac_key(port.mac), port.dev.numa_node) : nullptr;
	if (t == nullptr) {
		for (PeerEntry &e : entries)
			port.ahs.release(e.ah);
		if (ok)
			err = "cannot allocate the peer table";
		return ok ? -ENOMEM : -EINVAL;
	}
	port.peers.publish(t);
	return 0;
}

namespace {

/* A resolved record as a peer: GID (RoCE) or LID (InfiniBand), the QPN of queue 0. */
PeerSpec spec_of(const reg::EndpointRecord &r)
{
	PeerSpec p;
	std::memcpy(p.mac.addr_bytes, r.mac.data(), RTE_ETHER_ADDR_LEN);
	if (r.link == reg::LinkLayer::ib) {
		p.kind = PeerAddrKind::kLid;
		p.lid = r.lid;
	} else {
		p.kind = PeerAddrKind::kGid;
		std::memcpy(p.gid, r.gid.data(), sizeof(p.gid));
	}
	p.qpn = r.qpns.front();
	p.queue_qpns = r.qpns;
	p.qkey_set = true;
	p.qkey = r.qkey;
	return p;
}

} // namespace

int RegistryLink::create(Port &port, std::unique_ptr<RegistryLink> &out, std::string &err)
{
	const DevConfig &cfg = port.cfg;
	reg::ResolverConfig rc;
	reg::Status st = reg::servers_from(cfg.registry, &rc.registry.servers);
	if (st.ok() && !cfg.registry_key.empty())
		st = reg::load_key_file(cfg.registry_key, &rc.registry.key);
	if (!st.ok()) {
		err = st.message;
		return st.to_errno();
	}
	rc.registry.ns = cfg.registry_ns;
	rc.track_members = true; /* broadcast reaches every member of the namespace */

	std::unique_ptr<RegistryLink> link(new RegistryLink(port));
	link->own_.push_back(mac_key(port.mac));
	st = reg::Resolver::start(std::move(rc), link.get(), &link->resolver_);
	if (!st.ok()) {
		err = st.message;
		return st.to_errno();
	}
	out = std::move(link);
	return 0;
}

RegistryLink::~RegistryLink()
{
	resolver_.reset(); /* joins the thread: no callback runs after this */
}

int RegistryLink::publish_local(const rte_eth_dev *dev, std::string &err)
{
	const Port &port = port_;
	reg::EndpointRecord r;
	std::memcpy(r.mac.data(), port.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	if (port.dev.ib && !port.dev.use_grh) {
		r.link = reg::LinkLayer::ib;
		r.lid = port.dev.lid;
	} else {
		r.link = reg::LinkLayer::roce;
		std::memcpy(r.gid.data(), port.dev.gid.raw, r.gid.size());
	}
	for (uint16_t i = 0; i < port.nb_qps; i++)
		r.qpns.push_back(port.qps[i].qp->qp_num);
	r.qkey = port.cfg.qkey;
	r.mtu = static_cast<uint16_t>(max_frame(dev));
	r.incarnation = reg::new_incarnation();
	r.name = port.cfg.registry_name;
	r.ttl_s = port.cfg.registry_ttl;   /* both stamped again by each publish */
	r.publish_ms = reg::unix_ms();
	if (reg::RejectCause c = reg::validate(r); c != reg::RejectCause::none) {
		err = std::string("this port's endpoint record is invalid: ") + reg::reject_cause_name(c);
		return -EINVAL;
	}
	using C = reg::ResolverCounter;
	const uint64_t ok0 = resolver_->get(C::publishes), fail0 = resolver_->get(C::publish_failures);
	resolver_->publish_local(r, port.cfg.registry_ttl);
	/* The resolver thread publishes; wait for its first attempt so that an unreachable
	 * registry is reported at start, not discovered later by peers that cannot find us. */
	for (unsigned i = 0; i < kFirstPublishWaitMs && resolver_->get(C::publishes) == ok0 &&
			     resolver_->get(C::publish_failures) == fail0; i++)
		rte_delay_us_sleep(1000);
	if (resolver_->get(C::publishes) == ok0)
		RDMAUD_LOG(WARNING, "port %u: not yet published in registry %s (%s); retrying in the background",
			   port.port_id, port.cfg.registry.c_str(),
			   resolver_->last_publish_status().message.c_str());
	return 0;
}

void RegistryLink::withdraw_local()
{
	resolver_->withdraw_local();
}

void RegistryLink::macs_changed(const rte_ether_addr *new_default)
{
	const std::vector<rte_ether_addr> extra = extra_macs(port_);
	std::vector<reg::Mac> aliases;
	{
		std::lock_guard<std::mutex> g(mu_);
		if (new_default != nullptr)
			port_.mac = *new_default;
		own_.assign(1, mac_key(port_.mac));
		for (const rte_ether_addr &a : extra) {
			own_.push_back(mac_key(a));
			reg::Mac m;
			std::memcpy(m.data(), a.addr_bytes, RTE_ETHER_ADDR_LEN);
			aliases.push_back(m);
			dynamic_.erase(mac_key(a)); /* ourselves now */
		}
	}
	resolver_->set_local_aliases(std::move(aliases));
	republish();
}

size_t RegistryLink::peers() const
{
	std::lock_guard<std::mutex> g(mu_);
	return dynamic_.size();
}

std::vector<PeerSpec> RegistryLink::dynamic_locked() const
{
	std::vector<PeerSpec> v;
	v.reserve(dynamic_.size());
	for (const auto &[key, spec] : dynamic_)
		v.push_back(spec);
	return v;
}

std::vector<PeerSpec> RegistryLink::peer_list() const
{
	std::lock_guard<std::mutex> g(mu_);
	return dynamic_locked();
}

void RegistryLink::on_resolved(const reg::EndpointRecord &record) noexcept
{
	if (record.qpns.empty())
		return;
	PeerSpec p = spec_of(record);
	{
		std::lock_guard<std::mutex> g(mu_);
		if (std::find(own_.begin(), own_.end(), mac_key(p.mac)) != own_.end())
			return; /* ourselves (we are a member of the namespace too) */
		dynamic_[mac_key(p.mac)] = p;
	}
	dirty_ = true;
}

void RegistryLink::on_expired(const reg::Mac &mac) noexcept
{
	rte_ether_addr m;
	std::memcpy(m.addr_bytes, mac.data(), RTE_ETHER_ADDR_LEN);
	{
		std::lock_guard<std::mutex> g(mu_);
		if (dynamic_.erase(mac_key(m)) == 0)
			return;
	}
	dirty_ = true;
}

void RegistryLink::on_pass_end() noexcept
{
	if (dirty_) {
		dirty_ = false;
		republish();
	} else {
		std::lock_guard<std::mutex> g(mu_);
		port_.peers.reclaim(); /* tables the queues have passed since the last build */
	}
}

void RegistryLink::republish() noexcept
{
	std::lock_guard<std::mutex> g(mu_);
	const std::vector<PeerSpec> dyn = dynamic_locked();
	std::string err;
	table_builds_.fetch_add(1, std::memory_order_relaxed);
	if (publish_peer_table(port_, dyn, err) != 0) {
		failed_publishes_++;
		RDMAUD_LOG(ERR, "port %u: cannot install resolved peers: %s", port_.port_id, err.c_str());
	}
}

} // namespace rdmaud
