/* SPDX-License-Identifier: BSD-3-Clause */
// Pure tests of the registry's codecs and parsers (suite 'unit'): record encode/decode and every
// reject cause, the membership set, key layout, server lists, key files, the request queue.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "config.h"
#include "keys.h"
#include "members.h"
#include "mpsc_queue.h"
#include "record.h"

using namespace rdmaud::registry;

namespace {

const HmacKey kKey(32, 0x5a);
const HmacKey kOtherKey(32, 0xa5);

EndpointRecord sample(uint8_t last = 1) {
    EndpointRecord r;
    r.mac = {0x02, 0, 0, 0, 0, last};
    r.link = LinkLayer::roce;
    r.gid = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
    r.qpns = {0x11, 0x12, 0x13};
    r.qkey = 0x11111111;
    r.mtu = 1024;
    r.ttl_s = 10;
    r.incarnation = 0x0123456789abcdefULL;
    r.publish_ms = 1700000000000ULL;
    r.name = "node-" + std::to_string(last);
    return r;
}

std::vector<uint8_t> enc(const EndpointRecord& r, const HmacKey& key = {}, std::string_view ns = "t") {
    std::vector<uint8_t> out;
    EXPECT_TRUE(encode_record(r, ns, key, &out));
    return out;
}

RejectCause dec(const std::vector<uint8_t>& b, const HmacKey& key = {}, std::string_view ns = "t",
                EndpointRecord* out = nullptr) {
    EndpointRecord tmp;
    return decode_record(b, ns, key, out ? out : &tmp);
}

}  // namespace

TEST(RegistryRecord, RoundTripRoceAndIb) {
    EndpointRecord r = sample(), back;
    auto b = enc(r);
    EXPECT_EQ(b.size(), kRecordHeaderSize + 4 * 3 + r.name.size());
    ASSERT_EQ(dec(b, {}, "t", &back), RejectCause::none);
    EXPECT_EQ(back, r);

    EndpointRecord ib = sample(2);
    ib.link = LinkLayer::ib;
    ib.gid = {};
    ib.lid = 0x17;
    ib.qpns.assign(kMaxQueues, 0xFFFFFF);
    ib.name.assign(kMaxNameLen, 'x');
    auto bi = enc(ib, kKey);
    EXPECT_EQ(bi.size(), kMaxRecordSize);
    ASSERT_EQ(dec(bi, kKey, "t", &back), RejectCause::none);
    EXPECT_EQ(back, ib);
}

TEST(RegistryRecord, EncoderRefusesInvalidRecords) {
    std::vector<uint8_t> out;
    auto bad = [&](auto mutate) {
        EndpointRecord r = sample();
        mutate(r);
        return !encode_record(r, "t", {}, &out);
    };
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.qpns.clear(); }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.qpns.assign(kMaxQueues + 1, 5); }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.qpns[0] = 0; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.qpns[0] = kMaxQpn + 1; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.name.assign(kMaxNameLen + 1, 'a'); }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.name = "has space"; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.mac = {0x03, 0, 0, 0, 0, 1}; }));  // multicast
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.mac = {}; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.mtu = kMinMtu - 1; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.mtu = kMaxMtu + 1; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.incarnation = 0; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.ttl_s = 0; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.link = LinkLayer::ib; r.lid = 0; r.gid = {}; }));
    EXPECT_TRUE(bad([](EndpointRecord& r) { r.link = LinkLayer::ib; r.lid = 0xC000; r.gid = {}; }));
    EXPECT_FALSE(bad([](EndpointRecord&) {}));
    EXPECT_FALSE(encode_record(sample(), "", {}, &out));  // empty namespace
}

TEST(RegistryRecord, RejectsTruncatedOversizedForeign) {
    auto b = enc(sample(), kKey);
    for (size_t len = 0; len < b.size(); len++) {
        std::vector<uint8_t> cut(b.begin(), b.begin() + long(len));
        const RejectCause c = dec(cut, kKey);
        EXPECT_EQ(c, RejectCause::truncated) << "length " << len;
    }
    std::vector<uint8_t> big(kMaxRecordSize + 1, 0);
    EXPECT_EQ(dec(big), RejectCause::oversized);
    std::vector<uint8_t> huge(1 << 20, 'A');
    EXPECT_EQ(dec(huge), RejectCause::oversized);

    auto f = enc(sample());
    f[0] = 'X';
    EXPECT_EQ(dec(f), RejectCause::foreign);
    f = enc(sample());
    f[4] = kRecordVersion + 1;
    EXPECT_EQ(dec(f), RejectCause::foreign);
    const std::string text = "192.168.0.1 17";  // what some other tool might store
    EXPECT_EQ(dec(std::vector<uint8_t>(text.begin(), text.end())), RejectCause::foreign);
}

