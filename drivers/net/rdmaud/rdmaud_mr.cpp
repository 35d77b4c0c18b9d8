/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_mr.h"

#include <algorithm>
#include <cerrno>

#include <infiniband/verbs.h>

namespace rdmaud {
namespace {

struct IterCtx {
	std::vector<std::pair<void *, size_t>> ranges;
};

void collect_chunk(rte_mempool *, void *opaque, rte_mempool_memhdr *memhdr, unsigned)
{
	static_cast<IterCtx *>(opaque)->ranges.emplace_back(memhdr->addr, memhdr->len);
}

int verbs_reg(void *ctx, void *addr, size_t len, uint32_t *lkey, void **handle)
{
	ibv_mr *mr = ibv_reg_mr(static_cast<ibv_pd *>(ctx), addr, len, IBV_ACCESS_LOCAL_WRITE);
	if (mr == nullptr)
		return -(errno ? errno : ENOMEM);
	*lkey = mr->lkey;
	*handle = mr;
	return 0;
}

void verbs_dereg(void *, void *handle)
{
	ibv_dereg_mr(static_cast<ibv_mr *>(handle));
}

} // namespace

MrOps verbs_mr_ops(void *pd)
{
	return MrOps{pd, verbs_reg, verbs_dereg};
}

MrRegistry::~MrRegistry()
{
	unwatch();
	clear();
}

void MrRegistry::dereg_pool(Pool &p)
{
	for (MrChunk &c : p.chunks)
		ops_.dereg(ops_.ctx, c.handle);
	p.chunks.clear();
}

int MrRegistry::register_locked(rte_mempool *mp)
{
	for (const Pool &p : pools_)
		if (p.mp == mp)
			return 0;
	if (ops_.reg == nullptr)
		return -ENODEV;
	IterCtx it;
	rte_mempool_mem_iter(mp, collect_chunk, &it);
	if (it.ranges.empty())
		return -EINVAL; /* not populated */
	/* Chunks that touch (memzones of one memseg list usually do) share one MR:
	 * fewer registrations, and often one lkey for the whole pool. */
	std::sort(it.ranges.begin(), it.ranges.end());
	std::vector<std::pair<void *, size_t>> merged;
	for (auto &r : it.ranges) {
		if (!merged.empty() &&
		    static_cast<char *>(merged.back().first) + merged.back().second == static_cast<char *>(r.first))
			merged.back().second += r.second;
		else
			merged.push_back(r);
	}
	Pool p{mp, {}};
	for (auto &[addr, len] : merged) {
		MrChunk c{reinterpret_cast<uintptr_t>(addr), reinterpret_cast<uintptr_t>(addr) + len, 0, nullptr};
		int rc = ops_.reg(ops_.ctx, addr, len, &c.lkey, &c.handle);
		if (rc != 0) {
			dereg_pool(p);
			return rc;
		}
		p.chunks.push_back(c);
		registrations_++;
	}
	pools_.push_back(std::move(p));
	return 0;
}

int MrRegistry::register_pool(rte_mempool *mp)
{
	std::lock_guard<std::mutex> g(lock_);
	return register_locked(mp);
}

void MrRegistry::unregister_pool(rte_mempool *mp)
{
	std::lock_guard<std::mutex> g(lock_);
	auto it = std::find_if(pools_.begin(), pools_.end(), [mp](const Pool &p) { return p.mp == mp; });
	if (it == pools_.end())
		return;
	/* Caches flush before the lkeys stop being valid. */
	generation.fetch_add(1, std::memory_order_acq_rel);
	dereg_pool(*it);
	pools_.erase(it);
}

void MrRegistry::clear()
{
	std::lock_guard<std::mutex> g(lock_);
	if (!pools_.empty())
		generation.fetch_add(1, std::memory_order_acq_rel);
	for (Pool &p : pools_)
		dereg_pool(p);
	pools_.clear();
}

uint32_t MrRegistry::pool_lkey(const rte_mempool *mp) const
{
	std::lock_guard<std::mutex> g(lock_);
	for (const Pool &p : pools_)
		if (p.mp == mp)
			return p.chunks.size() == 1 ? p.chunks[0].lkey : kNoLkey;
	return kNoLkey;
}

size_t MrRegistry::pools() const
{
	std::lock_guard<std::mutex> g(lock_);
	return pools_.size();
}

bool MrRegistry::find(rte_mempool *mp, uintptr_t addr, MrChunk &out)
{
	std::lock_guard<std::mutex> g(lock_);
	if (register_locked(mp) != 0)
		return false;
	for (const Pool &p : pools_) {
		if (p.mp != mp)
			continue;
		for (const MrChunk &c : p.chunks) {
			if (addr >= c.start && addr < c.end) {
				out = c;
				return true;
			}
		}
		return false;
	}
	return false;
}

void MrRegistry::on_event(rte_mempool_event ev, rte_mempool *mp, void *self)
{
	auto *r = static_cast<MrRegistry *>(self);
	if (ev == RTE_MEMPOOL_EVENT_READY)
		r->register_pool(mp); /* best effort: a failure is retried on first sight */
	else if (ev == RTE_MEMPOOL_EVENT_DESTROY)
		r->unregister_pool(mp);
}

int MrRegistry::watch()
{
	if (watching_)
		return 0;
	int rc = rte_mempool_event_callback_register(on_event, this);
	if (rc == 0)
		watching_ = true;
	return rc;
}

void MrRegistry::unwatch()
{
	if (watching_)
		rte_mempool_event_callback_unregister(on_event, this);
	watching_ = false;
}

uint32_t LkeyCache::miss(const rte_mempool *mp, uintptr_t addr, Entry &x)
{
	misses++;
	MrChunk c;
	if (!reg->find(const_cast<rte_mempool *>(mp), addr, c))
		return kNoLkey;
	x = Entry{mp, c.start, c.end - c.start, c.lkey};
	if (reg->pool_lkey(mp) == c.lkey) { /* one MR covers the whole pool */
		whole_mp = mp;
		whole_lkey = c.lkey;
	}
	return c.lkey;
}

} // namespace rdmaud
