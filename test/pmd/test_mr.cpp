/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory registration and the per-queue lkey cache, against real mempools in a
 * --no-huge EAL. Registration itself is a counting stand-in for ibv_reg_mr
 * (no verbs device here); what is tested is which memory gets registered, when,
 * and which lkey each mbuf resolves to.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "rdmaud_mr.h"

using namespace rdmaud;

namespace {

struct FakeReg {
	struct Range {
		uintptr_t start, end;
		uint32_t lkey;
		bool live;
	};
	std::vector<Range> ranges;
	int regs = 0;
	int deregs = 0;

	/* The lkey a correct registry must return for addr, or kNoLkey. */
	uint32_t expect(uintptr_t addr) const
	{
		for (const Range &r : ranges)
			if (r.live && addr >= r.start && addr < r.end)
				return r.lkey;
		return kNoLkey;
	}
};

int fake_reg(void *ctx, void *addr, size_t len, uint32_t *lkey, void **handle)
{
	auto *f = static_cast<FakeReg *>(ctx);
	uintptr_t a = reinterpret_cast<uintptr_t>(addr);
	f->ranges.push_back({a, a + len, 0x1000u + static_cast<uint32_t>(f->ranges.size()), true});
	f->regs++;
	*lkey = f->ranges.back().lkey;
	*handle = reinterpret_cast<void *>(f->ranges.size());
	return 0;
}

void fake_dereg(void *ctx, void *handle)
{
	auto *f = static_cast<FakeReg *>(ctx);
	f->ranges[reinterpret_cast<uintptr_t>(handle) - 1].live = false;
	f->deregs++;
}

class MrTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		reg.init(MrOps{&fake, fake_reg, fake_dereg});
		cache.init(&reg);
	}
	rte_mempool *pool(const char *name, unsigned n = 256)
	{
		rte_mempool *mp = rte_pktmbuf_pool_create(name, n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
		EXPECT_NE(mp, nullptr) << rte_strerror(rte_errno);
		return mp;
	}
	FakeReg fake;
	MrRegistry reg;
	LkeyCache cache;
};

TEST_F(MrTest, FirstSightRegistersOnceThenHits)
{
	rte_mempool *mp = pool("mr_first");
	std::vector<rte_mbuf *> m(64);
	ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, m.data(), m.size()), 0);
	for (rte_mbuf *x : m) {
		uint32_t lk = cache.lookup(x);
		EXPECT_NE(lk, kNoLkey);
		EXPECT_EQ(lk, fake.expect(reinterpret_cast<uintptr_t>(x->buf_addr)));
	}
	EXPECT_EQ(cache.misses, 1u) << "one miss (first sight), every other lookup a cache hit";
	EXPECT_EQ(reg.pools(), 1u);
	EXPECT_EQ(fake.regs, static_cast<int>(reg.registrations()));
	rte_pktmbuf_free_bulk(m.data(), m.size());
	reg.clear();
	EXPECT_EQ(fake.deregs, fake.regs);
	rte_mempool_free(mp);
}

TEST_F(MrTest, RegisterPoolIsIdempotent)
{
	rte_mempool *mp = pool("mr_idem");
	ASSERT_EQ(reg.register_pool(mp), 0);
	int regs = fake.regs;
	ASSERT_EQ(reg.register_pool(mp), 0);
	EXPECT_EQ(fake.regs, regs);
	reg.clear();
	rte_mempool_free(mp);
}

TEST_F(MrTest, IndirectMbufResolvesToItsDirectPool)
{
	rte_mempool *a = pool("mr_direct");
	rte_mempool *b = pool("mr_indirect");
	rte_mbuf *d = rte_pktmbuf_alloc(a);
	rte_mbuf *i = rte_pktmbuf_alloc(b);
	ASSERT_TRUE(d && i);
	rte_pktmbuf_attach(i, d);
	uint32_t lk = cache.lookup(i);
	EXPECT_EQ(lk, fake.expect(reinterpret_cast<uintptr_t>(d->buf_addr)));
	EXPECT_NE(lk, kNoLkey);
	EXPECT_EQ(lk, cache.lookup(d));
	rte_pktmbuf_free(i);
	rte_pktmbuf_free(d);
	reg.clear();
	rte_mempool_free(b);
	rte_mempool_free(a);
}

void ext_free(void *addr, void *) { std::free(addr); }

TEST_F(MrTest, ExternalBufferHasNoLkey)
{
	rte_mempool *mp = pool("mr_ext");
	rte_mbuf *m = rte_pktmbuf_alloc(mp);
	ASSERT_NE(m, nullptr);
	uint16_t len = 2048;
	void *buf = std::aligned_alloc(64, len + 64);
	uint16_t buf_len = len + 64;
	rte_mbuf_ext_shared_info *shinfo =
		rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len, ext_free, nullptr);
	ASSERT_NE(shinfo, nullptr);
	rte_pktmbuf_attach_extbuf(m, buf, reinterpret_cast<uintptr_t>(buf), buf_len, shinfo);
	EXPECT_EQ(cache.lookup(m), kNoLkey);
	EXPECT_EQ(fake.regs, 0) << "nothing is registered for memory outside mempools";
	rte_pktmbuf_free(m);
	rte_mempool_free(mp);
}

/* A pool built from two separate memory chunks gets one registration each,
 * and every mbuf resolves to the lkey of the chunk that holds it. */
