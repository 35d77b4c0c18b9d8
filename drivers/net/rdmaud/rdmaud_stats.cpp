/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud statistics: basic and per-queue stats, and extended stats (drops
 * by cause, resolver hits/misses, completion errors, doorbells and WRs per
 * doorbell). Queues only ever increment their counters; a reset records a
 * baseline instead of writing under a running datapath.
 */
#include <cstdio>
#include <cstring>

#include "rdmaud.h"
#include "rdmaud_rxtx.h"

namespace rdmaud {
namespace {

struct XstatDef {
	const char *name;
	bool tx;
	size_t off; /* offset of the uint64_t in RxCounters / TxCounters */
};

#define RX_X(n, f) {n, false, offsetof(RxCounters, f)}
#define TX_X(n, f) {n, true, offsetof(TxCounters, f)}
const XstatDef kXstats[] = {
	RX_X("rx_drop_nombuf", nombuf),
	RX_X("rx_wc_errors", wc_errors),
	RX_X("rx_drop_runt", runts),
	RX_X("rx_doorbells", doorbells),
	RX_X("rx_wrs_posted", wrs),
	RX_X("rx_post_errors", post_errors),
	RX_X("rx_cq_errors", cq_errors),
	RX_X("rx_mac_filtered", mac_filtered),
	TX_X("tx_drop_oversize", drop_oversize),
	TX_X("tx_drop_unknown_mac", drop_unknown_mac),
	TX_X("tx_drop_no_lkey", drop_no_lkey),
	TX_X("tx_drop_segs", drop_segs),
	TX_X("tx_drop_post_error", drop_post_error),
	TX_X("tx_resolver_hits", resolver_hits),
	TX_X("tx_resolver_misses", resolver_misses),
	TX_X("tx_bcast_frames", bcast_frames),
	TX_X("tx_wc_errors", wc_errors),
	TX_X("tx_doorbells", doorbells),
	TX_X("tx_wrs_posted", wrs),
	TX_X("tx_signaled", signaled),
	TX_X("tx_inlined", inlined),
	TX_X("tx_queue_full", full),
	TX_X("tx_cq_errors", cq_errors),
};
#undef RX_X
#undef TX_X
constexpr unsigned kNbCounterXstats = RTE_DIM(kXstats);
/* Derived: WRs per doorbell averaged since the last reset, in hundredths. */
const char *const kDerived[] = {"rx_wrs_per_doorbell_x100", "tx_wrs_per_doorbell_x100"};
constexpr unsigned kNbXstats = kNbCounterXstats + RTE_DIM(kDerived);

uint64_t field(const void *counters, size_t off)
{
	uint64_t v;
	std::memcpy(&v, static_cast<const char *>(counters) + off, sizeof(v));
	return v;
}

RxCounters rx_delta(const RxQueue &q)
{
	RxCounters d;
	for (size_t off = 0; off < sizeof(RxCounters); off += sizeof(uint64_t)) {
		uint64_t v = field(&q.c, off) - field(&q.base, off);
		std::memcpy(reinterpret_cast<char *>(&d) + off, &v, sizeof(v));
	}
	return d;
}

TxCounters tx_delta(const TxQueue &q)
{
	TxCounters d;
	for (size_t off = 0; off < sizeof(TxCounters); off += sizeof(uint64_t)) {
		uint64_t v = field(&q.c, off) - field(&q.base, off);
		std::memcpy(reinterpret_cast<char *>(&d) + off, &v, sizeof(v));
	}
	return d;
}

void totals(rte_eth_dev *dev, RxCounters &rx, TxCounters &tx)
{
	rx = RxCounters{};
	tx = TxCounters{};
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
		if (q == nullptr)
			continue;
		RxCounters d = rx_delta(*q);
		for (size_t off = 0; off < sizeof(RxCounters); off += sizeof(uint64_t)) {
			uint64_t v = field(&rx, off) + field(&d, off);
			std::memcpy(reinterpret_cast<char *>(&rx) + off, &v, sizeof(v));
		}
	}
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++) {
		auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
		if (q == nullptr)
			continue;
		TxCounters d = tx_delta(*q);
		for (size_t off = 0; off < sizeof(TxCounters); off += sizeof(uint64_t)) {
			uint64_t v = field(&tx, off) + field(&d, off);
			std::memcpy(reinterpret_cast<char *>(&tx) + off, &v, sizeof(v));
		}
	}
}

uint64_t tx_drops(const TxCounters &c)
{
	return c.drop_oversize + c.drop_unknown_mac + c.drop_no_lkey + c.drop_segs + c.drop_post_error;
}

} // namespace

