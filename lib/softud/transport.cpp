/* SPDX-License-Identifier: BSD-3-Clause */
// The device's UDP socket: bound to <device address>:4791 (RoCE) or :4792 (IB mode) when the
// first QP is created, shared by all contexts of the device in this process.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "softud.h"

namespace softud {
namespace {

// Sets a buffer size: the FORCE variant (root) ignores net.core.*mem_max; else best effort.
void size_buffer(int fd, int force_opt, int opt) {
    int v = kSockBufBytes;
    if (::setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0)
        ::setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int open_socket(const Device* d, uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    // DF set: Linux then sends IP ID 0 from an unconnected socket, which the ICRC covers.
    int pmtu = IP_PMTUDISC_DO;
    int one = 1;
    if (::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) != 0 ||
        ::setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) != 0 ||
        ::setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) != 0) {
        int e = errno;
        ::close(fd);
        return -e;
    }
    size_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
    size_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = d->cfg.addr_be;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        int e = errno;
        ::close(fd);
        return -e;
    }
    return fd;
}

}  // namespace

int transport_acquire(Device* d) noexcept {
    std::lock_guard<std::mutex> g(d->lock);
    if (d->tp)
        return 0;
    std::unique_ptr<Transport> tp(new (std::nothrow) Transport);
    if (!tp)
        return -ENOMEM;
    tp->port = is_ib(d) ? wire::kIbModeUdpPort : wire::kRoceV2UdpPort;
    int fd = open_socket(d, tp->port);
    if (fd < 0) {
        char a[INET_ADDRSTRLEN] = "?";
        ::inet_ntop(AF_INET, &d->cfg.addr_be, a, sizeof(a));
        std::fprintf(stderr, "softud: %s: cannot bind UDP %s:%u: %s\n", d->cfg.name.c_str(), a,
                     tp->port, std::strerror(-fd));
        return fd;
    }
    tp->fd = fd;
    int ttl = 0;
    socklen_t tl = sizeof(ttl);
    if (::getsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, &tl) == 0 && ttl > 0 && ttl < 256)
        tp->ttl = static_cast<uint8_t>(ttl);
    tp->rx_bufs.assign(size_t{kRxBatch} * kRxBufLen, 0);
    for (unsigned i = 0; i < kRxBatch; ++i) {
        tp->rx_iov[i] = {tp->rx_bufs.data() + size_t{i} * kRxBufLen, kRxBufLen};
        msghdr& h = tp->rx_msgs[i].msg_hdr;
        h.msg_iov = &tp->rx_iov[i];
        h.msg_iovlen = 1;
    }
    tp->wake_fds.push_back(fd);
    // Same-host fast path: offer a mailbox (we own addr:port in this netns now) and use others'.
    if (shm::enabled_by_env()) {
        tp->netns = shm::netns_id();
        std::unique_ptr<shm::Mailbox> mb(new (std::nothrow) shm::Mailbox);
        if (int rc = !mb ? -ENOMEM : tp->netns ? mb->create(d->cfg.addr_be, tp->port) : -ENOENT; rc) {
            std::fprintf(stderr, "softud: %s: no shared-memory mailbox (%s): UDP only\n",
                         d->cfg.name.c_str(), std::strerror(-rc));
            tp->netns = 0;
        } else {
            tp->wake_fds.push_back(mb->bell_fd());
            tp->mb = std::move(mb);
        }
    }
    if (FaultConfig fc = faults_from_env(d->cfg.name); fc.any()) {
        tp->faults.reset(new (std::nothrow) Faults(fc, d->cfg.name, is_ib(d), d->ctr));
        if (tp->faults && tp->faults->timer_fd() >= 0)
            tp->wake_fds.push_back(tp->faults->timer_fd());
    }
    for (Channel* ch : d->channels) {
        for (int w : tp->wake_fds) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = w;
            ::epoll_ctl(ch->ch.fd, EPOLL_CTL_ADD, w, &ev);
        }
    }
    if (const char* dir = std::getenv("SOFTUD_STAT_DIR"); dir && *dir) {
        if (int rc = d->ctr.publish(dir, d->cfg.name); rc)
            std::fprintf(stderr, "softud: %s: counters not published in %s: %s\n", d->cfg.name.c_str(),
                         dir, std::strerror(-rc));
    }
    d->tp = std::move(tp);
    d->tp_fast.store(d->tp.get(), std::memory_order_release);
    if (d->tp->mb) {  // CQs armed before the first QP existed want the bell too
        std::lock_guard<std::mutex> b(d->bell_lock);
        if (d->armed_channel_cqs > 0)
            d->tp->mb->arm();
    }
    return 0;
}

void transport_release_locked(Device* d) noexcept {
    if (!d->tp)
        return;
    d->tp_fast.store(nullptr, std::memory_order_release);
    ::close(d->tp->fd);  // also leaves every epoll set it was in (as the bell and timer fds do)
    d->tp.reset();       // mailbox closed and unlinked, lanes released, held datagrams counted
    d->ctr.unpublish();
}

}  // namespace softud
