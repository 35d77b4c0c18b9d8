/* SPDX-License-Identifier: BSD-3-Clause */
// The Resolver thread against a real memcached (suite 'registry'): resolution through the
// request queue, peer restart (new incarnation) within 2 s, expiry, memcached killed and
// restarted, down longer than the TTL, forged records, a full queue, keep-alive of the local
// record, member tracking, two servers as mirrors with one killed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "keys.h"
#include "mc_fixture.h"
#include "resolver.h"

using namespace rdmaud::registry;
using rdmaud::registry::test::Memcached;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const HmacKey kKey(32, 0x37);

EndpointRecord make(uint32_t id) {
    EndpointRecord r;
    r.mac = {0x02, 0x55, 0, 0, uint8_t(id >> 8), uint8_t(id)};
    r.link = LinkLayer::ib;
    r.lid = uint16_t(id);
    r.qpns = {0x1000 + id, 0x2000 + id};
    r.qkey = 0x11111111;
    r.mtu = 2048;
    r.incarnation = new_incarnation();
    r.name = "peer" + std::to_string(id);
    return r;
}

// What the PMD will implement: here it records every event for the assertions.
class RecordingSink : public ResolverSink {
public:
    void on_resolved(const EndpointRecord& r) noexcept override {
        std::lock_guard lk(mu_);
        resolved_.push_back(r);
        current_[mac_key(r.mac)] = r;
        cv_.notify_all();
    }
    void on_expired(const Mac& m) noexcept override {
        std::lock_guard lk(mu_);
        expired_.push_back(m);
        current_.erase(mac_key(m));
        cv_.notify_all();
    }
    void on_unresolved(const Mac& m, const Status& st) noexcept override {
        std::lock_guard lk(mu_);
        unresolved_.emplace_back(m, st);
        cv_.notify_all();
    }
    // Waits until pred() holds (under the lock) or `limit` passes.
    template <class Pred>
    bool wait(Pred pred, std::chrono::milliseconds limit) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, limit, [&] { return pred(); });
    }
    std::optional<EndpointRecord> current(const Mac& m) {
        std::lock_guard lk(mu_);
        auto it = current_.find(mac_key(m));
        return it == current_.end() ? std::nullopt : std::optional(it->second);
    }
    size_t expired_count() {
        std::lock_guard lk(mu_);
        return expired_.size();
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<EndpointRecord> resolved_;
    std::vector<Mac> expired_;
    std::vector<std::pair<Mac, Status>> unresolved_;
    std::map<uint64_t, EndpointRecord> current_;
};

// For conditions on counters (no sink event to wake a waiter): polls every 5 ms.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (!pred()) {
        if (Clock::now() > end)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

class ResolverTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(mc_.start()); }
    RegistryConfig reg_cfg(std::string ns, HmacKey key = {}) {
        RegistryConfig c;
        c.servers = {{"127.0.0.1", mc_.port()}};
        c.ns = std::move(ns);
        c.key = std::move(key);
        return c;
    }
    std::unique_ptr<Registry> client(const RegistryConfig& c) {
        std::unique_ptr<Registry> r;
        EXPECT_TRUE(Registry::create(c, &r));
        return r;
    }
    std::unique_ptr<Resolver> resolver(ResolverConfig c) {
        std::unique_ptr<Resolver> r;
        Status st = Resolver::start(std::move(c), &sink_, &r);
        EXPECT_TRUE(st) << st.message;
        return r;
    }
    Memcached mc_;
    RecordingSink sink_;
};

}  // namespace

TEST_F(ResolverTest, ResolvesRequestsAndCountsMisses) {
    auto pub = client(reg_cfg("r1"));
    EndpointRecord a = make(1);
    ASSERT_TRUE(pub->publish(&a, 30));
    auto res = resolver({.registry = reg_cfg("r1")});
    ASSERT_TRUE(res->request(a.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.contains(mac_key(a.mac)); }, 1000ms));
    EXPECT_EQ(sink_.current(a.mac)->qpns, a.qpns);
    const Mac unknown = {0x02, 0x55, 9, 9, 9, 9};
    ASSERT_TRUE(res->request(unknown));
    ASSERT_TRUE(sink_.wait([&] { return !sink_.unresolved_.empty(); }, 1000ms));
    EXPECT_EQ(sink_.unresolved_[0].second.code, Errc::not_found);
    ASSERT_TRUE(res->request(unknown));  // within negative_ttl: not asked again
    ASSERT_TRUE(res->request(a.mac));    // already known: handed back from the cache
    ASSERT_TRUE(sink_.wait([&] { return sink_.resolved_.size() == 2; }, 1000ms));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(res->get(ResolverCounter::resolved), 1u);
    EXPECT_EQ(res->get(ResolverCounter::misses), 1u);
    EXPECT_EQ(res->get(ResolverCounter::negative_hits), 1u);
    EXPECT_EQ(res->get(ResolverCounter::hits), 1u);
    EXPECT_EQ(res->get(ResolverCounter::requests), 4u);
    EXPECT_EQ(res->cached(), 1u);
}

