/* SPDX-License-Identifier: BSD-3-Clause */
// Send-side UD rules (ud-semantics.md "Send side"), one test each.
#include "verbs_fixture.h"

namespace softud_test {
namespace {

class Send : public VerbsPair {};

class SendMtu1024 : public VerbsPair {
    const char* devices() const override { return "sa=127.0.10.2:mtu=1024,sb=127.0.10.3:mtu=1024"; }
};

class SendUnsignaled : public VerbsPair {
    QpOpts opts() const override {
        QpOpts o;
        o.max_send_wr = 4;
        o.sig_all = false;
        return o;
    }
};

class SendInline : public VerbsPair {
    QpOpts opts() const override {
        QpOpts o;
        o.max_inline = 64;
        return o;
    }
};

TEST_F(SendMtu1024, LargerThanPathMtuCompletesSuccessfullyAndSendsNothing) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 8192, 1), 0);
    ASSERT_EQ(send(a, 0, 1025, 11), 0);
    auto wc = poll(a.scq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 11u);
    EXPECT_EQ(wc[0].status, IBV_WC_SUCCESS);
    EXPECT_EQ(counter(a, "tx_too_long"), 1u);
    EXPECT_EQ(counter(a, "tx_packets"), 0u);
    settle(b);
    // Exactly the MTU goes through.
    ASSERT_EQ(send(a, 0, 1024, 12), 0);
    auto r = poll(b.rcq, 1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].byte_len, 1064u);
    ibv_port_attr pa{};
    ASSERT_EQ(ibv_query_port(a.ctx, 1, &pa), 0);
    EXPECT_EQ(pa.active_mtu, IBV_MTU_1024);
}

TEST_F(Send, CompletionsArriveInPostingOrder) {
    Side& a = side_[0];
    std::vector<ibv_send_wr> wr(10);
    std::vector<ibv_sge> sge(10);
    for (int i = 0; i < 10; ++i) {
        make_send(a, wr[i], sge[i], 0, 8, 100 + i);
        wr[i].next = i < 9 ? &wr[i + 1] : nullptr;
    }
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, wr.data(), &bad), 0);
    auto wc = poll(a.scq, 10);
    ASSERT_EQ(wc.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(wc[i].wr_id, 100u + i);
        EXPECT_EQ(wc[i].opcode, IBV_WC_SEND);
    }
    // One list, one doorbell: one sendmmsg, or one shared-memory ring publication (same host).
    EXPECT_EQ(counter(a, "sendmmsg_calls") + counter(a, "shm_tx_batches"), 1u);
    EXPECT_EQ(counter(a, "post_send_wrs"), 10u);
}

TEST_F(SendUnsignaled, OnlySignaledWrsComplete) {
    Side& a = side_[0];
    ASSERT_EQ(send(a, 0, 8, 1, 0), 0);
    ASSERT_EQ(send(a, 0, 8, 2, IBV_SEND_SIGNALED), 0);
    ASSERT_EQ(send(a, 0, 8, 3, 0), 0);
    auto wc = poll(a.scq, 2, 100);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 2u);
    EXPECT_EQ(counter(a, "signaled_wrs"), 1u);
    EXPECT_EQ(counter(a, "tx_packets"), 3u);
}

TEST_F(SendUnsignaled, SlotsOfUnsignaledWrsFreeOnlyWhenALaterCompletionIsPolled) {
    Side& a = side_[0];
    ibv_qp_attr qa;
    ibv_qp_init_attr qi;
    ASSERT_EQ(ibv_query_qp(a.qp, &qa, IBV_QP_CAP, &qi), 0);
    ASSERT_EQ(qi.cap.max_send_wr, 4u);
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(send(a, 0, 8, i, 0), 0) << i;
    // Queue full: nothing signaled, nothing can be reclaimed.
    EXPECT_EQ(send(a, 0, 8, 4, IBV_SEND_SIGNALED), ENOMEM);
    // Reset the queue accounting by completing a signaled WR after 3 unsignaled ones.
    ibv_qp_attr r{};
    r.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    ASSERT_EQ(to_state(a.qp, IBV_QPS_RTS), 0);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(send(a, 0, 8, 10 + i, 0), 0);
    ASSERT_EQ(send(a, 0, 8, 13, IBV_SEND_SIGNALED), 0);
    EXPECT_EQ(send(a, 0, 8, 14, 0), ENOMEM);  // the completion is not polled yet
    auto wc = poll(a.scq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 13u);
    for (int i = 0; i < 4; ++i)  // all four slots are free again
        EXPECT_EQ(send(a, 0, 8, 20 + i, i == 3 ? IBV_SEND_SIGNALED : 0), 0) << i;
}

