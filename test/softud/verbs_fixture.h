/* SPDX-License-Identifier: BSD-3-Clause */
// Test fixture: two softud devices in this process (addresses chosen per test binary so binaries
// can run in parallel), each with a PD, CQs, a UD QP in RTS and a registered buffer; helpers to
// send, receive, poll with a deadline, craft raw datagrams and read the device counters.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <infiniband/verbs.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "counters.h"
#include "wire.h"

namespace softud_test {

inline constexpr uint32_t kQkey = 0x11111111;
inline constexpr size_t kBufLen = 64 * 1024;

struct Side {
    ibv_context* ctx = nullptr;
    ibv_pd* pd = nullptr;
    ibv_cq* scq = nullptr;
    ibv_cq* rcq = nullptr;
    ibv_comp_channel* ch = nullptr;
    ibv_qp* qp = nullptr;
    ibv_mr* mr = nullptr;
    ibv_ah* ah = nullptr;  // to the other side
    std::vector<uint8_t> buf = std::vector<uint8_t>(kBufLen);
    std::string name;
    uint32_t addr_be = 0;
};

struct QpOpts {
    uint32_t max_send_wr = 64, max_recv_wr = 64, max_inline = 0;
    bool sig_all = true;
    int cqe = 256;
    bool channel = false;
};

// Brings a QP to `target` (INIT, RTR or RTS) with the standard UD attributes.
inline int to_state(ibv_qp* qp, ibv_qp_state target, uint32_t qkey = kQkey) {
    ibv_qp_attr a{};
    a.qp_state = IBV_QPS_INIT;
    a.pkey_index = 0;
    a.port_num = 1;
    a.qkey = qkey;
    if (int rc = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY))
        return rc;
    if (target == IBV_QPS_INIT)
        return 0;
    a = {};
    a.qp_state = IBV_QPS_RTR;
    if (int rc = ibv_modify_qp(qp, &a, IBV_QP_STATE))
        return rc;
    if (target == IBV_QPS_RTR)
        return 0;
    a = {};
    a.qp_state = IBV_QPS_RTS;
    a.sq_psn = 0x123;
    return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
}

class VerbsPair : public ::testing::Test {
protected:
    // Subclasses set these before SetUp (per binary: distinct addresses).
    virtual const char* devices() const { return "sa=127.0.10.2,sb=127.0.10.3"; }
    virtual QpOpts opts() const { return {}; }
    virtual bool ib_mode() const { return false; }

    void SetUp() override {
        char tmpl[] = "/tmp/softud-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        stat_dir_ = tmpl;
        setenv("SOFTUD_STAT_DIR", stat_dir_.c_str(), 1);
        setenv("SOFTUD_DEVICES", devices(), 1);
        setenv("SOFTUD_QUIET", "1", 1);
        int n = 0;
        ibv_device** list = ibv_get_device_list(&n);
        ASSERT_NE(list, nullptr);
        ASSERT_GE(n, 2);
        for (int i = 0; i < 2; ++i) {
            Side& s = side_[i];
            s.name = ibv_get_device_name(list[i]);
            s.ctx = ibv_open_device(list[i]);
            ASSERT_NE(s.ctx, nullptr);
            ibv_gid gid;
            ASSERT_EQ(ibv_query_gid(s.ctx, 1, 0, &gid), 0);
            std::memcpy(&s.addr_be, gid.raw + 12, 4);
            open_side(s, opts());
        }
        ibv_free_device_list(list);
        for (int i = 0; i < 2; ++i)
            side_[i].ah = make_ah(side_[i], side_[1 - i]);
        ASSERT_NE(side_[0].ah, nullptr);
        ASSERT_NE(side_[1].ah, nullptr);
    }

