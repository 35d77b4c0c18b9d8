/* SPDX-License-Identifier: BSD-3-Clause */
/* Server worker: receive a burst, swap MACs, bump the counter, send it back. */
#include <sched.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "echo_port.h"
#include "echo_proto.h"
#include "echo_worker.h"

namespace echo {

/* A full tx queue gets this many more tries before the rest of a burst is dropped (counted). */
static constexpr unsigned kTxRetries = 64;

static inline EchoMsg *echo_msg(rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < kMinFrame)
		return nullptr;
	auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
	if (eth->ether_type != rte_cpu_to_be_16(kEtherType))
		return nullptr;
	auto *msg = reinterpret_cast<EchoMsg *>(eth + 1);
	return msg->magic == kMagic ? msg : nullptr;
}

int server_loop(void *arg)
{
	auto *ctx = static_cast<WorkerCtx *>(arg);
	ThreadCounters &c = *ctx->counters;
	rte_mbuf *rx[kBurst], *tx[kBurst], *junk[kBurst];
	unsigned idle = 0;

	while (!g_stop.load(std::memory_order_relaxed)) {
		uint16_t n = rte_eth_rx_burst(ctx->port, ctx->queue, rx, kBurst);
		if (n == 0) {
			if (ctx->idle_yield && ++idle >= kIdlePolls) {
				sched_yield();
				idle = 0;
			}
			continue;
		}
		idle = 0;
		uint16_t nt = 0, nj = 0;
		for (uint16_t i = 0; i < n; i++) {
			EchoMsg *msg = echo_msg(rx[i]);
			if (msg == nullptr || msg->kind != kRequest) {
				junk[nj++] = rx[i];
				continue;
			}
			auto *eth = rte_pktmbuf_mtod(rx[i], rte_ether_hdr *);
			rte_ether_addr tmp = eth->dst_addr;
			eth->dst_addr = eth->src_addr;
			eth->src_addr = tmp;
			msg->kind = kResponse;
			msg->counter++;
			tx[nt++] = rx[i];
		}
		if (nj != 0) {
			rte_pktmbuf_free_bulk(junk, nj);
			ThreadCounters::bump(c.foreign, nj);
		}
		ThreadCounters::bump(c.rx, nt);
		uint16_t sent = 0;
		for (unsigned tries = 0; sent < nt && tries <= kTxRetries; tries++)
			sent += rte_eth_tx_burst(ctx->port, ctx->queue, tx + sent, nt - sent);
		if (sent < nt) {
			rte_pktmbuf_free_bulk(tx + sent, nt - sent);
			ThreadCounters::bump(c.tx_drop, nt - sent);
		}
		ThreadCounters::bump(c.tx, sent);
	}
	return 0;
}

} // namespace echo