TEST_F(SendUnsignaled, FullQueueReturnsEnomemWithBadWrAtFirstUnposted) {
    Side& a = side_[0];
    Side& b = side_[1];
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(post_recv(b, i * 128, 128, i), 0);
    std::vector<ibv_send_wr> wr(6);
    std::vector<ibv_sge> sge(6);
    for (int i = 0; i < 6; ++i) {
        make_send(a, wr[i], sge[i], 0, 8, i, IBV_SEND_SIGNALED);
        wr[i].next = i < 5 ? &wr[i + 1] : nullptr;
    }
    ibv_send_wr* bad = nullptr;
    EXPECT_EQ(ibv_post_send(a.qp, wr.data(), &bad), ENOMEM);
    EXPECT_EQ(bad, &wr[4]);
    EXPECT_EQ(poll(a.scq, 6, 200).size(), 4u);  // the first four were posted
    EXPECT_EQ(poll(b.rcq, 6, 200).size(), 4u);
}

TEST_F(SendInline, InlineDataIsCopiedAtPostTimeAndLkeyIgnored) {
    Side& a = side_[0];
    Side& b = side_[1];
    ibv_qp_attr qa;
    ibv_qp_init_attr qi;
    ASSERT_EQ(ibv_query_qp(a.qp, &qa, IBV_QP_CAP, &qi), 0);
    ASSERT_GE(qi.cap.max_inline_data, 64u);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    uint8_t stack_data[32];
    std::memset(stack_data, 0x42, sizeof(stack_data));
    ibv_sge sge{reinterpret_cast<uintptr_t>(stack_data), sizeof(stack_data), 0xdeadbeef};
    ibv_send_wr wr{};
    wr.wr_id = 1;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_SEND;
    wr.send_flags = IBV_SEND_INLINE | IBV_SEND_SIGNALED;
    wr.wr.ud.ah = a.ah;
    wr.wr.ud.remote_qpn = b.qp->qp_num;
    wr.wr.ud.remote_qkey = kQkey;
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    std::memset(stack_data, 0x99, sizeof(stack_data));  // after post: must not matter
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    for (int i = 0; i < 32; ++i)
        ASSERT_EQ(b.buf[40 + i], 0x42);
    auto swc = poll(a.scq, 1);
    ASSERT_EQ(swc.size(), 1u);
    EXPECT_EQ(swc[0].status, IBV_WC_SUCCESS);
}

TEST_F(SendInline, MoreThanMaxInlineIsEinval) {
    Side& a = side_[0];
    ibv_qp_attr qa;
    ibv_qp_init_attr qi;
    ASSERT_EQ(ibv_query_qp(a.qp, &qa, IBV_QP_CAP, &qi), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, qi.cap.max_inline_data + 1, 1, IBV_SEND_INLINE | IBV_SEND_SIGNALED);
    ibv_send_wr* bad = nullptr;
    EXPECT_EQ(ibv_post_send(a.qp, &wr, &bad), EINVAL);
    EXPECT_EQ(bad, &wr);
    EXPECT_EQ(poll(a.scq, 1, 50).size(), 0u);
}

TEST_F(Send, CreateQpGrantsAtLeastTheRequestedCaps) {
    Side& a = side_[0];
    ibv_qp_init_attr ia{};
    ia.send_cq = a.scq;
    ia.recv_cq = a.rcq;
    ia.qp_type = IBV_QPT_UD;
    ia.cap = {37, 19, 3, 2, 100};
    ibv_qp* qp = ibv_create_qp(a.pd, &ia);
    ASSERT_NE(qp, nullptr);
    EXPECT_GE(ia.cap.max_send_wr, 37u);
    EXPECT_GE(ia.cap.max_recv_wr, 19u);
    EXPECT_GE(ia.cap.max_send_sge, 3u);
    EXPECT_GE(ia.cap.max_recv_sge, 2u);
    EXPECT_GE(ia.cap.max_inline_data, 100u);
    EXPECT_EQ(ibv_destroy_qp(qp), 0);
    ia.qp_type = IBV_QPT_RC;  // softud is UD only
    EXPECT_EQ(ibv_create_qp(a.pd, &ia), nullptr);
    EXPECT_EQ(errno, EOPNOTSUPP);
}