    void open_side(Side& s, const QpOpts& o) {
        s.pd = ibv_alloc_pd(s.ctx);
        ASSERT_NE(s.pd, nullptr);
        if (o.channel) {
            s.ch = ibv_create_comp_channel(s.ctx);
            ASSERT_NE(s.ch, nullptr);
        }
        s.scq = ibv_create_cq(s.ctx, o.cqe, nullptr, s.ch, 0);
        s.rcq = ibv_create_cq(s.ctx, o.cqe, nullptr, s.ch, 0);
        ASSERT_NE(s.scq, nullptr);
        ASSERT_NE(s.rcq, nullptr);
        s.mr = ibv_reg_mr(s.pd, s.buf.data(), s.buf.size(), IBV_ACCESS_LOCAL_WRITE);
        ASSERT_NE(s.mr, nullptr);
        ibv_qp_init_attr ia{};
        ia.send_cq = s.scq;
        ia.recv_cq = s.rcq;
        ia.qp_type = IBV_QPT_UD;
        ia.sq_sig_all = o.sig_all;
        ia.cap.max_send_wr = o.max_send_wr;
        ia.cap.max_recv_wr = o.max_recv_wr;
        ia.cap.max_send_sge = 4;
        ia.cap.max_recv_sge = 4;
        ia.cap.max_inline_data = o.max_inline;
        s.qp = ibv_create_qp(s.pd, &ia);
        ASSERT_NE(s.qp, nullptr) << strerror(errno);
        ASSERT_EQ(to_state(s.qp, IBV_QPS_RTS), 0);
    }

    ibv_ah* make_ah(Side& from, Side& to, bool global = true) {
        ibv_ah_attr a{};
        a.port_num = 1;
        ibv_port_attr pa{};
        EXPECT_EQ(ibv_query_port(to.ctx, 1, &pa), 0);
        if (pa.link_layer == IBV_LINK_LAYER_INFINIBAND) {
            a.dlid = pa.lid;
            global = global && ib_grh_;
        }
        if (global) {
            a.is_global = 1;
            a.grh.hop_limit = 64;
            a.grh.sgid_index = 0;
            EXPECT_EQ(ibv_query_gid(to.ctx, 1, 0, &a.grh.dgid), 0);
        }
        return ibv_create_ah(from.pd, &a);
    }

    void TearDown() override {
        for (Side& s : side_) {
            if (s.ah) ibv_destroy_ah(s.ah);
            if (s.qp) ibv_destroy_qp(s.qp);
            if (s.mr) ibv_dereg_mr(s.mr);
            if (s.scq) ibv_destroy_cq(s.scq);
            if (s.rcq) ibv_destroy_cq(s.rcq);
            if (s.ch) ibv_destroy_comp_channel(s.ch);
            if (s.pd) ibv_dealloc_pd(s.pd);
            if (s.ctx) ibv_close_device(s.ctx);
        }
        std::string cmd = "rm -rf '" + stat_dir_ + "'";
        if (std::system(cmd.c_str()) != 0)
            ADD_FAILURE() << "cannot remove " << stat_dir_;
    }

    // Posts one receive of `len` bytes at buffer offset `off`.
    int post_recv(Side& s, size_t off, uint32_t len, uint64_t wr_id, uint32_t lkey = 0) {
        ibv_sge sge{reinterpret_cast<uintptr_t>(s.buf.data() + off), len, lkey ? lkey : s.mr->lkey};
        ibv_recv_wr wr{};
        wr.wr_id = wr_id;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        ibv_recv_wr* bad = nullptr;
        return ibv_post_recv(s.qp, &wr, &bad);
    }

    // Fills a send WR of `len` bytes from buffer offset `off` of `s` to the other side's QP.
    void make_send(Side& s, ibv_send_wr& wr, ibv_sge& sge, size_t off, uint32_t len, uint64_t wr_id,
                   unsigned flags = IBV_SEND_SIGNALED) {
        const Side& peer = &s == &side_[0] ? side_[1] : side_[0];
        sge = {reinterpret_cast<uintptr_t>(s.buf.data() + off), len, s.mr->lkey};
        wr = {};
        wr.wr_id = wr_id;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.send_flags = flags;
        wr.wr.ud.ah = s.ah;
        wr.wr.ud.remote_qpn = peer.qp->qp_num;
        wr.wr.ud.remote_qkey = kQkey;
    }

