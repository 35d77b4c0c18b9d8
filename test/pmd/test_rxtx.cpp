/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The burst functions against a verbs stub: a context whose post/poll ops
 * record what the datapath hands to the device and return completions the test
 * scripts. Mbufs and mempools are real (--no-huge EAL). The stub stands in for
 * a device only until softud runs; end-to-end behaviour is tested over softud.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "rdmaud_mac_filter.h"
#include "rdmaud_rxtx.h"
#include "rdmaud_verbs.h"

using namespace rdmaud;

namespace {

struct Stub {
	ibv_context ctx{}; /* first member: ops find the stub from qp->context / cq->context */
	ibv_qp qp{};
	ibv_cq scq{};
	ibv_cq rcq{};
	std::deque<ibv_wc> scq_q, rcq_q;
	struct Sent {
		uint64_t wr_id;
		unsigned flags;
		ibv_ah *ah;
		uint32_t qpn, qkey;
		std::vector<ibv_sge> sges;
	};
	std::vector<Sent> sent;
	std::vector<std::pair<uint64_t, ibv_sge>> recvs;
	int send_calls = 0;
	int recv_calls = 0;
	bool auto_complete = true; /* signaled sends complete at once */

	Stub()
	{
		ctx.ops.post_send = post_send;
		ctx.ops.post_recv = post_recv;
		ctx.ops.poll_cq = poll_cq;
		qp.context = &ctx;
		qp.qp_num = 0x42;
		scq.context = &ctx;
		rcq.context = &ctx;
	}
	static Stub &of(ibv_context *c) { return *reinterpret_cast<Stub *>(c); }

	static int post_send(ibv_qp *qp, ibv_send_wr *wr, ibv_send_wr **)
	{
		Stub &s = of(qp->context);
		s.send_calls++;
		for (; wr != nullptr; wr = wr->next) {
			s.sent.push_back({wr->wr_id, static_cast<unsigned>(wr->send_flags), wr->wr.ud.ah,
					  wr->wr.ud.remote_qpn, wr->wr.ud.remote_qkey,
					  std::vector<ibv_sge>(wr->sg_list, wr->sg_list + wr->num_sge)});
			if (s.auto_complete && (wr->send_flags & IBV_SEND_SIGNALED))
				s.complete(wr->wr_id);
		}
		return 0;
	}
	static int post_recv(ibv_qp *qp, ibv_recv_wr *wr, ibv_recv_wr **)
	{
		Stub &s = of(qp->context);
		s.recv_calls++;
		for (; wr != nullptr; wr = wr->next)
			s.recvs.emplace_back(wr->wr_id, wr->sg_list[0]);
		return 0;
	}
	static int poll_cq(ibv_cq *cq, int n, ibv_wc *wc)
	{
		Stub &s = of(cq->context);
		auto &q = cq == &s.scq ? s.scq_q : s.rcq_q;
		int k = 0;
		for (; k < n && !q.empty(); k++) {
			wc[k] = q.front();
			q.pop_front();
		}
		return k;
	}
	void complete(uint64_t wr_id, ibv_wc_status st = IBV_WC_SUCCESS)
	{
		ibv_wc w{};
		w.wr_id = wr_id;
		w.status = st;
		w.opcode = IBV_WC_SEND;
		scq_q.push_back(w);
	}
	void receive(uint64_t slot, uint32_t frame_len, ibv_wc_status st = IBV_WC_SUCCESS)
	{
		ibv_wc w{};
		w.wr_id = slot;
		w.status = st;
		w.opcode = IBV_WC_RECV;
		w.byte_len = frame_len + kGrhLen;
		w.wc_flags = IBV_WC_GRH;
		rcq_q.push_back(w);
	}
};

/* Registration stand-in: every chunk gets lkey 0x77. */
int reg_all(void *, void *, size_t, uint32_t *lkey, void **h)
{
	*lkey = 0x77;
	*h = nullptr;
	return 0;
}
void dereg_none(void *, void *) {}

const rte_ether_addr kSelf{{0x02, 0, 0, 0, 0, 0x10}};
const rte_ether_addr kPeerA{{0x02, 0, 0, 0, 0, 0x0a}};
const rte_ether_addr kPeerB{{0x02, 0, 0, 0, 0, 0x0b}};
const rte_ether_addr kUnknown{{0x02, 0, 0, 0, 0, 0xee}};
const rte_ether_addr kBcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

class TxTest : public ::testing::Test {
protected:
	static constexpr uint32_t kDesc = 64;
	void SetUp() override
	{
		static int id;
		std::string name = "txpool" + std::to_string(id++);
		mp = rte_pktmbuf_pool_create(name.c_str(), 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
		ASSERT_NE(mp, nullptr);
		reg.init(MrOps{nullptr, reg_all, dereg_none});
		dir.init(nullptr);
		std::vector<PeerEntry> peers = {{mac_key(kPeerA), fake_ah(0xa), 0x100, 0x1111},
						{mac_key(kPeerB), fake_ah(0xb), 0x200, 0x2222},
						{mac_key(kSelf), fake_ah(0xc), 0x42, 0x1111}};
		dir.publish(PeerTable::build(peers, mac_key(kSelf), SOCKET_ID_ANY));
		q = txq_alloc(kDesc, kMaxTxSegs, SOCKET_ID_ANY);
		ASSERT_NE(q, nullptr);
		q->qp = &stub.qp;
		q->cq = &stub.scq;
		q->signal = 8;
		q->inline_max = 0;
		q->max_frame = 1514;
		q->peers = &dir;
		q->queue_id = 0;
		q->lkeys.init(&reg);
		dir.online(0);
	}
	void TearDown() override
	{
		stub.auto_complete = true;
		txq_drain(*q);
		dir.offline(0);
		rte_free(q);
		EXPECT_EQ(rte_mempool_avail_count(mp), 1024u) << "every mbuf came back to the pool";
		rte_mempool_free(mp);
	}
	static ibv_ah *fake_ah(uintptr_t v) { return reinterpret_cast<ibv_ah *>(v); }
	rte_mbuf *frame(const rte_ether_addr &dst, uint16_t len = 60)
	{
		rte_mbuf *m = rte_pktmbuf_alloc(mp);
		EXPECT_NE(m, nullptr);
		auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(m, len));
		eh->dst_addr = dst;
		eh->src_addr = kSelf;
		eh->ether_type = RTE_BE16(0x88b5);
		return m;
	}
	uint16_t send(TxBurstFn fn, std::vector<rte_mbuf *> &v)
	{
		return fn(q, v.data(), static_cast<uint16_t>(v.size()));
	}

