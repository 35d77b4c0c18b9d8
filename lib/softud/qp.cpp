/* SPDX-License-Identifier: BSD-3-Clause */
// UD queue pairs: creation (caps at least as large as asked), the RESET -> INIT -> RTR -> RTS
// state machine with the UD attribute-mask rules, query and destruction.
#include <algorithm>
#include <cerrno>
#include <new>

#include "softud.h"

namespace softud {
namespace {

constexpr int kAlwaysOptional = IBV_QP_CUR_STATE;

struct Transition {
    int from, to;   // -1: any state
    int required, optional;
};
// UD rules (IBA 11.2.4.2 / ibv_modify_qp(3)); anything else is EINVAL.
constexpr Transition kTransitions[] = {
    {-1, IBV_QPS_RESET, IBV_QP_STATE, 0},
    {-1, IBV_QPS_ERR, IBV_QP_STATE, 0},
    {IBV_QPS_RESET, IBV_QPS_INIT, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY, 0},
    {IBV_QPS_INIT, IBV_QPS_INIT, 0, IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY},
    {IBV_QPS_INIT, IBV_QPS_RTR, IBV_QP_STATE, IBV_QP_PKEY_INDEX | IBV_QP_QKEY},
    {IBV_QPS_RTR, IBV_QPS_RTS, IBV_QP_STATE | IBV_QP_SQ_PSN, IBV_QP_QKEY},
    {IBV_QPS_RTS, IBV_QPS_RTS, 0, IBV_QP_QKEY},
};

int check_transition(int cur, int target, int mask) {
    for (const auto& t : kTransitions) {
        if ((t.from != -1 && t.from != cur) || t.to != target)
            continue;
        int m = mask & ~kAlwaysOptional;
        if (cur == target && t.from != -1)  // RESET -> RESET, ERR -> ERR name the state
            m &= ~IBV_QP_STATE;
        if ((m & t.required) != t.required)
            return EINVAL;
        if (m & ~(t.required | t.optional))
            return EINVAL;
        return 0;
    }
    return EINVAL;
}

// Drops every posted receive without completions (to RESET). Completions of this QP still in
// its CQs stay pollable but no longer retire send-queue slots: the reset send queue counts
// from zero again, and an older completion polled later must not count as progress in it.
void clear_queues_locked(Qp* qp) {
    qp->rq_head = qp->rq_count = 0;
    {
        std::lock_guard<std::mutex> g(qp->scq->lock);
        for (auto& e : qp->scq->ring)
            if (e.qp == qp)
                e.qp = nullptr;
    }
    qp->sq_posted = 0;
    qp->sq_retired.store(0, std::memory_order_release);
}

}  // namespace

void qp_to_error(Qp* qp) noexcept {
    std::vector<Cqe> flushed;
    {
        std::lock_guard<std::mutex> g(qp->recv_lock);
        qp->state.store(IBV_QPS_ERR, std::memory_order_release);
        __atomic_store_n(&qp->qp.state, IBV_QPS_ERR, __ATOMIC_RELEASE);
        flushed.reserve(qp->rq_count);
        uint32_t cap = static_cast<uint32_t>(qp->rq.size());
        for (uint32_t i = 0; i < qp->rq_count; ++i) {
            Cqe e{};
            e.wc.wr_id = qp->rq[(qp->rq_head + i) % cap].wr_id;
            e.wc.status = IBV_WC_WR_FLUSH_ERR;
            e.wc.opcode = IBV_WC_RECV;
            e.wc.qp_num = qp->qp.qp_num;
            e.solicited = true;
            flushed.push_back(e);
        }
        qp->rq_head = qp->rq_count = 0;
    }
    if (!flushed.empty())
        cq_push(qp->rcq, flushed.data(), flushed.size());
}

}  // namespace softud

using namespace softud;

