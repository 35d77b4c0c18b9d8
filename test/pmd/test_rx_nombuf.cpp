/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud rx mempool exhaustion, end to end over softud: two ports in one
 * process, A on softud0 sending to B on softud1. B's rx pool holds its ring plus
 * kSpare mbufs (no per-lcore cache), and B holds on to every frame it receives,
 * so the pool runs dry. Checks:
 *   - dry pool: frames are dropped and counted (rte_eth_stats.rx_nombuf = xstat
 *     rx_drop_nombuf), and sent = received + rx_nombuf, by B's port and by both
 *     devices' counters (softud drops none);
 *   - no descriptor is lost: B's ring still has every slot posted, seen from the
 *     PMD (rx_wrs_posted - completions consumed) and from the device (softud's
 *     post_recv_wrs - rx_packets);
 *   - once B frees what it held, traffic resumes at full count: every frame of
 *     a second, larger run is received and rx_nombuf stays where it was.
 * Run under softud-run with both devices (test/pmd/on_softud.sh); RDMAUD_PMD is
 * the driver, SOFTUD_STAT_DIR the devices' counter files.
 */
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "checks.h"

#include "counters.h"
#include "vdev_port.h"

namespace {

constexpr uint16_t kDesc = 512;        /* B's rx ring (a power of two: taken as is) */
constexpr unsigned kSpare = 64;        /* B's rx pool: the ring plus this many mbufs */
constexpr uint16_t kBurst = 32;
constexpr unsigned kDryBursts = 8;     /* 256 frames while B holds everything */
constexpr unsigned kRefillBursts = 32; /* 1024 frames once B lets go */
constexpr uint32_t kFrameLen = 64;
const rte_ether_addr kMacA{{0x02, 0, 0, 0, 0, 0x5a}};
const rte_ether_addr kMacB{{0x02, 0, 0, 0, 0, 0x5b}};

/* A counter of a softud device, from its counter file in SOFTUD_STAT_DIR. */
uint64_t softud_counter(const char *device, const char *name)
{
	const char *dir = std::getenv("SOFTUD_STAT_DIR");
	std::string path = std::string(dir != nullptr ? dir : ".") + "/" + device + ".counters";
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	uint64_t v = UINT64_MAX;
	softud::CounterFileHeader h{};
	if (fd >= 0 && ::pread(fd, &h, sizeof(h), 0) == static_cast<ssize_t>(sizeof(h)) &&
	    std::memcmp(h.magic, softud::kCounterMagic, sizeof(h.magic)) == 0) {
		for (uint32_t i = 0; i < h.count; i++) {
			softud::CounterEntry e{};
			if (::pread(fd, &e, sizeof(e), static_cast<off_t>(sizeof(h) + i * sizeof(e))) ==
				    static_cast<ssize_t>(sizeof(e)) && std::strcmp(e.name, name) == 0)
				v = e.value;
		}
	}
	if (fd >= 0)
		::close(fd);
	if (v == UINT64_MAX) {
		std::printf("FAIL: no counter %s in %s\n", name, path.c_str());
		failures++;
		return 0;
	}
	return v;
}

uint64_t xstat(uint16_t port, const char *name)
{
	uint64_t id, v = 0;
	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 || rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1) {
		std::printf("FAIL: no xstat %s\n", name);
		failures++;
	}
	return v;
}

/* One burst of kBurst frames A -> B, numbered from seq; all taken by A's port (bounded). */
bool send_burst(uint16_t port, rte_mempool *mp, uint32_t &seq)
{
	rte_mbuf *m[kBurst];
	if (rte_pktmbuf_alloc_bulk(mp, m, kBurst) != 0)
		return false;
	for (auto *p : m) {
		auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(p, kFrameLen));
		eh->dst_addr = kMacB;
		eh->src_addr = kMacA;
		eh->ether_type = RTE_BE16(0x88b5);
		const uint32_t s = seq++;
		std::memcpy(eh + 1, &s, sizeof(s));
	}
	uint16_t sent = 0;
	for (int tries = 0; sent < kBurst && tries < 10000; tries++)
		sent += rte_eth_tx_burst(port, 0, m + sent, kBurst - sent);
	if (sent < kBurst)
		rte_pktmbuf_free_bulk(m + sent, kBurst - sent);
	return sent == kBurst;
}

/*
 * Poll B until every frame sent so far is received or counted in rx_nombuf (at
 * most 2 s). Received frames are appended to held (keep) or freed.
 */
uint64_t receive_until(uint16_t port, uint64_t sent, uint64_t nombuf0, uint64_t &received,
		       std::vector<rte_mbuf *> *held, uint32_t &last_seq, bool &in_order)
{
	rte_eth_stats st{};
	const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
	for (;;) {
		rte_mbuf *m[kBurst];
		const uint16_t n = rte_eth_rx_burst(port, 0, m, kBurst);
		for (uint16_t i = 0; i < n; i++) {
			uint32_t s;
			std::memcpy(&s, rte_pktmbuf_mtod_offset(m[i], const char *, sizeof(rte_ether_hdr)), sizeof(s));
			in_order = in_order && (received == 0 || s > last_seq);
			last_seq = s;
			received++;
		}
		if (held != nullptr)
			held->insert(held->end(), m, m + n);
		else
			rte_pktmbuf_free_bulk(m, n);
		rte_eth_stats_get(port, &st);
		if (received + (st.rx_nombuf - nombuf0) >= sent || std::chrono::steady_clock::now() > end)
			return st.rx_nombuf - nombuf0;
	}
}