int stats_get(rte_eth_dev *dev, rte_eth_stats *s)
{
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
		if (q == nullptr)
			continue;
		RxCounters d = rx_delta(*q);
		s->ipackets += d.packets;
		s->ibytes += d.bytes;
		s->rx_nombuf += d.nombuf;
		s->ierrors += d.wc_errors + d.runts;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			s->q_ipackets[i] = d.packets;
			s->q_ibytes[i] = d.bytes;
			s->q_errors[i] = d.wc_errors + d.runts;
		}
	}
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++) {
		auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
		if (q == nullptr)
			continue;
		TxCounters d = tx_delta(*q);
		s->opackets += d.packets;
		s->obytes += d.bytes;
		s->oerrors += tx_drops(d) + d.wc_errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			s->q_opackets[i] = d.packets;
			s->q_obytes[i] = d.bytes;
		}
	}
	return 0;
}

int stats_reset(rte_eth_dev *dev)
{
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]))
			q->base = q->c;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		if (auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]))
			q->base = q->c;
	return 0;
}

int xstats_reset(rte_eth_dev *dev)
{
	return stats_reset(dev);
}

/* With a registry: its resolver's counters follow, then these gauges. */
static constexpr const char *kRegistryGauges[] = {
	"registry_peers",           /* resolved peers held (a pass ends by publishing them in a table) */
	"registry_table_builds",    /* peer tables published (one per resolver pass that changed peers) */
	"registry_address_handles", /* address handles held (one per peer address, shared by tables) */
};
static constexpr unsigned kNbRegistryXstats = registry::kResolverCounterCount + RTE_DIM(kRegistryGauges);

/* In the primary only: the resolver lives in its heap, out of a secondary's reach. */
static unsigned nb_registry_xstats(const rte_eth_dev *dev)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	return port_of(const_cast<rte_eth_dev *>(dev))->registry ? kNbRegistryXstats : 0;
}

int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned int size)
{
	const unsigned total = kNbXstats + nb_registry_xstats(dev);
	if (names == nullptr || size < total)
		return static_cast<int>(total);
	for (unsigned i = 0; i < kNbCounterXstats; i++)
		std::snprintf(names[i].name, sizeof(names[i].name), "%s", kXstats[i].name);
	for (unsigned i = 0; i < RTE_DIM(kDerived); i++)
		std::snprintf(names[kNbCounterXstats + i].name, sizeof(names[0].name), "%s", kDerived[i]);
	if (total > kNbXstats) {
		for (unsigned i = 0; i < registry::kResolverCounterCount; i++)
			std::snprintf(names[kNbXstats + i].name, sizeof(names[0].name), "registry_%s",
				      registry::kResolverCounterNames[i]);
		for (unsigned i = 0; i < RTE_DIM(kRegistryGauges); i++)
			std::snprintf(names[kNbXstats + registry::kResolverCounterCount + i].name,
				      sizeof(names[0].name), "%s", kRegistryGauges[i]);
	}
	return static_cast<int>(total);
}

int xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned int n)
{
	const unsigned total = kNbXstats + nb_registry_xstats(dev);
	if (xs == nullptr || n < total)
		return static_cast<int>(total);
	RxCounters rx;
	TxCounters tx;
	totals(dev, rx, tx);
	for (unsigned i = 0; i < kNbCounterXstats; i++) {
		xs[i].id = i;
		xs[i].value = kXstats[i].tx ? field(&tx, kXstats[i].off) : field(&rx, kXstats[i].off);
	}
	xs[kNbCounterXstats].id = kNbCounterXstats;
	xs[kNbCounterXstats].value = rx.doorbells ? rx.wrs * 100 / rx.doorbells : 0;
	xs[kNbCounterXstats + 1].id = kNbCounterXstats + 1;
	xs[kNbCounterXstats + 1].value = tx.doorbells ? tx.wrs * 100 / tx.doorbells : 0;
	if (total > kNbXstats) {
		const Port &port = *port_of(dev);
		const RegistryLink &link = *port.registry;
		const registry::ResolverStats rs = link.resolver().stats();
		for (unsigned i = 0; i < registry::kResolverCounterCount; i++)
			xs[kNbXstats + i].value = rs[i];
		const unsigned g = kNbXstats + registry::kResolverCounterCount;
		xs[g].value = link.peers();
		xs[g + 1].value = link.table_builds();
		xs[g + 2].value = port.ahs.size();
		for (unsigned i = kNbXstats; i < total; i++)
			xs[i].id = i;
	}
	return static_cast<int>(total);
}

} // namespace rdmaud
