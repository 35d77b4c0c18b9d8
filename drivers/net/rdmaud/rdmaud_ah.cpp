/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_ah.h"

#include <infiniband/verbs.h>

#include "rdmaud_verbs.h"

namespace rdmaud {

std::string AhCache::key_of(const PeerSpec &peer)
{
	if (peer.kind == PeerAddrKind::kLid)
		return std::string("L") + std::to_string(peer.lid);
	return std::string("G") + std::string(reinterpret_cast<const char *>(peer.gid), sizeof(peer.gid));
}

ibv_ah *AhCache::acquire(const PeerSpec &peer, std::string &err)
{
	std::string key = key_of(peer);
	std::lock_guard<std::mutex> g(mu_);
	if (auto it = by_addr_.find(key); it != by_addr_.end()) {
		it->second.refs++;
		return it->second.ah;
	}
	ibv_ah *ah = create_peer_ah(*dev_, peer, err);
	if (ah == nullptr)
		return nullptr;
	created_++;
	addr_of_.emplace(ah, key);
	by_addr_.emplace(std::move(key), Entry{ah, 1});
	return ah;
}

void AhCache::release(ibv_ah *ah)
{
	std::lock_guard<std::mutex> g(mu_);
	auto a = addr_of_.find(ah);
	if (a == addr_of_.end())
		return;
	auto it = by_addr_.find(a->second);
	if (--it->second.refs > 0)
		return;
	ibv_destroy_ah(ah);
	by_addr_.erase(it);
	addr_of_.erase(a);
}

size_t AhCache::size() const
{
	std::lock_guard<std::mutex> g(mu_);
	return by_addr_.size();
}

void AhCache::clear()
{
	std::lock_guard<std::mutex> g(mu_);
	for (auto &[key, e] : by_addr_)
		ibv_destroy_ah(e.ah);
	by_addr_.clear();
	addr_of_.clear();
}

} // namespace rdmaud