	Stub stub;
	rte_mempool *mp = nullptr;
	MrRegistry reg;
	PeerDirectory dir;
	TxQueue *q = nullptr;
};

TEST_F(TxTest, UnicastBurstIsOneDoorbellWithSelectiveSignaling)
{
	std::vector<rte_mbuf *> v;
	for (int i = 0; i < 32; i++)
		v.push_back(frame(i % 2 ? kPeerA : kPeerB, 60 + i));
	ASSERT_EQ(send(tx_burst_single, v), 32);
	EXPECT_EQ(stub.send_calls, 1);
	ASSERT_EQ(stub.sent.size(), 32u);
	int signaled = 0;
	for (int i = 0; i < 32; i++) {
		const Stub::Sent &s = stub.sent[i];
		EXPECT_EQ(s.qpn, i % 2 ? 0x100u : 0x200u);
		EXPECT_EQ(s.qkey, i % 2 ? 0x1111u : 0x2222u);
		EXPECT_EQ(s.ah, fake_ah(i % 2 ? 0xa : 0xb));
		ASSERT_EQ(s.sges.size(), 1u);
		EXPECT_EQ(s.sges[0].addr, rte_pktmbuf_mtod(v[i], uintptr_t));
		EXPECT_EQ(s.sges[0].length, 60u + i);
		EXPECT_EQ(s.sges[0].lkey, 0x77u);
		EXPECT_FALSE(s.flags & IBV_SEND_INLINE);
		signaled += (s.flags & IBV_SEND_SIGNALED) ? 1 : 0;
	}
	EXPECT_EQ(signaled, 4) << "one completion per 8 sends";
	EXPECT_EQ(q->c.packets, 32u);
	EXPECT_EQ(q->c.resolver_hits, 32u);
	EXPECT_EQ(q->c.doorbells, 1u);
	/* Completions free the buffers in bulk on the next burst's reap. */
	tx_reap(*q);
	EXPECT_EQ(q->tail, 32u);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1024u);
}

TEST_F(TxTest, DropsAreCountedAndFreed)
{
	std::vector<rte_mbuf *> v = {frame(kUnknown), frame(kPeerA, 1515), frame(kPeerA)};
	ASSERT_EQ(send(tx_burst_single, v), 3) << "dropped frames are consumed, not returned";
	EXPECT_EQ(q->c.drop_unknown_mac, 1u);
	EXPECT_EQ(q->c.resolver_misses, 1u);
	EXPECT_EQ(q->c.drop_oversize, 1u);
	EXPECT_EQ(stub.sent.size(), 1u);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1023u) << "only the frame in flight is held";
}

TEST_F(TxTest, MultiSegmentBecomesMultiSge)
{
	rte_mbuf *h = frame(kPeerA, 100);
	rte_mbuf *s2 = rte_pktmbuf_alloc(mp);
	rte_mbuf *s3 = rte_pktmbuf_alloc(mp);
	rte_pktmbuf_append(s2, 200);
	rte_pktmbuf_append(s3, 300);
	ASSERT_EQ(rte_pktmbuf_chain(h, s2), 0);
	ASSERT_EQ(rte_pktmbuf_chain(h, s3), 0);
	std::vector<rte_mbuf *> v = {h};
	ASSERT_EQ(send(tx_burst_multi, v), 1);
	ASSERT_EQ(stub.sent.size(), 1u);
	const auto &sg = stub.sent[0].sges;
	ASSERT_EQ(sg.size(), 3u);
	EXPECT_EQ(sg[0].length, 100u);
	EXPECT_EQ(sg[1].addr, rte_pktmbuf_mtod(s2, uintptr_t));
	EXPECT_EQ(sg[1].length, 200u);
	EXPECT_EQ(sg[2].length, 300u);
	EXPECT_EQ(q->c.bytes, 600u);
}

