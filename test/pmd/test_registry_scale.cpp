/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud with many registry peers, end to end: a real memcached holds
 * kPeers endpoint records, a port on softud sends to every one of their MACs
 * until all are resolved. Checks that resolution scales with the number of
 * peers, not with its square:
 *   - every peer is resolved and installed (registry_peers), each with one
 *     address handle (registry_address_handles), none created twice;
 *   - the peer table is rebuilt once per resolver pass, not once per peer
 *     (registry_table_builds far below kPeers);
 *   - in steady state the datapath asks the resolver nothing (no miss, no request);
 *   - records removed from memcached leave the table and release their
 *     address handles (nothing held by retired tables once the queue bursts).
 * Run under softud-run (test/pmd/on_softud.sh).
 */
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "config.h"
#include "mc_fixture.h"
#include "registry.h"

namespace reg = rdmaud::registry;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kPeers = 2000;
constexpr uint16_t kBurst = 32;
constexpr uint32_t kFrameLen = 64;
/* A resolver pass handles every request queued since the last one (1024 at most),
 * so even one table per pass stays far below one per peer. */
constexpr unsigned kMaxTableBuilds = kPeers / 10;
constexpr auto kResolveDeadline = std::chrono::seconds(30);
/* No table build for this long: the resolver's pass (1 ms tick) that published the last peers is over. */
constexpr auto kSettle = std::chrono::milliseconds(200);
/* The first half of the peers is published with a short TTL and removed in step 3:
 * a peer whose record is gone leaves once it has not been seen valid for its TTL
 * (it may be re-publishing), i.e. within TTL + the revalidation period (1 s). */
constexpr uint32_t kShortTtlS = 4;
constexpr uint32_t kLongTtlS = 300;
constexpr auto kExpireDeadline = std::chrono::seconds(kShortTtlS + 8);
const char kNs[] = "scale";

int failures = 0;

void check_eq(const char *what, uint64_t got, uint64_t want)
{
	std::printf("%s: %s = %" PRIu64 "%s\n", got == want ? "ok" : "FAIL", what, got,
		    got == want ? "" : (" (expected " + std::to_string(want) + ")").c_str());
	failures += got == want ? 0 : 1;
}

void check(const char *what, bool ok)
{
	std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	failures += ok ? 0 : 1;
}

uint64_t xstat(uint16_t port, const char *name)
{
	uint64_t id = 0, v = 0;
	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 || rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1) {
		std::printf("FAIL: no xstat %s\n", name);
		failures++;
		return UINT64_MAX;
	}
	return v;
}

