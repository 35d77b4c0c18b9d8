/* SPDX-License-Identifier: BSD-3-Clause */
// QP state machine, CQs and completion channels, IB link-layer mode, the ABI surface.
#include <poll.h>
#include <sys/epoll.h>

#include <atomic>

#include "verbs_fixture.h"

namespace softud_test {
namespace {

class QpState : public VerbsPair {};

ibv_qp* fresh_qp(Side& s) {
    ibv_qp_init_attr ia{};
    ia.send_cq = s.scq;
    ia.recv_cq = s.rcq;
    ia.qp_type = IBV_QPT_UD;
    ia.cap = {8, 8, 1, 1, 0};
    return ibv_create_qp(s.pd, &ia);
}

TEST_F(QpState, UdAttributeMaskRules) {
    ibv_qp* qp = fresh_qp(side_[0]);
    ASSERT_NE(qp, nullptr);
    EXPECT_EQ(qp->state, IBV_QPS_RESET);
    ibv_qp_attr a{};
    a.qp_state = IBV_QPS_INIT;
    a.port_num = 1;
    a.qkey = kQkey;
    // RESET -> INIT needs STATE, PKEY_INDEX, PORT, QKEY.
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT), EINVAL);
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_QKEY), EINVAL);
    // ... and nothing else.
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY |
                                         IBV_QP_SQ_PSN), EINVAL);
    a.port_num = 2;  // no such port
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY), EINVAL);
    a.port_num = 1;
    // RESET -> RTR skips a state.
    a.qp_state = IBV_QPS_RTR;
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), EINVAL);
    a.qp_state = IBV_QPS_INIT;
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY), 0);
    EXPECT_EQ(qp->state, IBV_QPS_INIT);
    // INIT -> RTR needs STATE only; address-vector attributes are for connected QPs.
    a.qp_state = IBV_QPS_RTR;
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV), EINVAL);
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PATH_MTU), EINVAL);
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    EXPECT_EQ(qp->state, IBV_QPS_RTR);
    // RTR -> RTS needs SQ_PSN.
    a.qp_state = IBV_QPS_RTS;
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), EINVAL);
    EXPECT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT), EINVAL);
    a.sq_psn = 7;
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), 0);
    EXPECT_EQ(qp->state, IBV_QPS_RTS);
    ibv_qp_attr q{};
    ibv_qp_init_attr qi{};
    ASSERT_EQ(ibv_query_qp(qp, &q, IBV_QP_STATE | IBV_QP_QKEY | IBV_QP_SQ_PSN, &qi), 0);
    EXPECT_EQ(q.qp_state, IBV_QPS_RTS);
    EXPECT_EQ(q.qkey, kQkey);
    EXPECT_EQ(q.sq_psn, 7u);
    // Any state -> ERR and -> RESET with STATE only.
    a.qp_state = IBV_QPS_ERR;
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    EXPECT_EQ(qp->state, IBV_QPS_ERR);
    a.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    EXPECT_EQ(qp->state, IBV_QPS_RESET);
    // ... including from the same state (RESET -> RESET, ERR -> ERR), as the verbs rules allow.
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    EXPECT_EQ(qp->state, IBV_QPS_RESET);
    a.qp_state = IBV_QPS_ERR;
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    ASSERT_EQ(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
    EXPECT_EQ(qp->state, IBV_QPS_ERR);
    EXPECT_EQ(ibv_destroy_qp(qp), 0);
}

// A completion polled after its QP went through RESET must not count in the new send queue.
TEST_F(QpState, CompletionsPolledAfterResetDoNotRetireNewSlots) {
    Side& a = side_[0];
    for (uint64_t i = 0; i < 10; ++i)
        ASSERT_EQ(send(a, 0, 8, i), 0);  // completions left unpolled
    ibv_qp_attr r{};
    r.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    ASSERT_EQ(to_state(a.qp, IBV_QPS_RTS), 0);
    EXPECT_EQ(poll(a.scq, 10).size(), 10u);  // the old ones, still pollable
    // The reset send queue holds its full 64 WRs, then refuses the 65th.
    for (uint64_t i = 0; i < 64; ++i)
        ASSERT_EQ(send(a, 0, 8, 100 + i), 0) << "WR " << i;
    EXPECT_EQ(send(a, 0, 8, 999), ENOMEM);
    EXPECT_EQ(poll(a.scq, 64).size(), 64u);
    EXPECT_EQ(send(a, 0, 8, 1000), 0);
}

