/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud control plane: vdev probe/remove and the ethdev operations.
 * Probe opens the verbs device, creates QP 0 (its QPN names the port: MAC
 * default and what peers address), registers for mempool events and publishes
 * the static peer table. QPs live until close and keep their QPNs across
 * stop/start: stop moves them to RESET, start back to RTS. While started, a
 * health check on the control thread reports a QP an error completion left in
 * the error state, and a queue whose CQ failed (overrun); start rebuilds the
 * latter's QP and CQs (a new QPN).
 */
#include <cerrno>
#include <cinttypes>
#include <new>
#include <string>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_alarm.h>
#include <rte_malloc.h>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

RTE_LOG_REGISTER(rdmaud_logtype, pmd.net.rdmaud, NOTICE);

namespace rdmaud {

QpCaps qp_caps(const Port &port)
{
	const uint32_t max_sge = static_cast<uint32_t>(port.dev.attr.max_sge);
	return QpCaps{port.qp_depth, port.qp_depth, std::min(kMaxTxSegs, max_sge), port.cfg.tx_inline,
		      std::min(kMaxRxSegs, max_sge)};
}

int create_qps(Port &port, uint16_t n)
{
	const QpCaps caps = qp_caps(port);
	for (uint16_t i = port.nb_qps; i < n; i++) {
		std::string err;
		if (int rc = create_ud_qp(port.dev, caps, port.qps[i], err); rc != 0) {
			RDMAUD_LOG(ERR, "%s: queue %u: %s", port.dev.name.c_str(), i, err.c_str());
			port.qps[i] = UdQp{};
			return rc;
		}
		port.nb_qps = i + 1;
	}
	return 0;
}

namespace {

int dev_configure(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	const uint16_t n = std::max(dev->data->nb_rx_queues, dev->data->nb_tx_queues);
	if (n > kMaxQueues || n == 0)
		return -EINVAL;
	if (int rc = create_qps(port, n); rc != 0)
		return rc;
	/* Fewer queues than before: drop the extra QPs (QP 0 names the port and stays). */
	for (uint16_t i = std::max<uint16_t>(n, 1); i < port.nb_qps; i++)
		port.qps[i] = UdQp{};
	port.nb_qps = std::max<uint16_t>(n, 1);
	return 0;
}

} // namespace

/* Also a secondary process's (rdmaud_mp.cpp). */
int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info)
{
	Port &port = *port_of(dev);
	info->max_rx_queues = kMaxQueues;
	info->max_tx_queues = kMaxQueues;
	info->max_mac_addrs = kMaxMacAddrs;
	/* The frame is the UD payload: the largest frame is the verbs port MTU. */
	info->max_rx_pktlen = port.dev.mtu_bytes;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = static_cast<uint16_t>(port.dev.mtu_bytes - kL2Overhead);
	info->min_rx_bufsize = RTE_ETHER_MIN_LEN;
	info->rx_desc_lim.nb_max = static_cast<uint16_t>(port.qp_depth);
	info->rx_desc_lim.nb_min = kMinDesc;
	info->rx_desc_lim.nb_align = 1;
	info->tx_desc_lim.nb_max = static_cast<uint16_t>(port.qp_depth);
	info->tx_desc_lim.nb_min = kMinDesc;
	info->tx_desc_lim.nb_align = 1;
	info->tx_desc_lim.nb_seg_max = static_cast<uint16_t>(port.qps[0].max_send_sge);
	info->tx_desc_lim.nb_mtu_seg_max = static_cast<uint16_t>(port.qps[0].max_send_sge);
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	info->tx_queue_offload_capa = 0;
	info->rx_offload_capa = kRxOffloads;
	info->rx_queue_offload_capa = kRxOffloads;
	info->flow_type_rss_offloads = kRssFlowTypes;
	info->dev_capa |= RTE_ETH_DEV_CAPA_RUNTIME_RX_QUEUE_SETUP | RTE_ETH_DEV_CAPA_RUNTIME_TX_QUEUE_SETUP;
	info->default_rxportconf.burst_size = 32;
	info->default_rxportconf.ring_size = kDefaultDesc;
	info->default_rxportconf.nb_queues = 1;
	info->default_txportconf.burst_size = 32;
	info->default_txportconf.ring_size = kDefaultDesc;
	info->default_txportconf.nb_queues = 1;
	return 0;
}