TEST(RegistryRecord, RejectsMalformedFields) {
    auto mutate = [](size_t off, uint8_t v) {
        auto b = enc(sample());
        b.at(off) = v;
        return dec(b);
    };
    EXPECT_EQ(mutate(5, 0x02), RejectCause::malformed);   // unknown flag bit
    EXPECT_EQ(mutate(6, 3), RejectCause::malformed);      // unknown link layer
    EXPECT_EQ(mutate(7, 0), RejectCause::malformed);      // zero queues
    EXPECT_EQ(mutate(7, kMaxQueues + 1), RejectCause::malformed);
    EXPECT_EQ(mutate(8, 0x01), RejectCause::malformed);   // group MAC
    EXPECT_EQ(mutate(14, kMaxNameLen + 1), RejectCause::malformed);
    EXPECT_EQ(mutate(15, 1), RejectCause::malformed);     // reserved
    EXPECT_EQ(mutate(38, 1), RejectCause::malformed);     // reserved
    EXPECT_EQ(mutate(44, 1), RejectCause::malformed);     // reserved
    EXPECT_EQ(mutate(36, 0), RejectCause::malformed);     // MTU 0..255
    EXPECT_EQ(mutate(64, 1), RejectCause::malformed);     // QPN > 24 bits
    EXPECT_EQ(mutate(64 + 12, ' '), RejectCause::malformed);  // bad name character
    auto b = enc(sample());
    b.push_back(0);
    EXPECT_EQ(dec(b), RejectCause::malformed);  // trailing byte
    // A larger queue count than the bytes present: truncated, never read past the end.
    b = enc(sample());
    b[7] = kMaxQueues;
    EXPECT_EQ(dec(b), RejectCause::truncated);
    // Zero QPN inside the array.
    b = enc(sample());
    b[64] = b[65] = b[66] = b[67] = 0;
    EXPECT_EQ(dec(b), RejectCause::malformed);
}

TEST(RegistryRecord, HmacAuthenticates) {
    auto signed_rec = enc(sample(), kKey);
    auto plain = enc(sample());
    EXPECT_EQ(dec(signed_rec, kKey), RejectCause::none);
    EXPECT_EQ(dec(plain, kKey), RejectCause::missing_hmac);       // unkeyed writer
    EXPECT_EQ(dec(signed_rec, kOtherKey), RejectCause::bad_hmac); // another key
    EXPECT_EQ(dec(signed_rec, kKey, "other-ns"), RejectCause::bad_hmac);  // replay across namespaces
    // Flipping any single bit of a signed record is caught.
    for (size_t i = 0; i < signed_rec.size(); i++) {
        auto b = signed_rec;
        b[i] ^= 0x10;
        const RejectCause c = dec(b, kKey);
        EXPECT_NE(c, RejectCause::none) << "byte " << i;
    }
    // A forger who sets the HMAC flag and appends garbage.
    auto forged = plain;
    forged[5] = kFlagHmac;
    forged.resize(forged.size() + kHmacSize, 0xee);
    EXPECT_EQ(dec(forged, kKey), RejectCause::bad_hmac);
    // Without a configured key the tag is not checked: signed records still parse.
    EXPECT_EQ(dec(signed_rec), RejectCause::none);
}

TEST(RegistryRecord, MacAndGidText) {
    Mac m;
    ASSERT_TRUE(parse_mac("02:0A:bc:00:ff:01", &m));
    EXPECT_EQ(format_mac(m), "02:0a:bc:00:ff:01");
    EXPECT_FALSE(parse_mac("02:0a:bc:00:ff", &m));
    EXPECT_FALSE(parse_mac("02:0a:bc:00:ff:0g", &m));
    EXPECT_FALSE(parse_mac("02-0a-bc-00-ff-01", &m));
    EXPECT_FALSE(parse_mac("02:0a:bc:00:ff:011", &m));
    Gid g;
    ASSERT_TRUE(parse_gid("fe80:0000:0000:0000:0000:0000:0a00:0001", &g));
    EXPECT_EQ(format_gid(g), "fe80:0000:0000:0000:0000:0000:0a00:0001");
    EXPECT_FALSE(parse_gid("fe80::1", &g));
    EXPECT_NE(new_incarnation(), new_incarnation());
    EXPECT_NE(new_incarnation(), 0u);
}

