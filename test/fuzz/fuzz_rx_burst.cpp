/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: net_rdmaud's receive completion handling. The real rx queue code
// (rxq_alloc / rxq_fill / rx_burst / rx_queue_count / rx_descriptor_status / rxq_drain) runs
// against a verbs device model whose receive completions the fuzzer chooses, with real mbufs in
// a --no-huge EAL.
//
// The model keeps the verbs contract of a UD receive queue: completions come in posting order
// (wr_id is the oldest posted WR's), a successful one never reports more bytes than its buffer
// holds; everything else is the fuzzer's: status, byte_len, burst sizes, an exhausted mempool,
// a failing ibv_poll_cq or ibv_post_recv, the application holding mbufs.
//
// Input: one byte picking the ring size (8..256, low 7 bits) and the burst function (bit 7:
// the per-mbuf lkey lookup, as when the rx pool spans several MRs; clear: the burst dev_start
// selects when one MR covers the pool), then operations:
//   0,1  the device completes the oldest posted RECV: status byte, 3 bytes of length
//   2    rx_burst(n): n byte
//   3    the application takes mbufs out of the pool (exhaustion): count byte
//   4    the application frees every mbuf it holds
//   5    the next ibv_poll_cq / ibv_post_recv fails: flag byte
//   6    rx_queue_count, then rx_descriptor_status at the edges and at one more offset: byte
// Checked after every burst: each delivered mbuf is the buffer the device wrote, with the
// reported length, clean metadata and the payload the device wrote; completions consumed =
// delivered + nombuf + wc_errors + runts (no frame unaccounted); every WR posted names a buffer
// the queue owns that is not already posted or delivered. After each input: every mbuf is back
// in the pool, exactly once.
// rx_queue_count moves the CQ's completions into the queue's stash: it must return exactly the
// completions received and not delivered (stashed + in the CQ, every one polled); the next bursts
// take the stash first, no poll of the CQ while it holds any, so the per-burst checks above
// (each frame's buffer, length and sequence number, in order) cover frames stashed by counts
// interleaved with bursts: none lost, duplicated or reordered. Descriptor status: DONE below the
// count, AVAIL up to the slots a refused repost left unposted, UNAVAIL for those, -EINVAL past the
// ring.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "fuzz_common.h"
#include "rdmaud_rxtx.h"
#include "rdmaud_verbs.h"

using namespace rdmaud;

namespace {

constexpr unsigned kPoolSize = 1024;
constexpr unsigned kMaxHeld = 384;  /* the "application" frees what it holds beyond this */
constexpr uint16_t kPort = 7;
constexpr uint32_t kLkey = 0x77;

/* The pool's mbufs lie at a fixed stride from the first (checked once, at start): a mbuf's
 * index is arithmetic, and an address that is not one of the pool's mbufs is a violation. */
uintptr_t g_first;
uintptr_t g_stride;

unsigned mbuf_index(const rte_mbuf *m)
{
	const uintptr_t a = reinterpret_cast<uintptr_t>(m);
	require(a >= g_first && (a - g_first) % g_stride == 0);
	const uintptr_t i = (a - g_first) / g_stride;
	require(i < kPoolSize);
	return static_cast<unsigned>(i);
}

/* A set of the pool's mbufs: one flag per mbuf, no allocation per insert (a node-based set
 * made the harness, not the code under test, most of each execution's time). */
class MbufSet {
public:
	bool insert(const rte_mbuf *m) { return flip(m, true); }
	void erase(const rte_mbuf *m) { require(flip(m, false)); }
	bool contains(const rte_mbuf *m) const { return in_[mbuf_index(m)]; }
	void clear() { in_.fill(false); }

private:
	bool flip(const rte_mbuf *m, bool to)
	{
		bool &f = in_[mbuf_index(m)];
		if (f == to)
			return false;
		f = to;
		return true;
	}
	std::array<bool, kPoolSize> in_{};
};

struct Posted {
	uint64_t wr_id;
	uint64_t addr;
	uint32_t len;
	const rte_mbuf *m; /* the buffer's mbuf */
};

struct Expect {
	ibv_wc_status status;
	uint32_t byte_len;
	uint64_t addr; /* where the device wrote (GRH first) */
	uint64_t seq;  /* the device wrote it at the frame's start when it fits */
};

/* The device: a receive queue (FIFO of posted WRs) and a completion queue. */
struct VerbsModel {
	ibv_context ctx{}; /* first member: the ops find the device from qp->context / cq->context */
	ibv_qp qp{};
	ibv_cq cq{};
	std::deque<Posted> rq;
	std::deque<ibv_wc> cqes;
	std::deque<Expect> expect; /* one per entry of cqes */
	MbufSet posted; /* mbufs whose buffer is posted */
	RxQueue *q = nullptr;
	const MbufSet *app = nullptr; /* mbufs the app holds */
	bool fail_poll = false;
	bool fail_post = false;
	int polled = 0;      /* completions handed out by the last poll */
	unsigned polls = 0;  /* poll_cq calls */
	uint32_t stashed = 0; /* completions polled by rx_queue_count and not yet taken by a burst */
	unsigned posts = 0;  /* post_recv calls */
	uint32_t lost = 0;   /* WRs a failed post_recv did not take */
	uint64_t seq = 0;

