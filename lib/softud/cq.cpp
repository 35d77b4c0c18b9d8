/* SPDX-License-Identifier: BSD-3-Clause */
// Completion queues and completion channels. A CQ is a ring of completions filled by post_send
// (send completions are known when the datagrams leave) and by the receive drain; poll_cq drains
// the device socket itself when the CQ is empty, so no thread runs behind the caller's back.
// A channel's fd is an epoll set holding an eventfd (readable while events are queued) and the
// device's wake fds (socket, shared-memory bell FIFO, fault timer: readable when datagrams wait): poll(2) on it wakes for both, and
// ibv_get_cq_event drains the socket to turn datagrams into completions and events.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "softud.h"

namespace softud {
namespace {

void channel_notify(Channel* ch, Cq* cq) {
    std::lock_guard<std::mutex> g(ch->lock);
    if (ch->events.empty()) {
        uint64_t one = 1;
        ssize_t n = ::write(ch->evfd, &one, sizeof(one));
        (void)n;
    }
    ch->events.push_back(cq);
}

bool nonblocking(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

// Completions at the head of the ring that are due (the send_delay_us fault); c.lock held.
uint32_t due_prefix(const Cq& c) {
    const int64_t now = shm::now_ns();
    const size_t cap = c.ring.size();
    uint32_t n = 0;
    while (n < c.count && c.ring[(c.head + n) % cap].due <= now)
        ++n;
    return n;
}

}  // namespace

void armed_channel_cq(Device* d, int delta) noexcept {
    std::lock_guard<std::mutex> g(d->bell_lock);
    const int before = d->armed_channel_cqs;
    d->armed_channel_cqs += delta;
    Transport* tp = d->tp_fast.load(std::memory_order_acquire);
    if (!tp || !tp->mb)
        return;
    if (delta > 0)
        tp->mb->arm();  // also when already wanted: rings at once if records wait
    else if (before > 0 && d->armed_channel_cqs == 0)
        tp->mb->disarm();
}

void cq_push(Cq* c, const Cqe* cqes, size_t n) noexcept {
    bool overrun = false, fire = false;
    Transport* tp = c->ctx->dev->tp_fast.load(std::memory_order_acquire);
    Faults* f = tp ? tp->faults.get() : nullptr;
    size_t lost = 0;
    {
        std::lock_guard<std::mutex> g(c->lock);
        if (c->error) {
            c->ctx->dev->ctr.add(Counter::cq_lost, n);
            return;
        }
        size_t cap = c->ring.size();
        for (size_t i = 0; i < n; ++i) {
            if (c->count == cap || (f && f->cq_overrun())) {  // full, or an injected overrun
                if (c->ignore_overrun) {
                    ++lost;
                    continue;
                }
                c->error = true;
                overrun = true;
                lost += c->count + (n - i);  // never polled: the ring, this one and the rest
                break;
            }
            c->ring[(c->head + c->count) % cap] = cqes[i];
            ++c->count;
            if (cqes[i].due)
                ++c->held;
            if (c->armed && (!c->solicited_only || cqes[i].solicited ||
                             cqes[i].wc.status != IBV_WC_SUCCESS)) {
                c->armed = false;
                fire = true;
            }
        }
    }
    if (lost)
        c->ctx->dev->ctr.add(Counter::cq_lost, lost);
    if (fire && c->ch) {
        channel_notify(c->ch, c);
        armed_channel_cq(c->ctx->dev, -1);
    }
    if (overrun) {
        ibv_async_event ev{};
        ev.event_type = IBV_EVENT_CQ_ERR;
        ev.element.cq = &c->cq;
        post_async_event(c->ctx, ev);
    }
}

}  // namespace softud

using namespace softud;

extern "C" {

int softud_poll_cq(ibv_cq* cq, int num_entries, ibv_wc* wc) {
    Cq* c = from_ibv(cq);
    Device* d = c->ctx->dev;
    d->ctr.add(Counter::poll_cq_calls);
    if (num_entries <= 0)
        return 0;
    for (int attempt = 0;; ++attempt) {
        bool failed = false;
        {
            std::lock_guard<std::mutex> g(c->lock);
            failed = c->error;
            // Completions held back by the send_delay_us fault end the batch (CQs are FIFO).
            const uint32_t ready = failed ? 0 : c->held ? due_prefix(*c) : c->count;
            if (!failed && (ready || attempt)) {
                size_t cap = c->ring.size();
                int n = static_cast<int>(std::min<uint32_t>(ready, static_cast<uint32_t>(num_entries)));
                for (int i = 0; i < n; ++i) {
                    const Cqe& e = c->ring[c->head];
                    wc[i] = e.wc;
                    if (e.qp)
                        e.qp->sq_retired.store(e.sq_retire, std::memory_order_release);
                    if (e.due)
                        --c->held;
                    c->head = static_cast<uint32_t>((c->head + 1) % cap);
                }
                c->count -= static_cast<uint32_t>(n);
                return n;
            }
        }
        drain(d);  // empty CQ: turn waiting datagrams into completions, then look again
        // A failed CQ: the device still takes datagrams in (into posted receives, whose
        // completions are lost: cq_lost; or drop_no_recv), as an adapter does.
        if (failed)
            return -1;
    }
}

int softud_req_notify_cq(ibv_cq* cq, int solicited_only) {
    Cq* c = from_ibv(cq);
    bool newly = false;
    {
        std::lock_guard<std::mutex> g(c->lock);
        if (c->error)
            return EIO;
        newly = !c->armed && c->ch;
        c->armed = true;
        c->solicited_only = solicited_only != 0;
    }
    // Shared-memory senders must ring the mailbox's bell so the channel fd wakes.
    if (c->ch)
        armed_channel_cq(c->ctx->dev, newly ? 1 : 0);
    return 0;
}

ibv_comp_channel* ibv_create_comp_channel(ibv_context* context) {
    Context* ctx = from_ibv(context);
    auto* ch = new (std::nothrow) Channel;
    if (!ch) {
        errno = ENOMEM;
        return nullptr;
    }
    ch->ctx = ctx;
    ch->ch.context = context;
    ch->ch.fd = ::epoll_create1(EPOLL_CLOEXEC);
    ch->evfd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ch->ch.fd < 0 || ch->evfd < 0) {
        int e = errno;
        if (ch->ch.fd >= 0)
            ::close(ch->ch.fd);
        if (ch->evfd >= 0)
            ::close(ch->evfd);
        delete ch;
        errno = e;
        return nullptr;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = ch->evfd;
    ::epoll_ctl(ch->ch.fd, EPOLL_CTL_ADD, ch->evfd, &ev);
    Device* d = ctx->dev;
    std::lock_guard<std::mutex> g(d->lock);
    if (d->tp) {
        for (int w : d->tp->wake_fds) {
            epoll_event sev{};
            sev.events = EPOLLIN;
            sev.data.fd = w;
            ::epoll_ctl(ch->ch.fd, EPOLL_CTL_ADD, w, &sev);
        }
    }
    d->channels.push_back(ch);
    return &ch->ch;
}

int ibv_destroy_comp_channel(ibv_comp_channel* channel) {
    Channel* ch = from_ibv(channel);
    Device* d = ch->ctx->dev;
    {
        std::lock_guard<std::mutex> g(d->lock);
        if (channel->refcnt)
            return EBUSY;
        d->channels.erase(std::remove(d->channels.begin(), d->channels.end(), ch), d->channels.end());
    }
    ::close(ch->ch.fd);
    ::close(ch->evfd);
    delete ch;
    return 0;
}

ibv_cq* ibv_create_cq(ibv_context* context, int cqe, void* cq_context, ibv_comp_channel* channel,
                      int comp_vector) {
    if (cqe <= 0 || static_cast<uint32_t>(cqe) > kMaxCqe || comp_vector < 0 ||
        comp_vector >= context->num_comp_vectors) {
        errno = EINVAL;
        return nullptr;
    }
    auto* c = new (std::nothrow) Cq;
    if (!c) {
        errno = ENOMEM;
        return nullptr;
    }
    c->ring.resize(static_cast<size_t>(cqe));
    c->ctx = from_ibv(context);
    c->cq.context = context;
    c->cq.channel = channel;
    c->cq.cq_context = cq_context;
    c->cq.cqe = cqe;
    pthread_mutex_init(&c->cq.mutex, nullptr);
    pthread_cond_init(&c->cq.cond, nullptr);
    if (channel) {
        c->ch = from_ibv(channel);
        std::lock_guard<std::mutex> g(c->ctx->dev->lock);
        ++channel->refcnt;
    }
    return &c->cq;
}

int ibv_destroy_cq(ibv_cq* cq) {
    Cq* c = from_ibv(cq);
    Device* d = c->ctx->dev;
    bool was_armed;
    {
        std::lock_guard<std::mutex> g(c->lock);
        if (c->users)
            return EBUSY;
        was_armed = c->armed && c->ch;
        c->armed = false;
    }
    if (was_armed)
        armed_channel_cq(d, -1);
    // Wait until every event handed out by ibv_get_cq_event has been acknowledged.
    pthread_mutex_lock(&cq->mutex);
    while (cq->comp_events_completed != c->events_delivered)
        pthread_cond_wait(&cq->cond, &cq->mutex);
    pthread_mutex_unlock(&cq->mutex);
    if (c->ch) {
        {
            std::lock_guard<std::mutex> g(c->ch->lock);
            auto& ev = c->ch->events;
            ev.erase(std::remove(ev.begin(), ev.end(), c), ev.end());
            if (ev.empty()) {
                uint64_t v;
                ssize_t n = ::read(c->ch->evfd, &v, sizeof(v));
                (void)n;
            }
        }
        std::lock_guard<std::mutex> g(d->lock);
        --c->ch->ch.refcnt;
    }
    {
        // Unread CQ_ERR events must not point at freed memory.
        std::lock_guard<std::mutex> g(c->ctx->async_lock);
        for (auto& e : c->ctx->async_events)
            if (e.event_type == IBV_EVENT_CQ_ERR && e.element.cq == cq)
                e.element.cq = nullptr;
    }
    pthread_mutex_destroy(&cq->mutex);
    pthread_cond_destroy(&cq->cond);
    delete c;
    return 0;
}

int ibv_get_cq_event(ibv_comp_channel* channel, ibv_cq** cq, void** cq_context) {
    Channel* ch = from_ibv(channel);
    Device* d = ch->ctx->dev;
    for (;;) {
        Cq* got = nullptr;
        {
            std::lock_guard<std::mutex> g(ch->lock);
            if (!ch->events.empty()) {
                got = ch->events.front();
                ch->events.pop_front();
                if (ch->events.empty()) {
                    uint64_t v;
                    ssize_t n = ::read(ch->evfd, &v, sizeof(v));
                    (void)n;
                }
            }
        }
        if (got) {
            pthread_mutex_lock(&got->cq.mutex);
            ++got->events_delivered;
            pthread_mutex_unlock(&got->cq.mutex);
            *cq = &got->cq;
            *cq_context = got->cq.cq_context;
            return 0;
        }
        const bool block = !nonblocking(channel->fd);
        if (drain(d, block))
            continue;  // datagrams were processed: maybe an event now
        if (!block) {
            errno = EAGAIN;
            return -1;
        }
        pollfd p{channel->fd, POLLIN, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR)
            return -1;
    }
}

void ibv_ack_cq_events(ibv_cq* cq, unsigned int nevents) {
    pthread_mutex_lock(&cq->mutex);
    cq->comp_events_completed += nevents;
    pthread_cond_broadcast(&cq->cond);
    pthread_mutex_unlock(&cq->mutex);
}

}  // extern "C"
