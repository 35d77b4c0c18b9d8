/* SPDX-License-Identifier: BSD-3-Clause */
// Receive-side UD rules (ud-semantics.md "Receive side"), one test each.
#include <netinet/ip.h>

#include "verbs_fixture.h"

namespace softud_test {
namespace {

namespace w = softud::wire;

class Receive : public VerbsPair {};

uint16_t ip_checksum(const uint8_t* h) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (h[i] << 8) | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

TEST_F(Receive, GrhInFirst40BytesAndByteLenCountsThem) {
    Side& a = side_[0];
    Side& b = side_[1];
    std::memset(b.buf.data(), 0xee, 200);
    for (int i = 0; i < 100; ++i)
        a.buf[i] = static_cast<uint8_t>(i);
    ASSERT_EQ(post_recv(b, 0, 40 + 100, 7), 0);
    ASSERT_EQ(send(a, 0, 100, 1), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].status, IBV_WC_SUCCESS);
    EXPECT_EQ(wc[0].opcode, IBV_WC_RECV);
    EXPECT_EQ(wc[0].wr_id, 7u);
    EXPECT_EQ(wc[0].byte_len, 140u);
    EXPECT_TRUE(wc[0].wc_flags & IBV_WC_GRH);
    EXPECT_FALSE(wc[0].wc_flags & IBV_WC_WITH_IMM);
    EXPECT_EQ(wc[0].src_qp, a.qp->qp_num);
    EXPECT_EQ(wc[0].qp_num, b.qp->qp_num);
    EXPECT_EQ(wc[0].slid, 0);
    EXPECT_EQ(wc[0].sl, 0);
    // Bytes 0-19 zero, 20-39 an IPv4 header with a valid checksum, then the payload.
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(b.buf[i], 0) << i;
    const uint8_t* ip = b.buf.data() + 20;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(ip[9], IPPROTO_UDP);
    EXPECT_EQ(ip_checksum(ip), 0xffff);
    EXPECT_EQ(std::memcmp(ip + 12, &a.addr_be, 4), 0);
    EXPECT_EQ(std::memcmp(ip + 16, &b.addr_be, 4), 0);
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(b.buf[40 + i], i);
    EXPECT_EQ(b.buf[140], 0xee);  // nothing written past byte_len
    // ibv_init_ah_from_wc recovers the sender from the GRH.
    ibv_ah_attr ah{};
    ASSERT_EQ(ibv_init_ah_from_wc(b.ctx, 1, &wc[0], reinterpret_cast<ibv_grh*>(b.buf.data()), &ah), 0);
    EXPECT_EQ(ah.is_global, 1);
    ibv_gid ga;
    ASSERT_EQ(ibv_query_gid(a.ctx, 1, 0, &ga), 0);
    EXPECT_EQ(std::memcmp(ah.grh.dgid.raw, ga.raw, 16), 0);
}

TEST_F(Receive, SendWithImmediate) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 8, 2);
    wr.opcode = IBV_WR_SEND_WITH_IMM;
    wr.imm_data = htonl(0xcafe1234);
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_TRUE(wc[0].wc_flags & IBV_WC_WITH_IMM);
    EXPECT_TRUE(wc[0].wc_flags & IBV_WC_GRH);
    EXPECT_EQ(ntohl(wc[0].imm_data), 0xcafe1234u);
    EXPECT_EQ(wc[0].byte_len, 48u);
}

TEST_F(Receive, QkeyMismatchIsDroppedSilently) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 16, 2);
    wr.wr.ud.remote_qkey = kQkey + 1;
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    EXPECT_EQ(poll(a.scq, 1).size(), 1u);  // the sender completes normally
    settle(b);
    EXPECT_EQ(counter(b, "drop_qkey"), 1u);
    EXPECT_EQ(counter(b, "rx_packets"), 0u);
    ibv_port_attr pa{};
    ASSERT_EQ(ibv_query_port(b.ctx, 1, &pa), 0);
    EXPECT_EQ(pa.qkey_viol_cntr, 1u);
}