extern "C" {

ibv_qp* ibv_create_qp(ibv_pd* pd, ibv_qp_init_attr* attr) {
    if (!pd || !attr || !attr->send_cq || !attr->recv_cq) {
        errno = EINVAL;
        return nullptr;
    }
    if (attr->qp_type != IBV_QPT_UD || attr->srq) {
        errno = EOPNOTSUPP;  // softud implements the UD transport only, without SRQ
        return nullptr;
    }
    ibv_qp_cap& c = attr->cap;
    if (c.max_send_wr > kMaxQpWr || c.max_recv_wr > kMaxQpWr || c.max_send_sge > kMaxSge ||
        c.max_recv_sge > kMaxSge || c.max_inline_data > kMaxInline) {
        errno = EINVAL;
        return nullptr;
    }
    Context* ctx = from_ibv(pd->context);
    Device* d = ctx->dev;
    if (int rc = transport_acquire(d); rc) {
        errno = -rc;
        return nullptr;
    }
    auto* qp = new (std::nothrow) Qp;
    if (!qp) {
        errno = ENOMEM;
        return nullptr;
    }
    qp->ctx = ctx;
    qp->dev = d;
    qp->scq = from_ibv(attr->send_cq);
    qp->rcq = from_ibv(attr->recv_cq);
    qp->sq_sig_all = attr->sq_sig_all != 0;
    qp->cap.max_send_wr = std::max(c.max_send_wr, 1u);
    qp->cap.max_recv_wr = std::max(c.max_recv_wr, 1u);
    qp->cap.max_send_sge = std::max(c.max_send_sge, 1u);
    qp->cap.max_recv_sge = std::max(c.max_recv_sge, 1u);
    qp->cap.max_inline_data = std::max(c.max_inline_data, kDefaultInline);
    const ibv_qp_cap& g = qp->cap;
    try {
        size_t per_batch = std::min<size_t>(g.max_send_wr, kMaxQpWr);
        qp->tx_msgs.resize(per_batch);
        qp->tx_iov.resize(per_batch * (g.max_send_sge + 2));
        qp->tx_hdr.resize(per_batch * wire::kMaxIbHeaderLen);
        qp->tx_trl.resize(per_batch * 8);
        qp->tx_done.reserve(per_batch);
        qp->rq.resize(g.max_recv_wr);
        qp->rq_sge.resize(size_t{g.max_recv_wr} * g.max_recv_sge);
    } catch (...) {
        delete qp;
        errno = ENOMEM;
        return nullptr;
    }
    ibv_qp& q = qp->qp;
    q.context = pd->context;
    q.qp_context = attr->qp_context;
    q.pd = pd;
    q.send_cq = attr->send_cq;
    q.recv_cq = attr->recv_cq;
    q.srq = nullptr;
    q.state = IBV_QPS_RESET;
    q.qp_type = IBV_QPT_UD;
    pthread_mutex_init(&q.mutex, nullptr);
    pthread_cond_init(&q.cond, nullptr);
    {
        std::lock_guard<std::mutex> lk(d->lock);
        if (d->qps.size() >= kMaxQp) {
            delete qp;
            errno = ENOMEM;
            return nullptr;
        }
        uint32_t qpn;
        do {
            qpn = d->next_qpn++ & wire::kQpnMask;
            if (qpn < kFirstQpn)
                continue;
        } while (qpn < kFirstQpn || d->qps.count(qpn));
        q.qp_num = qpn;
        q.handle = qpn;
        d->qps.emplace(qpn, qp);
    }
    for (Cq* cq : {qp->scq, qp->rcq}) {
        std::lock_guard<std::mutex> lk(cq->lock);
        ++cq->users;
    }
    c = g;
    return &q;
}

int ibv_modify_qp(ibv_qp* ibqp, ibv_qp_attr* attr, int mask) {
    Qp* qp = from_ibv(ibqp);
    int cur = qp->state.load(std::memory_order_acquire);
    if ((mask & IBV_QP_CUR_STATE) && attr->cur_qp_state != cur)
        return EINVAL;
    int target = (mask & IBV_QP_STATE) ? attr->qp_state : cur;
    if (int rc = check_transition(cur, target, mask); rc)
        return rc;
    if ((mask & IBV_QP_PORT) && attr->port_num != kPortNum)
        return EINVAL;
    if ((mask & IBV_QP_PKEY_INDEX) && attr->pkey_index >= kPkeyTableLen)
        return EINVAL;
    if (target == IBV_QPS_ERR) {
        qp_to_error(qp);
        return 0;
    }
    std::scoped_lock lk(qp->send_lock, qp->recv_lock);
    if (mask & IBV_QP_QKEY)
        qp->qkey = attr->qkey;
    if (mask & IBV_QP_PKEY_INDEX)
        qp->pkey_index = attr->pkey_index;
    if (mask & IBV_QP_SQ_PSN)
        qp->sq_psn = attr->sq_psn & wire::kPsnMask;
    if (target == IBV_QPS_RESET)
        clear_queues_locked(qp);
    qp->state.store(target, std::memory_order_release);
    __atomic_store_n(&ibqp->state, static_cast<ibv_qp_state>(target), __ATOMIC_RELEASE);
    return 0;
}

int ibv_query_qp(ibv_qp* ibqp, ibv_qp_attr* attr, int, ibv_qp_init_attr* init_attr) {
    Qp* qp = from_ibv(ibqp);
    std::scoped_lock lk(qp->send_lock, qp->recv_lock);
    *attr = {};
    attr->qp_state = static_cast<ibv_qp_state>(qp->state.load());
    attr->cur_qp_state = attr->qp_state;
    attr->path_mtu = qp->dev->cfg.mtu;
    attr->qkey = qp->qkey;
    attr->sq_psn = qp->sq_psn;
    attr->pkey_index = qp->pkey_index;
    attr->port_num = kPortNum;
    attr->cap = qp->cap;
    if (init_attr) {
        *init_attr = {};
        init_attr->qp_context = ibqp->qp_context;
        init_attr->send_cq = ibqp->send_cq;
        init_attr->recv_cq = ibqp->recv_cq;
        init_attr->cap = qp->cap;
        init_attr->qp_type = IBV_QPT_UD;
        init_attr->sq_sig_all = qp->sq_sig_all;
    }
    return 0;
}

int ibv_destroy_qp(ibv_qp* ibqp) {
    Qp* qp = from_ibv(ibqp);
    Device* d = qp->dev;
    {
        std::lock_guard<std::mutex> lk(d->lock);
        d->qps.erase(ibqp->qp_num);
    }
    // A drain in progress may still hold this QP: wait for it to finish.
    if (Transport* tp = d->tp_fast.load(std::memory_order_acquire)) {
        std::lock_guard<std::mutex> lk(tp->drain_lock);
    }
    for (Cq* cq : {qp->scq, qp->rcq}) {
        std::lock_guard<std::mutex> lk(cq->lock);
        for (auto& e : cq->ring)
            if (e.qp == qp)
                e.qp = nullptr;
        --cq->users;
    }
    pthread_mutex_destroy(&ibqp->mutex);
    pthread_cond_destroy(&ibqp->cond);
    delete qp;
    return 0;
}

}  // extern "C"
