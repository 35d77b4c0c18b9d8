/* SPDX-License-Identifier: BSD-3-Clause */
// Resolver: the control thread between a datapath and the registry. The datapath hands it MACs
// it has no address for (request(): lock-free, try-only, a full queue is a counted drop); the
// thread resolves them with its own Registry client, keeps every resolved peer re-validated
// (a new incarnation replaces it, an expired record removes it), retries with exponential backoff
// while memcached does not answer, keeps the local endpoint's record alive, and reports through a
// ResolverSink that the PMD implements (installing and removing address handles).
// Design: doc/design/registry.md "Resolver".
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "mpsc_queue.h"
#include "record.h"
#include "registry.h"
#include "status.h"

namespace rdmaud::registry {

// Callbacks, always from the resolver thread, never with a resolver lock held.
class ResolverSink {
public:
    virtual ~ResolverSink() = default;
    // A peer became known, or its record changed (new incarnation: new QPNs).
    virtual void on_resolved(const EndpointRecord& record) noexcept = 0;
    // A known peer's record expired or was removed: forget its address.
    virtual void on_expired(const Mac& mac) noexcept = 0;
    // A requested MAC has no (valid) record: not_found or rejected. Optional.
    virtual void on_unresolved(const Mac&, const Status&) noexcept {}
    // End of one pass of the resolver thread (at least once per tick): a sink that
    // applies changes in batches applies the pass's on_resolved/on_expired now. Optional.
    virtual void on_pass_end() noexcept {}
};

struct ResolverConfig {
    RegistryConfig registry;
    size_t queue_capacity = 1024;  // requests in flight from the datapath; more are counted drops
    // Idle poll period of the request queue: the latency a miss adds before memcached is asked.
    std::chrono::milliseconds tick{1};
    // Every known peer is re-read this often: bounds how long a restarted peer stays stale
    // (restart visible within revalidate + one round trip, i.e. < 2 s with the default).
    std::chrono::milliseconds revalidate{1000};
    // Retry delays while the registry does not answer: doubling from min to max. The max bounds
    // how late a returned memcached is noticed (must stay < 2 s, the target).
    std::chrono::milliseconds backoff_min{50};
    std::chrono::milliseconds backoff_max{400};
    // A MAC found to have no valid record is not asked again for this long (absorbs a datapath
    // that re-requests on every frame to an unknown destination).
    std::chrono::milliseconds negative_ttl{250};
    // Resolve every member of the namespace (for broadcast), re-reading the set this often.
    bool track_members = false;
    std::chrono::milliseconds members_interval{1000};
};

enum class ResolverCounter : uint32_t {
    requests,         // MACs taken from the request queue
    queue_full,       // request() refused: queue full (the datapath's frame is dropped)
    hits,             // requests answered from the resolver's cache (re-delivered, no memcached)
    coalesced,        // requests for a MAC already being resolved
    negative_hits,    // requests for a MAC recently found missing/invalid (not asked again)
    resolved,         // new peers delivered by on_resolved
    misses,           // lookups that found no record
    failures,         // registry calls that failed (no server answered: down, timeout, ...)
    server_failures,  // operations on one server that failed, incl. those another server covered
    backoff_retries,  // lookups/revalidations postponed by backoff after a failure
    revalidations,    // cached peers re-read
    replaced,         // cached peers replaced by a new incarnation
    updated,          // cached peers whose record changed within the same incarnation
    expired,          // cached peers dropped (record gone, or invalid beyond its TTL)
    stale,            // older records (publish time before the cached one) ignored: replays
    publishes,        // local endpoint records written (start + keep-alive)
    publish_failures, // local publishes that failed (retried with backoff)
    reject_truncated, // rejected records, one counter per RejectCause (same order)
    reject_oversized,
    reject_foreign,
    reject_malformed,
    reject_bad_hmac,
    reject_missing_hmac,
    reject_mismatch,
    count_
};
inline constexpr size_t kResolverCounterCount = static_cast<size_t>(ResolverCounter::count_);
static_assert(static_cast<size_t>(ResolverCounter::reject_mismatch) - static_cast<size_t>(ResolverCounter::reject_truncated) ==
                  static_cast<size_t>(RejectCause::mismatch) - static_cast<size_t>(RejectCause::truncated),
              "resolver: one reject counter per RejectCause, same order");
extern const char* const kResolverCounterNames[kResolverCounterCount];

using ResolverStats = std::array<uint64_t, kResolverCounterCount>;

inline constexpr uint32_t kMinLocalTtl = 2;  // TTL 1 may expire at once (see publish_local)

class Resolver {
public:
    // Creates the Registry client and starts the thread. `sink` must outlive the Resolver.
    static Status start(ResolverConfig cfg, ResolverSink* sink, std::unique_ptr<Resolver>* out) noexcept;
    // Stops the thread; withdraws the local record if one was published.
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // Datapath, any thread: never blocks. False = queue full (counted as queue_full).
    bool request(const Mac& mac) noexcept {
        if (queue_.try_push(mac))
            return true;
        count(ResolverCounter::queue_full);
        return false;
    }

