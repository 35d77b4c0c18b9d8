/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmd_bench: forwarding benchmark of an ethdev PMD pair in one process, as
 * dpdk-testpmd's io mode forwards (no header work besides setting the
 * destination MAC): rx_burst on one port, tx_burst of what came on the other,
 * for both directions in turn, with a fixed number of frames circulating.
 *
 * Ports 0 and 1 are whatever the EAL arguments created (--vdev=net_rdmaud0,...
 * and net_rdmaud1 over two softud devices, two net_ring or two net_memif ports).
 * Every transmitted frame gets the next destination MAC of a cycle over
 * --peers MACs starting at --dst, so a PMD that looks destinations up can be
 * measured with 1 or 10,000 active peers.
 *
 * The measured loop is the C function bench_forward_loop, so callgrind can
 * count it alone (--toggle-collect=bench_forward_loop); set-up, injection,
 * warm-up and teardown are outside it. Not a test: scripts/bench-pmd-instr.sh
 * runs it (doc/perf-pmd.md).
 */
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

namespace {

constexpr uint16_t kMaxBurst = 64;
constexpr unsigned kTxRetries = 64;

struct Options {
	uint64_t bursts = 200000;   /* measured forwarding bursts (rx+tx, both directions count) */
	uint64_t warmup = 2000;     /* bursts before the measured loop */
	unsigned frames = 256;      /* frames circulating (half injected on each port) */
	uint16_t burst = 32;
	uint16_t len = 64;          /* frame length */
	unsigned peers = 1;         /* distinct destination MACs cycled over */
	rte_ether_addr dst{{0x02, 0, 0, 0, 0x01, 0x00}};
	uint16_t rxd = 1024;
	uint16_t txd = 1024;
	bool fast_free = false;
	bool random_macs = false;   /* destinations spread like real MACs, not consecutive */
	bool mac_filter = false;    /* promiscuous off, the destinations are the ports' MACs */
	unsigned pool = 8191;
};

struct Counters {
	uint64_t rx_calls = 0;
	uint64_t rx_empty = 0;
	uint64_t rx_full = 0;       /* bursts that returned the full burst size */
	uint64_t bursts = 0;        /* non-empty rx bursts (each forwarded) */
	uint64_t forwarded = 0;
	uint64_t tx_short = 0;      /* tx_burst calls that took fewer than offered */
	uint64_t dropped = 0;       /* frames freed after kTxRetries */
};

/* The destination MACs cycled over. */
struct MacCycle {
	std::vector<rte_ether_addr> macs;
	uint32_t next = 0;
};

uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * n distinct unicast MACs: base + i (the low four bytes count), or with
 * random, base's first byte and five pseudo-random bytes (splitmix64 of i,
 * the same on every run; a repeat is skipped).
 */
std::vector<rte_ether_addr> make_macs(unsigned n, const rte_ether_addr &base, bool random)
{
	std::vector<rte_ether_addr> out;
	std::unordered_set<uint64_t> seen;
	for (uint64_t i = 0; out.size() < n; i++) {
		rte_ether_addr a = base;
		if (random) {
			const uint64_t r = splitmix64(i);
			for (int b = 1; b < RTE_ETHER_ADDR_LEN; b++)
				a.addr_bytes[b] = static_cast<uint8_t>(r >> (8 * b));
			uint64_t key = 0;
			std::memcpy(&key, a.addr_bytes, RTE_ETHER_ADDR_LEN);
			if (!seen.insert(key).second)
				continue;
		} else {
			const uint32_t low = (static_cast<uint32_t>(base.addr_bytes[2]) << 24 |
					      static_cast<uint32_t>(base.addr_bytes[3]) << 16 |
					      static_cast<uint32_t>(base.addr_bytes[4]) << 8 | base.addr_bytes[5]) +
					     static_cast<uint32_t>(i);
			a.addr_bytes[2] = static_cast<uint8_t>(low >> 24);
			a.addr_bytes[3] = static_cast<uint8_t>(low >> 16);
			a.addr_bytes[4] = static_cast<uint8_t>(low >> 8);
			a.addr_bytes[5] = static_cast<uint8_t>(low);
		}
		out.push_back(a);
	}
	return out;
}