namespace {

/* Link speed in Mb/s from the verbs port's active speed and width. */
uint32_t link_speed(const ibv_port_attr &pa)
{
	uint32_t lane; /* Mb/s per lane */
	switch (pa.active_speed) {
	case 1: lane = 2500; break;    /* SDR */
	case 2: lane = 5000; break;    /* DDR */
	case 4: case 8: lane = 10000; break; /* QDR, FDR10 */
	case 16: lane = 14000; break;  /* FDR */
	case 32: lane = 25000; break;  /* EDR */
	case 64: lane = 50000; break;  /* HDR */
	case 128: lane = 100000; break; /* NDR */
	default: return RTE_ETH_SPEED_NUM_UNKNOWN;
	}
	uint32_t width;
	switch (pa.active_width) {
	case 1: width = 1; break;
	case 2: width = 4; break;
	case 4: width = 8; break;
	case 8: width = 12; break;
	case 16: width = 2; break;
	default: return RTE_ETH_SPEED_NUM_UNKNOWN;
	}
	return lane * width;
}

int link_update(rte_eth_dev *dev, int wait_to_complete)
{
	(void)wait_to_complete;
	Port &port = *port_of(dev);
	rte_eth_link link{};
	ibv_port_attr pa;
	bool active = query_port_state(port.dev, pa) == 0 && pa.state == IBV_PORT_ACTIVE;
	const bool up = active && port.started;
	link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	link.link_speed = up ? link_speed(pa) : RTE_ETH_SPEED_NUM_NONE;
	link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	link.link_autoneg = RTE_ETH_LINK_FIXED;
	return rte_eth_linkstatus_set(dev, &link);
}

/*
 * QP health. An error completion leaves a UD QP in the error state: its sends and
 * receives flush and the queue pair carries no traffic until dev_stop resets the QP
 * (dev_start brings it back to RTS). The datapath only counts error completions; it
 * cannot reset a QP that the rx and tx queues of another lcore share. So every
 * kHealthPeriodUs the EAL alarm thread compares each queue pair's error counters with
 * what it saw last; when they grew it asks the QP's state and, the first time it finds
 * the error state, logs it and raises RTE_ETH_EVENT_INTR_RESET: the application then
 * stops and starts the port, or calls rte_eth_dev_reset().
 */
constexpr uint64_t kHealthPeriodUs = 100 * 1000;

uint64_t queue_wc_errors(const rte_eth_dev *dev, uint16_t i)
{
	uint64_t n = 0;
	if (i < dev->data->nb_rx_queues)
		if (const auto *q = static_cast<const RxQueue *>(dev->data->rx_queues[i]))
			n += __atomic_load_n(&q->c.wc_errors, __ATOMIC_RELAXED);
	if (i < dev->data->nb_tx_queues)
		if (const auto *q = static_cast<const TxQueue *>(dev->data->tx_queues[i]))
			n += __atomic_load_n(&q->c.wc_errors, __ATOMIC_RELAXED);
	return n;
}

uint64_t queue_cq_errors(const rte_eth_dev *dev, uint16_t i)
{
	uint64_t n = 0;
	if (i < dev->data->nb_rx_queues)
		if (const auto *q = static_cast<const RxQueue *>(dev->data->rx_queues[i]))
			n += __atomic_load_n(&q->c.cq_errors, __ATOMIC_RELAXED);
	if (i < dev->data->nb_tx_queues)
		if (const auto *q = static_cast<const TxQueue *>(dev->data->tx_queues[i]))
			n += __atomic_load_n(&q->c.cq_errors, __ATOMIC_RELAXED);
	return n;
}

void health_check(void *arg)
{
	auto *dev = static_cast<rte_eth_dev *>(arg);
	Port &port = *port_of(dev);
	bool reset = false;
	for (uint16_t i = 0; i < port.nb_qps; i++) {
		UdQp &qp = port.qps[i];
		/* A CQ in error (overrun, IBV_EVENT_CQ_ERR) fails every poll: the queue is stuck. */
		if (!qp.rebuild && queue_cq_errors(dev, i) != qp.cq_errors_seen) {
			qp.rebuild = true;
			reset = true;
			RDMAUD_LOG(ERR, "port %u queue %u: a completion queue of QP 0x%x failed (CQ overrun: "
				   "ibv_poll_cq returns an error); the queue carries no traffic until the port is "
				   "stopped and started again (or reset), which rebuilds the QP with a new QPN",
				   dev->data->port_id, i, qp.qp->qp_num);
		}
		const uint64_t n = queue_wc_errors(dev, i);
		if (n == qp.wc_errors_seen || qp.error_reported) {
			qp.wc_errors_seen = n;
			continue;
		}
		qp.wc_errors_seen = n;
		const int st = qp_state(qp.qp.get());
		if (st != IBV_QPS_ERR && st != IBV_QPS_SQE)
			continue;
		qp.error_reported = true;
		reset = true;
		RDMAUD_LOG(ERR, "port %u queue %u: QP 0x%x is in the error state after %" PRIu64 " error "
			   "completion(s); the queue pair carries no traffic until the port is stopped and "
			   "started again (or reset)", dev->data->port_id, i, qp.qp->qp_num, n);
	}
	if (__atomic_load_n(&port.started, __ATOMIC_ACQUIRE))
		rte_eal_alarm_set(kHealthPeriodUs, health_check, dev);
	/* Last: the application's callback may stop the port (which cancels the check just
	 * armed), start it again (which arms one) or even close it. */
	if (reset)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RESET, nullptr);
}