/* Every slot of B's ring posted, as the PMD and as the device count it. */
void check_descriptors(uint16_t port, const char *when)
{
	rte_eth_stats st{};
	rte_eth_stats_get(port, &st);
	const uint64_t consumed = st.ipackets + st.rx_nombuf + xstat(port, "rx_wc_errors") + xstat(port, "rx_drop_runt");
	std::string what = std::string(when) + ": B's receive WRs outstanding, PMD view (posted - consumed)";
	check_eq(what.c_str(), xstat(port, "rx_wrs_posted") - consumed, kDesc);
	what = std::string(when) + ": B's receive WRs outstanding, softud1 view (post_recv_wrs - rx_packets)";
	check_eq(what.c_str(), softud_counter("softud1", "post_recv_wrs") - softud_counter("softud1", "rx_packets"), kDesc);
}

} // namespace

int main()
{
	if (!init_test_eal("test_rx_nombuf"))
		return 1;
	rte_mempool *pool_a = rte_pktmbuf_pool_create("nombuf_a", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	rte_mempool *pool_b = rte_pktmbuf_pool_create("nombuf_b", kDesc + kSpare, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool_a == nullptr || pool_b == nullptr) {
		std::printf("FAIL: mempools: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	uint16_t a = 0, b = 0;
	const rte_eth_conf conf{};
	if (open_vdev_port("net_rdmaud0", "dev=softud0,mac=02:00:00:00:00:5a,peers=02:00:00:00:00:5b@127.0.0.3/0x11",
			   conf, kDesc, pool_a, a) != 0 ||
	    open_vdev_port("net_rdmaud1", "dev=softud1,mac=02:00:00:00:00:5b,peers=02:00:00:00:00:5a@127.0.0.2/0x11",
			   conf, kDesc, pool_b, b) != 0)
		return 1;
	check_eq("B's rx pool after start: the ring took its share", rte_mempool_avail_count(pool_b), kSpare);
	const uint64_t sd_sent0 = softud_counter("softud0", "tx_packets");
	const uint64_t sd_rx0 = softud_counter("softud1", "rx_packets");

	/* 1. B holds every frame: the pool runs dry. */
	std::vector<rte_mbuf *> held;
	uint64_t sent = 0, received = 0, nombuf = 0;
	uint32_t seq = 0, last = 0;
	bool in_order = true;
	for (unsigned i = 0; i < kDryBursts; i++) {
		if (!send_burst(a, pool_a, seq)) {
			std::printf("FAIL: A's port did not take burst %u\n", i);
			return 1;
		}
		sent += kBurst;
		nombuf = receive_until(b, sent, 0, received, &held, last, in_order);
	}
	std::printf("dry pool: A sent %" PRIu64 ", B received %" PRIu64 " (held), rx_nombuf %" PRIu64
		    ", pool free %u\n", sent, received, nombuf, rte_mempool_avail_count(pool_b));
	check("the pool ran dry: frames counted in rx_nombuf", nombuf > 0);
	check("B received at most the pool's spare mbufs", received <= kSpare);
	check_eq("sent = received + rx_nombuf", received + nombuf, sent);
	check_eq("xstat rx_drop_nombuf = rte_eth_stats rx_nombuf", xstat(b, "rx_drop_nombuf"), nombuf);
	check_eq("softud0 sent every frame", softud_counter("softud0", "tx_packets") - sd_sent0, sent);
	check_eq("softud1 delivered every frame into a posted receive", softud_counter("softud1", "rx_packets") - sd_rx0, sent);
	check_eq("softud1 drop_no_recv", softud_counter("softud1", "drop_no_recv"), 0);
	check("the frames B kept arrived in order", in_order);
	check_descriptors(b, "dry pool");

	/* 2. B lets go: the pool refills and every frame of a larger run arrives. */
	rte_pktmbuf_free_bulk(held.data(), static_cast<unsigned>(held.size()));
	check_eq("B's rx pool after B freed what it held", rte_mempool_avail_count(pool_b), kSpare);
	uint64_t sent2 = 0, received2 = 0;
	for (unsigned i = 0; i < kRefillBursts; i++) {
		if (!send_burst(a, pool_a, seq)) {
			std::printf("FAIL: A's port did not take burst %u of the second run\n", i);
			return 1;
		}
		sent2 += kBurst;
		receive_until(b, sent2, nombuf, received2, nullptr, last, in_order);
	}
	std::printf("refilled: A sent %" PRIu64 " more, B received %" PRIu64 " of them\n", sent2, received2);
	check_eq("after the refill: every frame received", received2, sent2);
	rte_eth_stats st{};
	rte_eth_stats_get(b, &st);
	check_eq("after the refill: rx_nombuf unchanged", st.rx_nombuf, nombuf);
	check_eq("B's ipackets", st.ipackets, received + received2);
	check_eq("softud1 drop_no_recv", softud_counter("softud1", "drop_no_recv"), 0);
	check("all frames in order", in_order);
	check_descriptors(b, "refilled");

	for (uint16_t p : {a, b}) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_vdev_uninit("net_rdmaud0");
	rte_vdev_uninit("net_rdmaud1");
	check_eq("B's rx pool complete after close", rte_mempool_avail_count(pool_b), kDesc + kSpare);
	rte_mempool_free(pool_a);
	rte_mempool_free(pool_b);
	rte_eal_cleanup();
	if (failures == 0)
		std::printf("PASS: rx pool exhaustion counted, no descriptor lost, traffic resumed at full count\n");
	return failures == 0 ? 0 : 1;
}