TEST_F(MrTest, MultiChunkPoolResolvesPerChunk)
{
	const unsigned n = 64;
	const unsigned elt = RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(rte_mbuf);
	rte_mempool *mp = rte_mempool_create_empty("mr_chunks", n, elt, 0, sizeof(rte_pktmbuf_pool_private),
						   SOCKET_ID_ANY, 0);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(rte_mempool_set_ops_byname(mp, "ring_mp_mc", nullptr), 0);
	rte_pktmbuf_pool_init(mp, nullptr);
	rte_mempool_objsz sz;
	rte_mempool_calc_obj_size(elt, 0, &sz);
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	const size_t chunk = RTE_ALIGN_CEIL((n / 2) * sz.total_size + 4096, 4096);
	std::vector<void *> mem;
	for (int c = 0; c < 2 && mp->populated_size < n; c++) {
		void *p = std::aligned_alloc(4096, chunk);
		mem.push_back(p);
		ASSERT_GT(rte_mempool_populate_virt(mp, static_cast<char *>(p), chunk, 4096, nullptr, nullptr), 0);
	}
	while (mp->populated_size < n) {
		void *p = std::aligned_alloc(4096, chunk);
		mem.push_back(p);
		ASSERT_GT(rte_mempool_populate_virt(mp, static_cast<char *>(p), chunk, 4096, nullptr, nullptr), 0);
	}
	ASSERT_GE(mp->nb_mem_chunks, 2u);
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);

	std::vector<rte_mbuf *> m(n);
	ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, m.data(), n), 0);
	std::vector<uint32_t> seen;
	for (rte_mbuf *x : m) {
		uint32_t lk = cache.lookup(x); /* registers on first sight: before expect() */
		EXPECT_EQ(lk, fake.expect(reinterpret_cast<uintptr_t>(x->buf_addr)));
		if (std::find(seen.begin(), seen.end(), lk) == seen.end())
			seen.push_back(lk);
	}
	/* Separate allocations never touch: one registration per chunk. */
	EXPECT_EQ(fake.regs, static_cast<int>(mp->nb_mem_chunks));
	EXPECT_EQ(seen.size(), mp->nb_mem_chunks) << "mbufs of every chunk were resolved, each to its own lkey";
	EXPECT_EQ(reg.pool_lkey(mp), kNoLkey) << "no single lkey for a pool spread over several MRs";
	rte_pktmbuf_free_bulk(m.data(), n);
	reg.clear();
	rte_mempool_free(mp);
	for (void *p : mem)
		std::free(p);
}

/* Chunks that are adjacent in memory (one allocation populated in two halves)
 * are registered as one MR: the whole pool has one lkey. */
TEST_F(MrTest, AdjacentChunksShareOneRegistration)
{
	const unsigned n = 64;
	const unsigned elt = RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(rte_mbuf);
	rte_mempool *mp = rte_mempool_create_empty("mr_adjacent", n, elt, 0, sizeof(rte_pktmbuf_pool_private),
						   SOCKET_ID_ANY, 0);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(rte_mempool_set_ops_byname(mp, "ring_mp_mc", nullptr), 0);
	rte_pktmbuf_pool_init(mp, nullptr);
	rte_mempool_objsz sz;
	rte_mempool_calc_obj_size(elt, 0, &sz);
	const size_t half = ((n / 2) * sz.total_size + 4095) / 4096 * 4096;
	char *mem = static_cast<char *>(std::aligned_alloc(4096, 2 * half));
	ASSERT_GT(rte_mempool_populate_virt(mp, mem, half, 4096, nullptr, nullptr), 0);
	ASSERT_GT(rte_mempool_populate_virt(mp, mem + half, half, 4096, nullptr, nullptr), 0);
	ASSERT_EQ(mp->nb_mem_chunks, 2u);
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
	ASSERT_EQ(reg.register_pool(mp), 0);
	EXPECT_EQ(fake.regs, 1);
	uint32_t lk = reg.pool_lkey(mp);
	ASSERT_NE(lk, kNoLkey);
	std::vector<rte_mbuf *> m(mp->populated_size);
	ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, m.data(), m.size()), 0);
	for (rte_mbuf *x : m)
		EXPECT_EQ(cache.lookup(x), lk);
	rte_pktmbuf_free_bulk(m.data(), m.size());
	reg.clear();
	rte_mempool_free(mp);
	std::free(mem);
}

/* Pools created after the port registered for events are registered when ready;
 * a destroyed pool is deregistered and the queue caches forget it. */
TEST_F(MrTest, MempoolEventsRegisterAndForget)
{
	ASSERT_EQ(reg.watch(), 0);
	rte_mempool *mp = pool("mr_events");
	EXPECT_EQ(reg.pools(), 1u) << "READY event registered the new pool";
	int regs = fake.regs;
	rte_mbuf *x = rte_pktmbuf_alloc(mp);
	ASSERT_NE(cache.lookup(x), kNoLkey);
	EXPECT_EQ(fake.regs, regs) << "the lookup found the registration, it did not redo it";
	rte_pktmbuf_free(x);
	uint32_t gen = reg.generation.load();
	rte_mempool_free(mp);
	EXPECT_EQ(reg.pools(), 0u);
	EXPECT_EQ(fake.deregs, fake.regs);
	EXPECT_NE(reg.generation.load(), gen);
	cache.revalidate();
	for (const LkeyCache::Entry &e : cache.e)
		EXPECT_EQ(e.mp, nullptr) << "a stale pool pointer could alias a new pool";
	reg.unwatch();
}

} // namespace