void health_check_start(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	for (uint16_t i = 0; i < port.nb_qps; i++) {
		port.qps[i].wc_errors_seen = queue_wc_errors(dev, i);
		port.qps[i].cq_errors_seen = queue_cq_errors(dev, i);
		port.qps[i].error_reported = false;
	}
	if (int rc = rte_eal_alarm_set(kHealthPeriodUs, health_check, dev); rc != 0)
		RDMAUD_LOG(WARNING, "port %u: no QP health check (%s): a QP in the error state is only "
			   "visible in the wc_errors counters", dev->data->port_id, rte_strerror(-rc));
}

int dev_stop(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	/* Waits for a running check; the one it re-armed is cancelled too. */
	__atomic_store_n(&port.started, false, __ATOMIC_RELEASE);
	rte_eal_alarm_cancel(health_check, dev);
	rx_intr_stop(dev);
	if (port.registry)
		port.registry->withdraw_local();
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	rte_mb();
	for (uint16_t i = 0; i < port.nb_qps; i++)
		if (port.qps[i].qp && qp_to_reset(port.qps[i].qp.get()) != 0)
			RDMAUD_LOG(WARNING, "port %u: QP %u did not go to RESET", dev->data->port_id, i);
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		rxq_stop(dev, i);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		txq_stop(dev, i);
	port.started = false;
	dev->data->dev_started = 0;
	link_update(dev, 0);
	return 0;
}

/* Replace queue pair i (stopped), whose CQ failed, by a new one: same caps, new QPN. */
int rebuild_qp(rte_eth_dev *dev, uint16_t i)
{
	Port &port = *port_of(dev);
	UdQp fresh;
	std::string err;
	const uint32_t old_qpn = port.qps[i].qp->qp_num;
	if (int rc = create_ud_qp(port.dev, qp_caps(port), fresh, err); rc != 0) {
		RDMAUD_LOG(ERR, "port %u queue %u: cannot rebuild QP 0x%x after its CQ failed: %s",
			   dev->data->port_id, i, old_qpn, err.c_str());
		return rc;
	}
	port.qps[i] = std::move(fresh);
	if (i < dev->data->nb_rx_queues)
		if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i])) {
			q->cq = port.qps[i].recv_cq.get();
			q->qp = port.qps[i].qp.get();
		}
	if (i < dev->data->nb_tx_queues)
		if (auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i])) {
			q->cq = port.qps[i].send_cq.get();
			q->qp = port.qps[i].qp.get();
		}
	RDMAUD_LOG(WARNING, "port %u queue %u: QP 0x%x rebuilt as QP 0x%x after its CQ failed; "
		   "peers that name the old QPN statically (peers=) must be updated, the registry "
		   "publishes the new one", dev->data->port_id, i, old_qpn, port.qps[i].qp->qp_num);
	return 0;
}

