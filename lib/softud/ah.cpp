/* SPDX-License-Identifier: BSD-3-Clause */
// Address handles. RoCE: the destination GID must be IPv4-mapped (is_global required); the
// datagram goes to that address, UDP 4791. IB mode: the destination LID names the peer's
// address (own first two octets . LID high . LID low), UDP 4792; a GRH only if is_global.
#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "softud.h"

namespace softud {
namespace {

int init_ah(Device* d, const ibv_ah_attr* a, Ah* ah) {
    if (a->port_num != kPortNum && a->port_num != 0)
        return EINVAL;
    ah->dst.sin_family = AF_INET;
    if (!is_ib(d)) {
        if (!a->is_global || a->grh.sgid_index >= kGidTableLen)
            return EINVAL;
        auto ip = wire::gid_to_ipv4(std::span<const uint8_t, 16>(a->grh.dgid.raw, 16));
        if (!ip)
            return EINVAL;  // softud speaks RoCE v2 over IPv4 only
        ah->dst.sin_addr.s_addr = *ip;
        ah->dst.sin_port = htons(wire::kRoceV2UdpPort);
        return 0;
    }
    if (!wire::lid_valid(a->dlid))
        return EINVAL;
    auto ip = wire::ipv4_from_lid(d->cfg.addr_be, a->dlid);
    if (!ip)
        return EINVAL;
    ah->dst.sin_addr.s_addr = *ip;
    ah->dst.sin_port = htons(wire::kIbModeUdpPort);
    ah->lrh.sl = a->sl & 0xf;
    ah->lrh.vl = 0;
    ah->lrh.dlid = a->dlid;
    ah->lrh.slid = d->lid;
    ah->grh = a->is_global;
    if (ah->grh) {
        if (a->grh.sgid_index >= kGidTableLen)
            return EINVAL;
        ah->ibgrh.tclass = a->grh.traffic_class;
        ah->ibgrh.flow_label = a->grh.flow_label & 0xfffff;
        ah->ibgrh.hop_limit = a->grh.hop_limit;
        std::memcpy(ah->ibgrh.sgid, d->gid, 16);
        std::memcpy(ah->ibgrh.dgid, a->grh.dgid.raw, 16);
    }
    return 0;
}

}  // namespace
}  // namespace softud

using namespace softud;

extern "C" {

ibv_ah* ibv_create_ah(ibv_pd* pd, ibv_ah_attr* attr) {
    if (!pd || !attr) {
        errno = EINVAL;
        return nullptr;
    }
    auto* ah = new (std::nothrow) Ah;
    if (!ah) {
        errno = ENOMEM;
        return nullptr;
    }
    if (int rc = init_ah(from_ibv(pd->context)->dev, attr, ah); rc) {
        delete ah;
        errno = rc;
        return nullptr;
    }
    ah->ah.context = pd->context;
    ah->ah.pd = pd;
    return &ah->ah;
}

int ibv_destroy_ah(ibv_ah* ah) {
    delete from_ibv(ah);
    return 0;
}

int ibv_init_ah_from_wc(ibv_context* context, uint8_t port_num, ibv_wc* wc, ibv_grh* grh,
                        ibv_ah_attr* ah_attr) {
    Device* d = from_ibv(context)->dev;
    *ah_attr = {};
    ah_attr->port_num = port_num;
    ah_attr->sl = wc->sl;
    if (!is_ib(d)) {
        if (!(wc->wc_flags & IBV_WC_GRH) || !grh) {
            errno = EINVAL;
            return -1;
        }
        // Bytes 20..39 of a RoCE v2 IPv4 receive GRH are the IPv4 header.
        const auto* ip = reinterpret_cast<const uint8_t*>(grh) + 20;
        if ((ip[0] >> 4) != 4) {
            errno = EINVAL;
            return -1;
        }
        uint32_t src;
        std::memcpy(&src, ip + 12, 4);
        ah_attr->is_global = 1;
        wire::ipv4_mapped_gid(src, std::span<uint8_t, 16>(ah_attr->grh.dgid.raw, 16));
        ah_attr->grh.sgid_index = 0;
        ah_attr->grh.hop_limit = 0xff;
        ah_attr->grh.traffic_class = ip[1];
        return 0;
    }
    ah_attr->dlid = wc->slid;
    ah_attr->src_path_bits = wc->dlid_path_bits;
    if (wc->wc_flags & IBV_WC_GRH) {
        if (!grh) {
            errno = EINVAL;
            return -1;
        }
        uint32_t vtf = ntohl(grh->version_tclass_flow);
        ah_attr->is_global = 1;
        ah_attr->grh.dgid = grh->sgid;
        ah_attr->grh.flow_label = vtf & 0xfffff;
        ah_attr->grh.traffic_class = static_cast<uint8_t>((vtf >> 20) & 0xff);
        ah_attr->grh.hop_limit = 0xff;
        ah_attr->grh.sgid_index = 0;
    }
    return 0;
}

ibv_ah* ibv_create_ah_from_wc(ibv_pd* pd, ibv_wc* wc, ibv_grh* grh, uint8_t port_num) {
    ibv_ah_attr a;
    if (ibv_init_ah_from_wc(pd->context, port_num, wc, grh, &a))
        return nullptr;
    return ibv_create_ah(pd, &a);
}

}  // extern "C"
