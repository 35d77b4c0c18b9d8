/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud verbs control path: device and port selection, protection domain,
 * GID choice, UD queue pairs and their state machine, address handles.
 * Standard libibverbs calls only, so the same code runs on a real NIC (rdma-core)
 * and on softud. The datapath calls ibv_post_* / ibv_poll_cq directly, never this.
 */
#ifndef RDMAUD_VERBS_H
#define RDMAUD_VERBS_H

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <infiniband/verbs.h>

#include "rdmaud_devargs.h"

namespace rdmaud {

/* RAII deleters for verbs objects (destroy errors are reported by the caller's log). */
struct CtxDeleter { void operator()(ibv_context *c) const { ibv_close_device(c); } };
struct PdDeleter { void operator()(ibv_pd *p) const { ibv_dealloc_pd(p); } };
struct CqDeleter { void operator()(ibv_cq *c) const { ibv_destroy_cq(c); } };
struct QpDeleter { void operator()(ibv_qp *q) const { ibv_destroy_qp(q); } };
struct AhDeleter { void operator()(ibv_ah *a) const { ibv_destroy_ah(a); } };
struct MrDeleter { void operator()(ibv_mr *m) const { ibv_dereg_mr(m); } };
struct ChannelDeleter { void operator()(ibv_comp_channel *c) const { ibv_destroy_comp_channel(c); } };
using CtxPtr = std::unique_ptr<ibv_context, CtxDeleter>;
using PdPtr = std::unique_ptr<ibv_pd, PdDeleter>;
using CqPtr = std::unique_ptr<ibv_cq, CqDeleter>;
using QpPtr = std::unique_ptr<ibv_qp, QpDeleter>;
using AhPtr = std::unique_ptr<ibv_ah, AhDeleter>;
using MrPtr = std::unique_ptr<ibv_mr, MrDeleter>;
using ChannelPtr = std::unique_ptr<ibv_comp_channel, ChannelDeleter>;

/* Every UD receive buffer starts with a 40-byte GRH (present or not). */
inline constexpr uint32_t kGrhLen = 40;
static_assert(kGrhLen == sizeof(ibv_grh), "the GRH is 40 bytes on the wire");
/* Hop limit of RoCE v2 packets we send: routable, as a kernel IP stack's default TTL. */
inline constexpr uint8_t kHopLimit = 64;

/* The opened verbs device and the chosen port and source address. */
struct Device {
	CtxPtr ctx;
	PdPtr pd;
	std::string name;
	uint8_t port = 1;
	bool ib = false;          /* InfiniBand link layer: LID routing */
	bool use_grh = false;     /* send with a GRH (RoCE always) */
	int gid_index = -1;       /* source GID index (RoCE / IB with GRH) */
	ibv_gid gid{};            /* our GID at gid_index */
	uint16_t lid = 0;         /* our LID (IB) */
	uint32_t mtu_bytes = 0;   /* active path MTU in bytes: the largest frame */
	int numa_node = 0;        /* from sysfs; 0 when the device has none */
	ibv_device_attr attr{};
};

/* Bytes of an ibv_mtu enum value (IBV_MTU_256..IBV_MTU_4096); 0 if unknown. */
uint32_t mtu_to_bytes(ibv_mtu mtu);

/*
 * Open the device named cfg.dev (or the first), query port cfg.port, allocate a
 * PD and choose the source GID / LID routing. Returns 0 or a negative errno with
 * err saying what failed.
 */
int open_device(const DevConfig &cfg, Device &dev, std::string &err);

/* Refresh dev.mtu_bytes etc. from the port; fills *state. Returns 0 or -errno. */
int query_port_state(Device &dev, ibv_port_attr &attr);

/* One UD queue pair with its own send and receive CQs. The receive CQ reports to
 * a completion channel of its own (the rx queue's interrupt; null when the device
 * has none). Teardown order is QP, CQs, channel (a CQ a QP still uses cannot be
 * destroyed: EBUSY, leaked; a channel with a CQ is busy): member order for the
 * destructor, explicit in the move assignment. */
struct UdQp {
	UdQp() = default;
	UdQp(UdQp &&) = default;
	UdQp &operator=(UdQp &&o) noexcept
	{
		qp.reset();
		recv_cq.reset();
		send_cq.reset();
		rx_channel = std::move(o.rx_channel);
		send_cq = std::move(o.send_cq);
		recv_cq = std::move(o.recv_cq);
		qp = std::move(o.qp);
		max_send_wr = o.max_send_wr;
		max_recv_wr = o.max_recv_wr;
		max_send_sge = o.max_send_sge;
		max_recv_sge = o.max_recv_sge;
		max_inline = o.max_inline;
		wc_errors_seen = o.wc_errors_seen;
		cq_errors_seen = o.cq_errors_seen;
		error_reported = o.error_reported;
		rebuild = o.rebuild;
		return *this;
	}

	ChannelPtr rx_channel;
	CqPtr send_cq;
	CqPtr recv_cq;
	QpPtr qp;
	uint32_t max_send_wr = 0;
	uint32_t max_recv_wr = 0;
	uint32_t max_send_sge = 0;
	uint32_t max_recv_sge = 0;   /* SGEs per RECV: segments of a scattered frame */
	uint32_t max_inline = 0;
	/* Health check (control thread, while started): error completions of the queue pair
	 * seen so far, and whether its error state was reported since the last start. */
	uint64_t wc_errors_seen = 0;
	uint64_t cq_errors_seen = 0;
	bool error_reported = false;
	/* A failed (overrun) CQ cannot be used again: the next start rebuilds the QP and its
	 * CQs (the QP gets a new QPN). */
	bool rebuild = false;
};

/* Sizes requested for a UD QP; the device may round them up. */
struct QpCaps {
	uint32_t send_wr;
	uint32_t recv_wr;
	uint32_t send_sge;
	uint32_t inline_data;
	uint32_t recv_sge;
};

/* Create a UD QP (RESET state) with its CQs. Returns 0 or -errno. */
int create_ud_qp(Device &dev, const QpCaps &caps, UdQp &out, std::string &err);

/* RESET -> INIT -> RTR -> RTS with the port's Q_Key. Returns 0 or -errno. */
int qp_to_rts(Device &dev, ibv_qp *qp, uint32_t qkey);

/* Any state -> RESET: posted WRs are discarded, the QPN is kept. */
int qp_to_reset(ibv_qp *qp);

/* The QP's current state (an ibv_qp_state) or -errno. */
int qp_state(ibv_qp *qp);

/* An address handle for a peer; nullptr with errno set on failure. */
ibv_ah *create_peer_ah(Device &dev, const PeerSpec &peer, std::string &err);

/* Locally administered unicast MAC derived from the source address and a QPN. */
rte_ether_addr derive_mac(const Device &dev, uint32_t qpn);

/* Printable source address: "gid ::ffff:127.0.0.2 (index 0)" or "lid 0x5". */
std::string source_address(const Device &dev);

} // namespace rdmaud

#endif /* RDMAUD_VERBS_H */
