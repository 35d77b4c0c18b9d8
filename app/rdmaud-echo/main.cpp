/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rdmaud-echo: the seed's echo example on DPDK's ethdev API.
 * Server threads echo requests from client threads on other machines; each
 * worker lcore owns one queue of the port; the main lcore prints statistics
 * every second and a final summary, including one machine-readable line:
 *   ECHO-SUMMARY {"mode":...}
 */
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "echo_args.h"
#include "echo_port.h"
#include "echo_resolve.h"
#include "echo_stats.h"
#include "echo_worker.h"

namespace echo {

std::atomic<bool> g_stop{false};

namespace {

std::atomic<bool> g_signalled{false};

void on_signal(int)
{
	g_signalled.store(true);
}

/* Sum of one counter over all threads. */
template <typename F>
uint64_t total(const std::vector<ThreadCounters> &c, F field)
{
	uint64_t t = 0;
	for (const auto &tc : c)
		t += field(tc).load(std::memory_order_relaxed);
	return t;
}

/* The CPUs an lcore's thread may run on, e.g. "1" or "0-1". */
std::string cpus_of(unsigned lcore)
{
	rte_cpuset_t set = rte_lcore_cpuset(lcore);
	std::string out;
	for (unsigned c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		unsigned e = c;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set))
			e++;
		out += (out.empty() ? "" : ",") + std::to_string(c) + (e > c ? "-" + std::to_string(e) : "");
		c = e;
	}
	return out;
}

void print_placement(const Port &port, const std::vector<unsigned> &lcores)
{
	std::printf("placement: port %u on NUMA node %d, mempool on node %d; workers:", port.id, port.socket,
		    port.pool->socket_id);
	for (size_t i = 0; i < lcores.size(); i++) {
		int s = static_cast<int>(rte_lcore_to_socket_id(lcores[i]));
		std::printf(" lcore %u (node %d, cpus %s) -> queue %zu%s", lcores[i], s, cpus_of(lcores[i]).c_str(), i,
			    s != port.socket ? " [REMOTE NODE]" : "");
	}
	std::printf("; main lcore %u (cpus %s); timestamps: TSC at %.3f MHz\n", rte_get_main_lcore(),
		    cpus_of(rte_get_main_lcore()).c_str(), static_cast<double>(rte_get_tsc_hz()) / 1e6);
}

