/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-thread counters and the latency histogram of rdmaud-echo. */
#ifndef RDMAUD_ECHO_STATS_H
#define RDMAUD_ECHO_STATS_H

#include <array>
#include <atomic>
#include <cstdint>

#include <rte_common.h>

namespace echo {

/*
 * Log-linear histogram: 64 sub-buckets per power of two, so any value is
 * reported within 1.6%. Written by one thread; read after it stopped.
 */
class Histogram {
public:
	static constexpr unsigned kSubBits = 6;
	static constexpr unsigned kBuckets = (64 - kSubBits + 1) << kSubBits;

	void add(uint64_t v);
	void merge(const Histogram &o);
	uint64_t count() const { return count_; }
	uint64_t max() const { return max_; }
	/* Value at quantile q in [0,1] (midpoint of its bucket; max for q = 1). */
	uint64_t quantile(double q) const;

	static unsigned bucket_of(uint64_t v);
	static uint64_t bucket_low(unsigned b);
	static uint64_t bucket_high(unsigned b); /* inclusive */

private:
	std::array<uint64_t, kBuckets> buckets_{};
	uint64_t count_ = 0;
	uint64_t max_ = 0;
};

/*
 * Counters of one worker thread. The owner writes them with relaxed stores;
 * the main lcore reads them every second. One cache line each, no sharing.
 */
struct alignas(RTE_CACHE_LINE_SIZE) ThreadCounters {
	std::atomic<uint64_t> rx{0};        /* server: requests; client: responses matched */
	std::atomic<uint64_t> tx{0};        /* server: responses sent; client: requests sent */
	std::atomic<uint64_t> tx_drop{0};   /* frames the port would not take after retries */
	std::atomic<uint64_t> foreign{0};   /* frames that were not ours (other protocols) */
	std::atomic<uint64_t> lost{0};      /* client: requests unanswered within the timeout */
	std::atomic<uint64_t> lost_at_stop{0}; /* client: of those, still unanswered when it stopped */
	std::atomic<uint64_t> late{0};      /* client: responses to requests already counted lost */
	std::atomic<uint64_t> forwarded{0}; /* client: answers for another thread, handed to it */
	std::atomic<uint64_t> lat_sum_tsc{0};/* client: sum of matched round-trip times, TSC cycles */
	std::atomic<uint64_t> first_answer_tsc{0}; /* client: first request sent to first answer */

	/* This worker's time on its CPU and runnable but waiting for it (preempted), from
	 * the kernel's schedstat; written once when the worker ends. */
	std::atomic<uint64_t> cpu_run_ns{0};
	std::atomic<uint64_t> cpu_wait_ns{0};

	static void bump(std::atomic<uint64_t> &c, uint64_t n = 1)
	{
		c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
	}
};

/*
 * The calling thread's schedstat (/proc/thread-self/schedstat): ns on the CPU, ns runnable
 * but waiting. A worker reads it when it starts and when it ends; the difference of the
 * second says how long other tasks held its CPU. False if the kernel does not provide it.
 */
bool thread_schedstat(uint64_t &run_ns, uint64_t &wait_ns);

/* Records in c what the calling worker's schedstat moved since `start` (a reading taken
 * when it began). */
struct SchedMark {
	uint64_t run = 0, wait = 0;
	bool ok = false;
	SchedMark() { ok = thread_schedstat(run, wait); }
	void finish(ThreadCounters &c) const
	{
		uint64_t r, w;
		if (ok && thread_schedstat(r, w)) {
			c.cpu_run_ns.store(r - run, std::memory_order_relaxed);
			c.cpu_wait_ns.store(w - wait, std::memory_order_relaxed);
		}
	}
};

} // namespace echo

#endif
