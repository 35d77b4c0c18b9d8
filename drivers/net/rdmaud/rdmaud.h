/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud: shared definitions of the PMD — constants (each with its reason),
 * the log macro and the per-port private data. Datapath structures live with
 * the datapath; this header is what every file of the driver needs.
 */
#ifndef RDMAUD_H
#define RDMAUD_H

#include <cstdint>

#include <rte_log.h>

#include "rdmaud_devargs.h"

extern int rdmaud_logtype;

#define RDMAUD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, rdmaud_logtype, "net_rdmaud: %s(): " fmt "\n", __func__, ##__VA_ARGS__)

namespace rdmaud {

/* Driver name as EAL sees it (--vdev=net_rdmaud0,...). */
inline constexpr const char kDriverName[] = "net_rdmaud";

/* Queue pairs per port: rx/tx queue i is UD QP i. 16 matches DPDK's
 * RTE_ETHDEV_QUEUE_STAT_CNTRS, so every queue has its own stats. */
inline constexpr uint16_t kMaxQueues = 16;

/* Per-port private data (eth_dev->data->dev_private). */
struct Port {
	DevConfig cfg; /* what the user asked for, as parsed from devargs */
};

} // namespace rdmaud

#endif /* RDMAUD_H */
