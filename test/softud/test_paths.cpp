/* SPDX-License-Identifier: BSD-3-Clause */
// The same-host shared-memory path and the UDP socket path give identical verbs-level results:
// one scripted sequence of sends (deliveries, every drop cause verbs can provoke, MTU, ordering,
// immediates, solicited, zero-length, a QP not ready) runs once per path on the same addresses,
// and the completions, the receive buffer bytes (GRH included) and the counters must be equal.
#include <arpa/inet.h>

#include <map>

#include "verbs_fixture.h"

namespace softud_test {
namespace {

struct Outcome {
    std::vector<ibv_wc> rwc, swc;
    std::vector<uint8_t> rbuf;
    std::map<std::string, uint64_t> ctr_a, ctr_b;
};

// Counters that describe how datagrams travelled, not what happened to them.
bool path_specific(const std::string& n) {
    return n == "sendmmsg_calls" || n == "recvmmsg_calls" || n == "shm_tx_batches" ||
           n == "shm_rx_batches" || n == "poll_cq_calls";
}

class Paths : public VerbsPair {
protected:
    const char* devices() const override { return "pa=127.0.13.2,pb=127.0.13.3"; }
    QpOpts opts() const override {
        QpOpts o;
        o.max_recv_wr = 128;
        o.max_send_wr = 128;
        return o;
    }
    void SetUp() override {
        setenv("SOFTUD_SHM", shm_ ? "1" : "0", 1);
        if (!faults_.empty())
            setenv("SOFTUD_FAULTS_pb", faults_.c_str(), 1);
        VerbsPair::SetUp();
    }
    void TearDown() override {
        VerbsPair::TearDown();
        unsetenv("SOFTUD_FAULTS_pb");
        unsetenv("SOFTUD_SHM");
        for (Side& s : side_)
            s = Side{};
    }

    std::map<std::string, uint64_t> all_counters(const Side& s) {
        std::map<std::string, uint64_t> m;
        for (const char* n : softud::kCounterNames)
            m[n] = counter(s, n);
        return m;
    }

    void post_list(Side& s, std::vector<ibv_send_wr>& wr) {
        for (size_t i = 0; i + 1 < wr.size(); ++i)
            wr[i].next = &wr[i + 1];
        ibv_send_wr* bad = nullptr;
        ASSERT_EQ(ibv_post_send(s.qp, wr.data(), &bad), 0);
    }

    // The script. Receives: 100 buffers of 40+200 bytes at 256-byte strides, one of 40+16.
    Outcome run() {
        Outcome o;
        Side& a = side_[0];
        Side& b = side_[1];
        for (size_t i = 0; i < a.buf.size(); ++i)
            a.buf[i] = static_cast<uint8_t>(i * 7 + 3);
        std::memset(b.buf.data(), 0xee, b.buf.size());
        EXPECT_EQ(post_recv(b, 0, 40 + 16, 1000), 0);  // first: small, so a big send is dropped
        for (int i = 1; i <= 100; ++i)
            EXPECT_EQ(post_recv(b, size_t(i) * 256, 40 + 200, 1000 + i), 0);
        // A second QP on b that stays in INIT (not ready to receive).
        ibv_qp_init_attr ia{};
        ia.send_cq = b.scq;
        ia.recv_cq = b.rcq;
        ia.qp_type = IBV_QPT_UD;
        ia.cap = {4, 4, 1, 1, 0};
        ibv_qp* init_qp = ibv_create_qp(b.pd, &ia);
        EXPECT_NE(init_qp, nullptr);
        EXPECT_EQ(to_state(init_qp, IBV_QPS_INIT), 0);

        std::vector<ibv_send_wr> wr(40);
        std::vector<ibv_sge> sge(40);
        uint32_t lens[40];
        for (int i = 0; i < 40; ++i) {
            lens[i] = static_cast<uint32_t>((i * 37) % 201);  // 0..200 bytes
            make_send(a, wr[i], sge[i], size_t(i) * 300, lens[i], 1 + i,
                      i % 3 ? 0 : IBV_SEND_SIGNALED);
        }
        wr[0].sg_list->length = 100;                      // too long for the 16-byte receive: dropped
        wr[1].sg_list->length = 16;                       // fits the 16-byte receive (kept posted)
        wr[2].wr.ud.remote_qkey = kQkey ^ 1;              // Q_Key violation
        wr[3].wr.ud.remote_qpn = 0xabcd;                  // unknown QPN
        wr[4].wr.ud.remote_qpn = init_qp->qp_num;         // QP not in RTR/RTS
        wr[5].opcode = IBV_WR_SEND_WITH_IMM;
        wr[5].imm_data = htonl(0x01020304);
        wr[6].send_flags |= IBV_SEND_SOLICITED;
        wr[7].sg_list->length = 0;
        wr[8].sg_list->length = 5000;                     // over the port MTU: not sent
        wr[9].wr.ud.remote_qkey = 0x80000000;             // "use the QP's own Q_Key"
        post_list(a, wr);
        // Two more lists, then more sends than receives left: drop_no_recv.
        for (int round = 0; round < 2; ++round) {
            std::vector<ibv_send_wr> w2(40);
            std::vector<ibv_sge> s2(40);
            for (int i = 0; i < 40; ++i)
                make_send(a, w2[i], s2[i], 4000 + size_t(i) * 64, 64, 100 + round * 40 + i, IBV_SEND_SIGNALED);
            post_list(a, w2);
        }
        // 120 WRs: 1 not sent (MTU), 4 dropped before a receive is used (too long, Q_Key, QPN,
        // QP state): 115 compete for 101 receives, 14 find none.
        o.rwc = poll(b.rcq, 101, 2000);
        settle(b);
        o.swc = poll(a.scq, 200, 200);
        // QPNs differ between runs (devices live on in the process): name them by role.
        for (ibv_wc& w : o.rwc) {
            w.src_qp = w.src_qp == a.qp->qp_num ? 0xa : w.src_qp;
            w.qp_num = w.qp_num == b.qp->qp_num ? 0xb : w.qp_num;
        }
        o.rbuf = b.buf;
        o.ctr_a = all_counters(a);
        o.ctr_b = all_counters(b);
        ibv_destroy_qp(init_qp);
        return o;
    }

