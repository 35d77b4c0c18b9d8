/* SPDX-License-Identifier: BSD-3-Clause */
// registry_bench: publish N endpoints into a real memcached, then measure resolution rates
// (single gets, batched mget, and the Resolver end to end from a datapath-like producer), the
// heap cost per cached peer, and the resolver's CPU while it keeps N peers revalidated.
// Usage: registry_bench [N] [--registry host:port[,...]] [--servers K] [--key]
//   (no --registry: starts K private memcached servers, default 1; several are mirrors)
// Results: doc/perf-registry.md.
#include <malloc.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "mc_fixture.h"
#include "resolver.h"

using namespace rdmaud::registry;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

Mac mac_of(uint32_t i) { return {0x02, 0xbe, 0, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}; }

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class CountingSink : public ResolverSink {
public:
    void on_resolved(const EndpointRecord&) noexcept override { resolved.fetch_add(1, std::memory_order_relaxed); }
    void on_expired(const Mac&) noexcept override { expired.fetch_add(1, std::memory_order_relaxed); }
    std::atomic<uint64_t> resolved{0}, expired{0};
};

}  // namespace

int main(int argc, char** argv) {
    uint32_t n = 10000;
    std::string registry;
    bool keyed = false;
    unsigned servers = 1;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--registry") && i + 1 < argc)
            registry = argv[++i];
        else if (!std::strcmp(argv[i], "--servers") && i + 1 < argc)
            servers = unsigned(std::strtoul(argv[++i], nullptr, 10));
        else if (!std::strcmp(argv[i], "--key"))
            keyed = true;
        else
            n = uint32_t(std::strtoul(argv[i], nullptr, 10));
    }
    if (n == 0 || n > 65536) {
        std::fprintf(stderr, "N must be 1..65536\n");
        return 2;
    }
    if (servers == 0 || servers > 4) {
        std::fprintf(stderr, "--servers must be 1..4\n");
        return 2;
    }
    rdmaud::registry::test::Memcached mc[4];
    if (registry.empty()) {
        for (unsigned i = 0; i < servers; i++) {
            if (!mc[i].start())
                return 1;
            registry += (i ? "," : "") + mc[i].address();
        }
    }
    RegistryConfig cfg;
    if (Status st = parse_servers(registry, &cfg.servers); !st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 2;
    }
    cfg.ns = "bench";
    if (keyed)
        cfg.key.assign(32, 0x42);
    std::unique_ptr<Registry> reg;
    if (Status st = Registry::create(cfg, &reg); !st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    size_t purged = 0;
    reg->purge(&purged);
    std::printf("endpoints=%u hmac=%s registry=%s\n", n, keyed ? "yes" : "no", registry.c_str());

    // Publish (record + name key + CAS join each).
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < n; i++) {
        EndpointRecord r;
        r.mac = mac_of(i);
        r.link = LinkLayer::roce;
        r.gid[0] = 0xfe;
        r.gid[1] = 0x80;
        r.gid[14] = uint8_t(i >> 8);
        r.gid[15] = uint8_t(i);
        r.qpns = {0x100 + i, 0x200 + i, 0x300 + i, 0x400 + i};
        r.qkey = 0x11111111;
        r.mtu = 1024;
        r.incarnation = new_incarnation();
        r.name = "bench" + std::to_string(i);
        if (Status st = reg->publish(&r, 600); !st) {
            std::fprintf(stderr, "publish %u: %s\n", i, st.message.c_str());
            return 1;
        }
    }
    auto t1 = Clock::now();
    std::printf("publish: %.0f endpoints/s (%.2f s)\n", n / secs(t0, t1), secs(t0, t1));

    std::vector<Mac> macs(n);
    for (uint32_t i = 0; i < n; i++)
        macs[i] = mac_of(i);
    // One get per lookup.
    t0 = Clock::now();
    EndpointRecord out;
    for (const Mac& m : macs)
        if (!reg->resolve(m, &out))
            return 1;
    t1 = Clock::now();
    std::printf("resolve (one get each): %.0f lookups/s\n", n / secs(t0, t1));
    // Batched.
    t0 = Clock::now();
    std::vector<Lookup> res;
    reg->resolve_many(macs, &res);
    t1 = Clock::now();
    size_t ok = 0;
    for (const auto& l : res)
        ok += l.status.ok();
    std::printf("resolve_many (mget of %zu): %.0f lookups/s, %zu/%u ok\n", kMgetBatch, n / secs(t0, t1), ok, n);
    // list (members + mget).
    t0 = Clock::now();
    std::vector<EndpointRecord> all;
    reg->list(&all, nullptr);
    t1 = Clock::now();
    std::printf("list: %zu endpoints in %.3f s\n", all.size(), secs(t0, t1));

    // The Resolver end to end: a producer thread requests every MAC like a datapath on misses.
    CountingSink sink;
    const size_t heap0 = mallinfo2().uordblks;
    std::unique_ptr<Resolver> resolver;
    ResolverConfig rc{.registry = cfg, .queue_capacity = 4096};
    if (Status st = Resolver::start(rc, &sink, &resolver); !st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    t0 = Clock::now();
    uint64_t refused = 0;
    for (const Mac& m : macs)
        while (!resolver->request(m))
            refused++, std::this_thread::yield();
    while (sink.resolved.load() < n && secs(t0, Clock::now()) < 60)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    t1 = Clock::now();
    std::printf("resolver end to end: %.0f peers/s (%lu resolved in %.3f s, %lu queue-full retries)\n",
                double(sink.resolved.load()) / secs(t0, t1), (unsigned long)sink.resolved.load(), secs(t0, t1),
                (unsigned long)refused);
    const size_t heap1 = mallinfo2().uordblks;
    std::printf("resolver heap per cached peer: %.0f bytes (%zu peers, includes the record's QPN vector and name)\n",
                double(heap1 - heap0) / double(resolver->cached()), resolver->cached());
    // Steady state: N peers revalidated once per second.
    const uint64_t rv0 = resolver->get(ResolverCounter::revalidations);
    const double c0 = cpu_seconds();
    t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    t1 = Clock::now();
    const double c1 = cpu_seconds();
    const uint64_t rv1 = resolver->get(ResolverCounter::revalidations);
    std::printf("steady state: %.0f revalidations/s, process CPU %.1f%% of one core (memcached excluded)\n",
                double(rv1 - rv0) / secs(t0, t1), 100.0 * (c1 - c0) / secs(t0, t1));
    resolver.reset();
    reg->purge(&purged);
    return 0;
}
