/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud rx interrupts over softud, in the style of l3fwd-power: two processes.
 * The receiver (B on softud1, intr_conf.rxq = 1) polls its queue while frames come
 * and, when it finds it empty, arms the queue's interrupt and sleeps in
 * rte_epoll_wait. The sender (A on softud0, a forked process with its own EAL)
 * sends kRounds bursts kGapMs apart. Checks: B received every frame, was woken by
 * the traffic, and slept: its CPU time is a small part of the wall time (a
 * busy-polling loop uses all of it), and no sleep reached its timeout (a missed
 * wakeup). Wakeups and epoll timeouts are printed.
 * Run under softud-run with both devices (test/pmd/on_softud.sh); RDMAUD_PMD is the driver.
 */
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>

#include "vdev_port.h"

namespace {

constexpr uint16_t kDesc = 512;
constexpr uint16_t kBurst = 16;
constexpr unsigned kRounds = 10;
constexpr unsigned kGapMs = 100;
constexpr uint32_t kFrameLen = 64;
constexpr int kTimeoutS = 10;
const rte_ether_addr kMacA{{0x02, 0, 0, 0, 0, 0x6a}};
const rte_ether_addr kMacB{{0x02, 0, 0, 0, 0, 0x6b}};

int failures = 0;

void check(const char *what, bool ok)
{
	std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	failures += ok ? 0 : 1;
}

bool eal_init(const char *who, const char *pmd)
{
	std::string prefix = std::string("--file-prefix=rdmaudintr") + who + std::to_string(getpid());
	const char *eal[] = {"test_rx_intr", "--no-huge", "-m", "128", "--no-pci", "-l", "0", "-d", pmd,
			     "--no-telemetry", "--log-level=lib.eal:error", prefix.c_str()};
	if (rte_eal_init(RTE_DIM(eal), const_cast<char **>(eal)) < 0) {
		std::printf("FAIL: %s: EAL init: %s\n", who, rte_strerror(rte_errno));
		return false;
	}
	return true;
}

/* Port net_rdmaud0 of this process on args, started; rx interrupts on request. */
rte_mempool *start_port(const char *pool, const char *args, bool rx_intr, uint16_t &port)
{
	rte_mempool *mp = rte_pktmbuf_pool_create(pool, 2048, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	rte_eth_conf conf{};
	conf.intr_conf.rxq = rx_intr ? 1 : 0;
	if (mp == nullptr || open_vdev_port("net_rdmaud0", args, conf, kDesc, mp, port) != 0)
		return nullptr;
	return mp;
}

void close_port(uint16_t port)
{
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_vdev_uninit("net_rdmaud0");
}

/* The sender: waits for the receiver's go on ready_fd, then kRounds bursts kGapMs apart. */
int sender(const char *pmd, int ready_fd)
{
	if (!eal_init("a", pmd))
		return 1;
	uint16_t a = 0;
	rte_mempool *mp = start_port("intr_a", "dev=softud0,mac=02:00:00:00:00:6a,peers=02:00:00:00:00:6b@127.0.0.3/0x11",
				     false, a);
	if (mp == nullptr)
		return 1;
	pollfd p{ready_fd, POLLIN, 0};
	char go = 0;
	if (::poll(&p, 1, kTimeoutS * 1000) != 1 || ::read(ready_fd, &go, 1) != 1) {
		std::printf("FAIL: sender: the receiver never got ready\n");
		return 1;
	}
	unsigned sent = 0;
	for (unsigned r = 0; r < kRounds; r++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(kGapMs));
		rte_mbuf *m[kBurst];
		if (rte_pktmbuf_alloc_bulk(mp, m, kBurst) != 0)
			return 1;
		for (auto *f : m) {
			auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(f, kFrameLen));
			eh->dst_addr = kMacB;
			eh->src_addr = kMacA;
			eh->ether_type = RTE_BE16(0x88b5);
		}
		uint16_t n = 0;
		for (int tries = 0; n < kBurst && tries < 10000; tries++)
			n += rte_eth_tx_burst(a, 0, m + n, kBurst - n);
		rte_pktmbuf_free_bulk(m + n, kBurst - n);
		sent += n;
	}
	std::printf("sender: %u frames in %u rounds\n", sent, kRounds);
	close_port(a);
	rte_eal_cleanup();
	return sent == kRounds * kBurst ? 0 : 1;
}