    void expect_same(const Outcome& u, const Outcome& s) {
        ASSERT_EQ(u.rwc.size(), s.rwc.size());
        for (size_t i = 0; i < u.rwc.size(); ++i) {
            const ibv_wc &x = u.rwc[i], &y = s.rwc[i];
            EXPECT_EQ(x.wr_id, y.wr_id) << i;
            EXPECT_EQ(x.status, y.status) << i;
            EXPECT_EQ(x.opcode, y.opcode) << i;
            EXPECT_EQ(x.byte_len, y.byte_len) << i;
            EXPECT_EQ(x.wc_flags, y.wc_flags) << i;
            EXPECT_EQ(x.imm_data, y.imm_data) << i;
            EXPECT_EQ(x.src_qp, y.src_qp) << i;
            EXPECT_EQ(x.qp_num, y.qp_num) << i;
            EXPECT_EQ(x.pkey_index, y.pkey_index) << i;
            EXPECT_EQ(x.slid, y.slid) << i;
        }
        ASSERT_EQ(u.swc.size(), s.swc.size());
        for (size_t i = 0; i < u.swc.size(); ++i) {
            EXPECT_EQ(u.swc[i].wr_id, s.swc[i].wr_id) << i;
            EXPECT_EQ(u.swc[i].status, s.swc[i].status) << i;
        }
        EXPECT_TRUE(u.rbuf == s.rbuf) << "receive buffers (GRH + payload) differ";
        for (const auto& [n, v] : u.ctr_a) {
            if (!path_specific(n)) {
                EXPECT_EQ(v, s.ctr_a.at(n)) << "sender counter " << n;
            }
        }
        for (const auto& [n, v] : u.ctr_b) {
            if (!path_specific(n)) {
                EXPECT_EQ(v, s.ctr_b.at(n)) << "receiver counter " << n;
            }
        }
        // And each run took the path it was meant to.
        EXPECT_GT(u.ctr_a.at("sendmmsg_calls"), 0u);
        EXPECT_EQ(u.ctr_a.at("shm_tx_batches"), 0u);
        EXPECT_EQ(s.ctr_a.at("sendmmsg_calls"), 0u);
        EXPECT_EQ(s.ctr_a.at("shm_tx_batches"), 3u);  // one publication per WR list
        EXPECT_GT(s.ctr_b.at("shm_rx_batches"), 0u);
    }

    // Runs the script on the UDP path, then on the shared-memory path.
    void both(Outcome& u, Outcome& s) {
        u = run();  // SetUp ran with shm_ = false
        TearDown();
        shm_ = true;
        SetUp();
        s = run();
    }

    bool shm_ = false;
    std::string faults_;
};

TEST_F(Paths, IdenticalOutcomeOnBothPaths) {
    Outcome u, s;
    both(u, s);
    // The script did what it says (on either path, as they are equal).
    EXPECT_EQ(u.rwc.size(), 101u);
    const auto& c = u.ctr_b;
    EXPECT_EQ(c.at("drop_too_long"), 1u);
    EXPECT_EQ(c.at("drop_qkey"), 1u);
    EXPECT_EQ(c.at("drop_unknown_qpn"), 1u);
    EXPECT_EQ(c.at("drop_qp_state"), 1u);
    EXPECT_EQ(c.at("drop_no_recv"), 14u);
    EXPECT_EQ(c.at("rx_packets"), 101u);
    EXPECT_EQ(u.ctr_a.at("tx_too_long"), 1u);
    EXPECT_EQ(u.ctr_a.at("tx_packets"), 119u);
    // Ordering: the datagrams' wr_ids ascend (one sender, one path); receive wr_ids ascend too.
    for (size_t i = 1; i < u.rwc.size(); ++i)
        EXPECT_LT(u.rwc[i - 1].wr_id, u.rwc[i].wr_id);
    // Datagram 1 (16 bytes) took the small first receive after datagram 0 was too long for it.
    EXPECT_EQ(u.rwc[0].wr_id, 1000u);
    EXPECT_EQ(u.rwc[0].byte_len, 56u);
    expect_same(u, s);
}

// With the same seed, fault injection makes the same decisions on the same datagram sequence,
// whichever path carried it.
TEST_F(Paths, IdenticalUnderInjectedFaults) {
    faults_ = "drop=0.1,dup=0.1,corrupt=0.1,reorder=0.1,seed=99";
    TearDown();
    SetUp();
    Outcome u, s;
    both(u, s);
    const auto& c = u.ctr_b;
    EXPECT_GT(c.at("fault_drop") + c.at("fault_dup") + c.at("fault_corrupt") + c.at("fault_reorder"), 0u);
    EXPECT_GE(c.at("drop_icrc"), c.at("fault_corrupt"));  // a corrupted duplicate is dropped twice
    expect_same(u, s);
}

}  // namespace
}  // namespace softud_test
