/* SPDX-License-Identifier: BSD-3-Clause */
/* Peer table lookups and its lock-free publication (quiescent-state reclamation). */
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <pthread.h>
#include <sched.h>
#include <thread>
#include <vector>

#include <rte_cycles.h>

#include "rdmaud_peers.h"

using namespace rdmaud;

namespace {

rte_ether_addr mac(uint8_t a, uint8_t b)
{
	return rte_ether_addr{{0x02, 0, 0, 0, a, b}};
}

ibv_ah *fake_ah(uintptr_t v)
{
	return reinterpret_cast<ibv_ah *>(v);
}

std::atomic<int> g_destroyed{0};
void count_destroy(ibv_ah *) { g_destroyed++; }

TEST(PeerTable, FindsEveryPeerAndMissesOthers)
{
	std::vector<PeerEntry> in;
	for (unsigned i = 0; i < 300; i++)
		in.push_back(PeerEntry{mac_key(mac(i >> 8, i & 0xff)), fake_ah(0x1000 + i), 100 + i, 7});
	PeerTable *t = PeerTable::build(in, 0, SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(t->count, 300u);
	EXPECT_GE(t->mask + 1, 600u) << "load factor at most 1/2";
	for (unsigned i = 0; i < 300; i++) {
		const PeerEntry *e = t->find(mac_key(mac(i >> 8, i & 0xff)));
		ASSERT_NE(e, nullptr) << i;
		EXPECT_EQ(e->qpn, 100 + i);
		EXPECT_EQ(e->ah, fake_ah(0x1000 + i));
	}
	EXPECT_EQ(t->find(mac_key(mac(0xee, 0xee))), nullptr);
	g_destroyed = 0;
	PeerTable::destroy(t, count_destroy);
	EXPECT_EQ(g_destroyed.load(), 300);
}

TEST(PeerTable, BroadcastListLeavesOutSelf)
{
	std::vector<PeerEntry> in = {{mac_key(mac(0, 1)), fake_ah(1), 2, 0},
				     {mac_key(mac(0, 2)), fake_ah(2), 3, 0},
				     {mac_key(mac(0, 3)), fake_ah(3), 4, 0}};
	PeerTable *t = PeerTable::build(in, mac_key(mac(0, 2)), SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(t->count, 3u);
	ASSERT_EQ(t->bcast_count, 2u);
	EXPECT_EQ(t->bcast[0].qpn, 2u);
	EXPECT_EQ(t->bcast[1].qpn, 4u);
	EXPECT_NE(t->find(mac_key(mac(0, 2))), nullptr) << "self stays reachable by unicast";
	PeerTable::destroy(t, nullptr);
}

TEST(PeerTable, BroadcastListHasOneEntryPerDestination)
{
	/* Two MACs of one remote port (its default and an extra one), a second port, and an
	 * extra MAC of ourselves that a static peer table names: one copy per remote QP. */
	std::vector<PeerEntry> in = {{mac_key(mac(0, 1)), fake_ah(1), 2, 0},
				     {mac_key(mac(0, 2)), fake_ah(1), 2, 0},
				     {mac_key(mac(0, 3)), fake_ah(1), 5, 0},
				     {mac_key(mac(0, 4)), fake_ah(2), 2, 0}};
	PeerTable *t = PeerTable::build(in, mac_key(mac(0, 9)), SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(t->count, 4u) << "every MAC stays reachable by unicast";
	ASSERT_EQ(t->bcast_count, 3u);
	EXPECT_EQ(t->bcast[0].key, mac_key(mac(0, 1))) << "the first MAC naming a destination";
	EXPECT_EQ(t->bcast[1].qpn, 5u);
	EXPECT_EQ(t->bcast[2].ah, fake_ah(2));
	PeerTable::destroy(t, nullptr);
}

TEST(PeerTable, EmptyTableMissesEverything)
{
	PeerTable *t = PeerTable::build({}, 0, SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(t->find(mac_key(mac(1, 1))), nullptr);
	EXPECT_EQ(t->bcast_count, 0u);
	PeerTable::destroy(t, nullptr);
}

/* Keys whose home is the last home slot at the size their count asks for (128
 * slots for 40): their probes would run past the tail, so the table is built
 * larger until they fit; every key is found, and the last slot stays free so a
 * probe for a missing key ends. */
TEST(PeerTable, LongProbesGrowTheTable)
{
	std::vector<PeerEntry> in;
	for (unsigned i = 1; in.size() < kPeerProbeTail + 8 && i < 65536; i++)
		if (PeerTable::hash(mac_key(mac(i >> 8, i & 0xff))) >> 25 == 127) /* 128 home slots */
			in.push_back(PeerEntry{mac_key(mac(i >> 8, i & 0xff)), fake_ah(i), i, 7});
	ASSERT_EQ(in.size(), kPeerProbeTail + 8);
	PeerTable *t = PeerTable::build(in, 0, SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	EXPECT_GT(t->mask + 1, 128u) << "grown beyond the load factor's size";
	EXPECT_EQ(t->nslots, t->mask + 1 + kPeerProbeTail);
	EXPECT_EQ(t->slots[t->nslots - 1].key, kEmptyKey);
	for (const PeerEntry &e : in) {
		const PeerEntry *f = t->find(e.key);
		ASSERT_NE(f, nullptr);
		EXPECT_EQ(f->qpn, e.qpn);
	}
	EXPECT_EQ(t->find(mac_key(mac(0xff, 0xff))), nullptr);
	g_destroyed = 0;
	PeerTable::destroy(t, count_destroy);
	EXPECT_EQ(g_destroyed.load(), static_cast<int>(in.size())) << "tail slots' handles too";
}

/* A reader hammers the table while the writer republishes it: every table the
 * reader holds must still be intact (its entries carry the table's generation),
 * and every replaced table is destroyed exactly once, none while it may be held. */
TEST(PeerDirectory, RepublishUnderLoadFreesOnlyAfterGrace)
{
	g_destroyed = 0;
	const int kPublishes = 200;
	{
		PeerDirectory dir;
		dir.init(count_destroy);
		const uint64_t key = mac_key(mac(9, 9));
		auto make = [&](uint32_t gen) {
			return PeerTable::build({PeerEntry{key, fake_ah(gen), gen, gen}}, 0, SOCKET_ID_ANY);
		};
		dir.publish(make(1));
		dir.online(0);
		std::atomic<bool> stop{false};
		std::atomic<uint64_t> bad{0}, reads{0};
		std::thread reader([&] {
			/* EAL pinned the main thread to one CPU; a datapath lcore has its own. */
			cpu_set_t all;
			CPU_ZERO(&all);
			for (int c = 0; c < CPU_SETSIZE; c++)
				CPU_SET(c, &all);
			pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
			while (!stop.load(std::memory_order_relaxed)) {
				const PeerTable *t = dir.acquire();
				const PeerEntry *e = t->find(key);
				/* A freed table's memory would be reused or poisoned by rte_free. */
				for (int spin = 0; spin < 50; spin++)
					if (e == nullptr || e->qpn != e->qkey || reinterpret_cast<uintptr_t>(e->ah) != e->qpn)
						bad++;
				reads++;
				dir.quiescent(0);
			}
		});
		size_t most_retired = 0;
		for (int g = 2; g < 2 + kPublishes; g++) {
			most_retired = std::max(most_retired, dir.publish(make(static_cast<uint32_t>(g))));
			/* Let the reader pass a few quiescent points now and then. */
			if (g % 16 == 0)
				for (uint64_t r0 = reads.load(); reads.load() < r0 + 2;)
					std::this_thread::yield();
		}
		stop = true;
		reader.join();
		EXPECT_EQ(bad.load(), 0u);
		EXPECT_GT(reads.load(), 0u);
		EXPECT_LE(most_retired, kMaxRetiredTables + 1) << "retired tables are bounded";
		EXPECT_EQ(g_destroyed.load() + static_cast<int>(dir.retired()), kPublishes);
		dir.offline(0);
		EXPECT_EQ(dir.reclaim(), 0u);
		EXPECT_EQ(g_destroyed.load(), kPublishes);
		EXPECT_EQ(dir.publications(), static_cast<uint64_t>(kPublishes + 1));
	}
	EXPECT_EQ(g_destroyed.load(), kPublishes + 1) << "shutdown frees the last table";
}

/* An online queue that never bursts (an idle queue) must not stall a publish:
 * the new table is visible at once, the old ones wait, and only beyond
 * kMaxRetiredTables does a publish wait (bounded) before keeping the rest. */
TEST(PeerDirectory, IdleReaderNeitherStallsNorLosesTables)
{
	g_destroyed = 0;
	PeerDirectory dir;
	dir.init(count_destroy);
	dir.publish(PeerTable::build({PeerEntry{1, fake_ah(1), 1, 3}}, 0, SOCKET_ID_ANY));
	dir.online(3); /* online but never quiescent: may hold the first table */
	const uint64_t t0 = rte_get_timer_cycles();
	for (uint32_t g = 2; g <= kMaxRetiredTables + 1; g++) {
		EXPECT_EQ(dir.publish(PeerTable::build({PeerEntry{1, fake_ah(g), g, 3}}, 0, SOCKET_ID_ANY)), g - 1);
		EXPECT_EQ(dir.acquire()->find(1)->qpn, g) << "the new table is current at once";
	}
	const double ms = static_cast<double>(rte_get_timer_cycles() - t0) * 1e3 / rte_get_timer_hz();
	EXPECT_LT(ms, kGraceTimeoutUs / 1000.0 / 2) << "no publish waited for the idle queue";
	EXPECT_EQ(g_destroyed.load(), 0) << "a table a reader may hold is never freed";
	/* One more: the publisher waits its grace timeout once and keeps the tables. */
	const uint64_t t1 = rte_get_timer_cycles();
	EXPECT_EQ(dir.publish(PeerTable::build({PeerEntry{1, fake_ah(99), 99, 3}}, 0, SOCKET_ID_ANY)),
		  kMaxRetiredTables + 1);
	EXPECT_GE(static_cast<double>(rte_get_timer_cycles() - t1) * 1e6 / rte_get_timer_hz(),
		  static_cast<double>(kGraceTimeoutUs));
	EXPECT_EQ(g_destroyed.load(), 0);
	dir.offline(3);
	EXPECT_EQ(dir.reclaim(), 0u);
	EXPECT_EQ(g_destroyed.load(), static_cast<int>(kMaxRetiredTables + 1));
	dir.shutdown();
	EXPECT_EQ(g_destroyed.load(), static_cast<int>(kMaxRetiredTables + 2));
}

} // namespace

namespace {

/* Software RSS: a multi-queue peer's flows spread over all its queues, each flow
 * always to the same queue; single-queue peers keep their one QPN. */
TEST(PeerTable, SoftwareRssSpreadsFlowsOverQueues)
{
	const std::vector<uint32_t> qpns = {0x21, 0x22, 0x23, 0x24};
	PeerEntry multi{mac_key(mac(0, 1)), fake_ah(1), 0x21, 7};
	multi.nqpn = 4;
	multi.qpn_off = 0;
	PeerEntry single{mac_key(mac(0, 2)), fake_ah(2), 0x31, 7};
	PeerTable *t = PeerTable::build({multi, single}, qpns, 0, SOCKET_ID_ANY);
	ASSERT_NE(t, nullptr);
	const PeerEntry *m = t->find(multi.key);
	const PeerEntry *s = t->find(single.key);
	ASSERT_NE(m, nullptr);
	ASSERT_NE(s, nullptr);
	std::map<uint32_t, unsigned> hits;
	std::mt19937 rng(7);
	for (int i = 0; i < 4000; i++) {
		uint32_t h = static_cast<uint32_t>(rng());
		uint32_t q = t->qpn_for(*m, h);
		EXPECT_EQ(q, t->qpn_for(*m, h)) << "a flow must keep its queue";
		hits[q]++;
		EXPECT_EQ(t->qpn_for(*s, h), 0x31u);
	}
	ASSERT_EQ(hits.size(), 4u) << "every queue gets flows";
	for (const auto &[q, n] : hits)
		EXPECT_GT(n, 800u) << "queue 0x" << std::hex << q << " got too few of 4000 flows";
	PeerTable::destroy(t, nullptr);
}

} // namespace