TEST_F(ResolverTest, PeerRestartReplacedWithinTwoSeconds) {
    auto pub = client(reg_cfg("r2", kKey));
    EndpointRecord a = make(2);
    ASSERT_TRUE(pub->publish(&a, 30));
    auto res = resolver({.registry = reg_cfg("r2", kKey)});
    ASSERT_TRUE(res->request(a.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.contains(mac_key(a.mac)); }, 1000ms));
    std::this_thread::sleep_for(300ms);  // somewhere inside a revalidation period
    // The peer restarts: new incarnation, new QPNs.
    EndpointRecord a2 = a;
    a2.incarnation = new_incarnation();
    a2.qpns = {0x9001, 0x9002, 0x9003};
    ASSERT_TRUE(pub->publish(&a2, 30));
    const auto t0 = Clock::now();
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.at(mac_key(a.mac)).incarnation == a2.incarnation; }, 2000ms))
        << "restarted peer not replaced within 2 s";
    const auto took = Clock::now() - t0;
    EXPECT_LT(took, 2s);
    EXPECT_EQ(sink_.current(a.mac)->qpns, a2.qpns);
    EXPECT_EQ(res->get(ResolverCounter::replaced), 1u);
    // A replay of the old incarnation (older publish time) is ignored and counted.
    std::vector<uint8_t> old_bytes;
    ASSERT_TRUE(encode_record(a, "r2", kKey, &old_bytes));
    ASSERT_TRUE(pub->set_raw(endpoint_key("r2", a.mac), old_bytes, 30));
    ASSERT_TRUE(eventually([&] { return res->get(ResolverCounter::stale) > 0; }, 2500ms));
    EXPECT_EQ(sink_.current(a.mac)->incarnation, a2.incarnation);
    std::printf("peer restart visible after %.0f ms\n",
                std::chrono::duration<double, std::milli>(took).count());
}

TEST_F(ResolverTest, ExpiredPeerRemoved) {
    auto pub = client(reg_cfg("r3"));
    EndpointRecord a = make(3);
    ASSERT_TRUE(pub->publish(&a, 2));  // TTL 1 could expire before the first lookup
    auto res = resolver({.registry = reg_cfg("r3")});
    ASSERT_TRUE(res->request(a.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.contains(mac_key(a.mac)); }, 1000ms));
    // Not refreshed: memcached expires it (<= 2 s), then the resolver drops it once the peer
    // has not been seen valid for its TTL (2 s), at a revalidation (every 1 s).
    const auto t0 = Clock::now();
    ASSERT_TRUE(sink_.wait([&] { return !sink_.expired_.empty(); }, 7000ms));
    std::printf("expired peer dropped after %.0f ms\n",
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    EXPECT_EQ(sink_.expired_[0], a.mac);
    EXPECT_EQ(res->get(ResolverCounter::expired), 1u);
    EXPECT_TRUE(eventually([&] { return res->cached() == 0; }, 100ms));
}