    int send(Side& s, size_t off, uint32_t len, uint64_t wr_id, unsigned flags = IBV_SEND_SIGNALED) {
        ibv_send_wr wr;
        ibv_sge sge;
        make_send(s, wr, sge, off, len, wr_id, flags);
        ibv_send_wr* bad = nullptr;
        return ibv_post_send(s.qp, &wr, &bad);
    }

    // Polls until `want` completions arrived or `ms` passed; returns what was collected.
    std::vector<ibv_wc> poll(ibv_cq* cq, size_t want, int ms = 1000) {
        std::vector<ibv_wc> out;
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (out.size() < want && std::chrono::steady_clock::now() < end) {
            ibv_wc wc[16];
            int n = ibv_poll_cq(cq, 16, wc);
            if (n < 0)
                break;
            out.insert(out.end(), wc, wc + n);
            if (!n)
                std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        return out;
    }

    // Reads a counter from the device's published counter file.
    uint64_t counter(const Side& s, const char* name) {
        std::string path = stat_dir_ + "/" + s.name + ".counters";
        int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
            ADD_FAILURE() << "no counter file " << path;
            return ~0ull;
        }
        softud::CounterFileHeader h{};
        EXPECT_EQ(::pread(fd, &h, sizeof(h), 0), static_cast<ssize_t>(sizeof(h)));
        EXPECT_EQ(std::memcmp(h.magic, softud::kCounterMagic, 8), 0);
        uint64_t v = ~0ull;
        for (uint32_t i = 0; i < h.count; ++i) {
            softud::CounterEntry e{};
            EXPECT_EQ(::pread(fd, &e, sizeof(e), static_cast<off_t>(sizeof(h) + i * sizeof(e))),
                      static_cast<ssize_t>(sizeof(e)));
            if (!std::strcmp(e.name, name))
                v = e.value;
        }
        ::close(fd);
        EXPECT_NE(v, ~0ull) << "no counter " << name;
        return v;
    }

    // Lets the receiver process whatever arrived (poll drains the socket).
    void settle(Side& s) {
        for (int i = 0; i < 20; ++i) {
            ibv_wc wc;
            int n = ibv_poll_cq(s.rcq, 1, &wc);
            ASSERT_EQ(n, 0) << "unexpected completion, status " << (n > 0 ? wc.status : -1);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    // Sends a raw UDP datagram to `to`'s RoCE port from `from_addr` (an unbound 127/8 address).
    void send_raw(const Side& to, uint32_t from_addr_be, const std::vector<uint8_t>& dg) {
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = from_addr_be;
        src.sin_port = htons(raw_port_);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)), 0) << strerror(errno);
        int pmtu = IP_PMTUDISC_DO;
        ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_addr.s_addr = to.addr_be;
        dst.sin_port = htons(softud::wire::kRoceV2UdpPort);
        ASSERT_EQ(::sendto(fd, dg.data(), dg.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)),
                  static_cast<ssize_t>(dg.size()));
        ::close(fd);
    }

    // A valid RoCE v2 UD datagram (correct ICRC) as if sent from from_addr:raw_port_.
    std::vector<uint8_t> craft(const Side& to, uint32_t from_addr_be, softud::wire::UdHeader ud,
                               const std::vector<uint8_t>& payload) {
        namespace w = softud::wire;
        std::vector<uint8_t> dg(w::roce_datagram_len(ud.with_imm, payload.size()));
        size_t h = w::encode_roce_headers(ud, payload.size(), dg);
        std::memcpy(dg.data() + h, payload.data(), payload.size());
        iovec segs[] = {{dg.data(), h + payload.size()}};
        w::Ipv4Pseudo ip;
        ip.saddr_be = from_addr_be;
        ip.daddr_be = to.addr_be;
        ip.sport = raw_port_;
        ip.dport = w::kRoceV2UdpPort;
        size_t t = w::finish_roce_v4_trailer(ip, segs, std::span<uint8_t>(dg.data() + h + payload.size(),
                                                                        dg.size() - h - payload.size()));
        EXPECT_EQ(h + payload.size() + t, dg.size());
        return dg;
    }

    Side side_[2];
    std::string stat_dir_;
    bool ib_grh_ = false;
    uint16_t raw_port_ = 40000;
};

}  // namespace softud_test