[[noreturn]] void die(const char *fmt, const char *what, int rc)
{
	std::fprintf(stderr, "pmd_bench: ");
	std::fprintf(stderr, fmt, what);
	std::fprintf(stderr, " (%d: %s)\n", rc, rte_strerror(rc < 0 ? -rc : rc));
	rte_exit(EXIT_FAILURE, "pmd_bench failed\n");
}

bool parse_u64(const char *s, uint64_t &out)
{
	char *end = nullptr;
	errno = 0;
	unsigned long long v = std::strtoull(s, &end, 0);
	if (s[0] == '\0' || s[0] == '-' || errno != 0 || *end != '\0')
		return false;
	out = v;
	return true;
}

void usage()
{
	std::fprintf(stderr,
		     "usage: pmd_bench [EAL args] -- [--bursts N] [--warmup N] [--frames N] [--burst N]\n"
		     "       [--len BYTES] [--peers N] [--dst MAC] [--random-macs] [--rxd N] [--txd N] [--pool N]\n"
		     "       [--fast-free] [--mac-filter]\n"
		     "       pmd_bench macs N BASE_MAC seq|random   (print the destination MACs, one per line)\n");
}

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 0; i < argc; i++) {
		std::string a = argv[i];
		auto num = [&](uint64_t lo, uint64_t hi) {
			uint64_t v;
			if (i + 1 >= argc || !parse_u64(argv[i + 1], v) || v < lo || v > hi) {
				std::fprintf(stderr, "pmd_bench: %s needs a number from %" PRIu64 " to %" PRIu64 "\n",
					     a.c_str(), lo, hi);
				usage();
				std::exit(2);
			}
			i++;
			return v;
		};
		if (a == "--bursts")
			o.bursts = num(1, UINT64_MAX / kMaxBurst);
		else if (a == "--warmup")
			o.warmup = num(0, UINT64_MAX / kMaxBurst);
		else if (a == "--frames")
			o.frames = static_cast<unsigned>(num(1, 1u << 20));
		else if (a == "--burst")
			o.burst = static_cast<uint16_t>(num(1, kMaxBurst));
		else if (a == "--len")
			o.len = static_cast<uint16_t>(num(60, 1514));
		else if (a == "--peers")
			o.peers = static_cast<unsigned>(num(1, 1u << 24));
		else if (a == "--rxd")
			o.rxd = static_cast<uint16_t>(num(64, 8192));
		else if (a == "--txd")
			o.txd = static_cast<uint16_t>(num(64, 8192));
		else if (a == "--pool")
			o.pool = static_cast<unsigned>(num(1024, 1u << 22));
		else if (a == "--fast-free")
			o.fast_free = true;
		else if (a == "--mac-filter")
			o.mac_filter = true;
		else if (a == "--random-macs")
			o.random_macs = true;
		else if (a == "--dst" && i + 1 < argc && rte_ether_unformat_addr(argv[i + 1], &o.dst) == 0)
			i++;
		else {
			std::fprintf(stderr, "pmd_bench: bad argument %s\n", a.c_str());
			usage();
			std::exit(2);
		}
	}
	return o;
}

