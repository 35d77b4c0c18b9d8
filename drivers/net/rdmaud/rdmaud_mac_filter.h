/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud receive MAC filter: which destination MACs a port accepts when it
 * is not promiscuous. A UD message reaches us because its sender chose our QPN,
 * so the filter is the port's own decision, made in software after the receive
 * (rdmaud_rx_filter.cpp): the port's MACs (ethdev index 0 = the default one,
 * then those added with rte_eth_dev_mac_addr_add), broadcast, the multicast
 * groups joined with rte_eth_dev_set_mc_addr_list, or any multicast with
 * allmulticast on.
 *
 * One writer (the ethdev control path), readers on the polling lcores: a
 * sequence count (odd while written) lets a reader decide a whole burst and
 * redo it if the filter changed meanwhile; readers never wait on the writer
 * beyond one update of a few hundred bytes.
 */
#ifndef RDMAUD_MAC_FILTER_H
#define RDMAUD_MAC_FILTER_H

#include <algorithm>
#include <cstdint>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_pause.h>

#include "rdmaud_peers.h"

namespace rdmaud {

/* Unicast MACs per port (ethdev max_mac_addrs, the default one included): each extra
 * one is a registry record the resolver thread keeps alive (one memcached set per
 * TTL/3 on every mirror) and a key every unicast frame is compared with; eight
 * keys are one cache line. */
inline constexpr uint32_t kMaxMacAddrs = 8;
/* Multicast groups a port joins (set_mc_addr_list): compared only for multicast
 * frames, which senders already fan out one copy per peer (the slow path). */
inline constexpr uint32_t kMaxMcAddrs = 64;

/* The broadcast MAC's key (mac_key of ff:ff:ff:ff:ff:ff). */
inline constexpr uint64_t kBroadcastKey = 0xffffffffffff0000ull;
/* An unused slot: no MAC has this key (the low 16 bits of a MAC's key are zero). */
inline constexpr uint64_t kNoMacKey = kEmptyKey;

/* Destination MAC of a frame as a key (mac_key's encoding); the frame has at
 * least an Ethernet header, so 8 bytes can be loaded. */
static inline uint64_t frame_dst_key(const void *frame)
{
	uint64_t key;
	std::memcpy(&key, frame, sizeof(key));
	return key << 16;
}

struct alignas(RTE_CACHE_LINE_SIZE) MacFilter {
	uint64_t live[kMaxMacAddrs]; /* live[0, nuc): the port's unicast MACs, what readers compare */
	uint64_t mc[kMaxMcAddrs];   /* mc[0, nmc) */
	uint64_t uc[kMaxMacAddrs];  /* by ethdev MAC index, kNoMacKey where unused (writer only) */
	uint32_t seq;               /* odd while the writer changes the fields */
	uint32_t nuc;
	uint32_t nmc;
	uint8_t promisc;            /* every frame passes (the burst is then not filtered at all) */
	uint8_t allmulti;

	MacFilter()
	{
		for (uint64_t &k : uc)
			k = kNoMacKey;
		for (uint64_t &k : live)
			k = kNoMacKey;
		for (uint64_t &k : mc)
			k = kNoMacKey;
		seq = 0;
		nuc = 0;
		nmc = 0;
		promisc = 0;
		allmulti = 0;
	}

	/* ---- writer (control path, one at a time) ---- */
	void write_begin()
	{
		__atomic_store_n(&seq, seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
	}
	void write_end() { __atomic_store_n(&seq, seq + 1, __ATOMIC_RELEASE); }
	template <typename T>
	void set(T &field, T v) { __atomic_store_n(&field, v, __ATOMIC_RELAXED); }
	/* MAC index `index` is now `key` (kNoMacKey: removed); readers see the used ones packed. */
	void set_unicast(uint32_t index, uint64_t key)
	{
		uc[index] = key;
		uint32_t n = 0;
		for (uint64_t k : uc)
			if (k != kNoMacKey)
				set(live[n++], k);
		for (uint32_t i = n; i < kMaxMacAddrs; i++)
			set(live[i], kNoMacKey);
		set(nuc, n);
	}

	/* ---- readers ---- */
	uint32_t read_begin() const
	{
		uint32_t s;
		while ((s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE)) & 1)
			rte_pause();
		return s;
	}
	bool read_retry(uint32_t s) const
	{
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		return __atomic_load_n(&seq, __ATOMIC_RELAXED) != s;
	}
	/* A snapshot of the unicast MACs (between read_begin and read_retry): their count. */
	uint32_t unicast(uint64_t *out) const
	{
		const uint32_t n = std::min<uint32_t>(__atomic_load_n(&nuc, __ATOMIC_RELAXED), kMaxMacAddrs);
		for (uint32_t i = 0; i < n; i++)
			out[i] = __atomic_load_n(&live[i], __ATOMIC_RELAXED);
		return n;
	}
	/* Whether a frame to `key` is delivered (promiscuous mode aside). */
	bool accepts(uint64_t key) const
	{
		if ((key & kMacKeyGroupBit) == 0) {
			uint64_t macs[kMaxMacAddrs];
			const uint32_t n = unicast(macs);
			for (uint32_t i = 0; i < n; i++)
				if (macs[i] == key)
					return true;
			return false;
		}
		return accepts_group(key);
	}
	/* The same for a group (broadcast/multicast) key. */
	bool accepts_group(uint64_t key) const
	{
		if (key == kBroadcastKey || __atomic_load_n(&allmulti, __ATOMIC_RELAXED))
			return true;
		const uint32_t n = __atomic_load_n(&nmc, __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < n && i < kMaxMcAddrs; i++)
			if (__atomic_load_n(&mc[i], __ATOMIC_RELAXED) == key)
				return true;
		return false;
	}
};

} // namespace rdmaud

#endif /* RDMAUD_MAC_FILTER_H */
