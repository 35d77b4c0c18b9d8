/* SPDX-License-Identifier: BSD-3-Clause */
// Receive side: ibv_post_recv queues buffers (SGEs resolved and checked at post time); drain()
// reads a batch of datagrams with one recvmmsg, checks each (ICRC, P_Key, Q_Key, QP state, MTU,
// buffer size) and scatters GRH + payload into the next posted receive. Drops are silent and
// counted by cause.
#include <netinet/ip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bytes.h"
#include "softud.h"

namespace softud {
namespace {

constexpr uint8_t kDefaultTtl = 64;  // GRH hop limit when the kernel gives no IP_TTL

// Copies `n` bytes of `src` to logical offset `off` of the SGE list.
void scatter(const iovec* sge, uint32_t nsge, size_t off, const uint8_t* src, size_t n) {
    for (uint32_t i = 0; i < nsge && n; ++i) {
        if (off >= sge[i].iov_len) {
            off -= sge[i].iov_len;
            continue;
        }
        size_t c = std::min(n, sge[i].iov_len - off);
        std::memcpy(static_cast<uint8_t*>(sge[i].iov_base) + off, src, c);
        src += c;
        n -= c;
        off = 0;
    }
}

struct RxMeta {
    uint8_t tos = 0, ttl = kDefaultTtl;
};

RxMeta read_cmsgs(const msghdr& h) {
    RxMeta m;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
        if (c->cmsg_level != IPPROTO_IP)
            continue;
        if (c->cmsg_type == IP_TOS)
            m.tos = *CMSG_DATA(c);
        else if (c->cmsg_type == IP_TTL) {
            int v;
            std::memcpy(&v, CMSG_DATA(c), sizeof(v));
            m.ttl = static_cast<uint8_t>(v);
        }
    }
    return m;
}

Counter parse_drop(wire::ParseResult r) {
    return r == wire::ParseResult::bad_icrc ? Counter::drop_icrc : Counter::drop_malformed;
}

// Per-batch state: the last QP looked up (QPs cannot go away while the drain lock is held) and
// the delivery counters, added to the device once per drain rather than per datagram.
struct BatchCache {
    uint32_t qpn = ~0u;
    Qp* qp = nullptr;
    uint64_t rx_packets = 0, rx_bytes = 0;
    // The last RoCE GRH built and what it depends on (a batch is mostly one sender and size).
    uint64_t grh_key = ~uint64_t{0};
    uint32_t grh_saddr = 0;
    uint8_t grh[wire::kGrhLen];
};

// The IPv4/UDP fields the receiver checks a RoCEv2 ICRC against.
wire::Ipv4Pseudo pseudo_of(const Device* d, const Transport* tp, const shm::Incoming& in) {
    wire::Ipv4Pseudo ip;
    ip.saddr_be = in.saddr_be;
    ip.daddr_be = d->cfg.addr_be;
    ip.sport = in.sport;
    ip.dport = tp->port;
    ip.ip_id = 0;  // what a Linux UDP socket with DF set puts there; the ICRC covers it
    ip.ip_id_unknown = true;  // a socket does not show it, and rxe and NICs send others
    ip.df = true;
    return ip;
}

// One datagram from either path: the socket or a shared-memory ring.
void deliver(Device* d, Transport* tp, const shm::Incoming& in, BatchCache& cache) {
    CounterBlock& ctr = d->ctr;
    if (in.trunc) {
        ctr.add(Counter::drop_too_long);
        return;
    }
    const uint8_t* data = in.data;
    std::span<const uint8_t> dg(data, in.len);
    const bool ib = is_ib(d);

    wire::Parsed p;
    wire::ParsedIb pib;
    const wire::Ipv4Pseudo ip = pseudo_of(d, tp, in);
    // A shared-memory record crossed no wire: its ICRC was neither computed nor is it checked.
    const bool check_icrc = !in.no_icrc;
    if (ib) {
        auto r = wire::parse_ib(dg, pib, check_icrc);
        if (r != wire::ParseResult::ok) {
            ctr.add(parse_drop(r));
            return;
        }
        if (pib.dlid != d->lid) {
            ctr.add(Counter::drop_dlid);
            return;
        }
        p = pib.base;
    } else {
        auto r = wire::parse_roce_v4(dg, ip, p, check_icrc);
        if (r != wire::ParseResult::ok) {
            ctr.add(parse_drop(r));
            return;
        }
        if (p.ip_id != 0)
            ctr.add(Counter::rx_ip_id_recovered);
    }
    Qp* qp = cache.qp;
    if (p.ud.dest_qpn != cache.qpn) {
        std::lock_guard<std::mutex> g(d->lock);
        auto it = d->qps.find(p.ud.dest_qpn);
        qp = it == d->qps.end() ? nullptr : it->second;
        cache.qpn = p.ud.dest_qpn;
        cache.qp = qp;
    }
    if (!qp) {
        ctr.add(Counter::drop_unknown_qpn);
        return;
    }
    int st = qp->state.load(std::memory_order_acquire);
    if (st != IBV_QPS_RTR && st != IBV_QPS_RTS) {
        ctr.add(Counter::drop_qp_state);
        return;
    }
    // Port P_Key table holds only 0xFFFF (full member): the low 15 bits must match.
    if ((p.ud.pkey & 0x7fff) != (wire::kDefaultPkey & 0x7fff)) {
        ctr.add(Counter::drop_pkey);
        return;
    }
    if (p.ud.qkey != qp->qkey) {
        ctr.add(Counter::drop_qkey);
        return;
    }
    if (p.payload_len > mtu_bytes(d->cfg.mtu)) {
        ctr.add(Counter::drop_too_long);
        return;
    }
    Cqe e{};
    e.wc.status = IBV_WC_SUCCESS;
    e.wc.opcode = IBV_WC_RECV;
    e.wc.byte_len = kUdGrhLen + p.payload_len;
    e.wc.qp_num = qp->qp.qp_num;
    e.wc.src_qp = p.ud.src_qpn;
    e.wc.imm_data = p.ud.imm_be;
    e.wc.wc_flags = p.ud.with_imm ? IBV_WC_WITH_IMM : 0;
    if (!ib || pib.has_grh)
        e.wc.wc_flags |= IBV_WC_GRH;
    e.wc.pkey_index = qp->pkey_index;
    e.wc.slid = ib ? pib.slid : 0;
    e.wc.sl = ib ? pib.sl : 0;
    e.solicited = p.ud.solicited;
    bool prot_err = false;
    {
        std::lock_guard<std::mutex> g(qp->recv_lock);
        if (!qp->rq_count) {
            ctr.add(Counter::drop_no_recv);
            return;
        }
        const RecvWqe& w = qp->rq[qp->rq_head];
        const iovec* sge = qp->rq_sge.data() + size_t{qp->rq_head} * qp->cap.max_recv_sge;
        if (!w.prot_err && e.wc.byte_len > w.total) {
            ctr.add(Counter::drop_too_long);  // documented choice: like rxe, drop, keep the WQE
            return;
        }
        e.wc.wr_id = w.wr_id;
        if (w.prot_err) {
            prot_err = true;
            e.wc.status = IBV_WC_LOC_PROT_ERR;
            e.solicited = true;
        } else {
            if (!ib) {
                const uint64_t key = uint64_t{in.len} << 32 | uint64_t{in.sport} << 16 | uint64_t{in.tos} << 8 | in.ttl;
                if (key != cache.grh_key || in.saddr_be != cache.grh_saddr) {
                    wire::build_ipv4_grh(ip, in.len, in.tos, in.ttl,
                                         std::span<uint8_t, wire::kGrhLen>(cache.grh, wire::kGrhLen));
                    cache.grh_key = key;
                    cache.grh_saddr = in.saddr_be;
                }
                scatter(sge, w.num_sge, 0, cache.grh, sizeof(cache.grh));
            } else if (pib.has_grh) {
                scatter(sge, w.num_sge, 0, data + pib.grh_offset, wire::kGrhLen);
            }
            scatter(sge, w.num_sge, kUdGrhLen, data + p.payload_offset, p.payload_len);
        }
        qp->rq_head = (qp->rq_head + 1) % static_cast<uint32_t>(qp->rq.size());
        --qp->rq_count;
    }
    if (!prot_err) {
        ++cache.rx_packets;
        cache.rx_bytes += in.len;
    }
    cq_push(qp->rcq, &e, 1);
    if (prot_err)
        qp_to_error(qp);
}

struct IngestCtx {
    Device* d;
    Transport* tp;
    BatchCache* cache;
};

void deliver_cb(void* c, shm::Incoming& in) {
    auto* x = static_cast<IngestCtx*>(c);
    deliver(x->d, x->tp, in, *x->cache);
}

// Every datagram passes here: through the fault injector if one is configured.
void ingest(Device* d, Transport* tp, shm::Incoming& in, BatchCache& cache) {
    if (!tp->faults) {
        deliver(d, tp, in, cache);
        return;
    }
    // Faults act on the datagram as the wire carries it (a corrupted bit must fail the ICRC
    // check): a shared-memory record gets the ICRC its sender skipped.
    if (in.no_icrc && in.len >= wire::kIcrcLen) {
        const std::span<const uint8_t> body(in.data, in.len - wire::kIcrcLen);
        const uint32_t icrc = is_ib(d) ? wire::icrc_ib(body) : wire::icrc_roce_v4(pseudo_of(d, tp, in), body);
        wire::detail::store_le32(in.data + body.size(), icrc);
        in.no_icrc = false;
    }
    IngestCtx x{d, tp, &cache};
    tp->faults->on_datagram(in, deliver_cb, &x);
}

unsigned read_socket(Device* d, Transport* tp, BatchCache& cache) {
    for (unsigned i = 0; i < kRxBatch; ++i) {
        msghdr& h = tp->rx_msgs[i].msg_hdr;
        h.msg_name = &tp->rx_from[i];
        h.msg_namelen = sizeof(tp->rx_from[i]);
        h.msg_control = tp->rx_cmsg[i];
        h.msg_controllen = sizeof(tp->rx_cmsg[i]);
        h.msg_flags = 0;
    }
    int n = ::recvmmsg(tp->fd, tp->rx_msgs, kRxBatch, MSG_DONTWAIT, nullptr);
    tp->sock_hot = n > 0;
    tp->sock_turn = 0;
    if (n <= 0)
        return 0;
    d->ctr.add(Counter::recvmmsg_calls);
    for (int i = 0; i < n; ++i) {
        const mmsghdr& mm = tp->rx_msgs[i];
        RxMeta m = read_cmsgs(mm.msg_hdr);
        shm::Incoming in{tp->rx_bufs.data() + size_t(i) * kRxBufLen, mm.msg_len, tp->rx_from[i].sin_addr.s_addr,
                         ntohs(tp->rx_from[i].sin_port), m.tos, m.ttl, (mm.msg_hdr.msg_flags & MSG_TRUNC) != 0, false};
        ingest(d, tp, in, cache);
    }
    return static_cast<unsigned>(n);
}

}  // namespace