TEST_F(TxTest, SingleSegmentVariantRefusesChains)
{
	rte_mbuf *h = frame(kPeerA, 100);
	rte_mbuf *s2 = rte_pktmbuf_alloc(mp);
	rte_pktmbuf_append(s2, 100);
	ASSERT_EQ(rte_pktmbuf_chain(h, s2), 0);
	std::vector<rte_mbuf *> v = {h};
	ASSERT_EQ(send(tx_burst_single, v), 1);
	EXPECT_EQ(q->c.drop_segs, 1u);
	EXPECT_TRUE(stub.sent.empty());
}

TEST_F(TxTest, SmallFramesGoInlineAndAreFreedAtOnce)
{
	q->inline_max = 128;
	std::vector<rte_mbuf *> v = {frame(kPeerA, 64), frame(kPeerA, 129)};
	ASSERT_EQ(send(tx_burst_single_inline, v), 2);
	ASSERT_EQ(stub.sent.size(), 2u);
	EXPECT_TRUE(stub.sent[0].flags & IBV_SEND_INLINE);
	EXPECT_FALSE(stub.sent[1].flags & IBV_SEND_INLINE);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1023u) << "the inlined frame's mbuf is already back";
}

TEST_F(TxTest, FullSendQueueReturnsFewerAndRecovers)
{
	stub.auto_complete = false;
	std::vector<rte_mbuf *> v;
	for (uint32_t i = 0; i < kDesc + 16; i++)
		v.push_back(frame(kPeerA));
	uint16_t n = send(tx_burst_single, v);
	EXPECT_EQ(n, kDesc) << "back-pressure: only as many as the ring holds";
	EXPECT_EQ(q->c.full, 1u);
	std::vector<rte_mbuf *> rest(v.begin() + n, v.end());
	EXPECT_EQ(send(tx_burst_single, rest), 0);
	/* The device completes the signaled WRs: the ring drains, sending resumes. */
	for (const Stub::Sent &s : stub.sent)
		if (s.flags & IBV_SEND_SIGNALED)
			stub.complete(s.wr_id);
	EXPECT_EQ(send(tx_burst_single, rest), 16);
	EXPECT_EQ(q->c.drop_unknown_mac + q->c.drop_oversize, 0u) << "no silent loss";
	EXPECT_EQ(q->c.packets, kDesc + 16);
}

TEST_F(TxTest, BroadcastFansOutByReference)
{
	stub.auto_complete = false;
	rte_mbuf *m = frame(kBcast, 80);
	std::vector<rte_mbuf *> v = {m};
	ASSERT_EQ(send(tx_burst_single, v), 1);
	ASSERT_EQ(stub.sent.size(), 2u) << "both peers, not ourselves";
	EXPECT_EQ(stub.sent[0].qpn, 0x100u);
	EXPECT_EQ(stub.sent[1].qpn, 0x200u);
	EXPECT_EQ(stub.sent[0].sges[0].addr, stub.sent[1].sges[0].addr) << "zero copy";
	EXPECT_EQ(rte_mbuf_refcnt_read(m), 2);
	EXPECT_EQ(q->c.bcast_frames, 1u);
	EXPECT_EQ(q->c.packets, 2u);
	/* Complete only the first copy: the buffer must stay allocated. */
	stub.complete(stub.sent[0].wr_id);
	tx_reap(*q);
	EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1023u);
	stub.complete(stub.sent[1].wr_id);
	tx_reap(*q);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1024u);
}

TEST_F(TxTest, BroadcastWaitsForRoomForEveryCopy)
{
	stub.auto_complete = false;
	std::vector<rte_mbuf *> v;
	for (uint32_t i = 0; i < kDesc - 1; i++)
		v.push_back(frame(kPeerA));
	ASSERT_EQ(send(tx_burst_single, v), kDesc - 1);
	std::vector<rte_mbuf *> b = {frame(kBcast)};
	EXPECT_EQ(send(tx_burst_single, b), 0) << "one slot left, two copies needed: not taken";
	EXPECT_EQ(stub.sent.size(), kDesc - 1);
	rte_pktmbuf_free(b[0]);
}

void ext_free(void *addr, void *) { std::free(addr); }

TEST_F(TxTest, ExternalBufferIsACountedDrop)
{
	rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t buf_len = 2048;
	void *buf = std::aligned_alloc(64, buf_len);
	auto *sh = rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len, ext_free, nullptr);
	rte_pktmbuf_attach_extbuf(m, buf, reinterpret_cast<uintptr_t>(buf), buf_len, sh);
	rte_pktmbuf_reset_headroom(m);
	auto *eh = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(m, 60));
	eh->dst_addr = kPeerA;
	std::vector<rte_mbuf *> v = {m};
	ASSERT_EQ(send(tx_burst_single, v), 1);
	EXPECT_EQ(q->c.drop_no_lkey, 1u);
	EXPECT_TRUE(stub.sent.empty());
}

