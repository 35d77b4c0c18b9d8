/* SPDX-License-Identifier: BSD-3-Clause */
// Behaviours the same-host path must keep (they hold on the UDP path too; both suites run them):
// several senders to one receiver keep per-sender order and lose nothing; the channel fd wakes
// for an armed CQ even after datagrams for another, unarmed CQ consumed the first wakeup, and an
// armed CQ's channel wakes for every one of 2000 sleep/wake cycles (no missed wakeup). And
// one of the shared-memory path alone: a sender's lane is backed when claimed (no page faults).
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <atomic>

#include "verbs_fixture.h"

namespace softud_test {
namespace {

class Shm : public VerbsPair {
protected:
    const char* devices() const override { return "ma=127.0.15.2,mb=127.0.15.3,mc=127.0.15.4"; }
    QpOpts opts() const override {
        QpOpts o;
        o.max_recv_wr = 4096;
        o.max_send_wr = 64;
        o.cqe = 8192;
        o.sig_all = false;
        o.channel = true;
        return o;
    }
};

// A third device (mc) and ma both send to mb at once, from two threads: two lanes in mb's mailbox.
TEST_F(Shm, TwoSendersToOneReceiverKeepTheirOrderAndLoseNothing) {
    constexpr int kPerSender = 2000;
    Side& a = side_[0];
    Side& b = side_[1];
    Side c;
    int n = 0;
    ibv_device** l = ibv_get_device_list(&n);
    ASSERT_EQ(n, 3);
    c.ctx = ibv_open_device(l[2]);
    ibv_free_device_list(l);
    ASSERT_NE(c.ctx, nullptr);
    QpOpts o = opts();
    o.channel = false;
    open_side(c, o);
    c.ah = make_ah(c, b);
    ASSERT_NE(c.ah, nullptr);
    for (int i = 0; i < 4096; ++i)
        ASSERT_EQ(post_recv(b, size_t(i % 512) * 80, 80, uint64_t(i)), 0);
    auto sender = [&](Side& s, uint32_t tag) {
        for (int i = 0; i < kPerSender;) {
            ibv_sge sge[32];
            ibv_send_wr wr[32];
            int k = std::min(32, kPerSender - i);
            for (int j = 0; j < k; ++j) {
                uint32_t v = (tag << 24) | uint32_t(i + j);
                std::memcpy(s.buf.data() + size_t(j) * 8, &v, 4);
                sge[j] = {reinterpret_cast<uintptr_t>(s.buf.data() + size_t(j) * 8), 4, s.mr->lkey};
                wr[j] = {};
                wr[j].sg_list = &sge[j];
                wr[j].num_sge = 1;
                wr[j].opcode = IBV_WR_SEND_WITH_IMM;  // the immediate carries the sequence
                wr[j].imm_data = v;
                wr[j].send_flags = j + 1 == k ? IBV_SEND_SIGNALED : 0;
                wr[j].wr.ud.ah = s.ah;
                wr[j].wr.ud.remote_qpn = b.qp->qp_num;
                wr[j].wr.ud.remote_qkey = kQkey;
                wr[j].next = j + 1 < k ? &wr[j + 1] : nullptr;
            }
            ibv_send_wr* bad;
            ASSERT_EQ(ibv_post_send(s.qp, wr, &bad), 0);
            auto done = poll(s.scq, 1);
            ASSERT_EQ(done.size(), 1u);
            i += k;
        }
    };
    std::thread t1(sender, std::ref(a), 1u), t2(sender, std::ref(c), 2u);
    t1.join();
    t2.join();
    auto wc = poll(b.rcq, 2 * kPerSender, 5000);
    ASSERT_EQ(wc.size(), size_t(2 * kPerSender));
    uint32_t next[3] = {0, 0, 0};
    for (const ibv_wc& w : wc) {
        ASSERT_EQ(w.status, IBV_WC_SUCCESS);
        uint32_t v = w.imm_data;
        uint32_t tag = v >> 24;
        ASSERT_TRUE(tag == 1 || tag == 2);
        ASSERT_EQ(v & 0xffffff, next[tag]) << "sender " << tag << " out of order";
        ++next[tag];
    }
    EXPECT_EQ(counter(b, "rx_packets"), uint64_t(2 * kPerSender));
    ibv_destroy_ah(c.ah);
    ibv_destroy_qp(c.qp);
    ibv_dereg_mr(c.mr);
    ibv_destroy_cq(c.scq);
    ibv_destroy_cq(c.rcq);
    ibv_dealloc_pd(c.pd);
    ibv_close_device(c.ctx);
}

// mb has two QPs whose receive CQs share one channel; only the second CQ is armed. Datagrams
// for the first (unarmed) CQ arrive first and take the wakeup; the fd must still wake for the
// armed CQ later (the bell stays wanted while an armed CQ exists).
TEST_F(Shm, ChannelWakesForTheArmedCqAfterTrafficToAnUnarmedOne) {
    Side& a = side_[0];
    Side& b = side_[1];
    ibv_cq* cq2 = ibv_create_cq(b.ctx, 16, nullptr, b.ch, 0);
    ASSERT_NE(cq2, nullptr);
    ibv_qp_init_attr ia{};
    ia.send_cq = ia.recv_cq = cq2;
    ia.qp_type = IBV_QPT_UD;
    ia.cap = {4, 8, 1, 1, 0};
    ibv_qp* qp2 = ibv_create_qp(b.pd, &ia);
    ASSERT_NE(qp2, nullptr);
    ASSERT_EQ(to_state(qp2, IBV_QPS_RTS), 0);
    ibv_sge rs{reinterpret_cast<uintptr_t>(b.buf.data() + 60000), 128, b.mr->lkey};
    ibv_recv_wr rw{};
    rw.sg_list = &rs;
    rw.num_sge = 1;
    ibv_recv_wr* rbad;
    ASSERT_EQ(ibv_post_recv(qp2, &rw, &rbad), 0);
    ASSERT_EQ(post_recv(b, 0, 128, 1), 0);
    ASSERT_EQ(ibv_req_notify_cq(cq2, 0), 0);
    // 1. To the unarmed CQ's QP: consume whatever wakeup it caused.
    ASSERT_EQ(send(a, 0, 8, 1), 0);
    auto first = poll(b.rcq, 1);
    ASSERT_EQ(first.size(), 1u);
    ibv_cq* got;
    void* ctx;
    int fl = fcntl(b.ch->fd, F_GETFL);
    ASSERT_EQ(fcntl(b.ch->fd, F_SETFL, fl | O_NONBLOCK), 0);
    EXPECT_EQ(ibv_get_cq_event(b.ch, &got, &ctx), -1);  // no event: rcq was not armed
    ASSERT_EQ(fcntl(b.ch->fd, F_SETFL, fl), 0);
    // 2. To the armed CQ's QP, from another thread a bit later: the blocked wait must return.
    std::thread t([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ibv_sge sge{reinterpret_cast<uintptr_t>(a.buf.data()), 8, a.mr->lkey};
        ibv_send_wr wr{};
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.wr.ud.ah = a.ah;
        wr.wr.ud.remote_qpn = qp2->qp_num;
        wr.wr.ud.remote_qkey = kQkey;
        ibv_send_wr* bad;
        EXPECT_EQ(ibv_post_send(a.qp, &wr, &bad), 0);
    });
    pollfd p{b.ch->fd, POLLIN, 0};
    int pr = ::poll(&p, 1, 2000);
    t.join();
    ASSERT_EQ(pr, 1) << "channel fd did not wake for the armed CQ";
    ASSERT_EQ(ibv_get_cq_event(b.ch, &got, &ctx), 0);
    EXPECT_EQ(got, cq2);
    ibv_ack_cq_events(got, 1);
    ibv_wc wc;
    EXPECT_EQ(ibv_poll_cq(cq2, 1, &wc), 1);
    ibv_destroy_qp(qp2);
    ibv_destroy_cq(cq2);
}

// The sleep/wake cycle of an rx-interrupt application, 2000 times: the receiver polls its CQ
// empty, arms it (ibv_req_notify_cq), polls once more and sleeps in an edge-triggered epoll set
// holding the channel fd (as DPDK's EAL waits on rx interrupt vectors), then takes the event
// and polls. The sender waits until everything it sent arrived, then after a random delay
// (0-120 us: the datagrams land anywhere in the receiver's drain, arm and sleep) sends 1-4
// datagrams with one ibv_post_send each (each publish may ring the bell). A sleep that outlasts
// its timeout (2 s) with datagrams sent and not received is a missed wakeup: the test fails.
TEST_F(Shm, SleepWakeCyclesNeverMissAWakeup) {
    constexpr unsigned kCycles = 2000;
    constexpr int kRecvs = 1024;
    Side& a = side_[0];
    Side& b = side_[1];
    for (int i = 0; i < kRecvs; ++i)
        ASSERT_EQ(post_recv(b, size_t(i) * 64, 64, uint64_t(i)), 0);
    const int fl = fcntl(b.ch->fd, F_GETFL);
    ASSERT_EQ(fcntl(b.ch->fd, F_SETFL, fl | O_NONBLOCK), 0);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLPRI | EPOLLET;
    ev.data.fd = b.ch->fd;
    ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, b.ch->fd, &ev), 0);

