/* SPDX-License-Identifier: BSD-3-Clause */
// Registry client against a real memcached (suite 'registry'): publish/resolve/expire, names,
// forged and malformed records, concurrent joins, list/purge, and two servers as mirrors (one
// killed, both killed).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "keys.h"
#include "mc_fixture.h"
#include "registry.h"

using namespace rdmaud::registry;
using rdmaud::registry::test::Memcached;
using namespace std::chrono_literals;

namespace {

const HmacKey kKey(32, 0x42);

EndpointRecord make(uint32_t id, uint32_t queues = 2) {
    EndpointRecord r;
    r.mac = {0x02, 0xaa, uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
    r.link = LinkLayer::roce;
    r.gid[0] = 0xfe;
    r.gid[1] = 0x80;
    r.gid[15] = uint8_t(id);
    for (uint32_t q = 0; q < queues; q++)
        r.qpns.push_back(0x100 + id * 16 + q);
    r.qkey = 0x11111111;
    r.mtu = 1024;
    r.incarnation = new_incarnation();
    r.name = "ep" + std::to_string(id);
    return r;
}

RegistryConfig config_for(const std::vector<const Memcached*>& servers, std::string ns, HmacKey key = {}) {
    RegistryConfig c;
    for (const Memcached* m : servers)
        c.servers.push_back({"127.0.0.1", m->port()});
    c.ns = std::move(ns);
    c.key = std::move(key);
    return c;
}

std::unique_ptr<Registry> client(const RegistryConfig& c) {
    std::unique_ptr<Registry> r;
    Status st = Registry::create(c, &r);
    EXPECT_TRUE(st) << st.message;
    return r;
}

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(mc_.start()); }
    Memcached mc_;
};

}  // namespace

TEST_F(RegistryTest, PublishResolveExpire) {
    auto reg = client(config_for({&mc_}, "pre"));
    EndpointRecord r = make(1, 4), got;
    ASSERT_TRUE(reg->publish(&r, 1));
    EXPECT_EQ(r.ttl_s, 1u);
    EXPECT_GT(r.publish_ms, 0u);
    Status st = reg->resolve(r.mac, &got);
    ASSERT_TRUE(st) << st.message;
    EXPECT_EQ(got, r);
    ASSERT_TRUE(reg->resolve_name("ep1", &got));
    EXPECT_EQ(got.mac, r.mac);
    std::vector<Member> m;
    ASSERT_TRUE(reg->members(&m));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].mac, r.mac);
    // Another namespace does not see it.
    auto other = client(config_for({&mc_}, "other"));
    EXPECT_EQ(other->resolve(r.mac, &got).code, Errc::not_found);
    // TTL 1 s: gone within memcached's one-second clock granularity.
    const auto t0 = std::chrono::steady_clock::now();
    while (reg->resolve(r.mac, &got).ok() && std::chrono::steady_clock::now() - t0 < 4s)
        std::this_thread::sleep_for(50ms);
    st = reg->resolve(r.mac, &got);
    EXPECT_EQ(st.code, Errc::not_found) << st.message;
    EXPECT_NE(st.message.find("rdmaud:pre:ep:02:aa:00:00:00:01"), std::string::npos) << st.message;
    EXPECT_EQ(reg->resolve_name("ep1", &got).code, Errc::not_found);
    // Member expiry follows the TTL too, on the Unix-second clock of the member's expiry, whose
    // tick is not memcached's: the member may outlive the record by up to a second.
    const auto t1 = std::chrono::steady_clock::now();
    while ((st = reg->members(&m)) && !m.empty() && std::chrono::steady_clock::now() - t1 < 1500ms)
        std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(st) << st.message;
    EXPECT_TRUE(m.empty());
}

TEST_F(RegistryTest, RemoveAndRepublishNewIncarnation) {
    auto reg = client(config_for({&mc_}, "rm", kKey));
    EndpointRecord r = make(2), got;
    ASSERT_TRUE(reg->publish(&r, 30));
    const uint64_t first = r.incarnation;
    r.incarnation = new_incarnation();
    r.qpns = {0x777};
    ASSERT_TRUE(reg->publish(&r, 30));
    ASSERT_TRUE(reg->resolve(r.mac, &got));
    EXPECT_NE(got.incarnation, first);
    EXPECT_EQ(got.qpns, std::vector<uint32_t>{0x777});
    ASSERT_TRUE(reg->remove(r.mac));
    EXPECT_EQ(reg->resolve(r.mac, &got).code, Errc::not_found);
    EXPECT_EQ(reg->resolve_name("ep2", &got).code, Errc::not_found);
    std::vector<Member> m;
    ASSERT_TRUE(reg->members(&m));
    EXPECT_TRUE(m.empty());
}