TEST_F(ResolverTest, MemcachedKilledAndRestarted) {
    auto pub = client(reg_cfg("r4"));
    EndpointRecord a = make(4), b = make(5);
    ASSERT_TRUE(pub->publish(&a, 30));
    auto res = resolver({.registry = reg_cfg("r4")});
    ASSERT_TRUE(res->request(a.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.contains(mac_key(a.mac)); }, 1000ms));

    const uint16_t port = mc_.port();
    mc_.stop();
    // A new lookup while memcached is down: retried with backoff, no answer, no crash.
    ASSERT_TRUE(res->request(b.mac));
    std::this_thread::sleep_for(1500ms);  // a revalidation of `a` fails in this window too
    EXPECT_GT(res->get(ResolverCounter::failures), 0u);
    EXPECT_GT(res->get(ResolverCounter::backoff_retries), 1u);
    EXPECT_TRUE(sink_.current(a.mac).has_value()) << "cached peer lost while memcached was down";
    EXPECT_FALSE(sink_.current(b.mac).has_value());
    EXPECT_EQ(sink_.expired_count(), 0u);

    // memcached returns, empty. b's process publishes (its own client may need up to a second
    // to try the server again); meanwhile the datapath keeps sending to b, so it re-requests.
    ASSERT_TRUE(mc_.start(port));
    const auto t0 = Clock::now();
    std::atomic<bool> published{false};
    std::thread peer([&] {
        while (!pub->publish(&b, 30) && Clock::now() - t0 < 2s)
            std::this_thread::sleep_for(10ms);
        published = true;
    });
    bool resolved = false;
    while (!resolved && Clock::now() - t0 < 2500ms) {
        res->request(b.mac);  // what the PMD does for a frame to an unresolved MAC
        resolved = sink_.wait([&] { return sink_.current_.contains(mac_key(b.mac)); }, 10ms);
    }
    peer.join();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ASSERT_TRUE(resolved) << "new peer not resolved after memcached's return";
    EXPECT_LT(ms, 2000.0) << "new peer resolved only " << ms << " ms after memcached returned";
    // a's record is gone with the old memcached, but a is within its TTL: still cached.
    std::this_thread::sleep_for(1200ms);
    EXPECT_TRUE(sink_.current(a.mac).has_value());
    EXPECT_EQ(sink_.expired_count(), 0u);
    std::printf("new peer resolved %.0f ms after memcached returned; failures %lu, backoff retries %lu\n", ms,
                (unsigned long)res->get(ResolverCounter::failures),
                (unsigned long)res->get(ResolverCounter::backoff_retries));
}

// memcached down for longer than the peers' TTL (regression: the outage used to count toward
// a cached peer's expiry, so the first revalidation after the return, if it came before the
// peer's re-publish, dropped a live peer). The rule: the TTL runs only while the registry
// answers. A peer that re-publishes after the return is kept throughout; one that died during
// the outage is dropped TTL after the return, not before.
TEST_F(ResolverTest, OutageLongerThanTtlKeepsLivePeers) {
    auto pub = client(reg_cfg("r9"));
    EndpointRecord live = make(30), dead = make(31);
    ASSERT_TRUE(pub->publish(&live, 2));
    ASSERT_TRUE(pub->publish(&dead, 2));
    auto res = resolver({.registry = reg_cfg("r9")});
    ASSERT_TRUE(res->request(live.mac));
    ASSERT_TRUE(res->request(dead.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.size() == 2; }, 1000ms));

    const uint16_t port = mc_.port();
    mc_.stop();
    std::this_thread::sleep_for(3500ms);  // > TTL (2 s) plus one revalidation
    EXPECT_EQ(sink_.expired_count(), 0u) << "a peer expired while the registry was unreachable";
    ASSERT_TRUE(mc_.start(port));         // empty
    const auto t0 = Clock::now();
    // `live` re-publishes only after the resolver has had time to revalidate against the
    // empty server (the race the old rule lost); `dead` never does.
    std::this_thread::sleep_for(1200ms);
    while (!pub->publish(&live, 2) && Clock::now() - t0 < 3s)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(sink_.expired_count(), 0u) << "a peer was dropped before its TTL ran after the return";
    ASSERT_TRUE(sink_.wait([&] { return sink_.expired_.size() == 1; }, 3000ms)) << "dead peer never dropped";
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    EXPECT_EQ(sink_.expired_[0], dead.mac);
    EXPECT_GE(ms, 1500.0) << "dead peer dropped " << ms << " ms after the return (TTL 2 s)";
    EXPECT_TRUE(sink_.current(live.mac).has_value());
    EXPECT_EQ(res->get(ResolverCounter::expired), 1u);
    EXPECT_GT(res->get(ResolverCounter::failures), 0u);
    std::printf("outage of 3.5 s (TTL 2 s): live peer kept, dead peer dropped %.0f ms after memcached returned\n",
                ms);
}

