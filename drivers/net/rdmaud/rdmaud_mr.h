/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud memory registration: every mempool chunk an mbuf can live in is
 * registered once (rx pools at queue setup, tx pools on first sight or when the
 * mempool library announces them), and the datapath finds a segment's lkey
 * with a per-queue direct-mapped cache keyed by the mbuf's pool: a hit is a
 * hash, a compare and a range check; a miss takes the port's registry lock
 * (first sight of a pool on this queue only).
 */
#ifndef RDMAUD_MR_H
#define RDMAUD_MR_H

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace rdmaud {

/* Returned by lookups for memory no MR covers (external buffers, failed registration). */
inline constexpr uint32_t kNoLkey = UINT32_MAX;
/* Entries of the per-queue cache: a queue sees a handful of pools (rx pool,
 * a tx pool or two); 8 keeps collisions rare in one cache line pair. */
inline constexpr unsigned kLkeyCacheSize = 8;
static_assert((kLkeyCacheSize & (kLkeyCacheSize - 1)) == 0, "the cache index is a mask");

/*
 * How memory is registered: ibv_reg_mr on the port's PD in the driver, a fake
 * in unit tests (so the cache is tested against real mempools without a device).
 */
struct MrOps {
	void *ctx;
	/* Register [addr, addr+len); 0 and *lkey, *handle set, or a negative errno. */
	int (*reg)(void *ctx, void *addr, size_t len, uint32_t *lkey, void **handle);
	void (*dereg)(void *ctx, void *handle);
};

/* One registered chunk of a mempool. */
struct MrChunk {
	uintptr_t start;
	uintptr_t end;
	uint32_t lkey;
	void *handle;
};

/* The port-wide registry; all methods are control path and take the lock. */
class MrRegistry {
public:
	MrRegistry() = default;
	MrRegistry(const MrRegistry &) = delete;
	MrRegistry &operator=(const MrRegistry &) = delete;
	~MrRegistry();

	void init(const MrOps &ops) { ops_ = ops; }
	/* Register every chunk of mp (idempotent). 0 or a negative errno. */
	int register_pool(rte_mempool *mp);
	/* Deregister mp's chunks; bumps the generation so queue caches flush. */
	void unregister_pool(rte_mempool *mp);
	/* Deregister everything (port close). */
	void clear();
	/* The chunk of mp holding addr, registering mp on first sight. */
	bool find(rte_mempool *mp, uintptr_t addr, MrChunk &out);
	/* Follow mempool creation/destruction (rte_mempool_event_callback). */
	int watch();
	void unwatch();

	/* The lkey of mp when one MR covers all of it, else kNoLkey. */
	uint32_t pool_lkey(const rte_mempool *mp) const;
	size_t pools() const;
	uint64_t registrations() const { return registrations_; }
	/* Changes whenever a registration disappears; caches compare it per burst. */
	std::atomic<uint32_t> generation{0};

private:
	struct Pool {
		const rte_mempool *mp;
		std::vector<MrChunk> chunks;
	};
	static void on_event(rte_mempool_event ev, rte_mempool *mp, void *self);
	int register_locked(rte_mempool *mp);
	void dereg_pool(Pool &p);

	MrOps ops_{};
	mutable std::mutex lock_;
	std::vector<Pool> pools_;
	uint64_t registrations_ = 0;
	bool watching_ = false;
};

/* Per-queue lkey cache; owned and used by one datapath thread. */
struct LkeyCache {
	struct Entry {
		const rte_mempool *mp;
		uintptr_t start;
		uintptr_t len;
		uint32_t lkey;
	};
	Entry e[kLkeyCacheSize];
	/* The last pool found whole in one MR: a direct mbuf of it needs no range
	 * check (the usual case: one pool per queue). */
	const rte_mempool *whole_mp;
	uint32_t whole_lkey;
	MrRegistry *reg;
	uint32_t generation;
	uint64_t misses;

	void init(MrRegistry *r)
	{
		*this = LkeyCache{};
		reg = r;
		generation = r->generation.load(std::memory_order_acquire);
	}

	/* Once per burst: forget entries if a pool was deregistered meanwhile. */
	inline void revalidate()
	{
		uint32_t g = reg->generation.load(std::memory_order_acquire);
		if (__builtin_expect(g != generation, 0)) {
			for (Entry &x : e)
				x = Entry{};
			whole_mp = nullptr;
			generation = g;
		}
	}

	static inline unsigned slot(const rte_mempool *mp)
	{
		/* Pools are cache-line aligned objects: drop the always-zero bits. */
		uintptr_t v = reinterpret_cast<uintptr_t>(mp) >> 6;
		return static_cast<unsigned>((v ^ (v >> 7)) & (kLkeyCacheSize - 1));
	}

	/* lkey of the memory holding seg's data, or kNoLkey (external buffer, no MR). */
	inline uint32_t lookup(const rte_mbuf *seg)
	{
		const uint64_t fl = seg->ol_flags;
		if (__builtin_expect((fl & (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT)) == 0 && seg->pool == whole_mp, 1))
			return whole_lkey;
		if (__builtin_expect((fl & RTE_MBUF_F_EXTERNAL) != 0, 0))
			return kNoLkey; /* not from a mempool we can register */
		/* An indirect mbuf's data lives in its direct mbuf's pool. */
		const rte_mempool *mp = RTE_MBUF_CLONED(seg) ? rte_mbuf_from_indirect(const_cast<rte_mbuf *>(seg))->pool
							     : seg->pool;
		uintptr_t addr = reinterpret_cast<uintptr_t>(seg->buf_addr);
		Entry &x = e[slot(mp)];
		if (__builtin_expect(x.mp == mp && addr - x.start < x.len, 1))
			return x.lkey;
		return miss(mp, addr, x);
	}

	uint32_t miss(const rte_mempool *mp, uintptr_t addr, Entry &x);
};

/* MrOps on a verbs PD (ibv_reg_mr with local write). */
MrOps verbs_mr_ops(void *pd);

} // namespace rdmaud

#endif /* RDMAUD_MR_H */
