/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud address handles, one per peer address (GID or LID), shared by
 * every peer table that names the address and counted: a table rebuilt for one
 * new peer creates one handle, not one per peer, and a handle is destroyed
 * when the last table holding it is freed. Control path only.
 */
#ifndef RDMAUD_AH_H
#define RDMAUD_AH_H

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rdmaud_devargs.h"

struct ibv_ah;

namespace rdmaud {

struct Device;

class AhCache {
public:
	AhCache() = default;
	AhCache(const AhCache &) = delete;
	AhCache &operator=(const AhCache &) = delete;
	~AhCache() { clear(); }

	void init(Device *dev) { dev_ = dev; }
	/* The handle for peer's address, created on first use; one more reference.
	 * nullptr and err on failure. */
	ibv_ah *acquire(const PeerSpec &peer, std::string &err);
	/* One reference less; the handle is destroyed with its last one. */
	void release(ibv_ah *ah);
	size_t size() const;
	uint64_t created() const { return created_; }
	/* Destroy every handle (teardown: no table may hold one any more). */
	void clear();

private:
	struct Entry {
		ibv_ah *ah;
		uint32_t refs;
	};
	static std::string key_of(const PeerSpec &peer);

	Device *dev_ = nullptr;
	mutable std::mutex mu_; /* the publishing thread vs. close; never on the datapath */
	std::unordered_map<std::string, Entry> by_addr_;
	std::unordered_map<ibv_ah *, std::string> addr_of_;
	uint64_t created_ = 0;
};

} // namespace rdmaud

#endif /* RDMAUD_AH_H */