TEST_F(RegistryTest, ForgedAndMalformedRecordsRejected) {
    auto good = client(config_for({&mc_}, "sec", kKey));
    auto forger = client(config_for({&mc_}, "sec"));          // no key
    auto wrong = client(config_for({&mc_}, "sec", HmacKey(32, 0x99)));
    EndpointRecord r = make(3), got;
    ASSERT_TRUE(good->publish(&r, 30));
    ASSERT_TRUE(good->resolve(r.mac, &got));

    // Unkeyed writer redirects the MAC to its own QPN.
    EndpointRecord evil = r;
    evil.qpns = {0xbad};
    ASSERT_TRUE(forger->publish(&evil, 30));
    Status st = good->resolve(r.mac, &got);
    EXPECT_EQ(st.code, Errc::rejected);
    EXPECT_EQ(st.cause, RejectCause::missing_hmac);
    // A writer with another key.
    ASSERT_TRUE(wrong->publish(&evil, 30));
    st = good->resolve(r.mac, &got);
    EXPECT_EQ(st.cause, RejectCause::bad_hmac);
    // A valid signed record copied under another MAC's key.
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(good->get_raw(endpoint_key("sec", r.mac), &bytes));
    ASSERT_TRUE(good->publish(&r, 30));
    ASSERT_TRUE(good->get_raw(endpoint_key("sec", r.mac), &bytes));
    const Mac other = {0x02, 0xbb, 0, 0, 0, 9};
    ASSERT_TRUE(forger->set_raw(endpoint_key("sec", other), bytes, 30));
    EXPECT_EQ(good->resolve(other, &got).cause, RejectCause::mismatch);
    // A name key pointed at another endpoint.
    EndpointRecord r4 = make(4);
    ASSERT_TRUE(good->publish(&r4, 30));
    const std::string r4mac = format_mac(r4.mac);
    ASSERT_TRUE(forger->set_raw(name_key("sec", "ep3"),
                                std::span(reinterpret_cast<const uint8_t*>(r4mac.data()), r4mac.size()), 30));
    EXPECT_EQ(good->resolve_name("ep3", &got).cause, RejectCause::mismatch);

    // Garbage of every kind under a real key.
    const Mac g = {0x02, 0xcc, 0, 0, 0, 1};
    auto put = [&](std::vector<uint8_t> v) {
        EXPECT_TRUE(forger->set_raw(endpoint_key("sec", g), v, 30));
        return good->resolve(g, &got);
    };
    std::vector<uint8_t> signed_bytes;
    ASSERT_TRUE(good->get_raw(endpoint_key("sec", r4.mac), &signed_bytes));
    EXPECT_EQ(put({signed_bytes.begin(), signed_bytes.begin() + 40}).cause, RejectCause::truncated);
    EXPECT_EQ(put(std::vector<uint8_t>(4096, 'R')).cause, RejectCause::oversized);
    EXPECT_EQ(put({'1', '0', '.', '0', '.', '0', '.', '1'}).cause, RejectCause::foreign);
    auto mal = signed_bytes;
    mal[7] = 200;  // queue count
    EXPECT_EQ(put(mal).cause, RejectCause::malformed);
    EXPECT_EQ(put({}).cause, RejectCause::truncated);  // empty value
    // The good record is untouched by all this.
    ASSERT_TRUE(good->resolve(r4.mac, &got));
    EXPECT_EQ(got, r4);
}

TEST_F(RegistryTest, ConcurrentJoinsLoseNoMember) {
    // Threads and processes, each with its own client, all joining one namespace at once.
    constexpr int kThreads = 6, kProcs = 3, kEach = 40;
    const RegistryConfig cfg = config_for({&mc_}, "race");
    auto joiner = [&cfg](int who) {
        std::unique_ptr<Registry> r;
        if (!Registry::create(cfg, &r))
            return false;
        for (int i = 0; i < kEach; i++) {
            const Mac m = {0x02, 0x10, 0, uint8_t(who), uint8_t(i >> 8), uint8_t(i)};
            Status st = r->join(m, 60);
            if (!st) {
                std::fprintf(stderr, "join failed: %s\n", st.message.c_str());
                return false;
            }
        }
        return true;
    };
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; p++) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0)
            ::_exit(joiner(100 + p) ? 0 : 1);
        pids.push_back(pid);
    }
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            if (!joiner(t))
                failed++;
        });
    for (auto& t : threads)
        t.join();
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_EQ(failed.load(), 0);
    auto reg = client(cfg);
    std::vector<Member> m;
    ASSERT_TRUE(reg->members(&m));
    EXPECT_EQ(m.size(), size_t((kThreads + kProcs) * kEach));
    std::set<Mac> seen;
    for (const Member& x : m)
        seen.insert(x.mac);
    EXPECT_EQ(seen.size(), m.size());
    // Concurrent leaves of half of them, too.
    std::vector<std::thread> leavers;
    for (int t = 0; t < kThreads; t++)
        leavers.emplace_back([&, t] {
            std::unique_ptr<Registry> r;
            ASSERT_TRUE(Registry::create(cfg, &r));
            for (int i = 0; i < kEach; i += 2)
                ASSERT_TRUE(r->leave({0x02, 0x10, 0, uint8_t(t), uint8_t(i >> 8), uint8_t(i)}));
        });
    for (auto& t : leavers)
        t.join();
    ASSERT_TRUE(reg->members(&m));
    EXPECT_EQ(m.size(), size_t((kThreads + kProcs) * kEach - kThreads * kEach / 2));
}

