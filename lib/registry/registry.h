/* SPDX-License-Identifier: BSD-3-Clause */
// Registry: a memcached client for endpoint records (RAII over one memcached_st). Not thread-safe:
// one instance per thread (the Resolver's control thread owns one). Every call is bounded by the
// configured connect/io timeouts per server attempt and returns a Status; nothing throws.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "members.h"
#include "record.h"
#include "status.h"

struct memcached_st;

namespace rdmaud::registry {

inline constexpr size_t kMgetBatch = 256;  // keys per memcached_mget: one round trip, bounded reply

struct Lookup {
    Mac mac{};
    Status status;          // ok, not_found, rejected (cause), unavailable
    EndpointRecord record;  // valid when status.ok()
};

class Registry {
public:
    // Builds a client for `cfg` (servers must be non-empty: see servers_from()). Connects lazily.
    static Status create(RegistryConfig cfg, std::unique_ptr<Registry>* out) noexcept;
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    const RegistryConfig& config() const noexcept { return cfg_; }

    // Stamps r->ttl_s and r->publish_ms, then writes the record, its name key (if named) and
    // joins the membership set. Also the keep-alive: call again before the TTL runs out (this
    // rewrites rather than touches, so records lost with a restarted server come back).
    Status publish(EndpointRecord* r, uint32_t ttl_s) noexcept;
    // Removes the record of `mac`, its name key if that still points to `mac`, and its membership.
    Status remove(const Mac& mac) noexcept;

    Status resolve(const Mac& mac, EndpointRecord* out) noexcept;
    // Batched resolve (memcached_mget, kMgetBatch keys per round trip); one Lookup per MAC.
    Status resolve_many(std::span<const Mac> macs, std::vector<Lookup>* out) noexcept;
    Status resolve_name(std::string_view name, EndpointRecord* out) noexcept;

    // Unexpired members of the namespace, sorted by MAC (all shards; rejected if one is corrupt,
    // with the members of the others still in `out`).
    Status members(std::vector<Member>* out) noexcept;
    Status join(const Mac& mac, uint32_t ttl_s) noexcept;
    Status leave(const Mac& mac) noexcept;
    // The record of every member (members whose record is gone or invalid land in `problems`).
    Status list(std::vector<EndpointRecord>* out, std::vector<Lookup>* problems) noexcept;
    // Removes every member's keys and the membership set itself; `removed` counts endpoints.
    Status purge(size_t* removed) noexcept;

    // Raw access for tests and tooling (forged/malformed records): no validation at all.
    Status set_raw(const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s) noexcept;
    Status get_raw(const std::string& key, std::vector<uint8_t>* value) noexcept;

private:
    explicit Registry(RegistryConfig cfg) noexcept : cfg_(std::move(cfg)) {}
    Status setup() noexcept;
    Status failure(int rc, const char* op, const std::string& key) noexcept;
    bool server_failed(const std::string& key) noexcept;  // its server's last error: unreachable
    Status decode_for(std::span<const uint8_t> v, const Mac& mac, const std::string& key,
                      EndpointRecord* out) noexcept;
    template <class Update>
    Status update_members(const Mac& mac, Update&& update, const char* op) noexcept;

    RegistryConfig cfg_;
    memcached_st* mc_ = nullptr;
};

// Milliseconds / seconds since the Unix epoch (the clock records and members are stamped with).
uint64_t unix_ms() noexcept;

}  // namespace rdmaud::registry