TEST_F(Receive, RemoteQkeyWithMsbSendsTheQpsOwnQkey) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 16, 2);
    wr.wr.ud.remote_qkey = 0x80000000u | 0x0badbad0u;  // a's own Q_Key (kQkey) must be used
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].status, IBV_WC_SUCCESS);
    EXPECT_EQ(counter(b, "drop_qkey"), 0u);
}

TEST_F(Receive, PkeyMismatchIsDroppedSilently) {
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    uint32_t from = inet_addr("127.0.10.9");
    w::UdHeader ud;
    ud.dest_qpn = b.qp->qp_num;
    ud.qkey = kQkey;
    ud.src_qpn = 0x77;
    ud.pkey = 0x1234;  // another partition
    send_raw(b, from, craft(b, from, ud, std::vector<uint8_t>(32, 1)));
    settle(b);
    EXPECT_EQ(counter(b, "drop_pkey"), 1u);
    // Same partition, limited membership: accepted because this port is a full member.
    ud.pkey = 0x7fff;
    send_raw(b, from, craft(b, from, ud, std::vector<uint8_t>(32, 2)));
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].src_qp, 0x77u);
    EXPECT_EQ(b.buf[40], 2);
    ibv_port_attr pa{};
    ASSERT_EQ(ibv_query_port(b.ctx, 1, &pa), 0);
    EXPECT_EQ(pa.bad_pkey_cntr, 1u);
}

TEST_F(Receive, NoReceivePostedIsDroppedSilently) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(send(a, 0, 16, 1), 0);
    settle(b);
    EXPECT_EQ(counter(b, "drop_no_recv"), 1u);
    // The dropped message is gone: a receive posted now only gets the next one.
    ASSERT_EQ(post_recv(b, 0, 4096, 9), 0);
    a.buf[0] = 0x5a;
    ASSERT_EQ(send(a, 0, 16, 2), 0);
    auto wc = poll(b.rcq, 2, 200);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 9u);
    EXPECT_EQ(b.buf[40], 0x5a);
}

TEST_F(Receive, UnknownDestinationQpnIsDroppedSilently) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    ibv_send_wr wr;
    ibv_sge sge;
    make_send(a, wr, sge, 0, 16, 2);
    wr.wr.ud.remote_qpn = b.qp->qp_num + 1000;
    ibv_send_wr* bad = nullptr;
    ASSERT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    settle(b);
    EXPECT_EQ(counter(b, "drop_unknown_qpn"), 1u);
}

TEST_F(Receive, QpNotInRtrOrRtsDropsSilently) {
    Side& a = side_[0];
    Side& b = side_[1];
    ibv_qp_attr at{};
    at.qp_state = IBV_QPS_RESET;
    ASSERT_EQ(ibv_modify_qp(b.qp, &at, IBV_QP_STATE), 0);
    ASSERT_EQ(to_state(b.qp, IBV_QPS_INIT), 0);
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);  // allowed in INIT
    ASSERT_EQ(send(a, 0, 16, 2), 0);
    settle(b);
    EXPECT_EQ(counter(b, "drop_qp_state"), 1u);
    // In RTR it receives (the posted WQE is still there).
    at = {};
    at.qp_state = IBV_QPS_RTR;
    ASSERT_EQ(ibv_modify_qp(b.qp, &at, IBV_QP_STATE), 0);
    ASSERT_EQ(send(a, 0, 16, 3), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 1u);
}