TEST_F(ResolverTest, ForgedRecordsRejectedAndCounted) {
    auto good = client(reg_cfg("r5", kKey));
    auto forger = client(reg_cfg("r5"));
    EndpointRecord a = make(6), f = make(7);
    ASSERT_TRUE(good->publish(&a, 30));
    ASSERT_TRUE(forger->publish(&f, 30));  // a whole endpoint written without the key
    auto res = resolver({.registry = reg_cfg("r5", kKey)});
    ASSERT_TRUE(res->request(a.mac));
    ASSERT_TRUE(res->request(f.mac));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.contains(mac_key(a.mac)) && !sink_.unresolved_.empty(); },
                           1000ms));
    EXPECT_EQ(sink_.unresolved_[0].first, f.mac);
    EXPECT_EQ(sink_.unresolved_[0].second.cause, RejectCause::missing_hmac);
    EXPECT_EQ(res->get(ResolverCounter::reject_missing_hmac), 1u);
    // The forger now overwrites the cached peer to redirect its traffic.
    EndpointRecord evil = a;
    evil.qpns = {0xbad};
    ASSERT_TRUE(forger->publish(&evil, 30));
    ASSERT_TRUE(eventually([&] { return res->get(ResolverCounter::reject_missing_hmac) >= 2; }, 2500ms));
    EXPECT_EQ(sink_.current(a.mac)->qpns, a.qpns) << "a forged record redirected a cached peer";
    // Garbage under a requested key.
    const Mac g = {0x02, 0x55, 7, 7, 7, 7};
    ASSERT_TRUE(forger->set_raw(endpoint_key("r5", g), std::vector<uint8_t>(300, 0xff), 30));
    ASSERT_TRUE(res->request(g));
    ASSERT_TRUE(eventually([&] { return res->get(ResolverCounter::reject_oversized) == 1; }, 1000ms));
}

TEST_F(ResolverTest, FullQueueIsACountedDrop) {
    auto res = resolver({.registry = reg_cfg("r6"), .queue_capacity = 2, .tick = 2000ms});
    std::this_thread::sleep_for(100ms);  // the thread has done its first pass and sleeps
    const Mac m1 = {0x02, 0, 0, 0, 0, 1}, m2 = {0x02, 0, 0, 0, 0, 2}, m3 = {0x02, 0, 0, 0, 0, 3};
    const auto t0 = Clock::now();
    EXPECT_TRUE(res->request(m1));
    EXPECT_TRUE(res->request(m2));
    EXPECT_FALSE(res->request(m3));
    EXPECT_LT(Clock::now() - t0, 5ms);  // never blocks
    EXPECT_EQ(res->get(ResolverCounter::queue_full), 1u);
}

TEST_F(ResolverTest, LocalRecordKeptAliveAndWithdrawn) {
    auto reader = client(reg_cfg("r7"));
    EndpointRecord self = make(8), got;
    {
        auto res = resolver({.registry = reg_cfg("r7")});
        res->publish_local(self, 2);  // TTL 2 s: only the keep-alive keeps it there
        for (int i = 0; i < 8; i++) {    // checked over 4 s: never missing in between
            std::this_thread::sleep_for(500ms);
            Status st = reader->resolve(self.mac, &got);
            ASSERT_TRUE(st) << "after " << (i + 1) * 500 << " ms: " << st.message;
        }
        Status st = reader->resolve(self.mac, &got);
        ASSERT_TRUE(st) << st.message;
        EXPECT_EQ(got.incarnation, self.incarnation);
        EXPECT_GE(res->get(ResolverCounter::publishes), 5u);
        EXPECT_TRUE(res->last_publish_status());
    }  // stop: the record is removed
    EXPECT_EQ(reader->resolve(self.mac, &got).code, Errc::not_found);
    std::vector<Member> m;
    ASSERT_TRUE(reader->members(&m));
    EXPECT_TRUE(m.empty());
}

TEST_F(ResolverTest, LocalAliasesPublishedOutsideTheMembersAndWithdrawn) {
    auto reader = client(reg_cfg("r9"));
    EndpointRecord self = make(30), got;
    const Mac a1 = make(31).mac, a2 = make(32).mac;
    auto members = [&] {
        std::vector<Member> m;
        EXPECT_TRUE(reader->members(&m));
        std::vector<Mac> v;
        for (const Member& x : m)
            v.push_back(x.mac);
        return v;
    };
    {
        auto res = resolver({.registry = reg_cfg("r9")});
        res->set_local_aliases({a1, a2});  // before the first publish: published with it
        res->publish_local(self, 2);
        ASSERT_TRUE(eventually([&] { return reader->resolve(a2, &got).ok(); }, 1000ms));
        EXPECT_EQ(got.qpns, self.qpns) << "the local record's address, under the alias";
        EXPECT_EQ(got.lid, self.lid);
        EXPECT_EQ(got.incarnation, self.incarnation);
        EXPECT_TRUE(got.name.empty()) << "the name key keeps naming the local MAC";
        ASSERT_TRUE(reader->resolve_name(self.name, &got));
        EXPECT_EQ(got.mac, self.mac);
        EXPECT_EQ(members(), std::vector<Mac>{self.mac}) << "aliases are not members";
        std::this_thread::sleep_for(2500ms);  // past the TTL: kept alive with the local record
        ASSERT_TRUE(reader->resolve(a1, &got));
        // a1 dropped: it leaves the registry, a2 stays.
        res->set_local_aliases({a2});
        ASSERT_TRUE(eventually([&] { return reader->resolve(a1, &got).code == Errc::not_found; }, 1000ms));
        ASSERT_TRUE(reader->resolve(a2, &got));
        // Withdrawn with the local record; published again with it.
        res->withdraw_local();
        ASSERT_TRUE(eventually([&] { return reader->resolve(a2, &got).code == Errc::not_found; }, 1000ms));
        EXPECT_EQ(reader->resolve(self.mac, &got).code, Errc::not_found);
        res->publish_local(self, 2);
        ASSERT_TRUE(eventually([&] { return reader->resolve(a2, &got).ok(); }, 1000ms));
        ASSERT_TRUE(reader->resolve(self.mac, &got));
    }  // stop: the local record and its aliases are removed
    EXPECT_EQ(reader->resolve(self.mac, &got).code, Errc::not_found);
    EXPECT_EQ(reader->resolve(a2, &got).code, Errc::not_found);
    EXPECT_TRUE(members().empty());
}

