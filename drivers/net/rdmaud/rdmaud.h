/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud: shared definitions of the PMD — constants (each with its reason),
 * the log macro, the per-port private data, and the control-path functions of
 * each file. Datapath structures live in rdmaud_rxtx.h.
 */
#ifndef RDMAUD_H
#define RDMAUD_H

#include <cstdint>
#include <memory>
#include <vector>

#include <ethdev_driver.h>
#include <rte_log.h>

#include "rdmaud_ah.h"
#include "rdmaud_devargs.h"
#include "rdmaud_mac_filter.h"
#include "rdmaud_mr.h"
#include "rdmaud_peers.h"
#include "rdmaud_registry.h"
#include "rdmaud_rxtx.h"
#include "rdmaud_verbs.h"

extern int rdmaud_logtype;

struct rte_vdev_device;

#define RDMAUD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, rdmaud_logtype, "net_rdmaud: %s(): " fmt "\n", __func__, ##__VA_ARGS__)

namespace rdmaud {

/* Driver name as EAL sees it (--vdev=net_rdmaud0,...). */
inline constexpr const char kDriverName[] = "net_rdmaud";

/* Queue pairs per port: rx/tx queue i is UD QP i. 16 matches DPDK's
 * RTE_ETHDEV_QUEUE_STAT_CNTRS, so every queue has its own stats. */
inline constexpr uint16_t kMaxQueues = 16;
static_assert(kMaxQueues <= RTE_ETHDEV_QUEUE_STAT_CNTRS, "per-queue stats for every queue");
static_assert(kMaxQueues <= kMaxPeerReaders, "one peer-table reader slot per tx queue");
/* Descriptors per queue: rings are powers of two (index by mask); 2048 covers
 * testpmd's defaults and a 10 µs burst at 100 Mpps without exhausting a QP. */
inline constexpr uint16_t kMaxDesc = 2048;
/* The smallest ring still holds two signal intervals of the default (32). */
inline constexpr uint16_t kMinDesc = 64;
/* Default ring size offered to applications (mlx4's and testpmd's 512). */
inline constexpr uint16_t kDefaultDesc = 512;
/* Ethernet header the ethdev MTU excludes; the frame is the whole UD payload. */
inline constexpr uint32_t kL2Overhead = RTE_ETHER_HDR_LEN;

/* Per-port private data (eth_dev->data->dev_private). Member order is teardown
 * order reversed: QPs go before AHs, AHs and MRs before the PD and context. */
struct Port {
	DevConfig cfg;               /* what the user asked for, as parsed from devargs */
	Device dev;                  /* verbs context, PD, port, source address */
	MrRegistry mrs;              /* registered mempools */
	AhCache ahs;                 /* address handles, shared by the peer tables that hold them */
	PeerDirectory peers;         /* MAC -> AH/QPN/Q_Key, read lock-free by tx queues */
	UdQp qps[kMaxQueues];        /* queue i = QP i; QP 0 exists from probe (its QPN names the port) */
	uint16_t nb_qps = 0;
	uint16_t port_id = 0;
	uint32_t qp_depth = 0;       /* send and receive WRs every QP was created with */
	rte_ether_addr mac{};
	bool started = false;
	uint32_t ptype_layers = 0;   /* packet types to parse (rte_eth_dev_set_ptype_mask); 0: none */
	rte_intr_handle *async_intr = nullptr; /* the verbs context's async_fd (rdmaud_events.cpp) */
	uint32_t rx_deferred = 0;    /* bit i: rx queue i set up with rx_deferred_start */
	uint32_t tx_deferred = 0;    /* bit i: tx queue i set up with tx_deferred_start */
	std::unique_ptr<RegistryLink> registry; /* null without a registry; stopped first at teardown */
	RxBurstFn rx_base = nullptr; /* the rx burst dev_start chose; filtered or not (rx_select) */
	MacFilter filter;            /* rx MAC filter (rdmaud_mac_filter.h), read by the rx queues */
};

static inline Port *port_of(rte_eth_dev *dev)
{
	return static_cast<Port *>(dev->data->dev_private);
}

/* Largest frame the port sends and receives at the current ethdev MTU. */
static inline uint32_t max_frame(const rte_eth_dev *dev)
{
	return dev->data->mtu + kL2Overhead;
}

/* Ring size for desc descriptors: a power of two (slots are indexed by mask),
 * at least kMinDesc, at most what the QP holds. */
static inline uint32_t ring_size(uint32_t desc, uint32_t cap)
{
	uint32_t n = kMinDesc;
	while (n < desc && n * 2 <= cap)
		n <<= 1;
	return n;
}

/* rdmaud_ethdev.cpp */
int create_qps(Port &port, uint16_t n);
int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info);