bool drain(Device* d, bool empty_bell) noexcept {
    Transport* tp = d->tp_fast.load(std::memory_order_acquire);
    if (!tp || !tp->drain_lock.try_lock())
        return false;
    BatchCache cache;
    unsigned got = 0;
    if (tp->mb) {
        tp->mb->clear_bell(empty_bell);
        uint64_t overflow = 0;
        got = tp->mb->poll(kRxBatch, overflow, [&](shm::Incoming& in) { ingest(d, tp, in, cache); });
        if (overflow)
            d->ctr.add(Counter::drop_overflow, overflow);
        if (got)
            d->ctr.add(Counter::shm_rx_batches);
    }
    // The socket carries other hosts' traffic (and everything when the fast path is off).
    if (!tp->mb || tp->sock_hot || ++tp->sock_turn >= kSockEvery)
        got += read_socket(d, tp, cache);
    if (tp->faults && tp->faults->holding()) {
        IngestCtx x{d, tp, &cache};
        got += tp->faults->release_due(shm::now_ns(), deliver_cb, &x);
    }
    if (cache.rx_packets) {
        d->ctr.add(Counter::rx_packets, cache.rx_packets);
        d->ctr.add(Counter::rx_bytes, cache.rx_bytes);
    }
    tp->drain_lock.unlock();
    return got > 0;
}

}  // namespace softud