	VerbsModel()
	{
		ctx.ops.post_recv = post_recv;
		ctx.ops.poll_cq = poll_cq;
		qp.context = &ctx;
		qp.qp_num = 0x42;
		cq.context = &ctx;
	}
	static VerbsModel &of(ibv_context *c) { return *reinterpret_cast<VerbsModel *>(c); }

	static int post_recv(ibv_qp *qp, ibv_recv_wr *wr, ibv_recv_wr **bad)
	{
		VerbsModel &d = of(qp->context);
		d.posts++;
		if (d.fail_post) {
			d.fail_post = false;
			*bad = wr;
			for (; wr != nullptr; wr = wr->next)
				d.lost++;
			return ENOMEM;
		}
		for (; wr != nullptr; wr = wr->next) {
			require(wr->num_sge == 1);
			const ibv_sge &s = wr->sg_list[0];
			require(wr->wr_id < d.q->nb_desc);
			/* The WR names the buffer its slot owns, GRH room first. */
			const rte_mbuf *m = d.q->mbufs[wr->wr_id];
			require(m != nullptr);
			require(s.addr == reinterpret_cast<uintptr_t>(m->buf_addr) + RTE_PKTMBUF_HEADROOM - kGrhLen);
			require(s.length == d.q->sge_len);
			require(s.lkey == kLkey);
			require(!d.app->contains(m)); /* not the application's */
			require(d.posted.insert(m));  /* not posted twice */
			d.rq.push_back({wr->wr_id, s.addr, s.length, m});
		}
		return 0;
	}
	static int poll_cq(ibv_cq *cq, int n, ibv_wc *wc)
	{
		VerbsModel &d = of(cq->context);
		d.polls++;
		if (d.fail_poll) {
			d.fail_poll = false;
			d.polled = -1;
			return -1;
		}
		int k = 0;
		for (; k < n && !d.cqes.empty(); k++) {
			wc[k] = d.cqes.front();
			d.cqes.pop_front();
		}
		d.polled = k;
		return k;
	}