void setup_port(uint16_t port, const Options &o, rte_mempool *mp)
{
	rte_eth_dev_info info;
	if (int rc = rte_eth_dev_info_get(port, &info); rc != 0)
		die("%s: rte_eth_dev_info_get", "port", rc);
	rte_eth_conf conf{};
	if (o.fast_free) {
		if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) == 0)
			std::printf("port %u (%s): no MBUF_FAST_FREE offload; run without it\n", port,
				    info.driver_name);
		else
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	}
	if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0)
		die("%s: rte_eth_dev_configure", info.driver_name, rc);
	uint16_t rxd = o.rxd, txd = o.txd;
	if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd); rc != 0)
		die("%s: rte_eth_dev_adjust_nb_rx_tx_desc", info.driver_name, rc);
	if (int rc = rte_eth_rx_queue_setup(port, 0, rxd, rte_eth_dev_socket_id(port), nullptr, mp); rc != 0)
		die("%s: rte_eth_rx_queue_setup", info.driver_name, rc);
	rte_eth_txconf txc = info.default_txconf;
	txc.offloads = conf.txmode.offloads;
	if (int rc = rte_eth_tx_queue_setup(port, 0, txd, rte_eth_dev_socket_id(port), &txc); rc != 0)
		die("%s: rte_eth_tx_queue_setup", info.driver_name, rc);
	if (int rc = rte_eth_dev_start(port); rc != 0)
		die("%s: rte_eth_dev_start", info.driver_name, rc);
	if (!o.mac_filter) {
		rte_eth_promiscuous_enable(port);
	} else {
		/* The receive MAC filter at work: not promiscuous, every destination one of the
		 * port's MACs: the first its default MAC, the others extra ones (so at most
		 * max_mac_addrs of them). */
		rte_eth_promiscuous_disable(port);
		std::vector<rte_ether_addr> dsts = make_macs(o.peers, o.dst, o.random_macs);
		if (int rc = rte_eth_dev_default_mac_addr_set(port, &dsts[0]); rc != 0)
			die("%s: rte_eth_dev_default_mac_addr_set", info.driver_name, rc);
		for (size_t i = 1; i < dsts.size(); i++)
			if (int rc = rte_eth_dev_mac_addr_add(port, &dsts[i], 0); rc != 0)
				die("%s: rte_eth_dev_mac_addr_add (--mac-filter: --peers at most max_mac_addrs)",
				    info.driver_name, rc);
	}
	std::printf("port %u: %s, rxd %u txd %u, tx offloads 0x%" PRIx64 "\n", port, info.driver_name, rxd, txd,
		    conf.txmode.offloads);
}

/* A 64-byte-class IPv4/UDP frame from src; the destination MAC is set per send. */
rte_mbuf *make_frame(rte_mempool *mp, const rte_ether_addr &src, uint16_t len, uint32_t n)
{
	rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (m == nullptr)
		return nullptr;
	auto *p = rte_pktmbuf_mtod(m, uint8_t *);
	std::memset(p, 0, len);
	auto *eh = reinterpret_cast<rte_ether_hdr *>(p);
	eh->src_addr = src;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eh + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(*eh)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 2));
	auto *udp = reinterpret_cast<rte_udp_hdr *>(ip + 1);
	udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + n % 1024));
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(*eh) - sizeof(*ip)));
	m->data_len = len;
	m->pkt_len = len;
	return m;
}

inline void set_dst(rte_mbuf **pkts, uint16_t n, MacCycle &mc)
{
	const uint32_t cnt = static_cast<uint32_t>(mc.macs.size());
	for (uint16_t i = 0; i < n; i++) {
		rte_pktmbuf_mtod(pkts[i], rte_ether_hdr *)->dst_addr = mc.macs[mc.next];
		if (++mc.next == cnt)
			mc.next = 0;
	}
}

/* Send n frames on port, retrying a full queue; frees what still does not go. */
inline uint16_t send(uint16_t port, rte_mbuf **pkts, uint16_t n, Counters &c)
{
	uint16_t sent = rte_eth_tx_burst(port, 0, pkts, n);
	if (__builtin_expect(sent < n, 0)) {
		c.tx_short++;
		for (unsigned r = 0; r < kTxRetries && sent < n; r++)
			sent += rte_eth_tx_burst(port, 0, pkts + sent, n - sent);
		if (sent < n) {
			c.dropped += n - sent;
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		}
	}
	return sent;
}

} // namespace

namespace {

/*
 * Until `bursts` bursts were forwarded (or max_polls rx calls happened: frames
 * were lost), poll port 0 and forward to port 1, then poll port 1 and forward
 * to port 0.
 */
inline __attribute__((always_inline)) void forward(uint64_t bursts, uint64_t max_polls, uint16_t burst,
						   MacCycle *mc, Counters *c)
{
	rte_mbuf *pkts[kMaxBurst];
	uint64_t polls = 0;
	while (c->bursts < bursts && polls < max_polls) {
		for (uint16_t p = 0; p < 2; p++) {
			polls++;
			c->rx_calls++;
			uint16_t n = rte_eth_rx_burst(p, 0, pkts, burst);
			if (n == 0) {
				c->rx_empty++;
				continue;
			}
			c->bursts++;
			c->rx_full += n == burst;
			set_dst(pkts, n, *mc);
			c->forwarded += send(static_cast<uint16_t>(p ^ 1), pkts, n, *c);
		}
	}
}

} // namespace