TEST(RegistryKeys, Layout) {
    const Mac m = {0x02, 0, 0, 0, 0, 0x0a};
    EXPECT_EQ(endpoint_key("lab", m), "rdmaud:lab:ep:02:00:00:00:00:0a");
    EXPECT_EQ(name_key("lab", "node-1"), "rdmaud:lab:name:node-1");
    EXPECT_EQ(members_key("lab", 0), "rdmaud:lab:members:00");
    EXPECT_EQ(members_key("lab", 63), "rdmaud:lab:members:3f");
    // Shards: stable for a MAC, and sequential MACs spread over all of them.
    EXPECT_EQ(member_shard(m), member_shard(Mac{0x02, 0, 0, 0, 0, 0x0a}));
    std::set<uint32_t> used;
    for (uint32_t i = 0; i < 1000; i++) {
        const uint32_t s = member_shard({0x02, 0, 0, 0, uint8_t(i >> 8), uint8_t(i)});
        EXPECT_LT(s, kMemberShards);
        used.insert(s);
    }
    EXPECT_EQ(used.size(), size_t(kMemberShards));
    EXPECT_TRUE(valid_namespace("lab.1_x-2"));
    EXPECT_FALSE(valid_namespace(""));
    EXPECT_FALSE(valid_namespace("a:b"));
    EXPECT_FALSE(valid_namespace(std::string(kMaxNameLen + 1, 'a')));
    EXPECT_LT(name_key(std::string(kMaxNameLen, 'n'), std::string(kMaxNameLen, 'x')).size(), kMemcachedMaxKey);
}

TEST(RegistryMembers, CodecAndUpdates) {
    std::vector<Member> set;
    const Mac a = {0x02, 0, 0, 0, 0, 1}, b = {0x02, 0, 0, 0, 0, 2}, c = {0x02, 0, 0, 0, 0, 3};
    EXPECT_TRUE(members_join(&set, c, 200, 100));
    EXPECT_TRUE(members_join(&set, a, 200, 100));
    EXPECT_TRUE(members_join(&set, b, 150, 100));
    EXPECT_TRUE(members_join(&set, a, 300, 100));  // refresh, no duplicate
    ASSERT_EQ(set.size(), 3u);
    EXPECT_EQ(set[0].mac, a);
    EXPECT_EQ(set[0].expires_s, 300u);
    std::vector<Member> back;
    auto bytes = encode_members(set);
    ASSERT_EQ(decode_members(bytes, &back), RejectCause::none);
    EXPECT_EQ(back, set);
    members_leave(&set, c, 160);  // also drops b (expired at 150)
    ASSERT_EQ(set.size(), 1u);
    EXPECT_EQ(set[0].mac, a);

    // Strictness.
    auto bad = bytes;
    bad.pop_back();
    EXPECT_EQ(decode_members(bad, &back), RejectCause::truncated);
    bad = bytes;
    bad.push_back(0);
    EXPECT_EQ(decode_members(bad, &back), RejectCause::malformed);
    bad = bytes;
    bad[0] = 'Z';
    EXPECT_EQ(decode_members(bad, &back), RejectCause::foreign);
    bad = bytes;
    std::swap_ranges(bad.begin() + 12, bad.begin() + 18, bad.begin() + 24);  // unsorted
    EXPECT_EQ(decode_members(bad, &back), RejectCause::malformed);
    bad = bytes;
    bad[8] = 0xff;  // count far beyond the bound
    EXPECT_EQ(decode_members(bad, &back), RejectCause::oversized);
    EXPECT_EQ(decode_members(std::vector<uint8_t>(5, 0), &back), RejectCause::truncated);
}