rte_ether_addr peer_mac(unsigned i)
{
	return rte_ether_addr{{0x02, 0x5c, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
}

/* Peer i: a RoCE endpoint at ::ffff:127.1.hi.lo (a distinct address each: nobody serves it). */
reg::EndpointRecord peer_record(unsigned i)
{
	reg::EndpointRecord r;
	const rte_ether_addr m = peer_mac(i);
	std::memcpy(r.mac.data(), m.addr_bytes, r.mac.size());
	r.link = reg::LinkLayer::roce;
	const uint8_t gid[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 1,
				 static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
	std::memcpy(r.gid.data(), gid, sizeof(gid));
	r.qpns = {0x11};
	r.qkey = 0x11111111;
	r.mtu = 1024;
	r.incarnation = i + 1;
	r.name = "peer" + std::to_string(i);
	return r;
}

/* One frame to each of the first n peers' MACs, in bursts; returns frames the port took. */
uint64_t send_round(uint16_t port, rte_mempool *mp, unsigned n)
{
	uint64_t taken = 0;
	for (unsigned base = 0; base < n; base += kBurst) {
		const unsigned cnt = std::min<unsigned>(kBurst, n - base);
		rte_mbuf *m[kBurst];
		if (rte_pktmbuf_alloc_bulk(mp, m, cnt) != 0)
			return taken;
		for (unsigned j = 0; j < cnt; j++) {
			auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(m[j], kFrameLen));
			std::memset(eh, 0, kFrameLen);
			eh->dst_addr = peer_mac(base + j);
			eh->src_addr = rte_ether_addr{{0x02, 0x5c, 0, 0, 0xff, 0xff}};
			eh->ether_type = RTE_BE16(0x88b5);
		}
		uint16_t sent = 0;
		for (int tries = 0; sent < cnt && tries < 10000; tries++)
			sent += rte_eth_tx_burst(port, 0, m + sent, static_cast<uint16_t>(cnt - sent));
		if (sent < cnt)
			rte_pktmbuf_free_bulk(m + sent, cnt - sent);
		taken += sent;
	}
	return taken;
}

double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

int main()
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	reg::test::Memcached mc;
	if (!mc.start()) {
		std::printf("FAIL: memcached did not start\n");
		return 1;
	}
	reg::RegistryConfig rc;
	if (reg::Status st = reg::servers_from(mc.address(), &rc.servers); !st.ok()) {
		std::printf("FAIL: %s\n", st.message.c_str());
		return 1;
	}
	rc.ns = kNs;
	std::unique_ptr<reg::Registry> registry;
	if (reg::Status st = reg::Registry::create(rc, &registry); !st.ok()) {
		std::printf("FAIL: registry: %s\n", st.message.c_str());
		return 1;
	}
	for (unsigned i = 0; i < kPeers; i++) {
		reg::EndpointRecord r = peer_record(i);
		if (reg::Status st = registry->publish(&r, i < kPeers / 2 ? kShortTtlS : kLongTtlS); !st.ok()) {
			std::printf("FAIL: publish peer %u: %s\n", i, st.message.c_str());
			return 1;
		}
	}

	const char *pmd = std::getenv("RDMAUD_PMD");
	if (pmd == nullptr) {
		std::printf("FAIL: RDMAUD_PMD unset\n");
		return 1;
	}
	std::string prefix = "--file-prefix=rdmaudscale" + std::to_string(getpid());
	const char *eal[] = {"test_registry_scale", "--no-huge", "-m", "256", "--no-pci", "-l", "0",
			     "--log-level=pmd.net.rdmaud:info", "-d", pmd, prefix.c_str()};
	if (rte_eal_init(RTE_DIM(eal), const_cast<char **>(eal)) < 0) {
		std::printf("FAIL: EAL init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rte_mempool *mp = rte_pktmbuf_pool_create("scale", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	uint16_t port = 0;
	const std::string args = "dev=softud0,registry=" + mc.address() + ",ns=" + kNs + ",name=sender";
	int rc2 = mp != nullptr ? rte_vdev_init("net_rdmaud0", args.c_str()) : -ENOMEM;
	rte_eth_conf conf{};
	if (rc2 == 0)
		rc2 = rte_eth_dev_get_port_by_name("net_rdmaud0", &port);
	if (rc2 == 0)
		rc2 = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc2 == 0)
		rc2 = rte_eth_rx_queue_setup(port, 0, 512, 0, nullptr, mp);
	if (rc2 == 0)
		rc2 = rte_eth_tx_queue_setup(port, 0, 512, 0, nullptr);
	if (rc2 == 0)
		rc2 = rte_eth_dev_start(port);
	if (rc2 != 0) {
		std::printf("FAIL: port: %s\n", rte_strerror(-rc2));
		return 1;
	}

	/* 1. Send to every peer until all are resolved. */
	const Clock::time_point t0 = Clock::now();
	unsigned rounds = 0;
	while (xstat(port, "registry_peers") < kPeers && Clock::now() - t0 < kResolveDeadline) {
		send_round(port, mp, kPeers);
		rounds++;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	std::printf("resolved %" PRIu64 " of %u peers in %.0f ms (%u rounds of %u frames), %" PRIu64
		    " table builds\n", xstat(port, "registry_peers"), kPeers, ms_since(t0), rounds, kPeers,
		    xstat(port, "registry_table_builds"));
	check_eq("registry_peers", xstat(port, "registry_peers"), kPeers);
	/* registry_peers counts what the resolver holds; the table with them is published at the end
	 * of its pass. Wait (bounded) for that table: its address handles are all there and no build
	 * for kSettle (a slow machine or a sanitizer build ends a pass well after the last record). */
	for (const Clock::time_point ts = Clock::now(); Clock::now() - ts < kResolveDeadline;) {
		const uint64_t b = xstat(port, "registry_table_builds");
		std::this_thread::sleep_for(kSettle);
		if (xstat(port, "registry_address_handles") == kPeers && xstat(port, "registry_table_builds") == b)
			break;
	}
	send_round(port, mp, 1); /* a burst after the last build: the queue passes a quiescent point */
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	check_eq("registry_address_handles: one per peer address", xstat(port, "registry_address_handles"), kPeers);
	const uint64_t builds = xstat(port, "registry_table_builds");
	check("peer table rebuilt per resolver pass, not per peer", builds >= 1 && builds <= kMaxTableBuilds);

	/* 2. Steady state: every frame goes out, the datapath asks the resolver nothing. */
	const uint64_t misses = xstat(port, "tx_resolver_misses"), requests = xstat(port, "registry_requests");
	rte_eth_stats s0{}, s1{};
	rte_eth_stats_get(port, &s0);
	check_eq("steady state: the port took every frame", send_round(port, mp, kPeers), kPeers);
	rte_eth_stats_get(port, &s1);
	check_eq("steady state: opackets", s1.opackets - s0.opackets, kPeers);
	check_eq("steady state: no resolver miss", xstat(port, "tx_resolver_misses") - misses, 0);
	check_eq("steady state: no resolver request", xstat(port, "registry_requests") - requests, 0);
	check_eq("steady state: no new table", xstat(port, "registry_table_builds") - builds, 0);

	/* 3. Half the records go: their peers leave the table and their handles are destroyed. */
	for (unsigned i = 0; i < kPeers / 2; i++)
		registry->remove(peer_record(i).mac);
	const Clock::time_point t1 = Clock::now();
	while ((xstat(port, "registry_peers") > kPeers / 2 || xstat(port, "registry_address_handles") > kPeers / 2) &&
	       Clock::now() - t1 < kExpireDeadline) {
		send_round(port, mp, 1); /* the queue keeps passing quiescent points */
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	std::printf("removed %u records: %" PRIu64 " peers and %" PRIu64 " address handles left after %.0f ms\n",
		    kPeers / 2, xstat(port, "registry_peers"), xstat(port, "registry_address_handles"), ms_since(t1));
	check_eq("registry_peers after removal", xstat(port, "registry_peers"), kPeers / 2);
	check_eq("registry_address_handles after removal", xstat(port, "registry_address_handles"), kPeers / 2);
	check_eq("registry_expired", xstat(port, "registry_expired"), kPeers / 2);

	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_vdev_uninit("net_rdmaud0");
	rte_mempool_free(mp);
	rte_eal_cleanup();
	std::printf("%s (%d failure(s))\n", failures == 0 ? "PASS" : "FAIL", failures);
	return failures == 0 ? 0 : 1;
}