/* rdmaud_mac.cpp: MAC addresses, multicast groups, promiscuous and allmulticast modes */
int mac_addr_add(rte_eth_dev *dev, rte_ether_addr *addr, uint32_t index, uint32_t vmdq);
void mac_addr_remove(rte_eth_dev *dev, uint32_t index);
int mac_addr_set(rte_eth_dev *dev, rte_ether_addr *addr);
int set_mc_addr_list(rte_eth_dev *dev, rte_ether_addr *mc_addr_set, uint32_t nb_mc_addr);
int promiscuous_enable(rte_eth_dev *dev);
int promiscuous_disable(rte_eth_dev *dev);
int allmulticast_enable(rte_eth_dev *dev);
int allmulticast_disable(rte_eth_dev *dev);
/* The port's rx burst: port.rx_base, or its filtering variant when not promiscuous;
 * on a started port also the one ethdev calls (rte_eth_fp_ops). */
void rx_select(rte_eth_dev *dev);
/* The port's unicast MACs besides the default one (published in the registry too). */
std::vector<rte_ether_addr> extra_macs(const Port &port);

/* rdmaud_mp.cpp: a secondary process attaches to the primary's port (stats and info only). */
int probe_secondary(rte_vdev_device *vdev);

/* rdmaud_rxq.cpp */
int rx_queue_setup(rte_eth_dev *dev, uint16_t idx, uint16_t desc, unsigned int socket,
		   const rte_eth_rxconf *conf, rte_mempool *mp);
void rx_queue_release(rte_eth_dev *dev, uint16_t idx);
int rxq_start(rte_eth_dev *dev, uint16_t idx);
void rxq_stop(rte_eth_dev *dev, uint16_t idx);

/* rdmaud_txq.cpp */
int tx_queue_setup(rte_eth_dev *dev, uint16_t idx, uint16_t desc, unsigned int socket,
		   const rte_eth_txconf *conf);
void tx_queue_release(rte_eth_dev *dev, uint16_t idx);
int txq_start(rte_eth_dev *dev, uint16_t idx);
void txq_stop(rte_eth_dev *dev, uint16_t idx);
void txq_set_max_frame(rte_eth_dev *dev, uint32_t frame);

/* Rx offloads: scattered rx (rdmaud_rx_scatter.cpp), software RSS hash (rdmaud_offload.cpp). */
inline constexpr uint64_t kRxOffloads = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH;

/* rdmaud_offload.cpp: software packet types and RSS hash */
/* The flows flow_hash() tells apart (what rss_hf may select; the hash is the same for any). */
inline constexpr uint64_t kRssFlowTypes = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP |
					  RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_OTHER |
					  RTE_ETH_RSS_L2_PAYLOAD;
const uint32_t *supported_ptypes_get(rte_eth_dev *dev);
int ptypes_set(rte_eth_dev *dev, uint32_t ptype_mask);
/* The queue's software offloads from the port's and the queue's configuration. */
void rxq_set_offloads(rte_eth_dev *dev, RxQueue &q, uint64_t queue_offloads);
/* rdmaud_intr.cpp: the port's interrupt handle (probe/close) and its rx vectors
 * (dev_start/dev_stop with intr_conf.rxq), the rx queue interrupt ops */
int intr_init(rte_eth_dev *dev);
void intr_fini(rte_eth_dev *dev);
int rx_intr_start(rte_eth_dev *dev);
void rx_intr_stop(rte_eth_dev *dev);
int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t idx);
int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t idx);

/* rdmaud_queue_ctl.cpp: per-queue start/stop (the ops) and deferred start */
bool queue_deferred(const rte_eth_dev *dev, bool rx, uint16_t idx);
int rx_queue_start(rte_eth_dev *dev, uint16_t idx);
int rx_queue_stop(rte_eth_dev *dev, uint16_t idx);
int tx_queue_start(rte_eth_dev *dev, uint16_t idx);
int tx_queue_stop(rte_eth_dev *dev, uint16_t idx);

/* rdmaud_events.cpp: verbs async events -> LSC / RMV (probe / close) */
int events_start(rte_eth_dev *dev);
void events_stop(rte_eth_dev *dev);

/* rdmaud_info.cpp */
void rxq_info_get(rte_eth_dev *dev, uint16_t idx, rte_eth_rxq_info *qinfo);
void txq_info_get(rte_eth_dev *dev, uint16_t idx, rte_eth_txq_info *qinfo);
int rx_burst_mode_get(rte_eth_dev *dev, uint16_t idx, rte_eth_burst_mode *mode);
int tx_burst_mode_get(rte_eth_dev *dev, uint16_t idx, rte_eth_burst_mode *mode);
int fw_version_get(rte_eth_dev *dev, char *fw_version, size_t fw_size);
int tx_descriptor_status(void *txq, uint16_t offset);

/* rdmaud_telemetry.cpp: the ports /rdmaud/registry may read. probe attaches a port once it
 * is complete; dev_close detaches it (waiting for a running telemetry callback) first. */
void telemetry_attach(uint16_t port_id, const Port *port);
void telemetry_detach(uint16_t port_id);

/* rdmaud_stats.cpp */
int stats_get(rte_eth_dev *dev, rte_eth_stats *stats);
int stats_reset(rte_eth_dev *dev);
int xstats_get(rte_eth_dev *dev, rte_eth_xstat *xstats, unsigned int n);
int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned int size);
int xstats_reset(rte_eth_dev *dev);

} // namespace rdmaud

#endif /* RDMAUD_H */