/* Warm-up and measured loop: the same code in two functions with C names, so
 * callgrind's --toggle-collect=bench_forward_loop counts the measured one only. */
extern "C" __attribute__((noinline)) void bench_warmup_loop(uint64_t bursts, uint64_t max_polls, uint16_t burst,
							    MacCycle *mc, Counters *c)
{
	forward(bursts, max_polls, burst, mc, c);
}

extern "C" __attribute__((noinline)) void bench_forward_loop(uint64_t bursts, uint64_t max_polls, uint16_t burst,
							     MacCycle *mc, Counters *c)
{
	forward(bursts, max_polls, burst, mc, c);
}

namespace {

uint64_t xstat(uint16_t port, const char *name)
{
	uint64_t id, v;
	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 || rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1)
		return UINT64_MAX;
	return v;
}

void print_port(uint16_t port)
{
	rte_eth_stats st;
	rte_eth_stats_get(port, &st);
	std::printf("port %u stats: ipackets %" PRIu64 " opackets %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
		    " imissed %" PRIu64 " rx_nombuf %" PRIu64 "\n",
		    port, st.ipackets, st.opackets, st.ierrors, st.oerrors, st.imissed, st.rx_nombuf);
	const char *names[] = {"tx_wrs_per_doorbell_x100", "rx_wrs_per_doorbell_x100", "tx_signaled",
			       "tx_queue_full", "tx_drop_unknown_mac", "tx_inlined"};
	std::string line;
	for (const char *n : names) {
		uint64_t v = xstat(port, n);
		if (v != UINT64_MAX)
			line += std::string(" ") + n + " " + std::to_string(v);
	}
	if (!line.empty())
		std::printf("port %u xstats:%s\n", port, line.c_str());
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 5 && std::strcmp(argv[1], "macs") == 0) {
		uint64_t n;
		rte_ether_addr base;
		if (!parse_u64(argv[2], n) || n == 0 || n > (1u << 24) || rte_ether_unformat_addr(argv[3], &base) != 0 ||
		    (std::strcmp(argv[4], "seq") != 0 && std::strcmp(argv[4], "random") != 0)) {
			usage();
			return 2;
		}
		for (const rte_ether_addr &a : make_macs(static_cast<unsigned>(n), base, argv[4][0] == 'r')) {
			char buf[RTE_ETHER_ADDR_FMT_SIZE];
			rte_ether_format_addr(buf, sizeof(buf), &a);
			std::printf("%s\n", buf);
		}
		return 0;
	}
	int used = rte_eal_init(argc, argv);
	if (used < 0)
		rte_exit(EXIT_FAILURE, "pmd_bench: EAL initialisation failed\n");
	Options o = parse(argc - used - 1, argv + used + 1);
	if (rte_eth_dev_count_avail() < 2)
		rte_exit(EXIT_FAILURE, "pmd_bench: needs two ports (two --vdev), found %u\n", rte_eth_dev_count_avail());
	if (o.frames > o.rxd / 2U || o.frames > o.txd / 2U)
		std::printf("note: %u frames circulating with %u rx / %u tx descriptors\n", o.frames, o.rxd, o.txd);

	rte_mempool *mp = rte_pktmbuf_pool_create("bench_pool", o.pool, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						  static_cast<int>(rte_socket_id()));
	if (mp == nullptr)
		die("%s: rte_pktmbuf_pool_create", "bench_pool", -rte_errno);
	for (uint16_t p = 0; p < 2; p++)
		setup_port(p, o, mp);
	/* Ports that connect asynchronously (memif) must be up before frames go in. */
	for (uint16_t p = 0; p < 2; p++) {
		rte_eth_link link{};
		for (int t = 0; t < 500 && link.link_status != RTE_ETH_LINK_UP; t++) {
			rte_eth_link_get_nowait(p, &link);
			if (link.link_status != RTE_ETH_LINK_UP)
				rte_delay_ms(10);
		}
		if (link.link_status != RTE_ETH_LINK_UP)
			rte_exit(EXIT_FAILURE, "pmd_bench: port %u not up after 5 s\n", p);
	}

	MacCycle mc;
	mc.macs = make_macs(o.peers, o.dst, o.random_macs);

	/* One empty rx poll per port first: a memif client offers the server its
	 * receive buffers from its rx burst. */
	for (uint16_t p = 0; p < 2; p++) {
		rte_mbuf *none[kMaxBurst];
		if (uint16_t n = rte_eth_rx_burst(p, 0, none, kMaxBurst); n != 0)
			rte_pktmbuf_free_bulk(none, n);
	}
	/* Inject: half the frames on each port (a port's transmissions come back on
	 * the other port, or on itself for net_ring's loopback rings). */
	Counters inj;
	for (uint16_t p = 0; p < 2; p++) {
		rte_ether_addr src;
		rte_eth_macaddr_get(p, &src);
		unsigned want = p == 0 ? o.frames / 2 : o.frames - o.frames / 2;
		for (unsigned i = 0; i < want; i += o.burst) {
			rte_mbuf *pkts[kMaxBurst];
			uint16_t n = static_cast<uint16_t>(std::min<unsigned>(o.burst, want - i));
			for (uint16_t j = 0; j < n; j++)
				if ((pkts[j] = make_frame(mp, src, o.len, i + j)) == nullptr)
					die("%s: out of mbufs while injecting", "bench_pool", -ENOMEM);
			set_dst(pkts, n, mc);
			uint16_t s = send(p, pkts, n, inj);
			if (s < n)
				std::printf("port %u accepted %u of %u injected frames\n", p, s, n);
		}
	}
	if (inj.dropped != 0)
		rte_exit(EXIT_FAILURE, "pmd_bench: %" PRIu64 " injected frames not accepted\n", inj.dropped);

	Counters warm;
	bench_warmup_loop(o.warmup, o.warmup * 1000 + 1000000, o.burst, &mc, &warm);
	if (o.warmup != 0 && warm.bursts < o.warmup)
		rte_exit(EXIT_FAILURE, "pmd_bench: warm-up forwarded only %" PRIu64 " bursts in %" PRIu64
			 " polls: frames do not come back (peers wrong?)\n", warm.bursts, warm.rx_calls);
	for (uint16_t p = 0; p < 2; p++) {
		rte_eth_stats_reset(p);
		rte_eth_xstats_reset(p);
	}

	Counters c;
	const uint64_t t0 = rte_get_timer_cycles();
	bench_forward_loop(o.bursts, o.bursts * 1000, o.burst, &mc, &c);
	const double secs = static_cast<double>(rte_get_timer_cycles() - t0) / static_cast<double>(rte_get_timer_hz());

	std::printf("peers %u (%s MACs), frames %u, burst %u, len %u, fast_free %d\n", o.peers,
		    o.random_macs ? "random" : "consecutive", o.frames, o.burst, o.len, o.fast_free ? 1 : 0);
	std::printf("forwarded %" PRIu64 " in %" PRIu64 " bursts; rx calls %" PRIu64 " (empty %" PRIu64
		    ", full %" PRIu64 "); tx short %" PRIu64 ", dropped %" PRIu64 "\n",
		    c.forwarded, c.bursts, c.rx_calls, c.rx_empty, c.rx_full, c.tx_short, c.dropped);
	std::printf("average burst %.2f frames\n", c.bursts ? static_cast<double>(c.forwarded) / c.bursts : 0.0);
	std::printf("time %.3f s, %.3f Mpps forwarded\n", secs, secs > 0 ? c.forwarded / secs / 1e6 : 0.0);
	for (uint16_t p = 0; p < 2; p++)
		print_port(p);
	for (uint16_t p = 0; p < 2; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return c.bursts == o.bursts && c.dropped == 0 ? 0 : 1;
}