TEST_F(TxTest, ErrorCompletionIsCounted)
{
	stub.auto_complete = false;
	std::vector<rte_mbuf *> v = {frame(kPeerA), frame(kPeerA)};
	ASSERT_EQ(send(tx_burst_single, v), 2);
	stub.complete(stub.sent[0].wr_id, IBV_WC_LOC_PROT_ERR);
	stub.complete(stub.sent[1].wr_id, IBV_WC_WR_FLUSH_ERR);
	tx_reap(*q);
	EXPECT_EQ(q->c.wc_errors, 2u);
	EXPECT_EQ(q->tail, 2u);
}

TEST_F(TxTest, MixedBurstKeepsOrderAndCountsEveryDrop)
{
	const rte_ether_addr zero{{0, 0, 0, 0, 0, 0}};
	std::vector<rte_mbuf *> v = {frame(kPeerA), frame(kUnknown), frame(kPeerB, 70), frame(kBcast, 80),
				     frame(kPeerA, 1515), frame(kPeerB, 90), frame(zero), frame(kPeerA, 100)};
	ASSERT_EQ(send(tx_burst_single, v), 8);
	EXPECT_EQ(stub.send_calls, 1) << "one doorbell, whatever the mix";
	ASSERT_EQ(stub.sent.size(), 6u);
	const uint32_t qpns[] = {0x100, 0x200, 0x100, 0x200, 0x200, 0x100}; /* bcast: A then B */
	const uint32_t lens[] = {60, 70, 80, 80, 90, 100};
	for (size_t i = 0; i < 6; i++) {
		EXPECT_EQ(stub.sent[i].qpn, qpns[i]) << "WR " << i;
		EXPECT_EQ(stub.sent[i].sges[0].length, lens[i]) << "WR " << i;
	}
	EXPECT_EQ(stub.sent[0].qkey, 0x1111u);
	EXPECT_EQ(stub.sent[1].qkey, 0x2222u);
	EXPECT_EQ(q->c.drop_unknown_mac, 2u) << "an unknown MAC and 00:00:00:00:00:00";
	EXPECT_EQ(q->c.drop_oversize, 1u);
	EXPECT_EQ(q->c.bcast_frames, 1u);
	EXPECT_EQ(q->c.resolver_hits, 4u);
	EXPECT_EQ(q->c.resolver_misses, 2u);
	EXPECT_EQ(q->c.packets, 6u);
	EXPECT_EQ(q->c.bytes, 60u + 70 + 80 * 2 + 90 + 100);
}

TEST_F(TxTest, RingWrapsInsideABurst)
{
	std::vector<rte_mbuf *> v;
	for (int i = 0; i < 50; i++)
		v.push_back(frame(kPeerA));
	ASSERT_EQ(send(tx_burst_single, v), 50);
	tx_reap(*q);
	std::vector<rte_mbuf *> w;
	for (int i = 0; i < 32; i++)
		w.push_back(frame(i % 2 ? kPeerA : kPeerB, 60 + i));
	ASSERT_EQ(send(tx_burst_single, w), 32) << "slots 50..63 and 0..17";
	ASSERT_EQ(stub.sent.size(), 82u);
	for (int i = 0; i < 32; i++) {
		const Stub::Sent &s = stub.sent[50 + i];
		EXPECT_EQ(s.wr_id, (50u + i) % kDesc) << "wr_id is the ring slot";
		EXPECT_EQ(s.sges[0].addr, rte_pktmbuf_mtod(w[i], uintptr_t));
		EXPECT_EQ(s.qpn, i % 2 ? 0x100u : 0x200u);
	}
	EXPECT_EQ(stub.send_calls, 2);
	EXPECT_EQ(q->head, 82u);
}

TEST_F(TxTest, MultiSegmentVariantThenSingleSegmentPostsOneSge)
{
	rte_mbuf *h = frame(kPeerA, 100);
	rte_mbuf *s2 = rte_pktmbuf_alloc(mp);
	rte_pktmbuf_append(s2, 50);
	ASSERT_EQ(rte_pktmbuf_chain(h, s2), 0);
	std::vector<rte_mbuf *> v = {h, frame(kPeerB, 64)};
	ASSERT_EQ(send(tx_burst_multi, v), 2);
	ASSERT_EQ(stub.sent.size(), 2u);
	EXPECT_EQ(stub.sent[0].sges.size(), 2u);
	EXPECT_EQ(stub.sent[1].sges.size(), 1u) << "a one-segment frame in the multi-segment variant";
	/* Stop (what the reset QP never completed is freed) and restart single-segment:
	 * the WR that carried two SGEs carries one. */
	txq_drain(*q);
	q->head = q->tail = 0;
	std::vector<rte_mbuf *> w = {frame(kPeerA, 64)};
	ASSERT_EQ(send(tx_burst_single, w), 1);
	EXPECT_EQ(stub.sent.back().wr_id, 0u);
	EXPECT_EQ(stub.sent.back().sges.size(), 1u);
}

