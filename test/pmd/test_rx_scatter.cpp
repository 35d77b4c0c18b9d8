/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud scattered rx, end to end over softud: two ports in one process, A on
 * softud0 sending to B on softud1, both at the largest MTU softud allows (4096-byte
 * frames). A's mbufs hold a whole frame; B's hold 896 bytes (1024-byte data room
 * minus the headroom), so with RTE_ETH_RX_OFFLOAD_SCATTER a frame arrives as a chain.
 * Checks:
 *   - with the offload, frames of every length around the segment boundaries, up to 4096,
 *     arrive in order, each as ceil(len / 896) segments of 896 bytes (the last one
 *     shorter), pkt_len = len, and every byte equal to what A sent (a pattern that
 *     depends on the frame and the offset, so a misplaced segment shows);
 *   - ipackets/ibytes count frames and bytes; rx_nombuf stays 0; B's pool is
 *     complete again once the frames are freed and the port closed;
 *   - the MTU can be set within what the queue's segments hold;
 *   - without the offload, B's rx queue setup is refused (the frame does not fit).
 * Run under softud-run with both devices (test/pmd/on_softud.sh).
 */
#include <unistd.h>

#include <algorithm>
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

namespace {

constexpr uint16_t kDesc = 256;
constexpr uint16_t kSegRoom = 896;                        /* B's mbufs: data room after the headroom */
constexpr uint16_t kMtu = 4096 - RTE_ETHER_HDR_LEN;       /* softud's port MTU is the largest frame */
constexpr unsigned kPoolB = kDesc * 5 + 512;             /* five segments per slot, plus frames in flight */
const rte_ether_addr kMacA{{0x02, 0, 0, 0, 0, 0x6a}};
const rte_ether_addr kMacB{{0x02, 0, 0, 0, 0, 0x6b}};

uint8_t pattern(uint32_t frame, uint32_t off)
{
	return static_cast<uint8_t>(frame * 31 + off * 7 + (off >> 8));
}

int setup_port(const char *name, const char *args, rte_mempool *rx_pool, uint64_t rx_offloads, uint16_t &port,
	       bool start)
{
	int rc = rte_vdev_init(name, args);
	if (rc == 0)
		rc = rte_eth_dev_get_port_by_name(name, &port);
	rte_eth_conf conf{};
	conf.rxmode.mtu = kMtu;
	conf.rxmode.offloads = rx_offloads;
	if (rc == 0)
		rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, kDesc, 0, nullptr, rx_pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, kDesc, 0, nullptr);
	if (rc == 0 && start)
		rc = rte_eth_dev_start(port);
	return rc;
}

/* The lengths sent: around every multiple of the segment size, and the extremes. */
std::vector<uint32_t> frame_lengths()
{
	std::vector<uint32_t> v{60, 100, 1500, 2048, 3000, 4095, 4096};
	for (uint32_t s = kSegRoom; s < 4096; s += kSegRoom)
		for (uint32_t d : {s - 1, s, s + 1})
			v.push_back(d);
	return v;
}

} // namespace

