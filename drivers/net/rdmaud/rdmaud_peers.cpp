/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_peers.h"

#include <algorithm>
#include <set>
#include <utility>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <sched.h>

namespace rdmaud {

namespace {

/* Place the entries in a table of `slots` home slots; nullptr when out of
 * memory, or (with *too_long) when a probe would run past the tail. */
PeerTable *try_build(const std::vector<PeerEntry> &entries, const std::vector<uint32_t> &qpns, uint64_t self_key,
		     int socket, uint32_t slots, bool *too_long)
{
	const uint32_t nslots = slots + kPeerProbeTail;
	size_t bytes = sizeof(PeerTable) + (nslots + entries.size()) * sizeof(PeerEntry) + qpns.size() * sizeof(uint32_t);
	auto *t = static_cast<PeerTable *>(rte_zmalloc_socket("rdmaud_peers", bytes, RTE_CACHE_LINE_SIZE, socket));
	if (t == nullptr)
		return nullptr;
	t->mask = slots - 1;
	t->shift = 32 - static_cast<uint32_t>(__builtin_ctz(slots));
	t->nslots = nslots;
	t->slots = reinterpret_cast<PeerEntry *>(t + 1);
	t->bcast = t->slots + nslots;
	t->qpns = reinterpret_cast<uint32_t *>(t->bcast + entries.size());
	std::copy(qpns.begin(), qpns.end(), t->qpns);
	for (uint32_t i = 0; i < nslots; i++)
		t->slots[i].key = kEmptyKey;
	/* One broadcast copy per destination QP: several MACs of one port (its extra
	 * MACs, as static peers or resolved) share its address handle and QPN. */
	std::set<std::pair<const ibv_ah *, uint32_t>> bcast_dests;
	for (const PeerEntry &e : entries) {
		uint32_t i = t->slot(e.key);
		while (t->slots[i].key != kEmptyKey)
			i++;
		if (i >= nslots - 1) { /* the last slot must stay free */
			rte_free(t);
			*too_long = true;
			return nullptr;
		}
		t->slots[i] = e;
		t->count++;
		t->multi_count += e.nqpn > 1 ? 1 : 0;
		if (e.key != self_key && bcast_dests.emplace(e.ah, e.qpn).second)
			t->bcast[t->bcast_count++] = e;
	}
	return t;
}

} // namespace

PeerTable *PeerTable::build(const std::vector<PeerEntry> &entries, const std::vector<uint32_t> &qpns,
			     uint64_t self_key, int socket)
{
	uint32_t slots = 8;
	while (slots < entries.size() * kPeerLoadFactorInv)
		slots <<= 1;
	for (;; slots <<= 1) {
		bool too_long = false;
		PeerTable *t = try_build(entries, qpns, self_key, socket, slots, &too_long);
		if (t != nullptr || !too_long || slots >= (1u << 30))
			return t;
	}
}

void PeerTable::destroy(PeerTable *t, const std::function<void(ibv_ah *)> &release)
{
	if (t == nullptr)
		return;
	if (release)
		for (uint32_t i = 0; i < t->nslots; i++)
			if (t->slots[i].key != kEmptyKey && t->slots[i].ah != nullptr)
				release(t->slots[i].ah);
	rte_free(t);
}

void PeerDirectory::online(unsigned r)
{
	readers_[r].seen.store(token_.load(std::memory_order_acquire), std::memory_order_release);
	readers_[r].online.store(true, std::memory_order_seq_cst);
}

void PeerDirectory::offline(unsigned r)
{
	readers_[r].online.store(false, std::memory_order_release);
}

bool PeerDirectory::passed(uint64_t token) const
{
	for (const PeerReader &r : readers_)
		if (r.online.load(std::memory_order_seq_cst) && r.seen.load(std::memory_order_acquire) < token)
			return false;
	return true;
}

bool PeerDirectory::wait_grace(uint64_t token) const
{
	const uint64_t deadline = rte_get_timer_cycles() + kGraceTimeoutUs * rte_get_timer_hz() / 1000000;
	while (!passed(token)) {
		if (rte_get_timer_cycles() > deadline)
			return false;
		/* Control path: let a reader sharing this CPU run its burst. */
		sched_yield();
	}
	return true;
}

size_t PeerDirectory::reclaim()
{
	/* A reader's token only grows: once one retired table is still held, so are the later ones. */
	while (!retired_.empty() && passed(retired_.front().token)) {
		PeerTable::destroy(retired_.front().table, release_);
		retired_.pop_front();
	}
	return retired_.size();
}

size_t PeerDirectory::publish(PeerTable *t)
{
	const PeerTable *old = current_.exchange(t, std::memory_order_seq_cst);
	const uint64_t token = token_.fetch_add(1, std::memory_order_seq_cst) + 1;
	if (old != nullptr)
		retired_.push_back(Retired{const_cast<PeerTable *>(old), token});
	size_t left = reclaim();
	if (left > kMaxRetiredTables && wait_grace(retired_.front().token))
		left = reclaim();
	return left;
}

void PeerDirectory::shutdown()
{
	for (const Retired &r : retired_)
		PeerTable::destroy(r.table, release_);
	retired_.clear();
	PeerTable::destroy(const_cast<PeerTable *>(current_.exchange(nullptr)), release_);
}

} // namespace rdmaud