int dev_start(rte_eth_dev *dev)
{
	Port &port = *port_of(dev);
	const uint16_t n = std::max(dev->data->nb_rx_queues, dev->data->nb_tx_queues);
	int rc = 0;
	for (uint16_t i = 0; i < n && rc == 0; i++)
		if (port.qps[i].rebuild)
			rc = rebuild_qp(dev, i);
	for (uint16_t i = 0; i < n && rc == 0; i++) {
		rc = qp_to_rts(port.dev, port.qps[i].qp.get(), port.cfg.qkey);
		if (rc != 0)
			RDMAUD_LOG(ERR, "port %u: QP %u cannot reach RTS: %s", dev->data->port_id, i,
				   rte_strerror(-rc));
	}
	for (uint16_t i = 0; i < dev->data->nb_rx_queues && rc == 0; i++)
		rc = queue_deferred(dev, true, i) ? 0 : rxq_start(dev, i);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues && rc == 0; i++)
		rc = queue_deferred(dev, false, i) ? 0 : txq_start(dev, i);
	if (rc == 0)
		rc = rx_intr_start(dev);
	if (rc != 0) {
		dev_stop(dev);
		return rc;
	}
	const uint64_t txo = dev->data->dev_conf.txmode.offloads;
	const bool multi = (txo & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
	const bool fast_free = (txo & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0 && !multi;
	bool inl = false;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		inl = inl || static_cast<TxQueue *>(dev->data->tx_queues[i])->inline_max > 0;
	bool fixed_lkey = true, scatter = false;
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		const auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
		fixed_lkey = fixed_lkey && q->lkey != kNoLkey;
		scatter = scatter || q->nseg > 1;
	}
	port.rx_base = scatter ? rx_burst_scatter : select_rx_burst(fixed_lkey);
	/* Not promiscuous: the variant that filters on the destination MAC (rx_select). */
	dev->rx_pkt_burst = port.filter.promisc ? port.rx_base : select_rx_filter(port.rx_base);
	dev->tx_pkt_burst = select_tx_burst(multi, inl, fast_free);
	rte_mb();
	port.started = true;
	health_check_start(dev);
	link_update(dev, 0);
	if (port.registry) {
		std::string err;
		if (int prc = port.registry->publish_local(dev, err); prc != 0)
			RDMAUD_LOG(ERR, "port %u: not published in the registry: %s", dev->data->port_id, err.c_str());
	}
	RDMAUD_LOG(INFO, "port %u started: %u rx / %u tx queues, %s%s rx burst, %s%s%s tx burst",
		   dev->data->port_id, dev->data->nb_rx_queues, dev->data->nb_tx_queues,
		   scatter ? "scattered" : "single-mbuf", port.filter.promisc ? "" : " MAC-filtering", multi ? "multi-segment" : "single-segment",
		   inl ? " inline" : "", fast_free ? " fast-free" : "");
	return 0;
}

int mtu_set(rte_eth_dev *dev, uint16_t mtu)
{
	Port &port = *port_of(dev);
	const uint32_t frame = mtu + kL2Overhead;
	if (frame > port.dev.mtu_bytes)
		return -EINVAL;
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
		if (q != nullptr && q->nseg * q->seg_len < frame) {
			RDMAUD_LOG(ERR, "port %u: MTU %u needs %u-byte frames; rxq %u receives at most %u (%u "
				   "mbuf(s) of mempool %s): set the queue up again", dev->data->port_id, mtu, frame, i,
				   q->nseg * q->seg_len, q->nseg, q->mp->name);
			return -EINVAL;
		}
	}
	txq_set_max_frame(dev, frame);
	return 0;
}

/* rte_eth_dev_reset() stopped the port first, which reset every QP (clearing an
 * error state); dev_start brings them back to RTS. The configuration is kept, so
 * the application may reconfigure the port or simply start it again. */
int dev_reset(rte_eth_dev *dev)
{
	(void)dev;
	return 0;
}