int main()
{
	if (!init_test_eal("test_rx_scatter", {"--log-level=pmd.net.rdmaud:info"}))
		return 1;
	rte_mempool *pool_a = rte_pktmbuf_pool_create("scatter_a", 2048, 0, 0, RTE_PKTMBUF_HEADROOM + 4096, 0);
	rte_mempool *pool_b = rte_pktmbuf_pool_create("scatter_b", kPoolB, 0, 0, RTE_PKTMBUF_HEADROOM + kSegRoom, 0);
	if (pool_a == nullptr || pool_b == nullptr) {
		std::printf("FAIL: mempools: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	uint16_t a = 0, b = 0;
	const char *args_b = "dev=softud1,mac=02:00:00:00:00:6b,peers=02:00:00:00:00:6a@127.0.0.2/0x12";

	/* 1. With the offload (B first: softud numbers QPs per process from 0x11, A's is 0x12). */
	if (setup_port("net_rdmaud1", args_b, pool_b, RTE_ETH_RX_OFFLOAD_SCATTER, b, true) != 0 ||
	    setup_port("net_rdmaud0", "dev=softud0,mac=02:00:00:00:00:6a,peers=02:00:00:00:00:6b@127.0.0.3/0x11",
		       pool_a, 0, a, true) != 0) {
		std::printf("FAIL: ports: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	const std::vector<uint32_t> lens = frame_lengths();
	uint64_t want_bytes = 0;
	std::vector<rte_mbuf *> tx;
	for (uint32_t f = 0; f < lens.size(); f++) {
		rte_mbuf *m = rte_pktmbuf_alloc(pool_a);
		auto *p = m != nullptr ? rte_pktmbuf_mtod(m, uint8_t *) : nullptr;
		if (m == nullptr || rte_pktmbuf_append(m, static_cast<uint16_t>(lens[f])) == nullptr) {
			std::printf("FAIL: frame %u of %u bytes\n", f, lens[f]);
			return 1;
		}
		for (uint32_t o = 0; o < lens[f]; o++)
			p[o] = pattern(f, o);
		auto *eh = reinterpret_cast<rte_ether_hdr *>(p);
		eh->dst_addr = kMacB;
		eh->src_addr = kMacA;
		tx.push_back(m);
		want_bytes += lens[f];
	}
	/* What A sent, headers included (A's port frees its mbufs after sending). */
	std::vector<std::vector<uint8_t>> sent;
	for (rte_mbuf *m : tx)
		sent.emplace_back(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_mtod(m, uint8_t *) + m->pkt_len);
	uint16_t n = 0;
	for (int tries = 0; n < tx.size() && tries < 10000; tries++)
		n += rte_eth_tx_burst(a, 0, tx.data() + n, static_cast<uint16_t>(tx.size() - n));
	check_eq("frames A's port took", n, tx.size());

	/* rx_queue_count between bursts (it moves completions to the queue's stash, which the
	 * scattered burst delivers first), bursts of 7 leaving some stashed: the checks below
	 * (every frame in order, byte for byte) hold across it. */
	std::vector<rte_mbuf *> rx;
	int max_count = 0, bad_count = 0;
	for (int polls = 0; rx.size() < lens.size() && polls < 200000; polls++) { /* 2 s at most */
		if (polls % 2 == 0) {
			const int c = rte_eth_rx_queue_count(b, 0);
			max_count = std::max(max_count, c);
			bad_count += c < 0 || rx.size() + static_cast<size_t>(c) > lens.size() ? 1 : 0;
		}
		rte_mbuf *m[32];
		const uint16_t k = rte_eth_rx_burst(b, 0, m, polls % 4 < 2 ? 7 : 32);
		rx.insert(rx.end(), m, m + k);
		if (k == 0)
			usleep(10);
	}
	check_eq("frames B received", rx.size(), lens.size());
	check("rx_queue_count never negative nor above the frames not yet received", bad_count == 0);
	check("rx_queue_count saw frames waiting", max_count > 0);
	check_eq("rx_queue_count once all were received", rte_eth_rx_queue_count(b, 0), 0);
	unsigned bad = 0;
	for (size_t f = 0; f < rx.size() && f < lens.size(); f++) {
		const rte_mbuf *m = rx[f];
		const uint32_t want_segs = (lens[f] + kSegRoom - 1) / kSegRoom;
		bool ok = m->pkt_len == lens[f] && m->nb_segs == want_segs && rte_mbuf_check(m, 1, nullptr) == 0;
		uint32_t off = 0, segs = 0;
		for (const rte_mbuf *s = m; s != nullptr && ok; s = s->next, segs++) {
			const bool last = s->next == nullptr;
			ok = s->data_len == (last ? lens[f] - off : kSegRoom) &&
			     std::memcmp(rte_pktmbuf_mtod(s, const uint8_t *), sent[f].data() + off, s->data_len) == 0;
			off += s->data_len;
		}
		ok = ok && off == lens[f] && segs == want_segs;
		if (!ok) {
			bad++;
			std::printf("FAIL: frame %zu: %u bytes sent; got pkt_len %u in %u segments (want %u)\n", f,
				    lens[f], m->pkt_len, m->nb_segs, want_segs);
		}
	}
	std::printf("%zu frames of %u to %u bytes, %u to %u segments each\n", rx.size(), lens.front(), 4096u, 1u,
		    (4096u + kSegRoom - 1) / kSegRoom);
	check("every frame: segment count, segment lengths and every byte as sent", bad == 0 && !rx.empty());
	rte_eth_stats st{};
	rte_eth_stats_get(b, &st);
	check_eq("B's ipackets", st.ipackets, lens.size());
	check_eq("B's ibytes", st.ibytes, want_bytes);
	check_eq("B's rx_nombuf", st.rx_nombuf, 0);
	rte_pktmbuf_free_bulk(rx.data(), static_cast<unsigned>(rx.size()));

	/* 2. The queue holds 5 segments of 896 bytes: 4480 bytes. A larger MTU is refused, a smaller taken. */
	check("MTU 4082 kept (the queue holds 4096-byte frames)", rte_eth_dev_set_mtu(b, kMtu) == 0);
	check("MTU 1500 accepted", rte_eth_dev_set_mtu(b, 1500) == 0);

	for (uint16_t p : {a, b}) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_vdev_uninit("net_rdmaud0");
	rte_vdev_uninit("net_rdmaud1");
	check_eq("B's rx pool complete after close", rte_mempool_avail_count(pool_b), kPoolB);

	/* 3. Without the offload B's queue cannot take 4096-byte frames in 896-byte mbufs. */
	const int rc = setup_port("net_rdmaud1", args_b, pool_b, 0, b, false);
	check("without RTE_ETH_RX_OFFLOAD_SCATTER the rx queue setup is refused", rc == -EINVAL);
	rte_eth_dev_close(b);
	rte_vdev_uninit("net_rdmaud1");
	rte_mempool_free(pool_a);
	rte_mempool_free(pool_b);
	rte_eal_cleanup();
	if (failures == 0)
		std::printf("PASS: scattered rx: frames up to 4096 bytes in chains of 896-byte mbufs, byte for byte\n");
	return failures == 0 ? 0 : 1;
}