    // Control side: publish `record` now and keep it alive every ttl/3 until withdrawn; the
    // incarnation is the caller's (new_incarnation() at each start). memcached's clock ticks in
    // whole seconds (a TTL of t lives between t-1 and t s), so ttl_s is raised to kMinLocalTtl.
    void publish_local(const EndpointRecord& record, uint32_t ttl_s);
    // Control side: stop the keep-alive and remove the record (done by the thread).
    void withdraw_local();
    // Control side: the local endpoint's additional MACs. Each is published as a copy of the
    // local record with that MAC and no name, outside the membership set (a broadcast reaches
    // the endpoint once, through its own MAC), kept alive and withdrawn with the local record;
    // a MAC no longer listed leaves the registry. Kept across withdraw_local/publish_local.
    void set_local_aliases(std::vector<Mac> macs);

    uint64_t get(ResolverCounter c) const noexcept {
        return counters_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
    }
    ResolverStats stats() const noexcept;
    // Number of peers currently cached (approximate when read from another thread).
    size_t cached() const noexcept { return cached_.load(std::memory_order_relaxed); }
    // Status of the last local publish attempt (ok, or the error naming server and key).
    Status last_publish_status() const;

private:
    struct Peer {
        EndpointRecord record;
        // last_valid: when the peer was last seen valid, or last could not be asked (the
        // registry did not answer): it is dropped once the registry has answered "no valid
        // record" for its whole TTL after that, so an outage never counts against it.
        std::chrono::steady_clock::time_point next_check, last_valid;
        std::chrono::milliseconds backoff{0};
    };
    struct Pending {
        std::chrono::steady_clock::time_point next_attempt;
        std::chrono::milliseconds backoff{0};
    };
    using Clock = std::chrono::steady_clock;

    Resolver(ResolverConfig cfg, ResolverSink* sink);
    void run() noexcept;
    void drain_requests(Clock::time_point now);
    void resolve_pending(Clock::time_point now);
    void revalidate(Clock::time_point now);
    void refresh_members(Clock::time_point now);
    void keep_alive(Clock::time_point now);
    void accept_update(Peer& p, EndpointRecord&& fresh);
    std::chrono::milliseconds next_backoff(std::chrono::milliseconds cur) const noexcept;
    void count(ResolverCounter c, uint64_t v = 1) noexcept {
        counters_[static_cast<size_t>(c)].fetch_add(v, std::memory_order_relaxed);
    }
    void count_reject(RejectCause cause) noexcept;

    ResolverConfig cfg_;
    ResolverSink* sink_;
    std::unique_ptr<Registry> registry_;
    MpscQueue<Mac> queue_;
    std::array<std::atomic<uint64_t>, kResolverCounterCount> counters_{};
    std::atomic<size_t> cached_{0};

    // Resolver thread only.
    std::unordered_map<uint64_t, Peer> peers_;
    std::unordered_map<uint64_t, Pending> pending_;
    std::unordered_map<uint64_t, Clock::time_point> negative_;
    Clock::time_point next_members_{};
    Clock::time_point next_pending_scan_{}, next_reval_scan_{};
    bool new_pending_ = false;  // a request arrived: scan pending now

    // Shared with the control side under mu_ (never touched by the datapath).
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::optional<EndpointRecord> local_;   // record to keep alive
    uint32_t local_ttl_s_ = 0;
    bool local_dirty_ = false;              // publish at once (new record)
    std::vector<Mac> aliases_;              // additional MACs of the local record
    std::vector<Mac> withdraw_;             // MACs to remove
    Status last_publish_;

    // Keep-alive schedule, resolver thread only.
    Clock::time_point next_publish_{};
    std::chrono::milliseconds publish_backoff_{0};

    std::thread thread_;
};

uint64_t mac_key(const Mac& m) noexcept;

}  // namespace rdmaud::registry