    std::atomic<unsigned> sent{0}, received{0};
    std::atomic<bool> stop{false}, all_sent{false};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::thread sender([&] {
        uint32_t rnd = 12345;
        for (unsigned cycle = 0; cycle < kCycles && !stop.load(); ++cycle) {
            while (received.load() != sent.load() && !stop.load())
                std::this_thread::yield();
            rnd = rnd * 1103515245u + 12345u;
            const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds((rnd >> 8) % 121);
            while (std::chrono::steady_clock::now() < until)
                ;
            const unsigned burst = 1 + (rnd >> 20) % 4;
            for (unsigned j = 0; j < burst; ++j) {
                sent.fetch_add(1);
                if (send(a, 0, 16, cycle) != 0 || poll(a.scq, 1).size() != 1) {
                    ADD_FAILURE() << "send failed in cycle " << cycle;
                    stop = true;
                    return;
                }
            }
        }
        all_sent = true;
    });
    unsigned sleeps = 0, wakeups = 0, missed = 0;
    auto take = [&](ibv_wc* wc, int n) {
        for (int i = 0; i < n; ++i) {
            EXPECT_EQ(wc[i].status, IBV_WC_SUCCESS);
            post_recv(b, size_t(wc[i].wr_id) * 64, 64, wc[i].wr_id);
        }
        received.fetch_add(unsigned(n));
    };
    auto ack_events = [&] {
        ibv_cq* got;
        void* ctx;
        while (ibv_get_cq_event(b.ch, &got, &ctx) == 0)
            ibv_ack_cq_events(got, 1);
    };
    auto finished = [&] { return all_sent.load() && sent.load() == received.load(); };
    while (!stop.load() && !finished() && std::chrono::steady_clock::now() < deadline) {
        ibv_wc wc[16];
        int n = ibv_poll_cq(b.rcq, 16, wc);
        ASSERT_GE(n, 0);
        if (n > 0) {
            take(wc, n);
            continue;
        }
        if (finished())
            break;
        ASSERT_EQ(ibv_req_notify_cq(b.rcq, 0), 0);
        n = ibv_poll_cq(b.rcq, 16, wc);  // a datagram may have come before the arm
        ASSERT_GE(n, 0);
        if (n == 0) {
            epoll_event out;
            ++sleeps;
            const int got = ::epoll_wait(ep, &out, 1, 2000);
            if (got > 0) {
                ++wakeups;
            } else if (got == 0 && sent.load() != received.load()) {
                ++missed;
                stop = true;
                pollfd pf{b.ch->fd, POLLIN, 0};
                ADD_FAILURE() << "missed wakeup after " << received.load() << " of " << sent.load()
                              << " datagrams, " << sleeps << " sleeps (channel fd "
                              << (::poll(&pf, 1, 0) == 1 ? "readable" : "not readable") << ")";
            }
        }
        ack_events();
        take(wc, n);
    }
    stop = true;
    sender.join();
    ::close(ep);
    ASSERT_EQ(fcntl(b.ch->fd, F_SETFL, fl), 0);
    std::printf("%u datagrams received of %u sent, %u sleeps, %u wakeups, %u missed\n", received.load(),
                sent.load(), sleeps, wakeups, missed);
    EXPECT_EQ(missed, 0u);
    EXPECT_TRUE(finished()) << "not done within 20 s";
    EXPECT_GE(received.load(), kCycles);
    EXPECT_GT(sleeps, kCycles / 4) << "the receiver hardly slept: the cycle was not exercised";
}

