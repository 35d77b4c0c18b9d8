/* SPDX-License-Identifier: BSD-3-Clause */
// Asynchronous events: a queue per context. context->async_fd is an epoll set holding an eventfd
// (semaphore mode) that counts queued events and, when SOFTUD_STAT_DIR is set, an inotify watch
// on the device's port control file <SOFTUD_STAT_DIR>/<device>.ctl. Writing "down", "active" or
// "fatal" there changes what ibv_query_port reports and, at the next ibv_get_async_event of each
// context, raises IBV_EVENT_PORT_ERR, IBV_EVENT_PORT_ACTIVE or IBV_EVENT_DEVICE_FATAL. The fd is
// pollable and honours O_NONBLOCK; CQ overruns are queued as before.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "softud.h"

namespace softud {
namespace {

std::string ctl_dir() {
    const char* d = std::getenv("SOFTUD_STAT_DIR");
    return d && *d ? d : "";
}

std::string ctl_name(const Device* d) { return d->cfg.name + ".ctl"; }

// Queue one event for the port (or the device) without taking async_lock twice.
void queue_locked(Context* ctx, ibv_event_type t) {
    ibv_async_event ev{};
    ev.event_type = t;
    if (t == IBV_EVENT_DEVICE_FATAL)
        ev.element.port_num = 0;
    else
        ev.element.port_num = kPortNum;
    ctx->async_events.push_back(ev);
    uint64_t one = 1;
    ssize_t n = ::write(ctx->async_evfd, &one, sizeof(one));
    (void)n;
}

// Drain the inotify watch; when the control file changed, queue the events its new state means.
void ctl_check(Context* ctx) {
    if (ctx->ctl_ifd < 0)
        return;
    alignas(inotify_event) char buf[4096];
    bool touched = false;
    const std::string want = ctl_name(ctx->dev);
    for (;;) {
        ssize_t n = ::read(ctx->ctl_ifd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            auto* e = reinterpret_cast<inotify_event*>(buf + off);
            if (e->len && want == e->name)
                touched = true;
            off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
    }
    if (!touched)
        return;
    const int now = port_ctl_read(ctx->dev);
    std::lock_guard<std::mutex> g(ctx->async_lock);
    const int was = ctx->ctl_state;
    if (now == was || was == kDeviceFatal)
        return;  // a dead device stays dead
    ctx->ctl_state = now;
    if (now == kDeviceFatal)
        queue_locked(ctx, IBV_EVENT_DEVICE_FATAL);
    else
        queue_locked(ctx, now == kPortDown ? IBV_EVENT_PORT_ERR : IBV_EVENT_PORT_ACTIVE);
}

bool nonblocking(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

}  // namespace

int port_ctl_read(const Device* d) noexcept {
    const std::string dir = ctl_dir();
    if (dir.empty())
        return kPortActive;
    const std::string path = dir + "/" + ctl_name(d);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kPortActive;
    char buf[32] = {};
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0)
        return kPortActive;
    if (std::strncmp(buf, "down", 4) == 0)
        return kPortDown;
    if (std::strncmp(buf, "fatal", 5) == 0)
        return kDeviceFatal;
    return kPortActive;
}

int async_open(Context* ctx) noexcept {
    ibv_context* c = to_ibv(ctx);
    c->async_fd = ::epoll_create1(EPOLL_CLOEXEC);
    ctx->async_evfd = ::eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE | EFD_NONBLOCK);
    if (c->async_fd < 0 || ctx->async_evfd < 0) {
        int e = errno;
        async_close(ctx);
        return e;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = ctx->async_evfd;
    ::epoll_ctl(c->async_fd, EPOLL_CTL_ADD, ctx->async_evfd, &ev);
    const std::string dir = ctl_dir();
    if (!dir.empty()) {
        ctx->ctl_ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ctx->ctl_ifd >= 0 &&
            ::inotify_add_watch(ctx->ctl_ifd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) >= 0) {
            epoll_event iev{};
            iev.events = EPOLLIN;
            iev.data.fd = ctx->ctl_ifd;
            ::epoll_ctl(c->async_fd, EPOLL_CTL_ADD, ctx->ctl_ifd, &iev);
        } else if (ctx->ctl_ifd >= 0) {
            ::close(ctx->ctl_ifd);
            ctx->ctl_ifd = -1;
        }
    }
    ctx->ctl_state = port_ctl_read(ctx->dev);
    return 0;
}

void async_close(Context* ctx) noexcept {
    ibv_context* c = to_ibv(ctx);
    for (int* fd : {&c->async_fd, &ctx->async_evfd, &ctx->ctl_ifd}) {
        if (*fd >= 0)
            ::close(*fd);
        *fd = -1;
    }
}

void post_async_event(Context* ctx, const ibv_async_event& ev) noexcept {
    {
        std::lock_guard<std::mutex> g(ctx->async_lock);
        ctx->async_events.push_back(ev);
    }
    uint64_t one = 1;
    ssize_t n = ::write(ctx->async_evfd, &one, sizeof(one));
    (void)n;
}

}  // namespace softud

using namespace softud;

extern "C" {

int ibv_get_async_event(ibv_context* context, ibv_async_event* event) {
    Context* ctx = from_ibv(context);
    for (;;) {
        ctl_check(ctx);
        uint64_t v;
        ssize_t n = ::read(ctx->async_evfd, &v, sizeof(v));
        if (n == sizeof(v)) {
            std::lock_guard<std::mutex> g(ctx->async_lock);
            if (ctx->async_events.empty()) {
                errno = EAGAIN;
                return -1;
            }
            *event = ctx->async_events.front();
            ctx->async_events.pop_front();
            return 0;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (nonblocking(context->async_fd)) {
            errno = EAGAIN;
            return -1;
        }
        pollfd p{context->async_fd, POLLIN, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR)
            return -1;
    }
}

void ibv_ack_async_event(ibv_async_event* event) {
    if (event->event_type == IBV_EVENT_CQ_ERR && event->element.cq) {
        ibv_cq* cq = event->element.cq;
        pthread_mutex_lock(&cq->mutex);
        ++cq->async_events_completed;
        pthread_cond_broadcast(&cq->cond);
        pthread_mutex_unlock(&cq->mutex);
    }
}

}  // extern "C"
