/* SPDX-License-Identifier: BSD-3-Clause */
// bench_ud: 64-byte UD SEND messages/s between two processes over softud, and the same with a
// plain UDP sendmmsg/recvmmsg pair as the baseline. Not a test; run by bench.sh.
//   bench_ud verbs-rx DEV SECONDS            (device from SOFTUD_DEVICES; prints msgs/s)
//   bench_ud verbs-tx DEV DST_IPV4 SECONDS   (to QPN 0x11, softud's first QP, Q_Key kQkey)
//   bench_ud udp-rx ADDR PORT SECONDS
//   bench_ud udp-tx SRC DST PORT SECONDS
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kMsgLen = 64;     // message payload bytes
constexpr int kBatch = 32;           // WRs per post / datagrams per sendmmsg
constexpr int kRecvDepth = 4096;     // receives kept posted
constexpr uint32_t kQkey = 0x2222;   // both sides
constexpr uint32_t kPeerQpn = 0x11;  // softud numbers a process's first QP 0x11
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

double secs(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

struct Verbs {
    ibv_context* ctx;
    ibv_pd* pd;
    ibv_cq* cq;
    ibv_qp* qp;
    ibv_mr* mr;
    std::vector<uint8_t> buf;
};

Verbs open_verbs(const char* name, bool rx) {
    Verbs v{};
    int n;
    ibv_device** l = ibv_get_device_list(&n);
    ibv_device* dev = nullptr;
    for (int i = 0; l && i < n; ++i)
        if (!std::strcmp(ibv_get_device_name(l[i]), name))
            dev = l[i];
    if (!dev)
        die("no such device (SOFTUD_DEVICES)");
    v.ctx = ibv_open_device(dev);
    v.pd = ibv_alloc_pd(v.ctx);
    v.cq = ibv_create_cq(v.ctx, kRecvDepth * 2, nullptr, nullptr, 0);
    v.buf.resize(size_t{kRecvDepth} * (40 + kMsgLen));
    v.mr = ibv_reg_mr(v.pd, v.buf.data(), v.buf.size(), IBV_ACCESS_LOCAL_WRITE);
    ibv_qp_init_attr ia{};
    ia.send_cq = ia.recv_cq = v.cq;
    ia.qp_type = IBV_QPT_UD;
    ia.cap.max_send_wr = rx ? 1 : kBatch * 4;
    ia.cap.max_recv_wr = rx ? kRecvDepth : 1;
    ia.cap.max_send_sge = ia.cap.max_recv_sge = 1;
    v.qp = ibv_create_qp(v.pd, &ia);
    if (!v.ctx || !v.pd || !v.cq || !v.mr || !v.qp)
        die("verbs setup");
    ibv_qp_attr a{};
    a.qp_state = IBV_QPS_INIT;
    a.port_num = 1;
    a.qkey = kQkey;
    if (ibv_modify_qp(v.qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY))
        die("INIT");
    a.qp_state = IBV_QPS_RTR;
    if (ibv_modify_qp(v.qp, &a, IBV_QP_STATE))
        die("RTR");
    a.qp_state = IBV_QPS_RTS;
    a.sq_psn = 0;
    if (ibv_modify_qp(v.qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN))
        die("RTS");
    ibv_free_device_list(l);
    return v;
}

int verbs_rx(const char* dev, double seconds) {
    Verbs v = open_verbs(dev, true);
    if (v.qp->qp_num != kPeerQpn)
        std::fprintf(stderr, "warning: QPN 0x%x, sender targets 0x%x\n", v.qp->qp_num, kPeerQpn);
    std::vector<ibv_sge> sge(kRecvDepth);
    std::vector<ibv_recv_wr> wr(kRecvDepth);
    for (int i = 0; i < kRecvDepth; ++i) {
        sge[i] = {reinterpret_cast<uintptr_t>(v.buf.data() + static_cast<size_t>(i) * (40 + kMsgLen)), 40 + kMsgLen, v.mr->lkey};
        wr[i] = {};
        wr[i].wr_id = static_cast<uint64_t>(i);
        wr[i].sg_list = &sge[i];
        wr[i].num_sge = 1;
        wr[i].next = i + 1 < kRecvDepth ? &wr[i + 1] : nullptr;
    }
    ibv_recv_wr* bad;
    if (ibv_post_recv(v.qp, wr.data(), &bad))
        die("post_recv");
    uint64_t got = 0;
    Clock::time_point first{}, last{};
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    ibv_wc wc[64];
    while (Clock::now() < deadline) {
        int n = ibv_poll_cq(v.cq, 64, wc);
        if (n < 0)
            die("poll_cq");
        if (!n)
            continue;
        if (!got)
            first = Clock::now();
        got += static_cast<uint64_t>(n);
        last = Clock::now();
        // Repost the completed buffers as one list.
        for (int i = 0; i < n; ++i) {
            ibv_recv_wr& w = wr[wc[i].wr_id];
            w.next = i + 1 < n ? &wr[wc[i + 1].wr_id] : nullptr;
        }
        if (ibv_post_recv(v.qp, &wr[wc[0].wr_id], &bad))
            die("repost");
    }
    double t = got > 1 ? secs(first, last) : 0;
    std::printf("verbs-rx %llu msgs in %.3f s = %.0f msgs/s\n", static_cast<unsigned long long>(got), t,
                t > 0 ? got / t : 0.0);
    return 0;
}

int verbs_tx(const char* dev, const char* dst, double seconds) {
    Verbs v = open_verbs(dev, false);
    ibv_ah_attr aa{};
    aa.is_global = 1;
    aa.port_num = 1;
    aa.grh.hop_limit = 64;
    in_addr ip{};
    if (inet_pton(AF_INET, dst, &ip) != 1)
        die("dst");
    aa.grh.dgid.raw[10] = aa.grh.dgid.raw[11] = 0xff;
    std::memcpy(aa.grh.dgid.raw + 12, &ip, 4);
    ibv_ah* ah = ibv_create_ah(v.pd, &aa);
    if (!ah)
        die("create_ah");
    ibv_sge sge{reinterpret_cast<uintptr_t>(v.buf.data()), kMsgLen, v.mr->lkey};
    std::vector<ibv_send_wr> wr(kBatch);
    for (int i = 0; i < kBatch; ++i) {
        wr[i] = {};
        wr[i].sg_list = &sge;
        wr[i].num_sge = 1;
        wr[i].opcode = IBV_WR_SEND;
        wr[i].send_flags = i + 1 == kBatch ? IBV_SEND_SIGNALED : 0;  // one completion per list
        wr[i].wr.ud.ah = ah;
        wr[i].wr.ud.remote_qpn = kPeerQpn;
        wr[i].wr.ud.remote_qkey = kQkey;
        wr[i].next = i + 1 < kBatch ? &wr[i + 1] : nullptr;
    }
    uint64_t sent = 0;
    int outstanding = 0;
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(seconds);
    ibv_wc wc[8];
    while (Clock::now() < deadline) {
        if (outstanding < 2) {
            ibv_send_wr* bad;
            if (int rc = ibv_post_send(v.qp, wr.data(), &bad)) {
                errno = rc;
                die("post_send");
            }
            sent += kBatch;
            ++outstanding;
        }
        int n = ibv_poll_cq(v.cq, 8, wc);
        if (n < 0)
            die("poll_cq");
        outstanding -= n;
    }
    double t = secs(start, Clock::now());
    std::printf("verbs-tx %llu msgs in %.3f s = %.0f msgs/s\n", static_cast<unsigned long long>(sent), t,
                sent / t);
    return 0;
}

int udp_socket(const char* addr, int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sz = 32 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)))
        die("bind");
    return fd;
}

