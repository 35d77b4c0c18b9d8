/* SPDX-License-Identifier: BSD-3-Clause */
// ibv_post_send: a WR list becomes one sendmmsg of [headers][payload SGEs][pad+ICRC] iovecs,
// straight from the caller's buffers (inline data is sent before the call returns, so it is
// "copied at post time" by the kernel). Completions are produced in posting order once the
// datagrams have left. Slot accounting follows the UD rules: a WR holds its send-queue slot
// until a completion at or after it has been polled.
#include <cerrno>
#include <cstring>
#include <mutex>

#include "softud.h"

namespace softud {
namespace {

constexpr size_t kTrlStride = 8;  // per-message trailer buffer (pad <= 3 + ICRC 4)
static_assert(kTrlStride >= wire::kMaxTrailerLen);

bool sges_ok(Context* ctx, ibv_pd* pd, const ibv_sge* sg, int n) {
    for (int i = 0; i < n; ++i) {
        if (!sg[i].length)
            continue;
        auto it = ctx->mrs.find(sg[i].lkey);
        if (it == ctx->mrs.end())
            return false;
        const Mr* m = it->second;
        if (m->mr.pd != pd || sg[i].addr < m->start || sg[i].addr - m->start > m->len ||
            sg[i].length > m->len - (sg[i].addr - m->start))
            return false;
    }
    return true;
}

}  // namespace
}  // namespace softud

using namespace softud;