double cpu_seconds()
{
	rusage ru{};
	getrusage(RUSAGE_SELF, &ru);
	return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main()
{
	const char *pmd = std::getenv("RDMAUD_PMD");
	if (pmd == nullptr) {
		std::printf("FAIL: RDMAUD_PMD unset\n");
		return 2;
	}
	int pipefd[2];
	if (::pipe(pipefd) != 0)
		return 1;
	std::fflush(stdout);
	const pid_t child = ::fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		::close(pipefd[1]);
		std::_Exit(sender(pmd, pipefd[0]));
	}
	::close(pipefd[0]);

	if (!eal_init("b", pmd))
		return 1;
	uint16_t b = 0;
	rte_mempool *mp = start_port("intr_b", "dev=softud1,mac=02:00:00:00:00:6b,peers=02:00:00:00:00:6a@127.0.0.2/0x11",
				     true, b);
	if (mp == nullptr)
		return 1;
	int rc = rte_eth_dev_rx_intr_ctl_q(b, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr);
	check("rx queue 0's interrupt added to this thread's epoll set", rc == 0);
	if (rc != 0)
		return 1;

	const unsigned want = kRounds * kBurst;
	unsigned received = 0, wakeups = 0, timeouts = 0, sleeps = 0;
	const double cpu0 = cpu_seconds();
	const auto t0 = std::chrono::steady_clock::now();
	const auto deadline = t0 + std::chrono::seconds(kTimeoutS);
	char go = 1;
	if (::write(pipefd[1], &go, 1) != 1)
		return 1;
	while (received < want && std::chrono::steady_clock::now() < deadline) {
		rte_mbuf *m[32];
		uint16_t n = rte_eth_rx_burst(b, 0, m, 32);
		if (n > 0) {
			received += n;
			rte_pktmbuf_free_bulk(m, n);
			continue;
		}
		/* Idle: arm, look once more (a frame may have come before the arm), sleep. */
		if (rte_eth_dev_rx_intr_enable(b, 0) != 0) {
			check("rte_eth_dev_rx_intr_enable", false);
			break;
		}
		n = rte_eth_rx_burst(b, 0, m, 32);
		if (n == 0) {
			rte_epoll_event ev[1];
			sleeps++;
			const int got = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, 1, 1000);
			if (got > 0)
				wakeups++;
			else if (got == 0)
				timeouts++;
		}
		rte_eth_dev_rx_intr_disable(b, 0);
		received += n;
		rte_pktmbuf_free_bulk(m, n);
	}
	const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	const double cpu = cpu_seconds() - cpu0;
	std::printf("receiver: %u of %u frames, %u sleeps, %u wakeups, %u timeouts; CPU %.3f s of %.3f s wall\n",
		    received, want, sleeps, wakeups, timeouts, cpu, wall);
	check("every frame received", received == want);
	check("woken by traffic", wakeups >= 1);
	/* The sender's bursts are 100 ms apart: a sleep that reaches its 1 s timeout missed one. */
	check("no sleep outlasted its timeout (no missed wakeup)", timeouts == 0);
	check("slept: CPU time under a quarter of the wall time", cpu < wall / 4);

	close_port(b);
	int status = 0;
	for (int i = 0; i < kTimeoutS * 10 && ::waitpid(child, &status, WNOHANG) == 0; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	if (::waitpid(child, &status, WNOHANG) == 0) {
		::kill(child, SIGKILL);
		::waitpid(child, &status, 0);
	}
	check("the sender finished cleanly", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	if (failures == 0)
		std::printf("PASS: the rx queue slept on its interrupt, was woken by traffic and received every frame\n");
	return failures == 0 ? 0 : 1;
}
