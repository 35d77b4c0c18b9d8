/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud lifecycle on a verbs device (softud): probe, configure (two queue
 * pairs, then one), queue setup, start, traffic, stop, start again, stop, close
 * and remove, N times.
 * Nothing may leak: every mbuf is back in its pool after each close, and the
 * DPDK heap, the C heap and the process's file descriptors stop growing after
 * the first cycles. Run under softud-run (test/pmd/on_softud.sh); argv[1]: cycles.
 */
#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <bus_vdev_driver.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

namespace {

constexpr const char kName[] = "net_rdmaud0";
/* A peer that exists on the wire (our own device) but has no such QP: sends
 * complete normally and the receiver drops them, so tx completions flow. */
constexpr const char kArgs[] = "dev=softud0,mac=02:00:00:00:00:01,peers=02:00:00:00:00:02@127.0.0.2/0x7777";
constexpr unsigned kPoolSize = 4096;

int fail(const char *what, int rc)
{
	std::fprintf(stderr, "FAIL: %s (%d: %s)\n", what, rc, rte_strerror(rc < 0 ? -rc : rc));
	return 1;
}

unsigned open_fds()
{
	unsigned n = 0;
	if (DIR *d = opendir("/proc/self/fd")) {
		while (readdir(d) != nullptr)
			n++;
		closedir(d);
	}
	return n;
}

size_t dpdk_heap_in_use()
{
	rte_malloc_socket_stats st;
	rte_malloc_get_socket_stats(0, &st);
	return st.heap_allocsz_bytes;
}

int traffic(uint16_t port, rte_mempool *mp)
{
	rte_mbuf *pkts[32];
	if (rte_pktmbuf_alloc_bulk(mp, pkts, 32) != 0)
		return -ENOMEM;
	for (int i = 0; i < 32; i++) {
		auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(pkts[i], 64));
		eh->dst_addr = rte_ether_addr{{0x02, 0, 0, 0, 0, static_cast<uint8_t>(i % 4 == 0 ? 0x99 : 0x02)}};
		eh->ether_type = RTE_BE16(0x88b5);
	}
	uint16_t sent = 0;
	for (int tries = 0; sent < 32 && tries < 1000; tries++)
		sent += rte_eth_tx_burst(port, 0, pkts + sent, 32 - sent);
	if (sent != 32)
		return -EAGAIN;
	rte_mbuf *rx[32];
	for (int i = 0; i < 10; i++) {
		uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
		rte_pktmbuf_free_bulk(rx, n);
	}
	return 0;
}

int one_cycle(rte_mempool *mp)
{
	int rc = rte_vdev_init(kName, kArgs);
	if (rc != 0)
		return fail("rte_vdev_init", rc);
	uint16_t port;
	if ((rc = rte_eth_dev_get_port_by_name(kName, &port)) != 0)
		return fail("port lookup", rc);
	rte_eth_conf conf{};
	conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* Two queue pairs first, then one: the second QP and its CQs must go (not leak). */
	if ((rc = rte_eth_dev_configure(port, 2, 2, &conf)) != 0)
		return fail("configure 2 queues", rc);
	if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) != 0)
		return fail("configure", rc);
	if ((rc = rte_eth_rx_queue_setup(port, 0, 256, 0, nullptr, mp)) != 0)
		return fail("rx queue setup", rc);
	if ((rc = rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr)) != 0)
		return fail("tx queue setup", rc);
	for (int round = 0; round < 2; round++) {
		if ((rc = rte_eth_dev_start(port)) != 0)
			return fail("start", rc);
		if ((rc = traffic(port, mp)) != 0)
			return fail("traffic", rc);
		rte_eth_stats st;
		rte_eth_stats_get(port, &st);
		if (st.opackets == 0 || st.oerrors == 0)
			return fail("stats: expected posted frames and unknown-MAC drops", 0);
		if ((rc = rte_eth_dev_stop(port)) != 0)
			return fail("stop", rc);
	}
	if ((rc = rte_eth_dev_close(port)) != 0)
		return fail("close", rc);
	if ((rc = rte_vdev_uninit(kName)) != 0)
		return fail("vdev uninit", rc);
	if (rte_mempool_avail_count(mp) != kPoolSize)
		return fail("mbufs still held after close", static_cast<int>(rte_mempool_in_use_count(mp)));
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	const int cycles = argc > 1 ? std::atoi(argv[1]) : 100;
	const char *pmd = std::getenv("RDMAUD_PMD");
	if (pmd == nullptr) {
		std::fprintf(stderr, "RDMAUD_PMD unset\n");
		return 2;
	}
	std::string prefix = "--file-prefix=rdmaudcyc" + std::to_string(getpid());
	const char *eal[] = {"test_pmd_cycles", "--no-huge", "-m", "256", "--no-pci", "-l", "0", "-d", pmd,
			     "--no-telemetry", "--log-level=lib.eal:error", prefix.c_str()};
	if (rte_eal_init(RTE_DIM(eal), const_cast<char **>(eal)) < 0)
		return fail("EAL init", rte_errno);
	rte_mempool *mp = rte_pktmbuf_pool_create("cycles", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == nullptr)
		return fail("mempool", rte_errno);

	const int warmup = cycles < 4 ? 1 : 3;
	size_t heap0 = 0, c0 = 0;
	unsigned fds0 = 0;
	for (int i = 0; i < cycles; i++) {
		if (one_cycle(mp) != 0) {
			std::fprintf(stderr, "cycle %d failed\n", i);
			return 1;
		}
		if (i + 1 == warmup) {
			heap0 = dpdk_heap_in_use();
			c0 = mallinfo2().uordblks;
			fds0 = open_fds();
		}
	}
	const size_t heap1 = dpdk_heap_in_use();
	const size_t c1 = mallinfo2().uordblks;
	const unsigned fds1 = open_fds();
	std::printf("%d cycles: DPDK heap %zu -> %zu bytes, C heap %zu -> %zu bytes, fds %u -> %u\n",
		    cycles, heap0, heap1, c0, c1, fds0, fds1);
	int rc = 0;
	if (heap1 != heap0)
		rc = fail("the DPDK heap grew across cycles", static_cast<int>(heap1 - heap0));
	/* glibc keeps small per-thread caches; a leak of even one QP per cycle is far above this. */
	if (c1 > c0 + 16 * 1024)
		rc = fail("the C heap grew across cycles", static_cast<int>(c1 - c0));
	if (fds1 != fds0)
		rc = fail("file descriptors leaked", static_cast<int>(fds1 - fds0));
	rte_mempool_free(mp);
	rte_eal_cleanup();
	if (rc == 0)
		std::printf("PASS: %d probe/start/stop/close cycles without leaks\n", cycles);
	return rc;
}
