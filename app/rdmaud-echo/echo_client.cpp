/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client worker: keep `window` requests outstanding, matched by window slot and
 * sequence number; measure round-trip time from the timestamp carried in the
 * message. UD is unreliable: a request unanswered within the timeout is counted
 * lost and its slot reused; an answer arriving after that is counted late.
 * Every request sent ends up received or lost: nothing is left unaccounted.
 */
#include <netinet/in.h>
#include <sched.h>

#include <algorithm>
#include <array>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

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
		for (unsigned i = 0; i < ctx.window; i++)
			free_[nfree_++] = ctx.window - 1 - i;
		tsc_hz_ = rte_get_tsc_hz();
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
			/* Stopping: wait for the window to drain, at most one timeout. */
			if (drain_deadline == 0)
				drain_deadline = now + ctx_.timeout_tsc;
			if (nfree_ == ctx_.window)
				break;
			if (now >= drain_deadline) {
				expire(UINT64_MAX); /* everything still out is lost */
				break;
			}
		}
		return 0;
	}

private:
	uint16_t receive()
	{
		rte_mbuf *rx[kBurst];
		uint16_t n = rte_eth_rx_burst(ctx_.port, ctx_.queue, rx, kBurst);
		if (n == 0)
			return 0;
		uint64_t now = rte_rdtsc();
		uint64_t matched = 0, foreign = 0, late = 0, lat_ns = 0;
		for (uint16_t i = 0; i < n; i++) {
			const EchoMsg *msg = response(rx[i]);
			if (msg == nullptr) {
				foreign++;
				continue;
			}
			uint32_t s = msg->slot;
			if (s >= ctx_.window || !slots_[s].busy || slots_[s].seq != msg->seq) {
				late++;
				continue;
			}
			uint64_t ns = (now - slots_[s].tsc) * 1000000000ull / tsc_hz_;
			ctx_.hist->add(ns);
			lat_ns += ns;
			slots_[s].busy = false;
			free_[nfree_++] = s;
			matched++;
		}
		rte_pktmbuf_free_bulk(rx, n);
		ThreadCounters::bump(c_.rx, matched);
		ThreadCounters::bump(c_.lat_sum_ns, lat_ns);
		if (foreign)
			ThreadCounters::bump(c_.foreign, foreign);
		if (late)
			ThreadCounters::bump(c_.late, late);
		return n;
	}

	const EchoMsg *response(rte_mbuf *m) const
	{
		if (rte_pktmbuf_data_len(m) < kMinFrame)
			return nullptr;
		auto *f = rte_pktmbuf_mtod(m, const EchoFrame *);
		if (f->eth.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || f->ip.next_proto_id != IPPROTO_UDP ||
		    f->udp.dst_port != tmpl_.udp.src_port || f->msg.magic != kMagic || f->msg.kind != kResponse ||
		    f->msg.client != ctx_.client_tag)
			return nullptr;
		return &f->msg;
	}

	void expire(uint64_t now)
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
	uint64_t tsc_hz_ = 1;
	size_t next_server_ = 0;
};

} // namespace

int client_loop(void *arg)
{
	Client client(*static_cast<WorkerCtx *>(arg));
	return client.run();
}

} // namespace echo