extern "C" int softud_post_send(ibv_qp* ibqp, ibv_send_wr* wr, ibv_send_wr** bad_wr) {
    Qp* qp = from_ibv(ibqp);
    Device* d = qp->dev;
    d->ctr.add(Counter::post_send_calls);
    std::lock_guard<std::mutex> g(qp->send_lock);
    const int st = qp->state.load(std::memory_order_acquire);
    if (st != IBV_QPS_RTS && st != IBV_QPS_ERR) {
        *bad_wr = wr;
        return EINVAL;
    }
    Transport* tp = d->tp_fast.load(std::memory_order_acquire);
    const bool ib = is_ib(d);
    const uint32_t mtu = mtu_bytes(d->cfg.mtu);
    const ibv_qp_cap& cap = qp->cap;
    const uint64_t retired = qp->sq_retired.load(std::memory_order_acquire);
    const size_t iov_stride = cap.max_send_sge + 2;
    qp->tx_done.clear();
    size_t nmsg = 0;
    uint64_t accepted = 0, signaled = 0, too_long = 0;
    bool err = st == IBV_QPS_ERR;
    bool went_error = false;
    int rc = 0;

    std::shared_lock<std::shared_mutex> mrs(qp->ctx->mr_lock);
    for (; wr; wr = wr->next) {
        if ((wr->opcode != IBV_WR_SEND && wr->opcode != IBV_WR_SEND_WITH_IMM) || wr->num_sge < 0 ||
            static_cast<uint32_t>(wr->num_sge) > cap.max_send_sge || !wr->wr.ud.ah) {
            rc = EINVAL;
            break;
        }
        uint64_t len = 0;
        for (int i = 0; i < wr->num_sge; ++i)
            len += wr->sg_list[i].length;
        const bool inl = wr->send_flags & IBV_SEND_INLINE;
        if (inl && len > cap.max_inline_data) {
            rc = EINVAL;
            break;
        }
        if (qp->sq_posted - retired >= cap.max_send_wr) {
            rc = ENOMEM;
            break;
        }
        const uint64_t idx = ++qp->sq_posted;
        ++accepted;
        const bool sig = qp->sq_sig_all || (wr->send_flags & IBV_SEND_SIGNALED);
        Cqe e{};
        e.wc.wr_id = wr->wr_id;
        e.wc.status = IBV_WC_SUCCESS;
        e.wc.opcode = IBV_WC_SEND;
        e.wc.qp_num = ibqp->qp_num;
        e.wc.byte_len = static_cast<uint32_t>(len);
        e.qp = qp;
        e.sq_retire = idx;
        if (err) {
            e.wc.status = IBV_WC_WR_FLUSH_ERR;
            e.solicited = true;
            qp->tx_done.push_back(e);
            continue;
        }
        if (!inl && !sges_ok(qp->ctx, ibqp->pd, wr->sg_list, wr->num_sge)) {
            e.wc.status = IBV_WC_LOC_PROT_ERR;
            e.solicited = true;
            qp->tx_done.push_back(e);
            err = went_error = true;
            continue;
        }
        if (tp && tp->faults && tp->faults->wc_error()) {  // injected: an error completion
            e.wc.status = IBV_WC_GENERAL_ERR;
            e.solicited = true;
            qp->tx_done.push_back(e);
            err = went_error = true;
            continue;
        }
        if (sig) {
            ++signaled;
            qp->tx_done.push_back(e);
        }
        if (len > mtu) {  // UD: nothing is sent, the WR completes successfully
            ++too_long;
            continue;
        }
        Ah* ah = from_ibv(wr->wr.ud.ah);
        wire::UdHeader ud;
        ud.with_imm = wr->opcode == IBV_WR_SEND_WITH_IMM;
        ud.solicited = wr->send_flags & IBV_SEND_SOLICITED;
        ud.pkey = wire::kDefaultPkey;
        ud.dest_qpn = wr->wr.ud.remote_qpn & wire::kQpnMask;
        ud.psn = qp->sq_psn;
        qp->sq_psn = (qp->sq_psn + 1) & wire::kPsnMask;
        // A remote Q_Key with the MSB set means "use the QP's own Q_Key".
        ud.qkey = (wr->wr.ud.remote_qkey & 0x80000000u) ? qp->qkey : wr->wr.ud.remote_qkey;
        ud.src_qpn = ibqp->qp_num;
        ud.imm_be = wr->imm_data;
        uint8_t* hdr = qp->tx_hdr.data() + nmsg * wire::kMaxIbHeaderLen;
        uint8_t* trl = qp->tx_trl.data() + nmsg * kTrlStride;
        iovec* iov = qp->tx_iov.data() + nmsg * iov_stride;
        std::span<uint8_t> hspan(hdr, wire::kMaxIbHeaderLen);
        size_t hlen = ib ? wire::encode_ib_headers(ah->lrh, ah->grh ? &ah->ibgrh : nullptr, ud, len, hspan)
                         : wire::encode_roce_headers(ud, len, hspan);
        size_t k = 0;
        iov[k++] = {hdr, hlen};
        for (int i = 0; i < wr->num_sge; ++i)
            if (wr->sg_list[i].length)
                iov[k++] = {reinterpret_cast<void*>(wr->sg_list[i].addr), wr->sg_list[i].length};
        // Pad (zeros) and room for the ICRC; the ICRC itself is computed only for datagrams that
        // go through the socket (below): a shared-memory record crosses no wire.
        std::memset(trl, 0, kTrlStride);
        const size_t tlen = wire::trailer_len(len);
        iov[k++] = {trl, tlen};
        msghdr& h = qp->tx_msgs[nmsg].msg_hdr;
        h = {};
        h.msg_name = &ah->dst;
        h.msg_namelen = sizeof(ah->dst);
        h.msg_iov = iov;
        h.msg_iovlen = k;
        ++nmsg;
    }
    mrs.unlock();

    uint64_t sent = 0, bytes = 0, errors = 0, calls = 0, shm_batches = 0;
    // Same-host destinations: one ring publication per run of WRs to the same address, no
    // system call. What is left (other hosts, or no mailbox) moves down for sendmmsg.
    if (tp && tp->netns && nmsg) {
        const int64_t now = shm::now_ns();
        size_t out = 0;
        for (size_t i = 0; i < nmsg;) {
            const auto* dst = static_cast<const sockaddr_in*>(qp->tx_msgs[i].msg_hdr.msg_name);
            size_t j = i + 1;
            while (j < nmsg && qp->tx_msgs[j].msg_hdr.msg_name == dst)
                ++j;
            bool done = false;
            if (shm::Link* l = tp->links.get(dst->sin_addr.s_addr, ntohs(dst->sin_port))) {
                std::lock_guard<std::mutex> lg(l->lock);
                if (l->usable(tp->netns, now)) {
                    bytes += l->publish(&qp->tx_msgs[i], j - i, d->cfg.addr_be, tp->port, 0, tp->ttl);
                    sent += j - i;
                    ++shm_batches;
                    done = true;
                }
            }
            for (size_t k = i; !done && k < j; ++k, ++out)
                if (out != k)
                    qp->tx_msgs[out] = qp->tx_msgs[k];
            i = j;
        }
        nmsg = out;
    }
    // The socket path: every datagram gets its ICRC (the pseudo header's addresses and ports are
    // those of the socket and the destination).
    for (size_t i = 0; tp && i < nmsg; ++i) {
        const msghdr& h = qp->tx_msgs[i].msg_hdr;
        const auto* dst = static_cast<const sockaddr_in*>(h.msg_name);
        std::span<const iovec> segs(h.msg_iov, h.msg_iovlen - 1);  // headers + payload, no trailer
        auto* trl = static_cast<uint8_t*>(h.msg_iov[h.msg_iovlen - 1].iov_base);
        if (ib) {
            wire::finish_ib_trailer(segs, std::span<uint8_t>(trl, kTrlStride));
        } else {
            wire::Ipv4Pseudo ip;
            ip.saddr_be = d->cfg.addr_be;
            ip.daddr_be = dst->sin_addr.s_addr;
            ip.sport = tp->port;
            ip.dport = ntohs(dst->sin_port);
            ip.ip_id = 0;
            ip.df = true;
            wire::finish_roce_v4_trailer(ip, segs, std::span<uint8_t>(trl, kTrlStride));
        }
    }
    // One system call for the whole list (UIO_MAXIOV messages per call at most).
    for (size_t off = 0; tp && off < nmsg;) {
        unsigned n = static_cast<unsigned>(std::min<size_t>(nmsg - off, kMaxMsgsPerSyscall));
        int r = ::sendmmsg(tp->fd, qp->tx_msgs.data() + off, n, 0);
        ++calls;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ++errors;  // this datagram is lost, as on a wire; the WR still completed
            ++off;
            continue;
        }
        for (int i = 0; i < r; ++i)
            bytes += qp->tx_msgs[off + i].msg_len;
        sent += static_cast<unsigned>(r);
        off += static_cast<unsigned>(r);
    }
    if (!tp)
        errors += nmsg;
    CounterBlock& c = d->ctr;
    if (calls) c.add(Counter::sendmmsg_calls, calls);
    if (shm_batches) c.add(Counter::shm_tx_batches, shm_batches);
    if (sent) c.add(Counter::tx_packets, sent);
    if (bytes) c.add(Counter::tx_bytes, bytes);
    if (errors) c.add(Counter::tx_errors, errors);
    if (too_long) c.add(Counter::tx_too_long, too_long);
    if (accepted) c.add(Counter::post_send_wrs, accepted);
    if (signaled) c.add(Counter::signaled_wrs, signaled);

    if (went_error)
        qp_to_error(qp);
    if (tp && tp->faults && !qp->tx_done.empty()) {  // injected: completions held back
        if (const int64_t due = tp->faults->send_due(shm::now_ns(), qp->tx_done.size()))
            for (Cqe& e : qp->tx_done)
                e.due = due;
    }
    if (!qp->tx_done.empty())
        cq_push(qp->scq, qp->tx_done.data(), qp->tx_done.size());
    if (rc)
        *bad_wr = wr;
    return rc;
}