TEST_F(TxTest, SoftwareRssSpreadsFlowsOfAMultiQueuePeer)
{
	const rte_ether_addr multi_mac{{0x02, 0, 0, 0, 0, 0x0c}};
	PeerEntry multi{mac_key(multi_mac), fake_ah(0xd), 0x300, 0x3333};
	multi.nqpn = 4;
	multi.qpn_off = 0;
	std::vector<PeerEntry> peers = {{mac_key(kPeerA), fake_ah(0xa), 0x100, 0x1111}, multi};
	dir.offline(0); /* no burst in progress: the old table goes at once */
	EXPECT_EQ(dir.publish(PeerTable::build(peers, {0x300, 0x301, 0x302, 0x303}, mac_key(kSelf), SOCKET_ID_ANY)), 0u);
	dir.online(0);
	std::vector<rte_mbuf *> v;
	for (int i = 0; i < 48; i++) {
		rte_mbuf *m = frame(multi_mac, 60);
		auto *eh = rte_pktmbuf_mtod(m, rte_ether_hdr *);
		eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eh + 1);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = RTE_BE32(0x0a000001);
		ip->dst_addr = RTE_BE32(0x0a000002);
		uint16_t ports[2] = {rte_cpu_to_be_16(static_cast<uint16_t>(1000 + i % 16)), RTE_BE16(7)};
		std::memcpy(ip + 1, ports, sizeof(ports));
		v.push_back(m);
	}
	v.push_back(frame(kPeerA)); /* a one-queue peer in the same burst */
	ASSERT_EQ(send(tx_burst_single, v), 49);
	ASSERT_EQ(stub.sent.size(), 49u);
	std::vector<uint32_t> flow_qpn(16, 0);
	std::vector<int> per_qpn(4, 0);
	for (int i = 0; i < 48; i++) {
		const uint32_t qpn = stub.sent[i].qpn;
		ASSERT_GE(qpn, 0x300u);
		ASSERT_LE(qpn, 0x303u);
		EXPECT_EQ(stub.sent[i].qkey, 0x3333u);
		EXPECT_EQ(stub.sent[i].ah, fake_ah(0xd));
		if (flow_qpn[i % 16] == 0)
			flow_qpn[i % 16] = qpn;
		EXPECT_EQ(qpn, flow_qpn[i % 16]) << "a flow keeps its queue";
		per_qpn[qpn - 0x300]++;
	}
	EXPECT_GE(std::count_if(per_qpn.begin(), per_qpn.end(), [](int c) { return c > 0; }), 2)
		<< "16 flows over 4 queues use more than one";
	EXPECT_EQ(stub.sent[48].qpn, 0x100u);
}

class TxFastFreeTest : public TxTest {
protected:
	void SetUp() override
	{
		TxTest::SetUp();
		q->inline_max = 128;
	}
};

TEST_F(TxFastFreeTest, FramesGoBackToTheirPool)
{
	stub.auto_complete = false;
	std::vector<rte_mbuf *> v = {frame(kPeerA, 64), frame(kPeerA, 200), frame(kUnknown, 64)};
	ASSERT_EQ(send(tx_burst_single_inline_ff, v), 3);
	ASSERT_EQ(stub.sent.size(), 2u);
	EXPECT_TRUE(stub.sent[0].flags & IBV_SEND_INLINE);
	EXPECT_FALSE(stub.sent[1].flags & IBV_SEND_INLINE);
	EXPECT_EQ(q->c.inlined, 1u);
	EXPECT_EQ(q->c.drop_unknown_mac, 1u);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1023u) << "inlined and dropped frames are back; the large one is held";
	stub.complete(stub.sent[1].wr_id);
	q->signal = 1; /* the next burst reaps: half the ring is not outstanding */
	tx_reap(*q);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1024u);
}

TEST_F(TxFastFreeTest, BroadcastIsFreedByItsLastCopy)
{
	stub.auto_complete = false;
	q->inline_max = 0;
	rte_mbuf *m = frame(kBcast, 200);
	std::vector<rte_mbuf *> v = {m};
	ASSERT_EQ(send(tx_burst_single_ff, v), 1);
	ASSERT_EQ(stub.sent.size(), 2u);
	EXPECT_EQ(rte_mbuf_refcnt_read(m), 1) << "fast free: no reference per copy";
	stub.complete(stub.sent[0].wr_id);
	tx_reap(*q);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1023u) << "the second copy still needs the buffer";
	stub.complete(stub.sent[1].wr_id);
	tx_reap(*q);
	EXPECT_EQ(rte_mempool_avail_count(mp), 1024u);
}

TEST_F(TxTest, SelectsTheVariantForTheOffloads)
{
	EXPECT_EQ(select_tx_burst(false, false, false), tx_burst_single);
	EXPECT_EQ(select_tx_burst(false, true, false), tx_burst_single_inline);
	EXPECT_EQ(select_tx_burst(false, false, true), tx_burst_single_ff);
	EXPECT_EQ(select_tx_burst(false, true, true), tx_burst_single_inline_ff);
	EXPECT_EQ(select_tx_burst(true, false, true), tx_burst_multi) << "chains are freed segment by segment";
	EXPECT_EQ(select_tx_burst(true, true, false), tx_burst_multi_inline);
}


