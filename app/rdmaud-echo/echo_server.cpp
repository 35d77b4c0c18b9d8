/* SPDX-License-Identifier: BSD-3-Clause */
/* Server worker: receive a burst, swap MACs, bump the counter, send it back. */
#include <netinet/in.h>
#include <sched.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "echo_port.h"
#include "echo_proto.h"
#include "echo_worker.h"

namespace echo {

/* A full tx queue gets this many more tries before the rest of a burst is dropped (counted). */
static constexpr unsigned kTxRetries = 64;

/* The echo request in m, or nullptr if m is anything else. */
static inline EchoFrame *echo_request(rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < kMinFrame)
		return nullptr;
	auto *f = rte_pktmbuf_mtod(m, EchoFrame *);
	if (f->eth.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || f->ip.next_proto_id != IPPROTO_UDP ||
	    f->ip.version_ihl != RTE_IPV4_VHL_DEF || f->udp.dst_port != rte_cpu_to_be_16(kEchoUdpPort) ||
	    f->msg.magic != kMagic || f->msg.kind != kRequest)
		return nullptr;
	return f;
}

/* Turn a request into its response in place (the IP checksum is unchanged by swaps). */
static inline void make_response(EchoFrame *f)
{
	const rte_ether_addr mac = f->eth.dst_addr;
	f->eth.dst_addr = f->eth.src_addr;
	f->eth.src_addr = mac;
	const rte_be32_t ip = f->ip.src_addr;
	f->ip.src_addr = f->ip.dst_addr;
	f->ip.dst_addr = ip;
	const rte_be16_t port = f->udp.src_port;
	f->udp.src_port = f->udp.dst_port;
	f->udp.dst_port = port;
	f->msg.kind = kResponse;
	f->msg.counter++;
}

/* kStages: read the TSC between the steps (into ctx->stages); otherwise no timing at all. */
template <bool kStages>
static int serve(WorkerCtx *ctx)
{
	ThreadCounters &c = *ctx->counters;
	rte_mbuf *rx[kBurst], *tx[kBurst], *junk[kBurst];
	unsigned idle = 0;
	StageCycles st{};
	uint64_t t0 = 0, t1 = 0, t2 = 0;

	while (!g_stop.load(std::memory_order_relaxed)) {
		if constexpr (kStages)
			t0 = rte_rdtsc();
		uint16_t n = rte_eth_rx_burst(ctx->port, ctx->queue, rx, kBurst);
		if constexpr (kStages) {
			t1 = rte_rdtsc();
			if (n == 0) {
				st.empty_polls++;
				st.empty += t1 - t0;
			} else {
				st.bursts++;
				st.frames += n;
				st.rx += t1 - t0;
			}
		}
		if (n == 0) {
			if (++idle >= kIdlePolls) {
				/* Idle for a while: an empty tx burst lets the port reap this queue's
				 * completions and pass its quiescent point (net_rdmaud's peer-table
				 * updates wait, up to a second, for every started tx queue to do so). */
				rte_eth_tx_burst(ctx->port, ctx->queue, tx, 0);
				if (ctx->idle_yield)
					sched_yield();
				idle = 0;
			}
			continue;
		}
		idle = 0;
		uint16_t nt = 0, nj = 0;
		for (uint16_t i = 0; i < n; i++) {
			EchoFrame *f = echo_request(rx[i]);
			if (f == nullptr) {
				junk[nj++] = rx[i];
				continue;
			}
			make_response(f);
			tx[nt++] = rx[i];
		}
		if (nj != 0) {
			rte_pktmbuf_free_bulk(junk, nj);
			ThreadCounters::bump(c.foreign, nj);
		}
		ThreadCounters::bump(c.rx, nt);
		if constexpr (kStages) {
			t2 = rte_rdtsc();
			st.echo += t2 - t1;
		}
		uint16_t sent = 0;
		for (unsigned tries = 0; sent < nt && tries <= kTxRetries; tries++)
			sent += rte_eth_tx_burst(ctx->port, ctx->queue, tx + sent, nt - sent);
		if constexpr (kStages)
			st.tx += rte_rdtsc() - t2;
		if (sent < nt) {
			rte_pktmbuf_free_bulk(tx + sent, nt - sent);
			ThreadCounters::bump(c.tx_drop, nt - sent);
		}
		ThreadCounters::bump(c.tx, sent);
	}
	if constexpr (kStages)
		*ctx->stages = st;
	return 0;
}

int server_loop(void *arg)
{
	auto *ctx = static_cast<WorkerCtx *>(arg);
	const SchedMark mark;
	const int rc = ctx->stages != nullptr ? serve<true>(ctx) : serve<false>(ctx);
	mark.finish(*ctx->counters);
	return rc;
}

} // namespace echo