TEST_F(Receive, BadIcrcAndMalformedAreDroppedAndCounted) {
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 4096, 1), 0);
    uint32_t from = inet_addr("127.0.10.9");
    w::UdHeader ud;
    ud.dest_qpn = b.qp->qp_num;
    ud.qkey = kQkey;
    auto dg = craft(b, from, ud, std::vector<uint8_t>(64, 3));
    dg[30] ^= 0x01;  // payload bit flip: ICRC no longer matches
    send_raw(b, from, dg);
    send_raw(b, from, std::vector<uint8_t>{1, 2, 3});                      // truncated
    send_raw(b, from, std::vector<uint8_t>(100, 0xff));                    // garbage
    settle(b);
    EXPECT_EQ(counter(b, "drop_icrc"), 1u);
    EXPECT_EQ(counter(b, "drop_malformed"), 2u);
    // A correct one is still accepted.
    send_raw(b, from, craft(b, from, ud, std::vector<uint8_t>(64, 4)));
    EXPECT_EQ(poll(b.rcq, 1).size(), 1u);
}

// Documented choice (doc/design/softud.md): a message that does not fit the posted buffer is
// dropped silently (like rxe), counted as drop_too_long, and the receive stays posted.
TEST_F(Receive, BufferTooSmallDropsAndKeepsTheReceive) {
    Side& a = side_[0];
    Side& b = side_[1];
    ASSERT_EQ(post_recv(b, 0, 40 + 50, 5), 0);
    ASSERT_EQ(send(a, 0, 100, 1), 0);
    settle(b);
    EXPECT_EQ(counter(b, "drop_too_long"), 1u);
    ASSERT_EQ(send(a, 0, 50, 2), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].wr_id, 5u);
    EXPECT_EQ(wc[0].byte_len, 90u);
}

TEST_F(Receive, ScatterAcrossSeveralSges) {
    Side& a = side_[0];
    Side& b = side_[1];
    for (int i = 0; i < 300; ++i)
        a.buf[i] = static_cast<uint8_t>(i * 7);
    ibv_sge sge[3] = {{reinterpret_cast<uintptr_t>(b.buf.data()), 40, b.mr->lkey},
                      {reinterpret_cast<uintptr_t>(b.buf.data() + 1000), 100, b.mr->lkey},
                      {reinterpret_cast<uintptr_t>(b.buf.data() + 2000), 400, b.mr->lkey}};
    ibv_recv_wr wr{};
    wr.sg_list = sge;
    wr.num_sge = 3;
    ibv_recv_wr* bad;
    ASSERT_EQ(ibv_post_recv(b.qp, &wr, &bad), 0);
    ASSERT_EQ(send(a, 0, 300, 1), 0);
    auto wc = poll(b.rcq, 1);
    ASSERT_EQ(wc.size(), 1u);
    EXPECT_EQ(wc[0].byte_len, 340u);
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(b.buf[1000 + i], static_cast<uint8_t>(i * 7));
    for (int i = 100; i < 300; ++i)
        ASSERT_EQ(b.buf[2000 + i - 100], static_cast<uint8_t>(i * 7));
}

TEST_F(Receive, ReceiveBufferWithoutLocalWriteIsAProtectionError) {
    Side& a = side_[0];
    Side& b = side_[1];
    ibv_mr* ro = ibv_reg_mr(b.pd, b.buf.data() + 8192, 8192, 0);
    ASSERT_NE(ro, nullptr);
    ASSERT_EQ(post_recv(b, 8192, 4096, 1, ro->lkey), 0);
    ASSERT_EQ(post_recv(b, 0, 4096, 2), 0);
    ASSERT_EQ(send(a, 0, 16, 3), 0);
    auto wc = poll(b.rcq, 2);
    ASSERT_EQ(wc.size(), 2u);
    EXPECT_EQ(wc[0].wr_id, 1u);
    EXPECT_EQ(wc[0].status, IBV_WC_LOC_PROT_ERR);
    EXPECT_EQ(wc[1].wr_id, 2u);
    EXPECT_EQ(wc[1].status, IBV_WC_WR_FLUSH_ERR);
    EXPECT_EQ(b.qp->state, IBV_QPS_ERR);
    ibv_dereg_mr(ro);
}

}  // namespace
}  // namespace softud_test