class RxTest : public ::testing::Test {
protected:
	static constexpr uint32_t kDesc = 64;
	/* A filled queue of port 3 on a pool of pool_size mbufs (per-lcore cache, private area). */
	void make(unsigned pool_size, unsigned cache = 0, uint16_t priv = 0)
	{
		static int id;
		std::string name = "rxpool" + std::to_string(id++);
		mp = rte_pktmbuf_pool_create(name.c_str(), pool_size, cache, priv, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
		ASSERT_NE(mp, nullptr);
		reg.init(MrOps{nullptr, reg_all, dereg_none});
		q = rxq_alloc(kDesc, RTE_MBUF_DEFAULT_DATAROOM + kGrhLen, SOCKET_ID_ANY);
		ASSERT_NE(q, nullptr);
		q->qp = &stub.qp;
		q->cq = &stub.rcq;
		q->mp = mp;
		q->port_id = 3;
		q->lkeys.init(&reg);
		ASSERT_EQ(rxq_fill(*q), 0);
	}
	void TearDown() override
	{
		rxq_drain(*q);
		rte_free(q);
		rte_pktmbuf_free_bulk(held.data(), held.size());
		EXPECT_EQ(rte_mempool_avail_count(mp), rte_mempool_in_use_count(mp) + rte_mempool_avail_count(mp));
		EXPECT_EQ(rte_mempool_in_use_count(mp), 0u) << "every mbuf came back to the pool";
		rte_mempool_free(mp);
	}
	Stub stub;
	rte_mempool *mp = nullptr;
	MrRegistry reg;
	RxQueue *q = nullptr;
	std::vector<rte_mbuf *> held;
};

TEST_F(RxTest, StartPostsEveryBufferWithOneCall)
{
	make(1024);
	EXPECT_EQ(stub.recv_calls, 1);
	ASSERT_EQ(stub.recvs.size(), kDesc);
	for (uint32_t i = 0; i < kDesc; i++) {
		EXPECT_EQ(stub.recvs[i].first, i);
		rte_mbuf *m = q->mbufs[i];
		EXPECT_EQ(stub.recvs[i].second.addr, rte_pktmbuf_mtod(m, uintptr_t) - kGrhLen)
			<< "the GRH lands in the headroom, the frame at mtod";
		EXPECT_EQ(stub.recvs[i].second.length, RTE_MBUF_DEFAULT_DATAROOM + kGrhLen);
		EXPECT_EQ(stub.recvs[i].second.lkey, 0x77u);
	}
}

TEST_F(RxTest, BurstDeliversAndRepostsWithOneCall)
{
	make(1024);
	for (uint32_t i = 0; i < 20; i++)
		stub.receive(i, 60 + i);
	rte_mbuf *pkts[32];
	rte_mbuf *posted0 = q->mbufs[0];
	uint16_t n = rx_burst(q, pkts, 32);
	ASSERT_EQ(n, 20);
	held.assign(pkts, pkts + n);
	EXPECT_EQ(pkts[0], posted0);
	for (uint16_t i = 0; i < n; i++) {
		EXPECT_EQ(pkts[i]->data_len, 60 + i);
		EXPECT_EQ(pkts[i]->pkt_len, 60u + i);
		EXPECT_EQ(pkts[i]->port, 3);
	}
	EXPECT_EQ(stub.recv_calls, 2) << "one ibv_post_recv per burst";
	ASSERT_EQ(stub.recvs.size(), kDesc + 20);
	for (uint32_t i = 0; i < 20; i++) {
		EXPECT_EQ(stub.recvs[kDesc + i].first, i) << "the consumed slots, in order";
		EXPECT_NE(stub.recvs[kDesc + i].second.addr, stub.recvs[i].second.addr) << "fresh buffers";
	}
	EXPECT_EQ(q->c.packets, 20u);
	EXPECT_EQ(q->c.bytes, 20u * 60 + 190);
	/* Wrap-around: the next burst continues from slot 20 across the ring's end. */
	for (uint32_t i = 20; i < 20 + kDesc; i++)
		stub.receive(i % kDesc, 64);
	uint16_t total = 0;
	while (total < kDesc) {
		uint16_t k = rx_burst(q, pkts, 32);
		ASSERT_GT(k, 0);
		held.insert(held.end(), pkts, pkts + k);
		total += k;
	}
	EXPECT_EQ(stub.recvs.back().first, 19u);
}

/* ---- MAC filter (rdmaud_mac_filter.h, rdmaud_rx_filter.cpp) ---- */

uint64_t key_of(const char *mac)
{
	rte_ether_addr a;
	EXPECT_EQ(rte_ether_unformat_addr(mac, &a), 0) << mac;
	uint64_t k = 0;
	std::memcpy(&k, a.addr_bytes, RTE_ETHER_ADDR_LEN);
	return k << 16;
}

MacFilter test_filter()
{
	MacFilter f;
	f.set_unicast(0, key_of("02:00:00:00:00:0b"));
	f.set_unicast(3, key_of("02:00:00:00:00:bb"));
	f.mc[0] = key_of("01:00:5e:00:00:01");
	f.nmc = 1;
	return f;
}

TEST(MacFilter, AcceptsOwnMacsBroadcastAndJoinedGroups)
{
	MacFilter f = test_filter();
	EXPECT_TRUE(f.accepts(key_of("02:00:00:00:00:0b"))) << "the default MAC";
	EXPECT_TRUE(f.accepts(key_of("02:00:00:00:00:bb"))) << "an extra MAC (index 3)";
	EXPECT_FALSE(f.accepts(key_of("02:00:00:00:00:0c"))) << "a foreign unicast MAC";
	EXPECT_TRUE(f.accepts(kBroadcastKey));
	EXPECT_EQ(kBroadcastKey, key_of("ff:ff:ff:ff:ff:ff"));
	EXPECT_TRUE(f.accepts(key_of("01:00:5e:00:00:01"))) << "a joined group";
	EXPECT_FALSE(f.accepts(key_of("01:00:5e:00:00:02"))) << "a group not joined";
	EXPECT_FALSE(f.accepts(key_of("33:33:00:00:00:01")));
	f.allmulti = 1;
	EXPECT_TRUE(f.accepts(key_of("01:00:5e:00:00:02"))) << "allmulticast: every group";
	EXPECT_TRUE(f.accepts(key_of("33:33:00:00:00:01")));
	EXPECT_FALSE(f.accepts(key_of("02:00:00:00:00:0c"))) << "allmulticast opens no unicast MAC";
	/* Unused slots match no MAC, not even 00:00:00:00:00:00. */
	EXPECT_FALSE(f.accepts(key_of("00:00:00:00:00:00")));
	EXPECT_EQ(f.nuc, 2u) << "readers compare the used slots only";
	f.set_unicast(3, kNoMacKey);
	EXPECT_FALSE(f.accepts(key_of("02:00:00:00:00:bb"))) << "removed";
	EXPECT_TRUE(f.accepts(key_of("02:00:00:00:00:0b")));
	EXPECT_EQ(f.nuc, 1u);
	f.set_unicast(5, key_of("02:00:00:00:00:cc"));
	EXPECT_TRUE(f.accepts(key_of("02:00:00:00:00:cc"))) << "any index";
	/* Groups past nmc are not joined, whatever the array holds. */
	f.allmulti = 0;
	f.mc[1] = key_of("01:00:5e:00:00:02");
	EXPECT_FALSE(f.accepts(key_of("01:00:5e:00:00:02")));
}

TEST(MacFilter, AReaderSeesEveryWrite)
{
	MacFilter f = test_filter();
	const uint32_t s = f.read_begin();
	EXPECT_FALSE(f.read_retry(s)) << "no write: the burst's decisions stand";
	f.write_begin();
	EXPECT_EQ(f.seq & 1, 1u) << "odd while written";
	f.set(f.allmulti, uint8_t{1});
	f.write_end();
	EXPECT_TRUE(f.read_retry(s)) << "a write during the decisions: decide again";
	EXPECT_FALSE(f.read_retry(f.read_begin()));
}

TEST_F(RxTest, FilterDropsCountsAndCompactsWhatTheMacFilterRejects)
{
	make(1024);
	MacFilter f = test_filter();
	q->filter = &f;
	const char *dst[] = {"02:00:00:00:00:0b", "02:00:00:00:00:0c", "02:00:00:00:00:bb", "ff:ff:ff:ff:ff:ff",
			     "01:00:5e:00:00:01", "01:00:5e:00:00:02", "02:00:00:00:00:0b", "02:00:00:00:00:0c"};
	const bool pass[] = {true, false, true, true, true, false, true, false};
	auto post = [&](uint32_t first) {
		for (uint32_t i = 0; i < 8; i++) {
			rte_mbuf *m = q->mbufs[(first + i) % kDesc];
			rte_ether_addr a;
			ASSERT_EQ(rte_ether_unformat_addr(dst[i], &a), 0);
			std::memcpy(static_cast<char *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, &a, sizeof(a));
			stub.receive((first + i) % kDesc, 60 + i);
		}
	};
	const RxBurstFn filtered = select_rx_filter(rx_burst);
	EXPECT_NE(filtered, select_rx_filter(rx_burst_fixed_lkey));
	EXPECT_NE(filtered, select_rx_filter(rx_burst_scatter));
	post(0);
	rte_mbuf *expect[8];
	uint16_t ne = 0;
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 8; i++)
		if (pass[i]) {
			expect[ne++] = q->mbufs[i];
			bytes += 60 + i;
		}
	rte_mbuf *pkts[32];
	const uint16_t n = filtered(q, pkts, 32);
	held.insert(held.end(), pkts, pkts + n);
	ASSERT_EQ(n, 5);
	for (uint16_t i = 0; i < n; i++)
		EXPECT_EQ(pkts[i], expect[i]) << "accepted frames in arrival order, frame " << i;
	EXPECT_EQ(q->c.packets, 5u);
	EXPECT_EQ(q->c.bytes, bytes);
	EXPECT_EQ(q->c.mac_filtered, 3u);
	EXPECT_EQ(rte_mempool_in_use_count(mp), kDesc + 5) << "rejected frames went back to the pool";
	/* Allmulticast: the group not joined passes too. */
	f.allmulti = 1;
	post(8);
	const uint16_t n2 = filtered(q, pkts, 32);
	held.insert(held.end(), pkts, pkts + n2);
	EXPECT_EQ(n2, 6);
	EXPECT_EQ(q->c.mac_filtered, 5u);
	EXPECT_EQ(q->c.packets, 11u);
}

