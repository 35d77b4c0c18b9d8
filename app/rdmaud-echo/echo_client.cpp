/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client worker: keep `window` requests outstanding, matched by window slot and
 * sequence number; measure round-trip time from the timestamp carried in the
 * message. UD is unreliable: a request unanswered within the timeout is counted
 * lost and its slot reused; an answer arriving after that is counted late.
 * Every request sent ends up received or lost: nothing is left unaccounted.
 * With several client threads an answer may arrive on another thread's queue (the
 * port spreads received frames by flow, not by asker): that thread hands it to its
 * owner through the owner's rte_ring.
 */
#include <netinet/in.h>
#include <sched.h>

#include <algorithm>
#include <array>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "echo_args.h"
#include "echo_port.h"
#include "echo_proto.h"
#include "echo_worker.h"

namespace echo {

namespace {

struct Slot {
	uint32_t seq = 0;
	uint64_t tsc = 0;
	bool busy = false;
};

/* How often (in timeout periods) the window is scanned for lost requests. */
constexpr uint64_t kScansPerTimeout = 4;

class Client {
public:
	explicit Client(WorkerCtx &ctx) : ctx_(ctx), c_(*ctx.counters)
	{
		if (ctx.fwd != nullptr && !ctx.fwd->empty()) {
			nthreads_ = static_cast<unsigned>(ctx.fwd->size());
			own_ = (*ctx.fwd)[ctx.thread];
		}
		for (unsigned i = 0; i < ctx.window; i++)
			free_[nfree_++] = ctx.window - 1 - i;
		/* Every request of this thread is this frame but for its message and destination. */
		tmpl_.eth.src_addr = ctx.src;
		tmpl_.eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		tmpl_.ip.version_ihl = RTE_IPV4_VHL_DEF;
		tmpl_.ip.total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ctx.frame_size - sizeof(rte_ether_hdr)));
		tmpl_.ip.time_to_live = 64;
		tmpl_.ip.next_proto_id = IPPROTO_UDP;
		tmpl_.ip.src_addr = rte_cpu_to_be_32(kClientNet | (ctx.client_tag & 0xff00u) | ((ctx.client_tag & 0xffu) + 1));
		tmpl_.ip.dst_addr = rte_cpu_to_be_32(kServerAddr);
		tmpl_.ip.hdr_checksum = rte_ipv4_cksum(&tmpl_.ip);
		tmpl_.udp.src_port = rte_cpu_to_be_16(static_cast<uint16_t>(kClientPortBase + (ctx.client_tag & 0xffu)));
		tmpl_.udp.dst_port = rte_cpu_to_be_16(kEchoUdpPort);
		tmpl_.udp.dgram_len = rte_cpu_to_be_16(
			static_cast<uint16_t>(ctx.frame_size - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
	}

	int run()
	{
		uint64_t scan_every = std::max<uint64_t>(ctx_.timeout_tsc / kScansPerTimeout, 1);
		uint64_t next_scan = rte_rdtsc() + scan_every;
		uint64_t drain_deadline = 0;
		bool drained = false;
		unsigned idle = 0;
		for (;;) {
			/* Idle: nothing arrived and the window is full (or draining). */
			if (receive() == 0 && nfree_ == 0 && ctx_.idle_yield && ++idle >= kIdlePolls) {
				sched_yield();
				idle = 0;
			}
			uint64_t now = rte_rdtsc();
			if (now >= next_scan) {
				expire(now);
				next_scan = now + scan_every;
			}
			if (!g_stop.load(std::memory_order_relaxed)) {
				send();
				continue;
			}
			/* Stopping: wait for the window to drain, at most one timeout; keep
			 * receiving for the other threads until they are done too. */
			if (drain_deadline == 0)
				drain_deadline = now + ctx_.timeout_tsc;
			if (!drained && (nfree_ == ctx_.window || now >= drain_deadline)) {
				/* everything still out is lost, and counted apart: a window lost at the
				 * end means the server stopped answering (gone or stalled) */
				if (uint64_t n = expire(UINT64_MAX); n != 0)
					ThreadCounters::bump(c_.lost_at_stop, n);
				drained = true;
				ctx_.draining->fetch_sub(1);
			}
			if (drained && (ctx_.draining->load() == 0 || now >= drain_deadline))
				break;
		}
		return 0;
	}

private:
	uint16_t receive()
	{
		rte_mbuf *rx[2 * kBurst];
		uint16_t n = rte_eth_rx_burst(ctx_.port, ctx_.queue, rx, kBurst);
		if (own_ != nullptr) /* answers other threads received for this one */
			n += static_cast<uint16_t>(
				rte_ring_sc_dequeue_burst(own_, reinterpret_cast<void **>(rx + n), kBurst, nullptr));
		if (n == 0)
			return 0;
		uint64_t now = rte_rdtsc();
		uint64_t matched = 0, foreign = 0, late = 0, lat_tsc = 0, forwarded = 0;
		uint16_t nfree = 0;
		for (uint16_t i = 0; i < n; i++) {
			const int owner = response_owner(rx[i]);
			if (owner != static_cast<int>(ctx_.thread)) {
				if (owner < 0 || rte_ring_mp_enqueue((*ctx_.fwd)[owner], rx[i]) != 0) {
					foreign++; /* not an answer to this process (or its owner's ring is full) */
					rx[nfree++] = rx[i];
				} else {
					forwarded++;
				}
				continue;
			}
			rx[nfree++] = rx[i];
			const EchoMsg *msg = &rte_pktmbuf_mtod(rx[i], const EchoFrame *)->msg;
			uint32_t s = msg->slot;
			if (s >= ctx_.window || !slots_[s].busy || slots_[s].seq != msg->seq) {
				late++;
				continue;
			}
			/* TSC cycles: converted once, at the end (no division per answer). */
			const uint64_t rtt = now - slots_[s].tsc;
			ctx_.hist->add(rtt);
			lat_tsc += rtt;
			if (unlikely(first_tx_ != 0)) { /* the first answer: how long the start-up took */
				ThreadCounters::bump(c_.first_answer_tsc, now - first_tx_);
				first_tx_ = 0;
			}
			slots_[s].busy = false;
			free_[nfree_++] = s;
			matched++;
		}
		rte_pktmbuf_free_bulk(rx, nfree);
		ThreadCounters::bump(c_.rx, matched);
		ThreadCounters::bump(c_.lat_sum_tsc, lat_tsc);
		if (foreign)
			ThreadCounters::bump(c_.foreign, foreign);
		if (late)
			ThreadCounters::bump(c_.late, late);
		if (forwarded)
			ThreadCounters::bump(c_.forwarded, forwarded);
		return n;
	}

	/* The thread of this process an echo answer is for, or -1 for any other frame. */
	int response_owner(const rte_mbuf *m) const
	{
		if (rte_pktmbuf_data_len(m) < kMinFrame)
			return -1;
		auto *f = rte_pktmbuf_mtod(m, const EchoFrame *);
		if (f->eth.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || f->ip.next_proto_id != IPPROTO_UDP ||
		    f->msg.magic != kMagic || f->msg.kind != kResponse || (f->msg.client >> 8) != (ctx_.client_tag >> 8))
			return -1;
		const unsigned t = f->msg.client & 0xffu;
		if (t >= nthreads_ || f->udp.dst_port != rte_cpu_to_be_16(static_cast<uint16_t>(kClientPortBase + t)))
			return -1;
		return static_cast<int>(t);
	}

	/* Counts as lost (and frees) the requests older than the timeout; all with UINT64_MAX. */
	uint64_t expire(uint64_t now)
	{
		uint64_t lost = 0;
		for (unsigned s = 0; s < ctx_.window; s++) {
			if (slots_[s].busy && (now == UINT64_MAX || now - slots_[s].tsc >= ctx_.timeout_tsc)) {
				slots_[s].busy = false;
				free_[nfree_++] = s;
				lost++;
			}
		}
		if (lost)
			ThreadCounters::bump(c_.lost, lost);
		return lost;
	}

	void send()
	{
		unsigned k = std::min<unsigned>(nfree_, kBurst);
		if (k == 0)
			return;
		rte_mbuf *tx[kBurst];
		if (rte_pktmbuf_alloc_bulk(ctx_.pool, tx, k) != 0)
			return; /* pool momentarily empty: try again next loop */
		uint64_t now = rte_rdtsc();
		if (unlikely(seq_ == 0))
			first_tx_ = now;
		for (unsigned i = 0; i < k; i++) {
			uint32_t s = free_[nfree_ - 1 - i];
			rte_mbuf *m = tx[i];
			m->data_len = m->pkt_len = ctx_.frame_size;
			auto *f = rte_pktmbuf_mtod(m, EchoFrame *);
			*f = tmpl_;
			f->eth.dst_addr = (*ctx_.servers)[next_server_];
			next_server_ = next_server_ + 1 == ctx_.servers->size() ? 0 : next_server_ + 1;
			f->msg = EchoMsg{kMagic, kRequest, 0, ctx_.client_tag, static_cast<uint16_t>(s), ++seq_, now};
			slots_[s] = Slot{seq_, now, true};
		}
		uint16_t sent = rte_eth_tx_burst(ctx_.port, ctx_.queue, tx, static_cast<uint16_t>(k));
		/* Frames the port did not take were never sent: their slots stay free. */
		for (unsigned i = sent; i < k; i++)
			slots_[free_[nfree_ - 1 - i]].busy = false;
		if (sent < k)
			rte_pktmbuf_free_bulk(tx + sent, k - sent);
		/* tx[i] took the slot i places below the top of the free stack: the
		 * `sent` topmost slots are now in flight, the rest stay free. */
		nfree_ -= sent;
		ThreadCounters::bump(c_.tx, sent);
	}

	WorkerCtx &ctx_;
	ThreadCounters &c_;
	std::array<Slot, kMaxWindow> slots_{};
	std::array<uint32_t, kMaxWindow> free_{};
	unsigned nfree_ = 0;
	uint32_t seq_ = 0;
	EchoFrame tmpl_{};
	size_t next_server_ = 0;
	unsigned nthreads_ = 1;
	rte_ring *own_ = nullptr;   /* answers for this thread received by the others */
	uint64_t first_tx_ = 0;     /* TSC of the first request until its thread's first answer */
};

} // namespace

int client_loop(void *arg)
{
	auto *ctx = static_cast<WorkerCtx *>(arg);
	const SchedMark mark;
	Client client(*ctx);
	const int rc = client.run();
	mark.finish(*ctx->counters);
	return rc;
}

} // namespace echo
