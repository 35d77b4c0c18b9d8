/* SPDX-License-Identifier: BSD-3-Clause */
// The resolver thread: request queue -> batched lookups -> cache -> periodic revalidation.
#include "resolver.h"

#include <algorithm>
#include <vector>

namespace rdmaud::registry {
namespace {

using std::chrono::milliseconds;

// Lookups per registry round (one mget batch): bounds the time one round holds the thread.
constexpr size_t kRoundBatch = kMgetBatch;
// Due-time scans of the pending and peer tables run at most this often (not every tick), so a
// 10,000-peer cache costs a scan per 10 ms, not per millisecond; revalidation is 10 ms coarse.
constexpr milliseconds kScanPeriod{10};
// Keep-alive at a third of the TTL: two refreshes may fail before the record expires.
constexpr uint32_t kRefreshDivisor = 3;

}  // namespace

const char* const kResolverCounterNames[kResolverCounterCount] = {
    "requests", "queue_full", "hits", "coalesced", "negative_hits", "resolved", "misses", "failures",
    "server_failures", "backoff_retries", "revalidations", "replaced", "updated", "expired", "stale", "publishes",
    "publish_failures", "reject_truncated", "reject_oversized", "reject_foreign", "reject_malformed",
    "reject_bad_hmac", "reject_missing_hmac", "reject_mismatch",
};

uint64_t mac_key(const Mac& m) noexcept {
    uint64_t k = 0;
    for (uint8_t b : m)
        k = k << 8 | b;
    return k;
}

namespace {
Mac mac_of(uint64_t k) {
    Mac m;
    for (int i = 5; i >= 0; i--, k >>= 8)
        m[size_t(i)] = uint8_t(k);
    return m;
}

// Up to kRoundBatch MACs of `map` whose time (from `when`) has come: one mget round. A full
// batch means more may be due, so the next scan is immediate; otherwise it waits kScanPeriod.
template <class Map, class When>
std::vector<Mac> collect_due(const Map& map, std::chrono::steady_clock::time_point now,
                             std::chrono::steady_clock::time_point& next_scan, When when) {
    std::vector<Mac> due;
    for (const auto& [k, v] : map) {
        if (when(v) <= now) {
            due.push_back(mac_of(k));
            if (due.size() == kRoundBatch)
                break;
        }
    }
    next_scan = due.size() == kRoundBatch ? now : now + kScanPeriod;
    return due;
}
}  // namespace

Resolver::Resolver(ResolverConfig cfg, ResolverSink* sink)
    : cfg_(std::move(cfg)), sink_(sink), queue_(cfg_.queue_capacity) {}

Status Resolver::start(ResolverConfig cfg, ResolverSink* sink, std::unique_ptr<Resolver>* out) noexcept {
    if (sink == nullptr)
        return Status::error(Errc::invalid_argument, "resolver: no sink");
    if (cfg.queue_capacity == 0 || cfg.tick.count() <= 0 || cfg.revalidate.count() <= 0 ||
        cfg.backoff_min.count() <= 0 || cfg.backoff_max < cfg.backoff_min)
        return Status::error(Errc::invalid_argument, "resolver: bad timing or queue configuration");
    std::unique_ptr<Resolver> r(new (std::nothrow) Resolver(std::move(cfg), sink));
    if (!r)
        return Status::error(Errc::internal, "out of memory");
    Status st = Registry::create(r->cfg_.registry, &r->registry_);
    if (!st)
        return st;
    try {
        r->thread_ = std::thread([p = r.get()] { p->run(); });
    } catch (const std::system_error& e) {
        return Status::error(Errc::internal, std::string("resolver: cannot start thread: ") + e.what());
    }
    *out = std::move(r);
    return Status::success();
}

Resolver::~Resolver() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

namespace {

void forget(std::vector<Mac>* v, const Mac& mac) {
    std::erase(*v, mac);
}

}  // namespace

void Resolver::publish_local(const EndpointRecord& record, uint32_t ttl_s) {
    {
        std::lock_guard lk(mu_);
        local_ = record;
        local_ttl_s_ = std::max(ttl_s, kMinLocalTtl);
        local_dirty_ = true;
        forget(&withdraw_, record.mac);  // published again: not to be removed
        for (const Mac& a : aliases_)
            forget(&withdraw_, a);
    }
    cv_.notify_all();
}

void Resolver::withdraw_local() {
    {
        std::lock_guard lk(mu_);
        if (local_) {
            withdraw_.push_back(local_->mac);
            withdraw_.insert(withdraw_.end(), aliases_.begin(), aliases_.end());
        }
        local_.reset();
    }
    cv_.notify_all();
}

void Resolver::set_local_aliases(std::vector<Mac> macs) {
    {
        std::lock_guard lk(mu_);
        for (const Mac& old : aliases_)
            if (local_ && std::find(macs.begin(), macs.end(), old) == macs.end())
                withdraw_.push_back(old);
        for (const Mac& a : macs)
            forget(&withdraw_, a);
        aliases_ = std::move(macs);
        if (local_)
            local_dirty_ = true;
    }
    cv_.notify_all();
}

Status Resolver::last_publish_status() const {
    std::lock_guard lk(mu_);
    return last_publish_;
}

ResolverStats Resolver::stats() const noexcept {
    ResolverStats s{};
    for (size_t i = 0; i < kResolverCounterCount; i++)
        s[i] = counters_[i].load(std::memory_order_relaxed);
    return s;
}

void Resolver::count_reject(RejectCause cause) noexcept {
    if (cause == RejectCause::none || cause == RejectCause::count_)
        return;
    const size_t i = static_cast<size_t>(ResolverCounter::reject_truncated) +
                     (static_cast<size_t>(cause) - static_cast<size_t>(RejectCause::truncated));
    counters_[i].fetch_add(1, std::memory_order_relaxed);
}

milliseconds Resolver::next_backoff(milliseconds cur) const noexcept {
    return cur.count() == 0 ? cfg_.backoff_min : std::min(cur * 2, cfg_.backoff_max);
}

void Resolver::run() noexcept {
    std::unique_lock lk(mu_);
    while (!stop_) {
        lk.unlock();
        const Clock::time_point now = Clock::now();
        drain_requests(now);
        resolve_pending(now);
        revalidate(now);
        refresh_members(now);
        keep_alive(now);
        sink_->on_pass_end();
        cached_.store(peers_.size(), std::memory_order_relaxed);
        counters_[static_cast<size_t>(ResolverCounter::server_failures)].store(registry_->server_failures(),
                                                                               std::memory_order_relaxed);
        lk.lock();
        if (!stop_ && !local_dirty_ && withdraw_.empty())
            cv_.wait_for(lk, cfg_.tick);
    }
    // Stopping: a published local endpoint leaves the registry (best effort, bounded timeouts).
    std::vector<Mac> gone = std::move(withdraw_);
    if (local_) {
        gone.push_back(local_->mac);
        gone.insert(gone.end(), aliases_.begin(), aliases_.end());
    }
    lk.unlock();
    for (const Mac& mac : gone)
        registry_->remove(mac);
}

void Resolver::drain_requests(Clock::time_point now) {
    Mac mac;
    while (queue_.try_pop(&mac)) {
        count(ResolverCounter::requests);
        const uint64_t k = mac_key(mac);
        if (auto it = peers_.find(k); it != peers_.end()) {
            count(ResolverCounter::hits);
            sink_->on_resolved(it->second.record);  // the datapath lost it: hand it back
            continue;
        }
        if (pending_.contains(k)) {
            count(ResolverCounter::coalesced);
            continue;
        }
        if (auto it = negative_.find(k); it != negative_.end()) {
            if (it->second > now) {
                count(ResolverCounter::negative_hits);
                continue;
            }
            negative_.erase(it);
        }
        pending_.emplace(k, Pending{now, milliseconds{0}});
        new_pending_ = true;
    }
}

void Resolver::resolve_pending(Clock::time_point now) {
    if (!new_pending_ && now < next_pending_scan_)
        return;
    new_pending_ = false;
    std::vector<Mac> due =
        collect_due(pending_, now, next_pending_scan_, [](const Pending& p) { return p.next_attempt; });
    if (due.empty())
        return;
    std::vector<Lookup> results;
    registry_->resolve_many(due, &results);
    for (Lookup& l : results) {
        const uint64_t k = mac_key(l.mac);
        auto pit = pending_.find(k);
        if (pit == pending_.end())
            continue;
        switch (l.status.code) {
        case Errc::ok: {
            pending_.erase(pit);
            Peer p{std::move(l.record), now + cfg_.revalidate, now, milliseconds{0}};
            auto [it, fresh] = peers_.insert_or_assign(k, std::move(p));
            (void)fresh;
            count(ResolverCounter::resolved);
            sink_->on_resolved(it->second.record);
            break;
        }
        case Errc::not_found:
        case Errc::rejected:
            pending_.erase(pit);
            negative_[k] = now + cfg_.negative_ttl;
            if (l.status.code == Errc::not_found)
                count(ResolverCounter::misses);
            else
                count_reject(l.status.cause);
            sink_->on_unresolved(l.mac, l.status);
            break;
        default:  // unavailable, internal: try again later
            count(ResolverCounter::failures);
            count(ResolverCounter::backoff_retries);
            pit->second.backoff = next_backoff(pit->second.backoff);
            pit->second.next_attempt = now + pit->second.backoff;
            break;
        }
    }
    // Bound the negative cache: entries past their time are dropped on every round.
    if (negative_.size() > 4 * queue_.capacity())
        std::erase_if(negative_, [now](const auto& e) { return e.second <= now; });
}

void Resolver::accept_update(Peer& p, EndpointRecord&& fresh) {
    if (fresh == p.record)
        return;
    if (fresh.incarnation != p.record.incarnation) {
        if (fresh.publish_ms < p.record.publish_ms) {
            count(ResolverCounter::stale);  // an older incarnation written back: a replay
            return;
        }
        count(ResolverCounter::replaced);
    } else if (fresh.publish_ms != p.record.publish_ms && fresh.qpns == p.record.qpns &&
               fresh.gid == p.record.gid && fresh.lid == p.record.lid && fresh.qkey == p.record.qkey &&
               fresh.mtu == p.record.mtu && fresh.name == p.record.name && fresh.ttl_s == p.record.ttl_s) {
        p.record.publish_ms = fresh.publish_ms;  // keep-alive only: nothing for the datapath
        return;
    } else {
        count(ResolverCounter::updated);
    }
    p.record = std::move(fresh);
    sink_->on_resolved(p.record);
}

void Resolver::revalidate(Clock::time_point now) {
    if (now < next_reval_scan_)
        return;
    std::vector<Mac> due = collect_due(peers_, now, next_reval_scan_, [](const Peer& p) { return p.next_check; });
    if (due.empty())
        return;
    std::vector<Lookup> results;
    registry_->resolve_many(due, &results);
    for (Lookup& l : results) {
        const uint64_t k = mac_key(l.mac);
        auto it = peers_.find(k);
        if (it == peers_.end())
            continue;
        Peer& p = it->second;
        count(ResolverCounter::revalidations);
        bool drop = false;
        switch (l.status.code) {
        case Errc::ok:
            p.last_valid = now;
            p.backoff = milliseconds{0};
            p.next_check = now + cfg_.revalidate;
            accept_update(p, std::move(l.record));
            break;
        case Errc::not_found:
        case Errc::rejected:
            // Gone (expired, removed, or lost with a restarted/ejected server) or overwritten by
            // a forged/corrupt value: keep the last good address until the peer has not been
            // seen valid for its own TTL, the time it has to re-publish. A restarted memcached
            // thus costs cached flows nothing; a crashed or stopped peer leaves within its TTL.
            if (l.status.code == Errc::rejected)
                count_reject(l.status.cause);
            p.next_check = now + cfg_.revalidate;
            drop = now - p.last_valid > std::chrono::seconds(p.record.ttl_s);
            break;
        default:
            // Registry unreachable: cached traffic keeps flowing on the last good address, and
            // the outage does not count toward the peer's expiry. When memcached comes back
            // (empty, if it restarted) the peer has its whole TTL to re-publish: it is dropped
            // only if the registry then says "no record" for that long.
            p.last_valid = now;
            count(ResolverCounter::failures);
            count(ResolverCounter::backoff_retries);
            p.backoff = next_backoff(p.backoff);
            p.next_check = now + p.backoff;
            break;
        }
        if (drop) {
            const Mac mac = l.mac;
            peers_.erase(it);
            count(ResolverCounter::expired);
            sink_->on_expired(mac);
        }
    }
}

void Resolver::refresh_members(Clock::time_point now) {
    if (!cfg_.track_members || now < next_members_)
        return;
    std::vector<Member> set;
    Status st = registry_->members(&set);
    if (!st) {
        count(ResolverCounter::failures);
        next_members_ = now + cfg_.backoff_min;
        return;
    }
    next_members_ = now + cfg_.members_interval;
    std::optional<Mac> self;
    {
        std::lock_guard lk(mu_);
        if (local_)
            self = local_->mac;
    }
    for (const Member& m : set) {
        const uint64_t k = mac_key(m.mac);
        if ((self && *self == m.mac) || peers_.contains(k) || pending_.contains(k))
            continue;
        if (auto it = negative_.find(k); it != negative_.end() && it->second > now)
            continue;
        pending_.emplace(k, Pending{now, milliseconds{0}});
        new_pending_ = true;
    }
}

void Resolver::keep_alive(Clock::time_point now) {
    std::optional<EndpointRecord> rec;
    std::vector<Mac> withdraw, aliases;
    uint32_t ttl = 0;
    {
        std::lock_guard lk(mu_);
        withdraw.swap(withdraw_);
        if (local_ && (local_dirty_ || now >= next_publish_)) {
            rec = local_;
            aliases = aliases_;
            ttl = local_ttl_s_;
            local_dirty_ = false;
        }
    }
    for (const Mac& mac : withdraw)
        registry_->remove(mac);
    if (!rec)
        return;
    Status st = registry_->publish(&*rec, ttl);
    for (size_t i = 0; st && i < aliases.size(); i++) {
        EndpointRecord alias = *rec;
        alias.mac = aliases[i];
        alias.name.clear();  // the name key names the endpoint's own MAC
        st = registry_->publish(&alias, ttl, false);
    }
    if (st) {
        count(ResolverCounter::publishes);
        publish_backoff_ = milliseconds{0};
        next_publish_ = now + std::max(milliseconds{ttl * 1000u / kRefreshDivisor}, cfg_.backoff_min);
    } else {
        count(ResolverCounter::publish_failures);
        publish_backoff_ = next_backoff(publish_backoff_);
        next_publish_ = now + publish_backoff_;
    }
    std::lock_guard lk(mu_);
    last_publish_ = std::move(st);
}

}  // namespace rdmaud::registry