int udp_rx(const char* addr, int port, double seconds) {
    int fd = udp_socket(addr, port);
    constexpr int kVlen = 64;
    std::vector<uint8_t> buf(kVlen * 2048);
    mmsghdr m[kVlen];
    iovec io[kVlen];
    uint64_t got = 0;
    Clock::time_point first{}, last{};
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
        for (int i = 0; i < kVlen; ++i) {
            io[i] = {buf.data() + static_cast<size_t>(i) * 2048, 2048};
            m[i] = {};
            m[i].msg_hdr.msg_iov = &io[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, m, kVlen, MSG_DONTWAIT, nullptr);
        if (n <= 0)
            continue;
        if (!got)
            first = Clock::now();
        got += static_cast<uint64_t>(n);
        last = Clock::now();
    }
    double t = got > 1 ? secs(first, last) : 0;
    std::printf("udp-rx %llu msgs in %.3f s = %.0f msgs/s\n", static_cast<unsigned long long>(got), t,
                t > 0 ? got / t : 0.0);
    return 0;
}

int udp_tx(const char* src, const char* dst, int port, double seconds) {
    int fd = udp_socket(src, port);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, dst, &to.sin_addr);
    uint8_t payload[kMsgLen] = {};
    mmsghdr m[kBatch];
    iovec io[kBatch];
    for (int i = 0; i < kBatch; ++i) {
        io[i] = {payload, kMsgLen};
        m[i] = {};
        m[i].msg_hdr.msg_name = &to;
        m[i].msg_hdr.msg_namelen = sizeof(to);
        m[i].msg_hdr.msg_iov = &io[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t sent = 0;
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
        int n = sendmmsg(fd, m, kBatch, 0);
        if (n > 0)
            sent += static_cast<uint64_t>(n);
    }
    double t = secs(start, Clock::now());
    std::printf("udp-tx %llu msgs in %.3f s = %.0f msgs/s\n", static_cast<unsigned long long>(sent), t, sent / t);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "verbs-rx" && argc == 4)
        return verbs_rx(argv[2], std::atof(argv[3]));
    if (mode == "verbs-tx" && argc == 5)
        return verbs_tx(argv[2], argv[3], std::atof(argv[4]));
    if (mode == "udp-rx" && argc == 5)
        return udp_rx(argv[2], std::atoi(argv[3]), std::atof(argv[4]));
    if (mode == "udp-tx" && argc == 6)
        return udp_tx(argv[2], argv[3], std::atoi(argv[4]), std::atof(argv[5]));
    std::fprintf(stderr, "usage: see the header of bench_ud.cpp\n");
    return 2;
}
