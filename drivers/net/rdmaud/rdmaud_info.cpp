/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud queue and device information: rx/tx queue info, the burst variant
 * chosen at dev_start, the verbs device's firmware version, the rx queue count
 * and the rx and tx descriptor status.
 *
 * Whether a posted receive has completed is known only by polling its
 * completion, which consumes it (verbs has no way to peek at a CQ): the rx
 * queue count polls the CQ into the queue's stash, which the next bursts
 * deliver before anything they poll themselves.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {

void rxq_info_get(rte_eth_dev *dev, uint16_t idx, rte_eth_rxq_info *qinfo)
{
	const auto *q = static_cast<const RxQueue *>(dev->data->rx_queues[idx]);
	if (q == nullptr)
		return;
	qinfo->mp = q->mp;
	qinfo->nb_desc = static_cast<uint16_t>(q->nb_desc);
	qinfo->scattered_rx = 0;
	qinfo->rx_buf_size = static_cast<uint16_t>(rte_pktmbuf_data_room_size(q->mp) - RTE_PKTMBUF_HEADROOM);
	qinfo->queue_state = dev->data->rx_queue_state[idx];
	qinfo->conf.rx_deferred_start = queue_deferred(dev, true, idx) ? 1 : 0;
	qinfo->conf.offloads = dev->data->dev_conf.rxmode.offloads;
}

void txq_info_get(rte_eth_dev *dev, uint16_t idx, rte_eth_txq_info *qinfo)
{
	const auto *q = static_cast<const TxQueue *>(dev->data->tx_queues[idx]);
	if (q == nullptr)
		return;
	qinfo->nb_desc = static_cast<uint16_t>(q->nb_desc);
	qinfo->queue_state = dev->data->tx_queue_state[idx];
	qinfo->conf.tx_deferred_start = queue_deferred(dev, false, idx) ? 1 : 0;
	qinfo->conf.offloads = dev->data->dev_conf.txmode.offloads;
}

namespace {

int burst_mode(rte_eth_burst_mode *mode, const char *name)
{
	mode->flags = 0;
	std::snprintf(mode->info, sizeof(mode->info), "%s", name);
	return 0;
}

} // namespace

int rx_burst_mode_get(rte_eth_dev *dev, uint16_t idx, rte_eth_burst_mode *mode)
{
	(void)idx;
	const Port &port = *port_of(dev);
	if (dev->rx_pkt_burst == rte_eth_pkt_burst_dummy || port.rx_base == nullptr)
		return burst_mode(mode, "None (port stopped)");
	const char *base = port.rx_base == rx_burst_scatter ? "Scalar, scattered"
			   : port.rx_base == select_rx_burst(true) ? "Scalar, one lkey per queue"
								  : "Scalar, lkey per mbuf";
	char name[96];
	std::snprintf(name, sizeof(name), "%s%s", base, dev->rx_pkt_burst == port.rx_base ? "" : ", MAC filter");
	return burst_mode(mode, name);
}

int tx_burst_mode_get(rte_eth_dev *dev, uint16_t idx, rte_eth_burst_mode *mode)
{
	(void)idx;
	for (const bool multi : {false, true})
		for (const bool inl : {false, true})
			for (const bool ff : {false, true}) {
				if (multi && ff)
					continue; /* no such variant: multi-segment frees segment by segment */
				if (dev->tx_pkt_burst != select_tx_burst(multi, inl, ff))
					continue;
				char name[96];
				std::snprintf(name, sizeof(name), "Scalar, %s%s%s", multi ? "multi-segment" : "single-segment",
					      inl ? ", inline" : "", ff ? ", fast mbuf free" : "");
				return burst_mode(mode, name);
			}
	return burst_mode(mode, "None (port stopped)");
}

/* The verbs device's fw_ver; the size needed (with the NUL) when fw_size is short. */
int fw_version_get(rte_eth_dev *dev, char *fw_version, size_t fw_size)
{
	const char *fw = port_of(dev)->dev.attr.fw_ver;
	const size_t need = strnlen(fw, sizeof(port_of(dev)->dev.attr.fw_ver)) + 1;
	if (fw_size < need)
		return static_cast<int>(need);
	std::memcpy(fw_version, fw, need - 1);
	fw_version[need - 1] = '\0';
	return 0;
}

/*
 * Received descriptors not yet delivered: every completion the CQ holds, moved
 * to the stash (at most the ring). Same lcore as the queue's rx_burst.
 */
uint32_t rx_queue_count(void *rxq)
{
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	if (!q.posted)
		return 0; /* stopped: nothing posted, nothing received */
	return rx_stash_fill(q);
}

/*
 * Status of the rx descriptor offset places after the next one to be received:
 * DONE when received and not yet delivered (offset below the rx queue count),
 * AVAIL when its receive is posted, UNAVAIL for slots the device does not hold
 * (the queue is stopped, or ibv_post_recv refused their repost).
 */
int rx_descriptor_status(void *rxq, uint16_t offset)
{
	RxQueue &q = *static_cast<RxQueue *>(rxq);
	if (offset >= q.nb_desc)
		return -EINVAL;
	if (!q.posted)
		return RTE_ETH_RX_DESC_UNAVAIL;
	const uint32_t done = rx_stash_fill(q);
	if (offset < done)
		return RTE_ETH_RX_DESC_DONE;
	return offset < q.nb_desc - q.unposted ? RTE_ETH_RX_DESC_AVAIL : RTE_ETH_RX_DESC_UNAVAIL;
}

/*
 * Status of the tx descriptor offset places after the next one to be used: DONE
 * when its slot is free (its send completed, or it never held one), FULL while it
 * holds a send not known complete. Reaps completions first (same lcore as the
 * queue's tx_burst, as for every per-queue fast-path call). Sends after the last
 * signaled one are known complete only when a later completion covers them.
 */
int tx_descriptor_status(void *txq, uint16_t offset)
{
	TxQueue &q = *static_cast<TxQueue *>(txq);
	if (offset >= q.nb_desc)
		return -EINVAL;
	tx_reap(q);
	const uint64_t used = q.head - q.tail;
	return offset < q.nb_desc - used ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_FULL;
}

} // namespace rdmaud