// A sender backs its whole lane when it claims it: sending the next ~80 pages of records takes
// no page fault (before, each new 4 KiB of the ring faulted the first time round).
TEST_F(Shm, SenderTakesNoPageFaultOnItsLane) {
    const char* shm = std::getenv("SOFTUD_SHM");
    if (shm && std::string(shm) == "0")
        GTEST_SKIP() << "shared-memory path off (SOFTUD_SHM=0)";
    Side& a = side_[0];
    constexpr int kBatch = 32, kBatches = 100;  // 3200 x 112-byte records: 350 KiB of the lane
    ibv_send_wr wr[kBatch];
    ibv_sge sge[kBatch];
    auto send_batch = [&] {
        for (int j = 0; j < kBatch; ++j) {
            make_send(a, wr[j], sge[j], size_t(j) * 64, 64, uint64_t(j),
                      j + 1 == kBatch ? IBV_SEND_SIGNALED : 0);
            wr[j].next = j + 1 < kBatch ? &wr[j + 1] : nullptr;
        }
        ibv_send_wr* bad = nullptr;
        if (ibv_post_send(a.qp, wr, &bad) != 0)
            return false;
        ibv_wc wc;
        for (int spin = 0; spin < 1000000; ++spin)
            if (int n = ibv_poll_cq(a.scq, 1, &wc); n != 0)
                return n == 1 && wc.status == IBV_WC_SUCCESS;
        return false;
    };
    ASSERT_TRUE(send_batch());  // claims the lane (and backs it)
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer's shadow memory is mapped on demand: the first touch of each shadow page
    // is a page fault of the sanitizer's, not of the lane (the normal build checks the lane).
    GTEST_SKIP() << "page faults of AddressSanitizer's shadow memory would be counted";
#endif
    rusage before{}, after{};
    ASSERT_EQ(getrusage(RUSAGE_THREAD, &before), 0);
    for (int i = 1; i < kBatches; ++i)
        ASSERT_TRUE(send_batch()) << "batch " << i;
    ASSERT_EQ(getrusage(RUSAGE_THREAD, &after), 0);
    EXPECT_EQ(counter(a, "shm_tx_batches"), uint64_t(kBatches)) << "not on the shared-memory path";
    EXPECT_LE(after.ru_minflt - before.ru_minflt, 4)
        << "page faults while publishing " << kBatches * kBatch << " records";
}

}  // namespace
}  // namespace softud_test