int dev_close(rte_eth_dev *dev)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	Port *port = port_of(dev);
	if (port == nullptr)
		return 0;
	telemetry_detach(dev->data->port_id); /* no telemetry callback reads it from here on */
	if (port->started)
		dev_stop(dev);
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		rx_queue_release(dev, i);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		tx_queue_release(dev, i);
	events_stop(dev);
	intr_fini(dev);
	port->registry.reset(); /* its thread must not publish peers while they are torn down */
	/* QPs, CQs, AHs, MRs, PD and context, in that order (Port's member order). */
	port->~Port();
	dev->data->dev_private = nullptr; /* ethdev's release must not free a destroyed object twice */
	rte_free(port);
	return 0;
}

/* Filled by assignment: g++ 12 warns on partial designated initializers. */
constexpr eth_dev_ops kOps = [] {
	eth_dev_ops ops{};
	ops.dev_configure = dev_configure;
	ops.dev_start = dev_start;
	ops.dev_stop = dev_stop;
	ops.dev_close = dev_close;
	ops.dev_reset = dev_reset;
	ops.promiscuous_enable = promiscuous_enable;
	ops.promiscuous_disable = promiscuous_disable;
	ops.allmulticast_enable = allmulticast_enable;
	ops.allmulticast_disable = allmulticast_disable;
	ops.mac_addr_add = mac_addr_add;
	ops.mac_addr_remove = mac_addr_remove;
	ops.mac_addr_set = mac_addr_set;
	ops.set_mc_addr_list = set_mc_addr_list;
	ops.link_update = link_update;
	ops.stats_get = stats_get;
	ops.stats_reset = stats_reset;
	ops.xstats_get = xstats_get;
	ops.xstats_reset = xstats_reset;
	ops.xstats_get_names = xstats_get_names;
	ops.dev_infos_get = dev_infos_get;
	ops.mtu_set = mtu_set;
	ops.rx_queue_setup = rx_queue_setup;
	ops.rx_queue_release = rx_queue_release;
	ops.tx_queue_setup = tx_queue_setup;
	ops.tx_queue_release = tx_queue_release;
	ops.dev_supported_ptypes_get = supported_ptypes_get;
	ops.dev_ptypes_set = ptypes_set;
	ops.rxq_info_get = rxq_info_get;
	ops.txq_info_get = txq_info_get;
	ops.rx_burst_mode_get = rx_burst_mode_get;
	ops.tx_burst_mode_get = tx_burst_mode_get;
	ops.fw_version_get = fw_version_get;
	ops.rx_queue_start = rx_queue_start;
	ops.rx_queue_stop = rx_queue_stop;
	ops.tx_queue_start = tx_queue_start;
	ops.tx_queue_stop = tx_queue_stop;
	ops.rx_queue_intr_enable = rx_queue_intr_enable;
	ops.rx_queue_intr_disable = rx_queue_intr_disable;
	return ops;
}();

/* Verbs resources, QP 0, MR registry and the static peer table. 0 or -errno. */
int open_port(Port &port, const char *name)
{
	std::string err;
	if (int rc = open_device(port.cfg, port.dev, err); rc != 0) {
		RDMAUD_LOG(ERR, "%s: %s", name, err.c_str());
		return rc;
	}
	port.qp_depth = std::min<uint32_t>(kMaxDesc, static_cast<uint32_t>(port.dev.attr.max_qp_wr));
	if (port.qp_depth < kMinDesc) {
		RDMAUD_LOG(ERR, "%s: %s allows only %u WRs per queue, fewer than %u", name,
			   port.dev.name.c_str(), port.qp_depth, kMinDesc);
		return -ENOTSUP;
	}
	if (int rc = create_qps(port, 1); rc != 0)
		return rc;
	port.mac = port.cfg.mac_set ? port.cfg.mac : derive_mac(port.dev, port.qps[0].qp->qp_num);
	port.filter.set_unicast(0, mac_key(port.mac));

	port.mrs.init(verbs_mr_ops(port.dev.pd.get()));
	if (int rc = port.mrs.watch(); rc != 0)
		RDMAUD_LOG(WARNING, "%s: no mempool events (%d): pools are registered on first sight only", name, rc);

	port.ahs.init(&port.dev);
	port.peers.init([ahs = &port.ahs](ibv_ah *ah) { ahs->release(ah); });
	if (int rc = publish_peer_table(port, {}, err); rc != 0) {
		RDMAUD_LOG(ERR, "%s: invalid devarg peers: %s", name, err.c_str());
		return rc;
	}
	if (port.cfg.registry_on) {
		if (int rc = RegistryLink::create(port, port.registry, err); rc != 0) {
			RDMAUD_LOG(ERR, "%s: registry %s: %s", name, port.cfg.registry.c_str(), err.c_str());
			return rc;
		}
		RDMAUD_LOG(INFO, "%s: resolving through registry %s, namespace %s", name,
			   port.cfg.registry.c_str(), port.cfg.registry_ns.c_str());
	}
	return 0;
}