TEST_F(QpState, QpnsAreDistinctAndCqInUseCannotBeDestroyed) {
    ibv_qp* q1 = fresh_qp(side_[0]);
    ibv_qp* q2 = fresh_qp(side_[0]);
    ASSERT_NE(q1, nullptr);
    ASSERT_NE(q2, nullptr);
    EXPECT_NE(q1->qp_num, q2->qp_num);
    EXPECT_NE(q1->qp_num, side_[0].qp->qp_num);
    EXPECT_EQ(ibv_destroy_cq(side_[0].scq), EBUSY);
    ibv_destroy_qp(q1);
    ibv_destroy_qp(q2);
}

class Cq : public VerbsPair {
    QpOpts opts() const override {
        QpOpts o;
        o.cqe = 2;
        return o;
    }
};

TEST_F(Cq, OverrunRaisesCqErrAndTheCqIsUnusable) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(b.rcq->cqe, 2);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(post_recv(b, i * 256, 256, i), 0);
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(send(a, 0, 8, i), 0);
        ibv_wc wc;
        while (ibv_poll_cq(a.scq, 1, &wc) == 0) {
        }
    }
    // Let the receiver drain all three: the third overruns the 2-entry CQ.
    int rc = 0;
    for (int i = 0; i < 200 && rc >= 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ibv_wc wc[1];
        // Polling the *send* CQ drains the device socket without emptying the receive CQ.
        ASSERT_GE(ibv_poll_cq(b.scq, 1, wc), 0);
        pollfd p{b.ctx->async_fd, POLLIN, 0};
        if (::poll(&p, 1, 0) == 1)
            break;
    }
    int fl = fcntl(b.ctx->async_fd, F_GETFL);
    ASSERT_EQ(fcntl(b.ctx->async_fd, F_SETFL, fl | O_NONBLOCK), 0);
    ibv_async_event ev{};
    ASSERT_EQ(ibv_get_async_event(b.ctx, &ev), 0);
    EXPECT_EQ(ev.event_type, IBV_EVENT_CQ_ERR);
    EXPECT_EQ(ev.element.cq, b.rcq);
    ibv_ack_async_event(&ev);
    EXPECT_EQ(ibv_get_async_event(b.ctx, &ev), -1);
    EXPECT_EQ(errno, EAGAIN);
    ibv_wc wc[4];
    EXPECT_LT(ibv_poll_cq(b.rcq, 4, wc), 0);
}

class Channel : public VerbsPair {
    QpOpts opts() const override {
        QpOpts o;
        o.channel = true;
        return o;
    }
};

TEST_F(Channel, FdIsPollableAndNonBlocking) {
    Side& a = side_[0];
    Side& b = side_[1];
    int fd = b.ch->fd;
    int fl = fcntl(fd, F_GETFL);
    ASSERT_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
    ibv_cq* cq = nullptr;
    void* cctx = nullptr;
    EXPECT_EQ(ibv_get_cq_event(b.ch, &cq, &cctx), -1);
    EXPECT_EQ(errno, EAGAIN);
    ASSERT_EQ(ibv_req_notify_cq(b.rcq, 0), 0);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ASSERT_EQ(send(a, 0, 8, 1), 0);
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    // The datagram may need a drain to become an event: retry while non-blocking says EAGAIN.
    int rc = -1;
    for (int i = 0; i < 1000 && rc != 0; ++i) {
        rc = ibv_get_cq_event(b.ch, &cq, &cctx);
        if (rc) {
            ASSERT_EQ(errno, EAGAIN);
        }
    }
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(cq, b.rcq);
    ibv_ack_cq_events(cq, 1);
    ibv_wc wc;
    EXPECT_EQ(ibv_poll_cq(b.rcq, 1, &wc), 1);
    // Not re-armed: no further event for a second message.
    ASSERT_EQ(post_recv(b, 0, 4096, 2), 0);
    ASSERT_EQ(send(a, 0, 8, 2), 0);
    auto got = poll(b.rcq, 1);
    EXPECT_EQ(got.size(), 1u);
    EXPECT_EQ(ibv_get_cq_event(b.ch, &cq, &cctx), -1);
}