TEST_F(RegistryTest, ListManyAndPurge) {
    auto reg = client(config_for({&mc_}, "list", kKey));
    constexpr uint32_t kN = 600;  // more than two mget batches
    for (uint32_t i = 1; i <= kN; i++) {
        EndpointRecord r = make(i, 1 + i % kMaxQueues);
        ASSERT_TRUE(reg->publish(&r, 60));
    }
    std::vector<EndpointRecord> all;
    std::vector<Lookup> problems;
    ASSERT_TRUE(reg->list(&all, &problems));
    EXPECT_EQ(all.size(), kN);
    EXPECT_TRUE(problems.empty());
    // One member whose record was deleted behind our back shows up as a problem, not a crash.
    auto raw = client(config_for({&mc_}, "list"));
    const Mac gone = make(7).mac;
    ASSERT_TRUE(raw->set_raw(endpoint_key("list", gone), std::vector<uint8_t>{1, 2, 3}, 60));
    ASSERT_TRUE(reg->list(&all, &problems));
    EXPECT_EQ(all.size(), kN - 1);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].mac, gone);
    EXPECT_EQ(problems[0].status.code, Errc::rejected);
    size_t removed = 0;
    ASSERT_TRUE(reg->purge(&removed));
    EXPECT_EQ(removed, kN);
    ASSERT_TRUE(reg->list(&all, &problems));
    EXPECT_TRUE(all.empty());
    EndpointRecord got;
    EXPECT_EQ(reg->resolve_name("ep5", &got).code, Errc::not_found);
}