TEST_F(Send, BadLkeyIsLocalProtectionErrorAndFlushesTheRest) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(a, 0, 4096, 50), 0);  // outstanding receive on the failing QP
    ibv_pd* other_pd = ibv_alloc_pd(a.ctx);
    ASSERT_NE(other_pd, nullptr);
    ibv_mr* other = ibv_reg_mr(other_pd, a.buf.data(), 4096, IBV_ACCESS_LOCAL_WRITE);
    ASSERT_NE(other, nullptr);
    std::vector<ibv_send_wr> wr(4);
    std::vector<ibv_sge> sge(4);
    for (int i = 0; i < 4; ++i) {
        make_send(a, wr[i], sge[i], 0, 8, i);
        wr[i].next = i < 3 ? &wr[i + 1] : nullptr;
    }
    sge[1].lkey = 0x7777777;     // unknown
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, wr.data(), &bad), 0);
    auto wc = poll(a.scq, 4);
    ASSERT_EQ(wc.size(), 4u);
    EXPECT_EQ(wc[0].status, IBV_WC_SUCCESS);
    EXPECT_EQ(wc[1].status, IBV_WC_LOC_PROT_ERR);
    EXPECT_EQ(wc[2].status, IBV_WC_WR_FLUSH_ERR);
    EXPECT_EQ(wc[3].status, IBV_WC_WR_FLUSH_ERR);
    EXPECT_EQ(a.qp->state, IBV_QPS_ERR);
    auto rwc = poll(a.rcq, 1);
    ASSERT_EQ(rwc.size(), 1u);
    EXPECT_EQ(rwc[0].wr_id, 50u);
    EXPECT_EQ(rwc[0].status, IBV_WC_WR_FLUSH_ERR);
    EXPECT_EQ(poll(b.rcq, 1, 50).size(), 0u);

    // Other PD and out of range fail the same way on a fresh QP.
    ibv_qp_attr r{};
    r.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    ASSERT_EQ(to_state(a.qp, IBV_QPS_RTS), 0);
    make_send(a, wr[0], sge[0], 0, 8, 60);
    sge[0].lkey = other->lkey;
    ASSERT_EQ(ibv_post_send(a.qp, &wr[0], &bad), 0);
    wc = poll(a.scq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].status, IBV_WC_LOC_PROT_ERR);
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    ASSERT_EQ(to_state(a.qp, IBV_QPS_RTS), 0);
    make_send(a, wr[0], sge[0], kBufLen - 4, 8, 61);  // runs past the MR
    ASSERT_EQ(ibv_post_send(a.qp, &wr[0], &bad), 0);
    wc = poll(a.scq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].status, IBV_WC_LOC_PROT_ERR);
    ibv_dereg_mr(other);
    ibv_dealloc_pd(other_pd);
}

TEST_F(Send, PostBeforeRtsIsEinval) {
    Side& a = side_[0];
    ibv_qp_attr r{};
    r.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    EXPECT_EQ(send(a, 0, 8, 1), EINVAL);
    EXPECT_EQ(post_recv(a, 0, 128, 1), EINVAL);  // no receives in RESET either
    ASSERT_EQ(to_state(a.qp, IBV_QPS_INIT), 0);
    EXPECT_EQ(send(a, 0, 8, 1), EINVAL);
    r.qp_state = IBV_QPS_RTR;
    ASSERT_EQ(ibv_modify_qp(a.qp, &r, IBV_QP_STATE), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 8, 1);
    ibv_send_wr* bad = nullptr;
    EXPECT_EQ(ibv_post_send(a.qp, &wr, &bad), EINVAL);
    EXPECT_EQ(bad, &wr);
}

TEST_F(Send, RoceAddressHandleRequiresGrh) {
    Side& a = side_[0];
    ibv_ah_attr at{};
    at.port_num = 1;
    at.dlid = 3;
    at.is_global = 0;
    errno = 0;
    EXPECT_EQ(ibv_create_ah(a.pd, &at), nullptr);
    EXPECT_EQ(errno, EINVAL);
    at.is_global = 1;
    ibv_gid g{};
    g.raw[0] = 0xfe;  // not IPv4-mapped
    at.grh.dgid = g;
    EXPECT_EQ(ibv_create_ah(a.pd, &at), nullptr);
    EXPECT_EQ(errno, EINVAL);
}

}  // namespace
}  // namespace softud_test