TEST_F(Channel, BlockingGetCqEventWakesOnArrival) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(ibv_req_notify_cq(b.rcq, 0), 0);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ASSERT_EQ(send(a, 0, 8, 1), 0);
    });
    ibv_cq* cq = nullptr;
    void* cctx = nullptr;
    ASSERT_EQ(ibv_get_cq_event(b.ch, &cq, &cctx), 0);
    EXPECT_EQ(cq, b.rcq);
    ibv_ack_cq_events(cq, 1);
    sender.join();
}

TEST_F(Channel, SolicitedOnlyArmingIgnoresUnsolicited) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(fcntl(b.ch->fd, F_SETFL, fcntl(b.ch->fd, F_GETFL) | O_NONBLOCK), 0);
    ASSERT_EQ(ibv_req_notify_cq(b.rcq, 1), 0);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ASSERT_EQ(post_recv(b, 4096, 4096, 2), 0);
    ASSERT_EQ(send(a, 0, 8, 1), 0);
    ibv_cq* cq;
    void* cctx;
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(ibv_get_cq_event(b.ch, &cq, &cctx), -1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(send(a, 0, 8, 2, IBV_SEND_SIGNALED | IBV_SEND_SOLICITED), 0);
    int rc = -1;
    for (int i = 0; i < 1000 && rc; ++i) {
        rc = ibv_get_cq_event(b.ch, &cq, &cctx);
        if (rc)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(rc, 0);
    ibv_ack_cq_events(cq, 1);
}

TEST_F(Channel, DestroyCqWaitsForAcknowledgedEvents) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(ibv_req_notify_cq(b.scq, 0), 0);
    ASSERT_EQ(send(b, 0, 8, 1), 0);  // send completions fire the armed send CQ
    ibv_cq* cq = nullptr;
    void* cctx = nullptr;
    ASSERT_EQ(ibv_get_cq_event(b.ch, &cq, &cctx), 0);
    ASSERT_EQ(cq, b.scq);
    ibv_wc wc;
    ASSERT_EQ(ibv_poll_cq(b.scq, 1, &wc), 1);
    // Detach the CQ from its QP so it can be destroyed.
    ibv_destroy_qp(b.qp);
    b.qp = nullptr;
    std::atomic<bool> done{false};
    std::thread t([&] {
        EXPECT_EQ(ibv_destroy_cq(cq), 0);
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(done.load());
    ibv_ack_cq_events(cq, 1);
    t.join();
    EXPECT_TRUE(done.load());
    b.scq = nullptr;
    (void)a;
}

// InfiniBand link-layer mode: LID addressing, no GRH unless one is sent.
class IbMode : public VerbsPair {
    const char* devices() const override { return "ia=127.0.10.2:ib,ib=127.0.10.3:ib"; }
    bool ib_mode() const override { return true; }
};

TEST_F(IbMode, LidAddressingWithoutGrh) {
    Side& a = side_[0];
    Side& b = side_[1];
    ibv_port_attr pa{};
    ASSERT_EQ(ibv_query_port(a.ctx, 1, &pa), 0);
    EXPECT_EQ(pa.link_layer, IBV_LINK_LAYER_INFINIBAND);
    EXPECT_EQ(pa.lid, 0x0a02);  // low 16 bits of 127.0.10.2
    std::memset(b.buf.data(), 0xcc, 40);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ASSERT_EQ(send(a, 0, 20, 1), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_FALSE(wc[0].wc_flags & IBV_WC_GRH);
    EXPECT_EQ(wc[0].byte_len, 60u);  // the 40 GRH bytes are reserved all the same
    EXPECT_EQ(wc[0].slid, 0x0a02);
    EXPECT_EQ(b.buf[0], 0xcc);       // and left untouched
    ibv_ah_attr ah{};
    ASSERT_EQ(ibv_init_ah_from_wc(b.ctx, 1, &wc[0], reinterpret_cast<ibv_grh*>(b.buf.data()), &ah), 0);
    EXPECT_EQ(ah.dlid, 0x0a02);
    EXPECT_EQ(ah.is_global, 0);
}

TEST_F(IbMode, GrhDeliveredWhenSent) {
    Side& a = side_[0];
    Side& b = side_[1];
    ib_grh_ = true;
    ibv_ah* gah = make_ah(a, b, true);
    ASSERT_NE(gah, nullptr);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 20, 1);
    wr.wr.ud.ah = gah;
    ibv_send_wr* bad;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_TRUE(wc[0].wc_flags & IBV_WC_GRH);
    EXPECT_EQ(wc[0].byte_len, 60u);
    const auto* grh = reinterpret_cast<const ibv_grh*>(b.buf.data());
    ibv_gid ga;
    ASSERT_EQ(ibv_query_gid(a.ctx, 1, 0, &ga), 0);
    EXPECT_EQ(std::memcmp(grh->sgid.raw, ga.raw, 16), 0);
    EXPECT_EQ(ntohl(grh->version_tclass_flow) >> 28, 6u);
    ibv_destroy_ah(gah);
}

class Abi : public VerbsPair {};

TEST_F(Abi, UnsupportedVerbsFailPerManPage) {
    Side& a = side_[0];
    ibv_srq_init_attr sa{};
    sa.attr.max_wr = 4;
    sa.attr.max_sge = 1;
    errno = 0;
    EXPECT_EQ(ibv_create_srq(a.pd, &sa), nullptr);
    EXPECT_EQ(errno, EOPNOTSUPP);
    EXPECT_EQ(ibv_resize_cq(a.scq, 8), EOPNOTSUPP);
    ibv_gid g{};
    EXPECT_EQ(ibv_attach_mcast(a.qp, &g, 0), EOPNOTSUPP);
    errno = 0;
    EXPECT_EQ(ibv_alloc_mw(a.pd, IBV_MW_TYPE_1), nullptr);  // ops table entry left empty
}

TEST_F(Abi, StructsProgramsReadDirectly) {
    Side& a = side_[0];
    EXPECT_EQ(a.ctx->device->transport_type, IBV_TRANSPORT_IB);
    EXPECT_NE(std::strstr(a.ctx->device->ibdev_path, "sa"), nullptr);
    EXPECT_EQ(a.scq->cqe, 256);
    EXPECT_EQ(a.scq->channel, nullptr);
    EXPECT_NE(a.mr->lkey, 0u);
    EXPECT_EQ(a.qp->state, IBV_QPS_RTS);
    EXPECT_GE(a.qp->qp_num, 0x11u);
    // verbs_context is real: the inline helpers find query_port/query_device_ex through it.
    verbs_context* v = verbs_get_ctx(a.ctx);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->sz, sizeof(verbs_context));
    EXPECT_NE(verbs_get_ctx_op(a.ctx, query_device_ex), nullptr);
    ibv_device_attr_ex ex{};
    ASSERT_EQ(ibv_query_device_ex(a.ctx, nullptr, &ex), 0);
    EXPECT_EQ(ex.orig_attr.phys_port_cnt, 1);
    // The caller's struct size is honoured: a short port_attr is not overrun.
    struct {
        uint8_t attr[offsetof(ibv_port_attr, lid)];
        uint8_t canary[64];
    } small;
    std::memset(&small, 0xab, sizeof(small));
    ASSERT_EQ(v->query_port(a.ctx, 1, reinterpret_cast<ibv_port_attr*>(&small), sizeof(small.attr)), 0);
    for (uint8_t c : small.canary)
        ASSERT_EQ(c, 0xab);
    struct {
        uint8_t attr[sizeof(ibv_device_attr)];
        uint8_t canary[64];
    } dsmall;
    std::memset(&dsmall, 0xab, sizeof(dsmall));
    ASSERT_EQ(v->query_device_ex(a.ctx, nullptr, reinterpret_cast<ibv_device_attr_ex*>(&dsmall),
                                 sizeof(dsmall.attr)), 0);
    for (uint8_t c : dsmall.canary)
        ASSERT_EQ(c, 0xab);
    ibv_gid_entry ge{};
    ASSERT_EQ(ibv_query_gid_ex(a.ctx, 1, 0, &ge, 0), 0);
    EXPECT_EQ(ge.gid_type, IBV_GID_TYPE_ROCE_V2);
    EXPECT_EQ(ge.gid.raw[10], 0xff);
    EXPECT_EQ(ge.gid.raw[11], 0xff);
    EXPECT_EQ(std::memcmp(ge.gid.raw + 12, &a.addr_be, 4), 0);
}

// DPDK lcores poll different CQs/QPs of one context concurrently.
class Threads : public VerbsPair {};

TEST_F(Threads, ConcurrentQpsOnOneContext) {
    constexpr int kThreads = 2, kMsgs = 2000;
    Side& a = side_[0];
    Side& b = side_[1];
    struct Lane {
        ibv_cq *scq, *rcq;
        ibv_qp *sqp, *rqp;
    } lanes[kThreads];
    for (auto& l : lanes) {
        l.scq = ibv_create_cq(a.ctx, 512, nullptr, nullptr, 0);
        l.rcq = ibv_create_cq(b.ctx, 512, nullptr, nullptr, 0);
        ibv_qp_init_attr ia{};
        ia.qp_type = IBV_QPT_UD;
        ia.cap = {64, 256, 1, 1, 0};
        ia.sq_sig_all = 1;
        ia.send_cq = ia.recv_cq = l.scq;
        l.sqp = ibv_create_qp(a.pd, &ia);
        ia.send_cq = ia.recv_cq = l.rcq;
        l.rqp = ibv_create_qp(b.pd, &ia);
        ASSERT_TRUE(l.scq && l.rcq && l.sqp && l.rqp);
        ASSERT_EQ(to_state(l.sqp, IBV_QPS_RTS), 0);
        ASSERT_EQ(to_state(l.rqp, IBV_QPS_RTS), 0);
    }
    std::atomic<int> received[kThreads] = {};
    std::atomic<int> ready{0};  // senders start once every receiver has its receives posted
    auto rx = [&](int t) {
        Lane& l = lanes[t];
        ibv_sge sge{reinterpret_cast<uintptr_t>(b.buf.data() + t * 32768), 128, b.mr->lkey};
        ibv_recv_wr wr{};
        wr.sg_list = &sge;
        wr.num_sge = 1;
        ibv_recv_wr* bad;
        for (int i = 0; i < 256; ++i)
            ASSERT_EQ(ibv_post_recv(l.rqp, &wr, &bad), 0);
        ++ready;
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (received[t] < kMsgs && std::chrono::steady_clock::now() < end) {
            ibv_wc wc[32];
            int n = ibv_poll_cq(l.rcq, 32, wc);
            ASSERT_GE(n, 0);
            for (int i = 0; i < n; ++i) {
                ASSERT_EQ(wc[i].status, IBV_WC_SUCCESS);
                ASSERT_EQ(wc[i].qp_num, l.rqp->qp_num);
                ++received[t];
                ASSERT_EQ(ibv_post_recv(l.rqp, &wr, &bad), 0);
            }
        }
    };
    auto tx = [&](int t) {
        Lane& l = lanes[t];
        ibv_sge sge{reinterpret_cast<uintptr_t>(a.buf.data() + t * 32768), 64, a.mr->lkey};
        ibv_send_wr wr{};
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.wr.ud.ah = a.ah;
        wr.wr.ud.remote_qpn = l.rqp->qp_num;
        wr.wr.ud.remote_qkey = kQkey;
        int outstanding = 0;
        auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (ready < kThreads && std::chrono::steady_clock::now() < give_up)
            std::this_thread::yield();
        for (int sent = 0; sent < kMsgs && std::chrono::steady_clock::now() < give_up;) {
            ibv_send_wr* bad;
            if (outstanding < 32) {
                ASSERT_EQ(ibv_post_send(l.sqp, &wr, &bad), 0);
                ++sent;
                ++outstanding;
            }
            ibv_wc wc[16];
            int n = ibv_poll_cq(l.scq, 16, wc);
            ASSERT_GE(n, 0);
            outstanding -= n;
            // Flow control: never more than half the receiver's 256 posted receives in flight.
            while (sent - received[t] > 128 && std::chrono::steady_clock::now() < give_up)
                std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    };
    std::vector<std::thread> th;
    for (int t = 0; t < kThreads; ++t) {
        th.emplace_back(rx, t);
        th.emplace_back(tx, t);
    }
    for (auto& x : th)
        x.join();
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(received[t].load(), kMsgs) << "lane " << t;
    for (auto& l : lanes) {
        ibv_destroy_qp(l.sqp);
        ibv_destroy_qp(l.rqp);
        ibv_destroy_cq(l.scq);
        ibv_destroy_cq(l.rcq);
    }
}

}  // namespace
}  // namespace softud_test