TEST_F(RxTest, MempoolExhaustionCountsNombufAndLosesNoDescriptor)
{
	make(kDesc + 3); /* the ring takes 64; three spare mbufs */
	rte_mbuf *spare[3];
	ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, spare, 3), 0);
	for (uint32_t i = 0; i < 8; i++)
		stub.receive(i, 60);
	rte_mbuf *pkts[32];
	EXPECT_EQ(rx_burst(q, pkts, 32), 0);
	EXPECT_EQ(q->c.nombuf, 8u);
	ASSERT_EQ(stub.recvs.size(), kDesc + 8);
	for (uint32_t i = 0; i < 8; i++) {
		EXPECT_EQ(stub.recvs[kDesc + i].first, i);
		EXPECT_EQ(stub.recvs[kDesc + i].second.addr, stub.recvs[i].second.addr)
			<< "the same buffer goes back to the device";
	}
	rte_pktmbuf_free_bulk(spare, 3);
	stub.receive(8, 60);
	EXPECT_EQ(rx_burst(q, pkts, 32), 1) << "delivery resumes once mbufs are back";
	held.push_back(pkts[0]);
}

TEST_F(RxTest, ErrorAndRuntCompletionsKeepTheBuffer)
{
	make(1024);
	stub.receive(0, 60, IBV_WC_LOC_LEN_ERR);
	stub.receive(1, 10); /* shorter than an Ethernet header */
	stub.receive(2, 60);
	rte_mbuf *slot0 = q->mbufs[0];
	rte_mbuf *pkts[32];
	ASSERT_EQ(rx_burst(q, pkts, 32), 1);
	held.push_back(pkts[0]);
	EXPECT_EQ(q->c.wc_errors, 1u);
	EXPECT_EQ(q->c.runts, 1u);
	EXPECT_EQ(q->mbufs[0], slot0);
	EXPECT_EQ(stub.recvs.size(), kDesc + 3);
}