int probe(rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *args = rte_vdev_device_args(vdev);

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return probe_secondary(vdev); /* rdmaud_mp.cpp */

	DevConfig cfg;
	std::string err;
	if (parse_devargs(args, cfg, err) != 0) {
		RDMAUD_LOG(ERR, "%s: %s", name, err.c_str());
		return -EINVAL;
	}

	rte_eth_dev *dev = rte_eth_vdev_allocate(vdev, sizeof(Port));
	if (dev == nullptr) {
		RDMAUD_LOG(ERR, "%s: cannot allocate an ethdev port", name);
		return -ENOMEM;
	}
	/* dev_private is zeroed rte_malloc memory: construct the C++ object in it. */
	Port *port = new (dev->data->dev_private) Port{};
	port->cfg = std::move(cfg);
	port->port_id = dev->data->port_id;

	int rc = open_port(*port, name);
	if (rc == 0)
		rc = intr_init(dev);
	if (rc == 0 && (rc = events_start(dev)) != 0)
		RDMAUD_LOG(ERR, "%s: cannot watch %s's asynchronous events: %s", name, port->dev.name.c_str(),
			   rte_strerror(-rc));
	/* ethdev rte_free()s mac_addrs when the port is released. */
	if (rc == 0) {
		dev->data->mac_addrs = static_cast<rte_ether_addr *>(
			rte_zmalloc_socket(name, sizeof(rte_ether_addr) * kMaxMacAddrs, 0, vdev->device.numa_node));
		if (dev->data->mac_addrs == nullptr)
			rc = -ENOMEM;
	}
	if (rc != 0) {
		events_stop(dev);
		rte_intr_instance_free(dev->intr_handle);
		dev->intr_handle = nullptr;
		port->~Port();
		rte_eth_dev_release_port(dev);
		return rc;
	}
	dev->data->mac_addrs[0] = port->mac;
	/* Per-queue packets/bytes/errors in the xstats (rx_q0_packets, ...), from stats_get. */
	dev->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->mtu = static_cast<uint16_t>(std::min<uint32_t>(RTE_ETHER_MTU, port->dev.mtu_bytes - kL2Overhead));
	dev->dev_ops = &kOps;
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_descriptor_status = tx_descriptor_status;
	dev->rx_queue_count = rx_queue_count;
	dev->rx_descriptor_status = rx_descriptor_status;
	rte_eth_dev_probing_finish(dev);
	telemetry_attach(dev->data->port_id, port);

	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &port->mac);
	RDMAUD_LOG(INFO, "%s: probed as port %u", name, dev->data->port_id);
	RDMAUD_LOG(NOTICE, "%s: port %u on %s port %u, %s, qpn 0x%x, qkey 0x%x, mac %s, "
		   "max frame %u, NUMA node %d, %zu static peer(s)", name, dev->data->port_id,
		   port->dev.name.c_str(), port->dev.port, source_address(port->dev).c_str(),
		   port->qps[0].qp->qp_num, port->cfg.qkey, mac, port->dev.mtu_bytes, port->dev.numa_node,
		   port->cfg.peers.size());
	return 0;
}

int remove(rte_vdev_device *vdev)
{
	rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
	if (dev == nullptr)
		return 0; /* already closed by the application */
	dev_close(dev);
	return rte_eth_dev_release_port(dev);
}

} // namespace
} // namespace rdmaud

/* Entry points for the vdev bus; registered in rdmaud_register.c. */
extern "C" int rdmaud_vdev_probe(rte_vdev_device *vdev) noexcept
{
	return rdmaud::probe(vdev);
}

extern "C" int rdmaud_vdev_remove(rte_vdev_device *vdev) noexcept
{
	return rdmaud::remove(vdev);
}