	/* Complete the oldest posted RECV. */
	void complete(ibv_wc_status st, uint32_t len_bits)
	{
		if (rq.empty())
			return;
		const Posted p = rq.front();
		rq.pop_front();
		posted.erase(p.m);
		uint32_t byte_len;
		if (st == IBV_WC_SUCCESS) {
			byte_len = len_bits % (p.len + 1); /* never more than the buffer */
			auto *buf = reinterpret_cast<uint8_t *>(p.addr);
			std::memset(buf, 0, std::min<uint32_t>(byte_len, kGrhLen));
			if (byte_len >= kGrhLen + sizeof(seq))
				std::memcpy(buf + kGrhLen, &seq, sizeof(seq));
		} else {
			byte_len = len_bits; /* undefined on error: anything */
		}
		ibv_wc w{};
		w.wr_id = p.wr_id;
		w.status = st;
		w.opcode = IBV_WC_RECV;
		w.byte_len = byte_len;
		w.qp_num = qp.qp_num;
		w.wc_flags = IBV_WC_GRH;
		cqes.push_back(w);
		expect.push_back({st, byte_len, p.addr, seq});
		seq++;
	}
};

int reg_all(void *, void *, size_t, uint32_t *lkey, void **h)
{
	*lkey = kLkey;
	*h = nullptr;
	return 0;
}
void dereg_none(void *, void *) {}

rte_mempool *g_pool;
MrRegistry *g_reg;

struct Reader {
	const uint8_t *p;
	size_t n;
	bool empty() const { return n == 0; }
	uint8_t byte()
	{
		if (n == 0)
			return 0;
		n--;
		return *p++;
	}
};

ibv_wc_status pick_status(uint8_t b)
{
	/* Mostly successes, else any status verbs defines. */
	if (b < 160)
		return IBV_WC_SUCCESS;
	return static_cast<ibv_wc_status>(1 + b % IBV_WC_TM_RNDV_INCOMPLETE);
}

void burst(VerbsModel &d, RxQueue &q, RxBurstFn rx, uint16_t n, std::vector<rte_mbuf *> &held,
	   MbufSet &app)
{
	const RxCounters before = q.c;
	const unsigned avail = rte_mempool_avail_count(g_pool);
	const size_t pending = d.cqes.size();
	const unsigned posts_before = d.posts;
	const bool poll_fails = d.fail_poll;
	const uint32_t lost_before = d.lost;
	const uint32_t stashed = d.stashed;
	const unsigned polls_before = d.polls;
	std::vector<rte_mbuf *> pkts(n); /* exactly n: a write past it is an ASan report */
	d.polled = 0;
	const uint16_t out = rx(&q, pkts.data(), n);
	require(out <= n);
	int k;
	if (stashed != 0) {
		/* The stash first, and only the stash: the CQ is not polled. */
		require(d.polls == polls_before);
		k = static_cast<int>(std::min<uint32_t>({n, kMaxRxBurst, stashed}));
		d.stashed -= static_cast<uint32_t>(k);
	} else {
		if (poll_fails) {
			require(out == 0 && q.c.cq_errors == before.cq_errors + 1 &&
				q.c.wc_errors == before.wc_errors && d.posts == posts_before);
			return;
		}
		k = d.polled;
		require(k == static_cast<int>(std::min<size_t>({n, kMaxRxBurst, pending})));
	}
	require(q.stash_len == d.stashed);
	if (k == 0) {
		require(out == 0 && d.posts == posts_before);
		return;
	}
	require(d.posts == posts_before + 1); /* one doorbell per burst */
	require(q.c.post_errors == before.post_errors + (d.lost != lost_before ? 1 : 0));
	require(q.c.doorbells == before.doorbells + 1 && q.c.wrs == before.wrs + k);
	if (avail < static_cast<unsigned>(k)) {
		/* No replacements: all k dropped as nombuf, buffers reposted unchanged. */
		require(out == 0 && q.c.nombuf == before.nombuf + k);
		for (int j = 0; j < k; j++)
			d.expect.pop_front();
		return;
	}
	uint16_t delivered = 0;
	uint64_t errors = 0, runts = 0, bytes = 0;
	for (int j = 0; j < k; j++) {
		const Expect e = d.expect.front();
		d.expect.pop_front();
		if (e.status != IBV_WC_SUCCESS) {
			errors++;
			continue;
		}
		if (e.byte_len < kGrhLen + RTE_ETHER_HDR_LEN) {
			runts++;
			continue;
		}
		require(delivered < out);
		rte_mbuf *m = pkts[delivered++];
		const uint32_t len = e.byte_len - kGrhLen;
		require(rte_pktmbuf_mtod(m, uintptr_t) == e.addr + kGrhLen);
		require(m->data_len == len && m->pkt_len == len);
		require(m->port == kPort && m->nb_segs == 1 && m->next == nullptr);
		require(rte_mbuf_refcnt_read(m) == 1 && m->ol_flags == 0 && m->packet_type == 0);
		require(m->pool == g_pool);
		uint64_t seq;
		std::memcpy(&seq, rte_pktmbuf_mtod(m, const uint8_t *), sizeof(seq));
		require(seq == e.seq);
		require(app.insert(m)); /* never delivered twice */
		held.push_back(m);
		bytes += len;
	}
	require(delivered == out);
	require(q.c.packets == before.packets + out && q.c.bytes == before.bytes + bytes);
	require(q.c.wc_errors == before.wc_errors + errors && q.c.runts == before.runts + runts);
	require(q.c.nombuf == before.nombuf);
	/* Every consumed completion is accounted for, by exactly one counter. */
	require(out + errors + runts == static_cast<uint64_t>(k));
}

/* rx_queue_count, then the descriptor status at the boundaries it and the lost slots give
 * and at offset `probe`. */
void count(VerbsModel &d, RxQueue &q, uint16_t probe)
{
	const RxCounters before = q.c;
	const uint32_t stashed = d.stashed;
	const size_t pending = d.cqes.size();
	const bool poll_fails = d.fail_poll;
	const unsigned polls_before = d.polls;
	const unsigned posts_before = d.posts;
	uint32_t c = rx_queue_count(&q);
	require(d.posts == posts_before); /* nothing reposted, nothing delivered */
	require(q.c.packets == before.packets && q.c.wc_errors == before.wc_errors &&
		q.c.runts == before.runts && q.c.nombuf == before.nombuf);
	if (stashed == q.nb_desc) {
		/* A full stash: nothing more can have completed; the CQ is not polled. */
		require(d.polls == polls_before && pending == 0 && c == stashed);
	} else if (poll_fails) {
		require(c == stashed && q.c.cq_errors == before.cq_errors + 1 && d.cqes.size() == pending);
		/* The next count polls again, and takes them all. */
		c = rx_queue_count(&q);
		require(c == stashed + pending && d.cqes.empty());
	} else {
		/* Every completion the CQ held, stashed after the older ones (same expect order). */
		require(c == stashed + pending && d.cqes.empty() && q.c.cq_errors == before.cq_errors);
	}
	d.stashed = c;
	require(q.stash_len == c);
	require(q.unposted == d.lost);
	const uint32_t nb = q.nb_desc;
	const uint32_t avail_end = nb - d.lost;
	const uint32_t offsets[] = {0, c - 1, c, avail_end - 1, avail_end, nb - 1, nb, probe};
	for (const uint32_t o32 : offsets) {
		if (o32 > UINT16_MAX)
			continue; /* c - 1 with c = 0 */
		const uint16_t o = static_cast<uint16_t>(o32);
		const int st = rx_descriptor_status(&q, o);
		if (o >= nb)
			require(st == -EINVAL);
		else if (o < c)
			require(st == RTE_ETH_RX_DESC_DONE);
		else if (o < avail_end)
			require(st == RTE_ETH_RX_DESC_AVAIL);
		else
			require(st == RTE_ETH_RX_DESC_UNAVAIL);
	}
	require(q.stash_len == c && d.cqes.empty()); /* the status polled nothing more */
}

void release(std::vector<rte_mbuf *> &held, MbufSet &app)
{
	for (rte_mbuf *m : held)
		app.erase(m);
	rte_pktmbuf_free_bulk(held.data(), held.size());
	held.clear();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	std::string prefix = "--file-prefix=fuzzrx" + std::to_string(getpid());
	const char *argv[] = {"fuzz_rx_burst", "--no-huge", "-m", "64", "--no-pci", "--no-telemetry",
			      "--no-shconf", "-l", "0", "--log-level=lib.eal:error", prefix.c_str()};
	require(rte_eal_init(RTE_DIM(argv), const_cast<char **>(argv)) >= 0);
	g_pool = rte_pktmbuf_pool_create("fuzzrx", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	require(g_pool != nullptr);
	std::vector<uintptr_t> objs;
	rte_mempool_obj_iter(
		g_pool, [](rte_mempool *, void *v, void *obj, unsigned) {
			static_cast<std::vector<uintptr_t> *>(v)->push_back(reinterpret_cast<uintptr_t>(obj));
		},
		&objs);
	std::sort(objs.begin(), objs.end());
	require(objs.size() == kPoolSize);
	g_first = objs[0];
	g_stride = objs[1] - objs[0];
	for (unsigned i = 0; i < kPoolSize; i++)
		require(objs[i] == g_first + i * g_stride);
	g_reg = new MrRegistry;
	g_reg->init(MrOps{nullptr, reg_all, dereg_none});
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader r{data, size};
	const uint8_t head = r.byte();
	const uint32_t nb = 1u << (3 + (head & 0x7f) % 6); /* 8 .. 256 */
	const bool per_mbuf_lkey = head & 0x80;
	VerbsModel d;
	std::vector<rte_mbuf *> held, grabbed;
	MbufSet app;
	/* The sizes rx_queue_setup uses: GRH + the pool's data room. */
	RxQueue *q = rxq_alloc(nb, RTE_MBUF_DEFAULT_DATAROOM + kGrhLen, SOCKET_ID_ANY);
	require(q != nullptr);
	q->qp = &d.qp;
	q->cq = &d.cq;
	q->mp = g_pool;
	q->port_id = kPort;
	q->lkeys.init(g_reg);
	d.q = q;
	d.app = &app;
	require(rxq_fill(*q) == 0);
	require(d.rq.size() == nb && d.posts == 1);
	for (uint32_t i = 0; i < nb; i++)
		require(d.rq[i].wr_id == i);
	require(q->lkey == kLkey); /* one MR covers the pool */
	if (per_mbuf_lkey)
		q->lkey = kNoLkey;
	const RxBurstFn rx = select_rx_burst(q->lkey != kNoLkey); /* as dev_start chooses */

	for (unsigned ops = 0; !r.empty() && ops < 4096; ops++) {
		switch (r.byte() % 7) {
		case 0:
		case 1: {
			const ibv_wc_status st = pick_status(r.byte());
			uint32_t len = r.byte();
			len |= uint32_t{r.byte()} << 8;
			len |= uint32_t{r.byte()} << 16;
			d.complete(st, len);
			break;
		}
		case 2:
			burst(d, *q, rx, r.byte(), held, app);
			if (held.size() > kMaxHeld)
				release(held, app);
			break;
		case 3: {
			const unsigned want = std::min<unsigned>(r.byte(), rte_mempool_avail_count(g_pool));
			if (want == 0)
				break; /* a cache-less pool refuses to get 0 objects */
			const size_t at = grabbed.size();
			grabbed.resize(at + want);
			require(rte_pktmbuf_alloc_bulk(g_pool, grabbed.data() + at, want) == 0);
			for (size_t i = at; i < grabbed.size(); i++)
				app.insert(grabbed[i]);
			break;
		}
		case 4:
			release(held, app);
			release(grabbed, app);
			break;
		case 5: {
			const uint8_t f = r.byte();
			d.fail_poll = f & 1;
			d.fail_post = f & 2;
			break;
		}
		case 6:
			count(d, *q, r.byte());
			break;
		}
		/* Every slot's buffer is posted or completed and waiting, except those whose
		 * repost the device refused (the ring runs short until the queue restarts). */
		require(d.rq.size() + d.cqes.size() + d.stashed + d.lost == nb);
	}
	d.fail_poll = d.fail_post = false;
	/* Stop: the QP is reset (the device forgets its WRs), the queue takes its buffers back. */
	d.rq.clear();
	d.posted.clear();
	rxq_drain(*q);
	require(d.cqes.empty());
	rte_free(q);
	release(held, app);
	release(grabbed, app);
	require(rte_mempool_avail_count(g_pool) == kPoolSize);
	require(rte_mempool_in_use_count(g_pool) == 0);
	return 0;
}