TEST_F(RegistryTest, UnavailableIsAValueNamingTheServer) {
    auto reg = client(config_for({&mc_}, "down"));
    const uint16_t port = mc_.port();
    mc_.stop();
    EndpointRecord r = make(9), got;
    const auto t0 = std::chrono::steady_clock::now();
    Status st = reg->resolve(r.mac, &got);
    EXPECT_EQ(st.code, Errc::unavailable) << st.message;
    EXPECT_LT(st.to_errno(), 0);
    EXPECT_NE(st.message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << st.message;
    EXPECT_NE(st.message.find("rdmaud:down:ep:"), std::string::npos) << st.message;
    st = reg->publish(&r, 10);
    EXPECT_EQ(st.code, Errc::unavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // short timeouts, no hang
    // Back again: the same client recovers at once, whatever the phase of the return against
    // the clock (regression: libmemcached kept the failed server "temporarily disabled" until
    // its whole-second clock ticked, up to 1 s after the return; the client is now rebuilt
    // after a failure). Three outages ending at different points of a second.
    for (const auto down : {300ms, 550ms, 800ms}) {
        if (mc_.running()) {
            mc_.stop();
            EXPECT_FALSE(reg->publish(&r, 10));
        }
        std::this_thread::sleep_for(down);
        EXPECT_FALSE(reg->publish(&r, 10));  // fails just before the return
        ASSERT_TRUE(mc_.start(port));
        const auto t1 = std::chrono::steady_clock::now();
        while (!(st = reg->publish(&r, 10)) && std::chrono::steady_clock::now() - t1 < 3s)
            std::this_thread::sleep_for(5ms);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t1);
        EXPECT_TRUE(st) << st.message;
        EXPECT_LT(ms, 250ms) << "the client noticed memcached's return only after " << ms.count() << " ms";
        EXPECT_TRUE(reg->resolve(r.mac, &got));
    }
}

// Several servers are mirrors: each holds every record, so a client that never saw a server
// die (a new process) reads and writes through the survivor at once, with no ejection delay;
// a server that comes back empty is refilled by the publishers' next keep-alive.
TEST(RegistryFailover, TwoServersOneKilled) {
    Memcached a, b;
    ASSERT_TRUE(a.start());
    ASSERT_TRUE(b.start());
    const RegistryConfig cfg = config_for({&a, &b}, "fo", kKey);
    auto pub = client(cfg);
    constexpr uint32_t kN = 64;
    std::vector<EndpointRecord> recs;
    for (uint32_t i = 1; i <= kN; i++) {
        recs.push_back(make(i));
        ASSERT_TRUE(pub->publish(&recs.back(), 30));
    }
    std::vector<Mac> macs;
    for (const auto& r : recs)
        macs.push_back(r.mac);
    // count_on(servers): endpoints resolvable through a client of just those servers.
    auto count_on = [&](const std::vector<const Memcached*>& servers) {
        auto c = client(config_for(servers, "fo", kKey));
        std::vector<Lookup> out;
        EXPECT_TRUE(c->resolve_many(macs, &out));
        size_t ok = 0;
        for (const auto& l : out)
            ok += l.status.ok();
        return ok;
    };
    EXPECT_EQ(count_on({&a}), size_t(kN)) << "server a does not mirror every record";
    EXPECT_EQ(count_on({&b}), size_t(kN)) << "server b does not mirror every record";

    a.stop();
    // Fresh clients (as a process started after the failure): every call answers at once.
    const auto t0 = std::chrono::steady_clock::now();
    auto reader = client(cfg);
    std::vector<Lookup> out;
    ASSERT_TRUE(reader->resolve_many(macs, &out));
    for (const auto& l : out)
        EXPECT_TRUE(l.status.ok()) << l.status.message;
    std::vector<Member> set;
    ASSERT_TRUE(reader->members(&set));
    EXPECT_EQ(set.size(), size_t(kN));
    EXPECT_GT(reader->server_failures(), 0u) << "the dead server went unnoticed";
    auto late_pub = client(cfg);
    EndpointRecord late = make(500), got;
    Status st = late_pub->publish(&late, 30);
    ASSERT_TRUE(st) << st.message;
    st = client(cfg)->resolve(late.mac, &got);
    ASSERT_TRUE(st) << st.message;
    EXPECT_EQ(got.incarnation, late.incarnation);
    EXPECT_TRUE(client(cfg)->resolve_name(late.name, &got)) << "name key not on the survivor";
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 1000.0);
    // A lookup of a MAC nobody published is an answer (not found), not "unavailable".
    EXPECT_EQ(reader->resolve(make(999).mac, &got).code, Errc::not_found);

    // a returns empty; the keep-alives refill it (the publisher's first write meets its dead
    // connection, then a rests for retry_timeout): bounded by a few keep-alive rounds.
    ASSERT_TRUE(a.restart());
    recs.push_back(late);
    macs.push_back(late.mac);
    const auto t1 = std::chrono::steady_clock::now();
    size_t on_a = 0;
    while (std::chrono::steady_clock::now() - t1 < 4s) {
        for (auto& r : recs)
            ASSERT_TRUE(pub->publish(&r, 30));  // b still takes every write
        if ((on_a = count_on({&a})) == kN + 1)
            break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(on_a, size_t(kN + 1)) << "the returned server was not refilled";
    // And now b can die.
    b.stop();
    EXPECT_EQ(count_on({&a, &b}), size_t(kN + 1));
    std::printf("mirrors: %u endpoints and a new one resolvable through fresh clients %.0f ms after one of "
                "two servers died\n", kN, ms);
}

// With every server down the answer is "unavailable" (never "not found"), naming a server.
TEST(RegistryFailover, AllServersDown) {
    Memcached a, b;
    ASSERT_TRUE(a.start());
    ASSERT_TRUE(b.start());
    auto reg = client(config_for({&a, &b}, "fo2"));
    EndpointRecord r = make(7), got;
    ASSERT_TRUE(reg->publish(&r, 30));
    a.stop();
    b.stop();
    for (int round = 0; round < 2; round++) {  // the second round: both servers resting
        Status st = reg->resolve(r.mac, &got);
        EXPECT_EQ(st.code, Errc::unavailable) << st.message;
        EXPECT_NE(st.message.find("127.0.0.1:"), std::string::npos) << st.message;
        EXPECT_EQ(reg->publish(&r, 30).code, Errc::unavailable);
        std::vector<Member> set;
        EXPECT_EQ(reg->members(&set).code, Errc::unavailable);
    }
    ASSERT_TRUE(b.restart());
    Status st;
    const auto t0 = std::chrono::steady_clock::now();
    while (!(st = reg->publish(&r, 30)) && std::chrono::steady_clock::now() - t0 < 3s)
        std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(st) << st.message;
    EXPECT_TRUE(reg->resolve(r.mac, &got));
}