int run(int argc, char **argv)
{
	int eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		std::fprintf(stderr, "rdmaud-echo: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	Options opt;
	std::string err;
	if (parse_args(argc - eal - 1 > 0 ? argc - eal - 1 : 0, argv + eal + 1, opt, err) != 0) {
		std::fprintf(stderr, "rdmaud-echo: %s\n%s", err.c_str(), usage());
		rte_eal_cleanup();
		return 2;
	}

	std::vector<unsigned> lcores;
	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc)
		lcores.push_back(lc);
	if (lcores.empty()) {
		std::fprintf(stderr, "rdmaud-echo: needs at least one worker lcore (EAL -l main,worker[,...])\n");
		rte_eal_cleanup();
		return 2;
	}

	if (opt.mode == Mode::kClient && !opt.server_names.empty() && resolve_servers(opt, err) != 0) {
		std::fprintf(stderr, "rdmaud-echo: %s\n", err.c_str());
		rte_eal_cleanup();
		return 1;
	}

	Port port;
	if (port_open(opt.port, static_cast<uint16_t>(lcores.size()), opt.frame_size, port, err) != 0) {
		std::fprintf(stderr, "rdmaud-echo: %s\n", err.c_str());
		port_close(port);
		rte_eal_cleanup();
		return 1;
	}
	const bool client = opt.mode == Mode::kClient;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &port.mac);
	std::printf("rdmaud-echo %s: port %u MAC %s, %zu worker thread(s)\n", client ? "client" : "server", port.id,
		    mac, lcores.size());
	print_placement(port, lcores);
	std::fflush(stdout);

	/* Several client threads: one ring per thread for answers another thread received. */
	std::vector<rte_ring *> fwd;
	if (client && lcores.size() > 1) {
		for (size_t i = 0; i < lcores.size(); i++) {
			char name[RTE_RING_NAMESIZE];
			std::snprintf(name, sizeof(name), "echo_fwd_%u", static_cast<unsigned>(i)); /* i < RTE_MAX_LCORE */
			rte_ring *r = rte_ring_create(name, 2 * kMaxWindow, port.socket, RING_F_SC_DEQ);
			if (r == nullptr) {
				std::fprintf(stderr, "rdmaud-echo: cannot create ring %s: %s\n", name, rte_strerror(rte_errno));
				for (rte_ring *q : fwd)
					rte_ring_free(q);
				port_close(port);
				rte_eal_cleanup();
				return 1;
			}
			fwd.push_back(r);
		}
	}
	std::atomic<unsigned> draining{static_cast<unsigned>(lcores.size())};
	std::vector<ThreadCounters> counters(lcores.size());
	std::vector<StageCycles> stages(!client && opt.stages ? lcores.size() : 0);
	std::vector<Histogram> hists(client ? lcores.size() : 0);
	std::vector<WorkerCtx> ctxs(lcores.size());
	uint64_t hz = rte_get_tsc_hz();
	const double us_per_tsc = 1e6 / static_cast<double>(hz); /* RTTs are measured in TSC cycles */
	for (size_t i = 0; i < lcores.size(); i++) {
		WorkerCtx &w = ctxs[i];
		w.port = port.id;
		w.queue = static_cast<uint16_t>(i);
		w.thread = static_cast<unsigned>(i);
		w.counters = &counters[i];
		w.idle_yield = opt.idle_yield;
		if (!stages.empty())
			w.stages = &stages[i];
		if (client) {
			w.pool = port.pool;
			w.src = port.mac;
			w.servers = &opt.servers;
			w.window = opt.window;
			w.frame_size = opt.frame_size;
			w.client_tag = static_cast<uint16_t>(opt.client_id << 8 | (i & 0xff));
			w.timeout_tsc = hz / 1000 * opt.timeout_ms;
			w.hist = &hists[i];
			w.fwd = &fwd;
			w.draining = &draining;
		}
	}

	std::signal(SIGINT, on_signal);
	std::signal(SIGTERM, on_signal);
	for (size_t i = 0; i < lcores.size(); i++)
		rte_eal_remote_launch(client ? client_loop : server_loop, &ctxs[i], lcores[i]);

	/* Per-second report on the main lcore. */
	uint64_t start = rte_rdtsc();
	std::vector<uint64_t> prev(lcores.size(), 0);
	uint64_t prev_lat = 0, prev_rx = 0;
	unsigned seconds = 0;
	while (!g_signalled.load() && (opt.duration_s == 0 || seconds < opt.duration_s)) {
		rte_delay_us_sleep(1000 * 1000);
		seconds++;
		if (opt.quiet)
			continue;
		std::string line;
		char part[96];
		double sum = 0;
		for (size_t i = 0; i < lcores.size(); i++) {
			uint64_t now = counters[i].rx.load(std::memory_order_relaxed);
			double mpps = static_cast<double>(now - prev[i]) / 1e6;
			prev[i] = now;
			sum += mpps;
			std::snprintf(part, sizeof(part), " | t%zu %.3f", i, mpps);
			line += part;
		}
		if (client) {
			uint64_t rx = total(counters, [](const ThreadCounters &c) -> const auto & { return c.rx; });
			uint64_t lat = total(counters, [](const ThreadCounters &c) -> const auto & { return c.lat_sum_tsc; });
			double avg_us = rx > prev_rx ? static_cast<double>(lat - prev_lat) / static_cast<double>(rx - prev_rx) * us_per_tsc : 0;
			prev_rx = rx;
			prev_lat = lat;
			std::printf("[%3us] client %u: %.3f Mpps avg RTT %.1f us%s\n", seconds, opt.client_id, sum, avg_us,
				    line.c_str());
		} else {
			std::printf("[%3us] server: %.3f Mpps%s\n", seconds, sum, line.c_str());
		}
		std::fflush(stdout);
	}
	g_stop.store(true);
	rte_eal_mp_wait_lcore();
	for (rte_ring *r : fwd) { /* answers that came after their thread had finished */
		void *m = nullptr;
		while (rte_ring_dequeue(r, &m) == 0)
			rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
		rte_ring_free(r);
	}
	double elapsed = static_cast<double>(rte_rdtsc() - start) / static_cast<double>(hz);

	auto sum_of = [&](std::atomic<uint64_t> ThreadCounters::*f) {
		uint64_t t = 0;
		for (const auto &c : counters)
			t += (c.*f).load();
		return t;
	};
	uint64_t rx = sum_of(&ThreadCounters::rx), tx = sum_of(&ThreadCounters::tx);
	uint64_t lost = sum_of(&ThreadCounters::lost), late = sum_of(&ThreadCounters::late);
	uint64_t tx_drop = sum_of(&ThreadCounters::tx_drop), foreign = sum_of(&ThreadCounters::foreign);
	uint64_t forwarded = sum_of(&ThreadCounters::forwarded), lost_at_stop = sum_of(&ThreadCounters::lost_at_stop);
	/* Share of the workers' time they were runnable but another task had their CPU. */
	const uint64_t run_ns = sum_of(&ThreadCounters::cpu_run_ns), wait_ns = sum_of(&ThreadCounters::cpu_wait_ns);
	const double cpu_wait_pct =
		run_ns + wait_ns ? 100.0 * static_cast<double>(wait_ns) / static_cast<double>(run_ns + wait_ns) : 0;
	rte_eth_stats ps{};
	rte_eth_stats_get(port.id, &ps);

	uint64_t first_answer = 0; /* the slowest client thread's wait for its first answer, TSC */
	for (const auto &c : counters)
		first_answer = std::max<uint64_t>(first_answer, c.first_answer_tsc.load());
	std::string per_thread; /* Mpps of each thread: answers received (client) or sent (server) */
	for (const auto &c : counters) {
		char v[32];
		std::snprintf(v, sizeof(v), "%s%.4f", per_thread.empty() ? "" : ",",
			      static_cast<double>((client ? c.rx : c.tx).load()) / elapsed / 1e6);
		per_thread += v;
	}
	std::printf("---- rdmaud-echo %s summary (%.1f s, %zu threads) ----\n", client ? "client" : "server", elapsed,
		    lcores.size());
	char json[2048 + RTE_MAX_LCORE * 16];
	if (client) {
		Histogram all;
		for (const auto &h : hists)
			all.merge(h);
		double p50 = static_cast<double>(all.quantile(0.5)) * us_per_tsc;
		double p99 = static_cast<double>(all.quantile(0.99)) * us_per_tsc;
		double pmax = static_cast<double>(all.max()) * us_per_tsc;
		uint64_t unaccounted = tx - rx - lost;
		std::printf("requests sent %lu, answered %lu, lost %lu (%lu of them at the stop; late answers %lu), "
			    "unaccounted %lu; answers handed between threads %lu\n", tx, rx, lost, lost_at_stop, late,
			    unaccounted, forwarded);
		std::printf("first answer %.1f ms after the first request\n", static_cast<double>(first_answer) * us_per_tsc / 1e3);
		std::printf("throughput %.3f Mpps; RTT p50 %.1f us, p99 %.1f us, max %.1f us\n",
			    static_cast<double>(rx) / elapsed / 1e6, p50, p99, pmax);
		std::snprintf(json, sizeof(json),
			      "{\"mode\":\"client\",\"client_id\":%u,\"threads\":%zu,\"seconds\":%.2f,\"sent\":%lu,"
			      "\"received\":%lu,\"lost\":%lu,\"lost_at_stop\":%lu,\"late\":%lu,\"unaccounted\":%lu,\"foreign\":%lu,\"forwarded\":%lu,"
			      "\"mpps\":%.4f,\"thread_mpps\":[%s],\"rtt_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.2f},\"first_answer_ms\":%.2f,\"cpu_wait_pct\":%.2f,\"tsc_hz\":%lu,"
			      "\"port\":{\"ipackets\":%lu,\"opackets\":%lu,\"imissed\":%lu,\"ierrors\":%lu,"
			      "\"oerrors\":%lu,\"rx_nombuf\":%lu}}",
			      opt.client_id, lcores.size(), elapsed, tx, rx, lost, lost_at_stop, late, unaccounted, foreign,
			      forwarded,
			      static_cast<double>(rx) / elapsed / 1e6, per_thread.c_str(), p50, p99, pmax,
			      static_cast<double>(first_answer) * us_per_tsc / 1e3, cpu_wait_pct, hz, ps.ipackets, ps.opackets,
			      ps.imissed, ps.ierrors, ps.oerrors, ps.rx_nombuf);
	} else {
		std::printf("requests received %lu, answered %lu, dropped at tx %lu, foreign frames %lu\n", rx, tx,
			    tx_drop, foreign);
		std::printf("throughput %.3f Mpps\n", static_cast<double>(tx) / elapsed / 1e6);
		std::snprintf(json, sizeof(json),
			      "{\"mode\":\"server\",\"threads\":%zu,\"seconds\":%.2f,\"received\":%lu,\"answered\":%lu,"
			      "\"tx_drop\":%lu,\"foreign\":%lu,\"mpps\":%.4f,\"thread_mpps\":[%s],\"cpu_wait_pct\":%.2f,"
			      "\"port\":{\"ipackets\":%lu,\"opackets\":%lu,\"imissed\":%lu,\"ierrors\":%lu,"
			      "\"oerrors\":%lu,\"rx_nombuf\":%lu}}",
			      lcores.size(), elapsed, rx, tx, tx_drop, foreign, static_cast<double>(tx) / elapsed / 1e6,
			      per_thread.c_str(), cpu_wait_pct,
			      ps.ipackets, ps.opackets, ps.imissed, ps.ierrors, ps.oerrors, ps.rx_nombuf);
	}
	for (size_t i = 0; i < stages.size(); i++) {
		const StageCycles &t = stages[i];
		auto per = [](uint64_t cyc, uint64_t n) { return n ? static_cast<double>(cyc) / static_cast<double>(n) : 0.0; };
		std::printf("STAGES thread %zu: %lu bursts of %.1f frames; TSC cycles per burst: rx burst %.0f, echo %.0f, "
			    "tx burst %.0f; %lu empty polls of %.0f cycles\n",
			    i, t.bursts, per(t.frames, t.bursts), per(t.rx, t.bursts), per(t.echo, t.bursts),
			    per(t.tx, t.bursts), t.empty_polls, per(t.empty, t.empty_polls));
	}
	std::printf("ECHO-SUMMARY %s\n", json);
	std::fflush(stdout);
	port_close(port);
	rte_eal_cleanup();
	return 0;
}

} // namespace
} // namespace echo

int main(int argc, char **argv)
{
	return echo::run(argc, argv);
}
