/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud peer table: destination MAC -> (address handle, remote QPN, Q_Key).
 *
 * The table is immutable once built. A writer (probe for static peers; the
 * registry's control thread later) builds a new one and publishes it with one
 * atomic store; tx queues load the pointer once per burst and never lock.
 * A publish never waits: the old table is retired and freed (releasing its
 * address handles) by a later publish or reclaim() once every online tx queue
 * has finished a burst begun before the switch (quiescent-state based
 * reclamation: each queue reports the global token it saw at the end of a burst).
 */
#ifndef RDMAUD_PEERS_H
#define RDMAUD_PEERS_H

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

struct ibv_ah;

namespace rdmaud {

/* One resolved peer. */
struct PeerEntry {
	uint64_t key;  /* mac_key() of the peer's MAC; kEmptyKey in a free slot */
	ibv_ah *ah;
	uint32_t qpn;  /* the peer's queue 0 (broadcast, and peers with one queue) */
	uint32_t qkey;
	uint32_t qpn_off = 0; /* with nqpn > 1: the peer's queues' QPNs are PeerTable::qpns[qpn_off..] */
	uint16_t nqpn = 0;    /* queues of a multi-queue peer (0 or 1: qpn only) */
};
static_assert(sizeof(PeerEntry) == 32, "two entries per 64-byte line");

/* Slots per entry at least this: linear probing stays short at load <= 1/3
 * (a second probe for ~1 lookup in 5 with random MACs). */
inline constexpr uint32_t kPeerLoadFactorInv = 3;
/* Slots after the last home slot: probes run into them instead of wrapping
 * (no mask on the datapath). A table where a probe would run past them is
 * built with twice the home slots; the last slot stays free and ends every probe. */
inline constexpr uint32_t kPeerProbeTail = 32;

/* Key of a MAC address: its six bytes as loaded from memory, in the top 48 bits
 * (the datapath loads 8 bytes at the frame's start and shifts the 2 bytes past
 * the destination out). Used only for equality and hashing. */
static inline uint64_t mac_key(const rte_ether_addr &m)
{
	uint64_t k = 0;
	std::memcpy(&k, m.addr_bytes, RTE_ETHER_ADDR_LEN);
	return k << 16;
}
/* A key's group (broadcast/multicast) bit: bit 0 of the MAC's first byte. */
inline constexpr uint64_t kMacKeyGroupBit = uint64_t{1} << 16;
/* A free slot's key: no MAC has one (their low 16 bits are zero), not even 00:00:00:00:00:00. */
inline constexpr uint64_t kEmptyKey = 0xffff;

struct PeerTable {
	uint32_t mask;       /* home slots - 1 (a power of two); kPeerProbeTail more follow */
	uint32_t count;      /* peers */
	uint32_t bcast_count; /* entries in bcast[] (peers other than ourselves) */
	uint32_t multi_count; /* entries with several queues (software RSS) */
	uint32_t shift;      /* 32 - log2(home slots): a key's home slot is the top bits of its hash */
	uint32_t nslots;     /* home slots + kPeerProbeTail */
	PeerEntry *slots;
	PeerEntry *bcast;    /* dense copy for broadcast/multicast fan-out */
	uint32_t *qpns;      /* QPNs of every queue of the multi-queue peers */

	/* CRC32-C of the key (one instruction with SSE4.2, which DPDK's x86 builds
	 * require; rte_hash_crc elsewhere, the same function): every bit of the
	 * key reaches every bit of the hash. */
	static inline uint32_t hash(uint64_t key)
	{
#if defined(__SSE4_2__)
		return static_cast<uint32_t>(_mm_crc32_u64(0, key));
#else
		return rte_hash_crc_8byte(key, 0);
#endif
	}
	/* The hash's top bits: CRC is linear, and its low bits map runs of
	 * consecutive MACs (QPN-derived ones, say) to clustered slots. */
	inline uint32_t slot(uint64_t key) const { return hash(key) >> shift; }

	/* Constant expected time: a hash and a short linear probe. */
	inline const PeerEntry *find(uint64_t key) const
	{
		for (uint32_t i = slot(key);; i++) { /* the last slot is free: the probe ends */
			const PeerEntry &e = slots[i];
			if (e.key == key)
				return &e;
			if (e.key == kEmptyKey)
				return nullptr;
		}
	}

	/*
	 * Software RSS: the QPN of the peer's queue for a flow hash, spread like
	 * hardware RSS (multiply-shift: no division on the datapath).
	 */
	inline uint32_t qpn_for(const PeerEntry &e, uint32_t flow_hash) const
	{
		if (e.nqpn <= 1)
			return e.qpn;
		return qpns[e.qpn_off + static_cast<uint32_t>((static_cast<uint64_t>(flow_hash) * e.nqpn) >> 32)];
	}

	/*
	 * Build a table (one allocation on NUMA node socket) from entries with
	 * distinct keys (mac_key of unicast MACs); self_key is left out of the broadcast list,
	 * which has one entry per destination (address handle, QPN): the first MAC naming it.
	 * qpns holds the queues of multi-queue entries (PeerEntry::qpn_off/nqpn).
	 * nullptr on allocation failure.
	 */
	static PeerTable *build(const std::vector<PeerEntry> &entries, const std::vector<uint32_t> &qpns,
				uint64_t self_key, int socket);
	static PeerTable *build(const std::vector<PeerEntry> &entries, uint64_t self_key, int socket)
	{
		return build(entries, {}, self_key, socket);
	}
	/* Free a table; release (may be empty) is called for every entry's address handle. */
	static void destroy(PeerTable *t, const std::function<void(ibv_ah *)> &release);
};

/* Queues that can read the table: one reader slot per tx queue. */
inline constexpr unsigned kMaxPeerReaders = 16;
/* Retired tables a publisher lets wait for reclamation before it waits itself:
 * an online queue that no application thread polls (an idle queue) holds every
 * table retired after its last burst; bounded so their memory is too. */
inline constexpr size_t kMaxRetiredTables = 8;
/* How long a publisher then waits for tx queues to pass a quiescent point before it
 * keeps the oldest table until close (a stopped-but-online queue must not hang it). */
inline constexpr uint64_t kGraceTimeoutUs = 1000 * 1000;

/* Per-reader state, alone in its cache line (written by its queue every burst). */
struct alignas(RTE_CACHE_LINE_SIZE) PeerReader {
	std::atomic<uint64_t> seen{0};
	std::atomic<bool> online{false};
};

class PeerDirectory {
public:
	PeerDirectory() = default;
	PeerDirectory(const PeerDirectory &) = delete;
	PeerDirectory &operator=(const PeerDirectory &) = delete;
	~PeerDirectory() { shutdown(); }

	/* release: called for every address handle of a table that is freed. */
	void init(std::function<void(ibv_ah *)> release) { release_ = std::move(release); }

	/* Datapath: the current table (never null after the first publish; may be empty). */
	inline const PeerTable *acquire() const { return current_.load(std::memory_order_acquire); }
	/* Datapath: reader r finished its burst; tables it saw before may be freed. */
	inline void quiescent(unsigned r)
	{
		readers_[r].seen.store(token_.load(std::memory_order_acquire), std::memory_order_release);
	}
	/* A queue starts / stops reading (dev_start / dev_stop, control path). */
	void online(unsigned r);
	void offline(unsigned r);

	/*
	 * Replace the table (one publisher at a time). The new table is visible to the
	 * next burst of every queue at once; the old one is retired, and retired tables
	 * no reader can hold any more are freed. Waits (up to kGraceTimeoutUs) only when
	 * more than kMaxRetiredTables are still held. Returns the tables still retired.
	 */
	size_t publish(PeerTable *t);
	/* Free the retired tables every online reader has passed; returns those left. */
	size_t reclaim();
	size_t retired() const { return retired_.size(); }
	/* Free the current and retired tables (no reader may be online). */
	void shutdown();

	uint64_t publications() const { return token_.load(std::memory_order_relaxed) - 1; }

private:
	struct Retired {
		PeerTable *table;
		uint64_t token; /* readers that saw this token no longer hold the table */
	};
	bool passed(uint64_t token) const;
	bool wait_grace(uint64_t token) const;

	std::atomic<const PeerTable *> current_{nullptr};
	std::atomic<uint64_t> token_{1};
	PeerReader readers_[kMaxPeerReaders];
	std::deque<Retired> retired_; /* oldest first: tokens increase */
	std::function<void(ibv_ah *)> release_;
};

} // namespace rdmaud

#endif /* RDMAUD_PEERS_H */