TEST(RegistryConfig, ServerLists) {
    std::vector<Server> s;
    ASSERT_TRUE(parse_servers("10.0.0.1", &s));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0], (Server{"10.0.0.1", kDefaultPort}));
    ASSERT_TRUE(parse_servers("a:1,b.example:65535,[::1]:11212,[fe80::2]", &s));
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[1], (Server{"b.example", 65535}));
    EXPECT_EQ(s[2], (Server{"::1", 11212}));
    EXPECT_EQ(s[3], (Server{"fe80::2", kDefaultPort}));
    EXPECT_EQ(format_servers(s), "a:1,b.example:65535,[::1]:11212,[fe80::2]:11211");
    for (const char* bad : {"", ",", "a,", "a:", "a:0", "a:65536", "a:1x", "a b", "[::1", "[::1]x", "a:1,a:1",
                            "[zz]:1"}) {
        Status st = parse_servers(bad, &s);
        EXPECT_EQ(st.code, Errc::invalid_argument) << bad;
        EXPECT_FALSE(st.message.empty());
    }
    std::string many;
    for (size_t i = 0; i <= kMaxServers; i++)
        many += (i ? ",h" : "h") + std::to_string(i);
    EXPECT_FALSE(parse_servers(many, &s));

    ::setenv("HRD_REGISTRY_IP", "192.0.2.7:4000", 1);
    ASSERT_TRUE(servers_from("", &s));
    EXPECT_EQ(s[0], (Server{"192.0.2.7", 4000}));
    ASSERT_TRUE(servers_from("h:1", &s));  // an explicit list wins
    EXPECT_EQ(s[0].host, "h");
    ::unsetenv("HRD_REGISTRY_IP");
    EXPECT_EQ(servers_from("", &s).code, Errc::invalid_argument);
}

TEST(RegistryConfig, KeyFiles) {
    char dir[] = "/tmp/rdmaud-keytest.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string good = std::string(dir) + "/good", shortk = std::string(dir) + "/short",
                      open = std::string(dir) + "/open";
    std::ofstream(good) << "0123456789abcdef0123456789abcdef\n";
    std::ofstream(shortk) << "tooshort";
    std::ofstream(open) << "0123456789abcdef0123456789abcdef";
    ::chmod(good.c_str(), 0600);
    ::chmod(shortk.c_str(), 0600);
    ::chmod(open.c_str(), 0666);
    HmacKey k;
    ASSERT_TRUE(load_key_file(good, &k));
    EXPECT_EQ(k.size(), 32u);  // trailing newline stripped
    EXPECT_EQ(load_key_file(shortk, &k).code, Errc::invalid_argument);
    EXPECT_EQ(load_key_file(open, &k).code, Errc::invalid_argument);
    EXPECT_EQ(load_key_file(std::string(dir) + "/missing", &k).code, Errc::invalid_argument);
    for (const auto& f : {good, shortk, open})
        ::unlink(f.c_str());
    ::rmdir(dir);
}

TEST(RegistryQueue, BoundedTryOnly) {
    MpscQueue<Mac> q(4);
    EXPECT_EQ(q.capacity(), 4u);
    Mac m{};
    for (uint8_t i = 0; i < 4; i++) {
        m[5] = i;
        EXPECT_TRUE(q.try_push(m));
    }
    EXPECT_FALSE(q.try_push(m));  // full: refused at once
    Mac out;
    for (uint8_t i = 0; i < 4; i++) {
        ASSERT_TRUE(q.try_pop(&out));
        EXPECT_EQ(out[5], i);  // FIFO
    }
    EXPECT_FALSE(q.try_pop(&out));
}

TEST(RegistryQueue, ManyProducersLoseNothing) {
    constexpr int kProducers = 4, kPerProducer = 50000;
    MpscQueue<uint64_t> q(256);
    std::atomic<uint64_t> refused{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; p++)
        producers.emplace_back([&, p] {
            for (uint64_t i = 0; i < kPerProducer; i++)
                while (!q.try_push(uint64_t(p) << 32 | i))
                    refused.fetch_add(1, std::memory_order_relaxed);  // full: caller's choice to retry
        });
    std::vector<uint64_t> next(kProducers, 0);
    uint64_t got = 0, v;
    while (got < uint64_t(kProducers) * kPerProducer) {
        if (!q.try_pop(&v))
            continue;
        const size_t p = v >> 32;
        ASSERT_LT(p, size_t(kProducers));
        ASSERT_EQ(v & 0xffffffff, next[p]) << "per-producer order broken";
        next[p]++;
        got++;
    }
    for (auto& t : producers)
        t.join();
    EXPECT_FALSE(q.try_pop(&v));
    for (int p = 0; p < kProducers; p++)
        EXPECT_EQ(next[size_t(p)], uint64_t(kPerProducer));
}
