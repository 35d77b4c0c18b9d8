/* SPDX-License-Identifier: BSD-3-Clause */
// Registry: a memcached client for endpoint records. Several servers are mirrors, not shards:
// every write goes to each server (one memcached_st per server, RAII), every read asks each and
// merges, so the death of one server costs readers and writers nothing while another answers.
// Not thread-safe: one instance per thread (the Resolver's control thread owns one). Every call
// is bounded by the configured connect/io timeouts per server attempt and returns a Status;
// nothing throws. Design: doc/design/registry.md "Registry (the client)".
#pragma once

#include <chrono>
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

    // Writes succeed when at least one server took them; servers that did not are caught up by
    // the next keep-alive. Reads ask every server that is not resting after a failure (all of
    // them when every one is) and merge the answers.

    // Stamps r->ttl_s and r->publish_ms, then writes the record, its name key (if named) and
    // joins the membership set, on every server. Also the keep-alive: call again before the TTL
    // runs out (this rewrites rather than touches, so records lost with a restarted server come
    // back). member = false: the record only (an endpoint's additional MAC, which must not add a
    // second copy of every broadcast to that endpoint).
    Status publish(EndpointRecord* r, uint32_t ttl_s, bool member = true) noexcept;
    // Removes the record of `mac`, its name key if that still points to `mac`, and its membership.
    Status remove(const Mac& mac) noexcept;

    // A valid record on any server wins (the newest publish time if servers differ); else a
    // rejected one (its cause); else not_found if a server answered; else unavailable.
    Status resolve(const Mac& mac, EndpointRecord* out) noexcept;
    // Batched resolve (memcached_mget, kMgetBatch keys per round trip and server); one Lookup per
    // MAC, merged as resolve().
    Status resolve_many(std::span<const Mac> macs, std::vector<Lookup>* out) noexcept;
    Status resolve_name(std::string_view name, EndpointRecord* out) noexcept;

    // Unexpired members of the namespace, sorted by MAC: the union over servers (all shards;
    // rejected if one is corrupt, with the members of the others still in `out`).
    Status members(std::vector<Member>* out) noexcept;
    Status join(const Mac& mac, uint32_t ttl_s) noexcept;
    Status leave(const Mac& mac) noexcept;
    // The record of every member (members whose record is gone or invalid land in `problems`).
    Status list(std::vector<EndpointRecord>* out, std::vector<Lookup>* problems) noexcept;
    // Removes every member's keys and the membership set itself; `removed` counts endpoints.
    Status purge(size_t* removed) noexcept;

    // Raw access for tests and tooling (forged/malformed records): no validation at all. set_raw
    // writes every server; get_raw returns the first server's value that exists.
    Status set_raw(const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s) noexcept;
    Status get_raw(const std::string& key, std::vector<uint8_t>* value) noexcept;

    // Operations on one server that failed for want of an answer (connection refused, timeout),
    // including those another server made up for: a dead mirror shows here, not in the Status.
    uint64_t server_failures() const noexcept { return server_failures_; }

private:
    struct Mirror;  // one server: its own memcached_st, and when it may be asked again
    explicit Registry(RegistryConfig cfg) noexcept;
    Status setup() noexcept;
    Status connect(Mirror& m) noexcept;
    std::vector<Mirror*> live() noexcept;
    template <class Op>
    Status on_each(Op&& op) noexcept;
    Status failure(Mirror& m, int rc, const char* op, const std::string& key) noexcept;
    Status get_on(Mirror& m, const std::string& key, std::vector<uint8_t>* value) noexcept;
    Status set_on(Mirror& m, const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s,
                  uint32_t flags) noexcept;
    Status delete_on(Mirror& m, const std::string& key) noexcept;
    Status remove_on(Mirror& m, const Mac& mac) noexcept;
    struct ShardKeys;
    Status members_on(Mirror& m, const ShardKeys& sk, int rc, std::vector<Member>* out, Status* bad) noexcept;
    Status decode_for(std::span<const uint8_t> v, const Mac& mac, const std::string& key,
                      EndpointRecord* out) noexcept;
    template <class Update>
    Status update_members(Mirror& m, const Mac& mac, Update&& update, const char* op) noexcept;

    RegistryConfig cfg_;
    std::vector<std::unique_ptr<Mirror>> mirrors_;
    uint64_t server_failures_ = 0;
};

// Milliseconds / seconds since the Unix epoch (the clock records and members are stamped with).
uint64_t unix_ms() noexcept;

}  // namespace rdmaud::registry