using namespace softud;

extern "C" int softud_post_recv(ibv_qp* ibqp, ibv_recv_wr* wr, ibv_recv_wr** bad_wr) {
    Qp* qp = from_ibv(ibqp);
    Device* d = qp->dev;
    d->ctr.add(Counter::post_recv_calls);
    std::vector<Cqe> flushed;
    uint64_t accepted = 0;
    int rc = 0;
    {
        std::lock_guard<std::mutex> g(qp->recv_lock);
        const int st = qp->state.load(std::memory_order_acquire);
        if (st == IBV_QPS_RESET) {
            *bad_wr = wr;
            return EINVAL;
        }
        const uint32_t cap = static_cast<uint32_t>(qp->rq.size());
        const uint32_t nsge_max = qp->cap.max_recv_sge;
        Context* ctx = qp->ctx;
        std::shared_lock<std::shared_mutex> mrs(ctx->mr_lock);
        for (; wr; wr = wr->next) {
            if (wr->num_sge < 0 || static_cast<uint32_t>(wr->num_sge) > nsge_max) {
                rc = EINVAL;
                break;
            }
            if (st == IBV_QPS_ERR) {
                Cqe e{};
                e.wc.wr_id = wr->wr_id;
                e.wc.status = IBV_WC_WR_FLUSH_ERR;
                e.wc.opcode = IBV_WC_RECV;
                e.wc.qp_num = ibqp->qp_num;
                e.solicited = true;
                flushed.push_back(e);
                ++accepted;
                continue;
            }
            if (qp->rq_count == cap) {
                rc = ENOMEM;
                break;
            }
            uint32_t slot = (qp->rq_head + qp->rq_count) % cap;
            RecvWqe& w = qp->rq[slot];
            iovec* sge = qp->rq_sge.data() + size_t{slot} * nsge_max;
            w.wr_id = wr->wr_id;
            w.num_sge = static_cast<uint32_t>(wr->num_sge);
            w.prot_err = false;
            uint64_t total = 0;
            for (int i = 0; i < wr->num_sge; ++i) {
                const ibv_sge& s = wr->sg_list[i];
                sge[i] = {reinterpret_cast<void*>(s.addr), s.length};
                total += s.length;
                if (!s.length)
                    continue;
                auto it = ctx->mrs.find(s.lkey);
                const Mr* m = it == ctx->mrs.end() ? nullptr : it->second;
                if (!m || m->mr.pd != ibqp->pd || !(m->access & IBV_ACCESS_LOCAL_WRITE) ||
                    s.addr < m->start || s.addr - m->start > m->len ||
                    s.length > m->len - (s.addr - m->start))
                    w.prot_err = true;
            }
            w.total = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
            ++qp->rq_count;
            ++accepted;
        }
    }
    if (accepted)
        d->ctr.add(Counter::post_recv_wrs, accepted);
    if (!flushed.empty())
        cq_push(qp->rcq, flushed.data(), flushed.size());
    if (rc)
        *bad_wr = wr;
    return rc;
}
