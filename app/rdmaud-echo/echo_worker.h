/* SPDX-License-Identifier: BSD-3-Clause */
/* The two worker loops of rdmaud-echo: one lcore, one queue, no locks. */
#ifndef RDMAUD_ECHO_WORKER_H
#define RDMAUD_ECHO_WORKER_H

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "echo_stats.h"

namespace echo {

/* Empty polls in a row before an idle worker yields its core (with --idle-yield). */
inline constexpr unsigned kIdlePolls = 64;

/* Set by the main lcore: stop sending (clients then drain their window). */
extern std::atomic<bool> g_stop;

/* Server --stages: TSC cycles spent in each step of the loop, and how often it ran. */
struct StageCycles {
	uint64_t empty_polls = 0, empty = 0; /* rx bursts that returned nothing */
	uint64_t bursts = 0;                 /* rx bursts that returned frames */
	uint64_t frames = 0;
	uint64_t rx = 0, echo = 0, tx = 0;   /* over those bursts: rx burst, turning around, tx burst */
};

struct WorkerCtx {
	uint16_t port = 0;
	uint16_t queue = 0;
	unsigned thread = 0;                /* index among this process's workers */
	ThreadCounters *counters = nullptr;
	bool idle_yield = false;            /* sched_yield() after kIdlePolls empty polls */
	StageCycles *stages = nullptr;      /* server: time the loop's steps into this */
	/* client only */
	rte_mempool *pool = nullptr;
	rte_ether_addr src{};
	const std::vector<rte_ether_addr> *servers = nullptr;
	unsigned window = 0;
	unsigned frame_size = 0;
	uint16_t client_tag = 0;            /* machine id << 8 | thread */
	uint64_t timeout_tsc = 0;
	Histogram *hist = nullptr;
	/* Several client threads: the port's receive spreading picks the queue of an answer by
	 * its flow, which need not be the queue of the thread that asked. fwd[t] takes answers
	 * for thread t that arrived on another thread's queue (multi-producer, t consumes).
	 * Empty with one thread. */
	const std::vector<rte_ring *> *fwd = nullptr;
	/* Client threads still waiting for their window at stop: a thread keeps receiving (and
	 * forwarding) until every thread is done or its own deadline passed. */
	std::atomic<unsigned> *draining = nullptr;
};

/* rte_eal_remote_launch entry points; arg is a WorkerCtx*. */
int server_loop(void *arg);
int client_loop(void *arg);

} // namespace echo

#endif
