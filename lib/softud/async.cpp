/* SPDX-License-Identifier: BSD-3-Clause */
// Asynchronous events (CQ overrun): a queue per context; context->async_fd is an eventfd in
// semaphore mode counting queued events, so it is pollable and honours O_NONBLOCK.
#include <unistd.h>

#include <cerrno>

#include "softud.h"

namespace softud {

void post_async_event(Context* ctx, const ibv_async_event& ev) noexcept {
    {
        std::lock_guard<std::mutex> g(ctx->async_lock);
        ctx->async_events.push_back(ev);
    }
    uint64_t one = 1;
    ssize_t n = ::write(to_ibv(ctx)->async_fd, &one, sizeof(one));
    (void)n;
}

}  // namespace softud

using namespace softud;

extern "C" {

int ibv_get_async_event(ibv_context* context, ibv_async_event* event) {
    Context* ctx = from_ibv(context);
    uint64_t v;
    for (;;) {
        ssize_t n = ::read(context->async_fd, &v, sizeof(v));  // blocks unless O_NONBLOCK
        if (n == sizeof(v))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;  // errno from read (EAGAIN when non-blocking)
    }
    std::lock_guard<std::mutex> g(ctx->async_lock);
    if (ctx->async_events.empty()) {
        errno = EAGAIN;
        return -1;
    }
    *event = ctx->async_events.front();
    ctx->async_events.pop_front();
    return 0;
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