TEST_F(RxTest, GoodAndBadCompletionsInterleaved)
{
	make(1024);
	rte_mbuf *slot[5];
	for (int i = 0; i < 5; i++)
		slot[i] = q->mbufs[i];
	stub.receive(0, 60);
	stub.receive(1, 60, IBV_WC_LOC_LEN_ERR);
	stub.receive(2, 61);
	stub.receive(3, 5); /* runt */
	stub.receive(4, 62);
	rte_mbuf *pkts[32];
	ASSERT_EQ(rx_burst(q, pkts, 32), 3);
	held.assign(pkts, pkts + 3);
	EXPECT_EQ(pkts[0], slot[0]);
	EXPECT_EQ(pkts[1], slot[2]);
	EXPECT_EQ(pkts[2], slot[4]);
	EXPECT_EQ(pkts[1]->data_len, 61);
	EXPECT_EQ(pkts[2]->pkt_len, 62u);
	EXPECT_EQ(q->mbufs[1], slot[1]) << "an error keeps the slot's buffer";
	EXPECT_EQ(q->mbufs[3], slot[3]);
	EXPECT_NE(q->mbufs[0], slot[0]);
	EXPECT_EQ(q->c.wc_errors, 1u);
	EXPECT_EQ(q->c.runts, 1u);
	EXPECT_EQ(q->c.packets, 3u);
	EXPECT_EQ(stub.recv_calls, 2);
}

TEST_F(RxTest, FromAPoolWithACacheEveryFieldIsSet)
{
	make(1024, 64, 16);
	EXPECT_EQ(q->buf_off, sizeof(rte_mbuf) + 16 + RTE_PKTMBUF_HEADROOM - kGrhLen) << "16 bytes of private area";
	for (int round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < 32; i++)
			stub.receive((round * 32 + i) % kDesc, 100);
		rte_mbuf *pkts[32];
		ASSERT_EQ(rx_burst_fixed_lkey(q, pkts, 32), 32);
		for (rte_mbuf *m : pkts) {
			/* A recycled mbuf's stale fields must not leak into the delivered frame. */
			EXPECT_EQ(m->ol_flags, 0u);
			EXPECT_EQ(m->packet_type, 0u);
			EXPECT_EQ(m->nb_segs, 1);
			EXPECT_EQ(m->port, 3);
			EXPECT_EQ(m->data_off, RTE_PKTMBUF_HEADROOM);
			EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
			m->ol_flags = RTE_MBUF_F_RX_VLAN; /* dirty them before they are recycled */
			m->packet_type = RTE_PTYPE_L2_ETHER;
		}
		rte_pktmbuf_free_bulk(pkts, 32);
	}
	/* The last burst's reposted receives point 40 bytes before their new mbufs' data,
	 * with the pool's lkey (their slots have not been used since). */
	for (size_t i = stub.recvs.size() - 32; i < stub.recvs.size(); i++) {
		const auto &[slot, sge] = stub.recvs[i];
		EXPECT_EQ(sge.addr, rte_pktmbuf_mtod(q->mbufs[slot], uintptr_t) - kGrhLen);
		EXPECT_EQ(sge.lkey, 0x77u);
	}
}


} // namespace