TEST_F(ResolverTest, TracksEveryMemberForBroadcast) {
    auto pub = client(reg_cfg("r8"));
    std::vector<EndpointRecord> peers;
    for (uint32_t i = 10; i < 15; i++) {
        peers.push_back(make(i));
        ASSERT_TRUE(pub->publish(&peers.back(), 30));
    }
    auto res = resolver({.registry = reg_cfg("r8"), .track_members = true, .members_interval = 200ms});
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.size() == peers.size(); }, 1500ms));
    // A late joiner is picked up on the next membership pass, with no request.
    peers.push_back(make(20));
    ASSERT_TRUE(pub->publish(&peers.back(), 30));
    ASSERT_TRUE(sink_.wait([&] { return sink_.current_.size() == peers.size(); }, 1500ms));
    EXPECT_EQ(res->get(ResolverCounter::requests), 0u);
}

TEST(ResolverFailover, TwoServersOneKilledUnderLookups) {
    Memcached a, b;
    ASSERT_TRUE(a.start());
    ASSERT_TRUE(b.start());
    RegistryConfig cfg;
    cfg.servers = {{"127.0.0.1", a.port()}, {"127.0.0.1", b.port()}};
    cfg.ns = "rfo";
    cfg.key = kKey;
    std::unique_ptr<Registry> pub;
    ASSERT_TRUE(Registry::create(cfg, &pub));
    std::vector<EndpointRecord> peers;
    for (uint32_t i = 1; i <= 32; i++) {
        peers.push_back(make(100 + i));
        ASSERT_TRUE(pub->publish(&peers.back(), 30));
    }
    RecordingSink sink;
    std::unique_ptr<Resolver> res;
    ASSERT_TRUE(Resolver::start({.registry = cfg}, &sink, &res));
    for (const auto& p : peers)
        ASSERT_TRUE(res->request(p.mac));
    ASSERT_TRUE(sink.wait([&] { return sink.current_.size() == peers.size(); }, 2000ms));

    a.stop();
    // Both servers mirror every record: a new peer published after the failure (by a client
    // that has not met the dead server yet, as a new process) resolves through the survivor at
    // once, and no lookup of the resolver fails as a whole.
    EndpointRecord late = make(200);
    const auto t0 = Clock::now();
    std::unique_ptr<Registry> late_pub;
    ASSERT_TRUE(Registry::create(cfg, &late_pub));
    Status st = late_pub->publish(&late, 30);
    ASSERT_TRUE(st) << st.message;
    ASSERT_TRUE(res->request(late.mac));
    ASSERT_TRUE(sink.wait([&] { return sink.current_.contains(mac_key(late.mac)); }, 1000ms))
        << "new peer not resolved with one server dead";
    EXPECT_LT(Clock::now() - t0, 1s);
    // No cached peer was lost, none was changed.
    std::this_thread::sleep_for(1500ms);  // at least one revalidation of every peer
    EXPECT_EQ(sink.expired_count(), 0u);
    for (const auto& p : peers) {
        auto c = sink.current(p.mac);
        ASSERT_TRUE(c.has_value());
        EXPECT_EQ(c->incarnation, p.incarnation);
    }
    EXPECT_EQ(res->get(ResolverCounter::failures), 0u) << "a lookup failed although one server answered";
    EXPECT_GT(res->get(ResolverCounter::server_failures), 0u) << "the dead server went unnoticed";
    std::printf("failover: new peer resolved %.0f ms after one of two servers died; server failures %lu\n",
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count() - 1500.0,
                (unsigned long)res->get(ResolverCounter::server_failures));
}
