/* SPDX-License-Identifier: BSD-3-Clause */
// Fault injection: configuration from the environment and the per-device injector (faults.h).
#include "faults.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "wire.h"

namespace softud {
namespace {

// Independent streams of the counter-based generator, one per decision.
enum Stream : uint64_t { kDrop = 1, kCorrupt, kCorruptBit, kDelay, kReorder, kDup, kWcErr };

uint64_t mix64(uint64_t z) {  // splitmix64 finaliser: a good 64-bit bijective hash
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (unsigned char c : s)
        h = (h ^ c) * 0x100000001b3ull;
    return h;
}

bool parse_prob(std::string_view v, double& out) {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || errno || *end || !(d >= 0 && d <= 1))
        return false;
    out = d;
    return true;
}

bool parse_u64(std::string_view v, uint64_t& out) {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(s.c_str(), &end, 0);
    if (s.empty() || errno || *end || s[0] == '-')
        return false;
    out = n;
    return true;
}

// Bytes before the payload of a datagram (so corruption hits payload, pad or ICRC: fields the
// ICRC always covers). Unknown layouts: only the ICRC is corrupted.
size_t header_len(const uint8_t* d, size_t len, bool ib) {
    size_t base = 0;
    if (ib) {
        if (len < wire::kLrhLen)
            return len;
        base = wire::kLrhLen + ((d[1] & 3) == wire::kLnhIbaGlobal ? wire::kGrhLen : 0);
    }
    if (len < base + 1)
        return len;
    return base + wire::roce_header_len(d[base] == wire::kOpUdSendOnlyImm);
}

}  // namespace

int parse_faults(std::string_view spec, FaultConfig& out, std::string& err) {
    out = {};
    bool delay_given = false;
    while (!spec.empty()) {
        size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.empty())
            continue;
        size_t eq = item.find('=');
        std::string_view k = item.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        bool ok;
        uint64_t n = 0;
        if (k == "drop") ok = parse_prob(v, out.drop);
        else if (k == "dup") ok = parse_prob(v, out.dup);
        else if (k == "reorder") ok = parse_prob(v, out.reorder);
        else if (k == "corrupt") ok = parse_prob(v, out.corrupt);
        else if (k == "delay") ok = (delay_given = true, parse_prob(v, out.delay));
        else if (k == "wc_err") ok = parse_prob(v, out.wc_err);
        else if (k == "delay_us") ok = parse_u64(v, n) && n <= 10'000'000, out.delay_us = static_cast<uint32_t>(n);
        else if (k == "send_delay_us") ok = parse_u64(v, n) && n <= 10'000'000, out.send_delay_us = static_cast<uint32_t>(n);
        else if (k == "cq_overrun") ok = parse_u64(v, out.cq_overrun);
        else if (k == "seed") ok = parse_u64(v, out.seed);
        else {
            err = "unknown fault '" + std::string(k) + "'";
            return -EINVAL;
        }
        if (!ok) {
            err = "bad value in '" + std::string(item) + "'";
            return -EINVAL;
        }
    }
    if (out.delay_us && !delay_given)
        out.delay = 1;
    return 0;
}

FaultConfig faults_from_env(const std::string& device) {
    std::string var = "SOFTUD_FAULTS_" + device;
    const char* spec = std::getenv(var.c_str());
    if (!spec) {
        var = "SOFTUD_FAULTS";
        spec = std::getenv(var.c_str());
    }
    FaultConfig c;
    if (!spec || !*spec)
        return c;
    std::string err;
    if (parse_faults(spec, c, err)) {
        std::fprintf(stderr, "softud: %s=%s: %s (no faults injected)\n", var.c_str(), spec, err.c_str());
        return {};
    }
    return c;
}

Faults::Faults(const FaultConfig& cfg, const std::string& device, bool ib_mode, CounterBlock& ctr)
    : cfg_(cfg), salt_(mix64(cfg.seed) ^ hash_name(device)), ib_(ib_mode), ctr_(ctr) {
    if ((cfg_.delay > 0 && cfg_.delay_us) || cfg_.reorder > 0)
        tfd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

Faults::~Faults() {
    discard();
    if (tfd_ >= 0)
        ::close(tfd_);
}

double Faults::draw(uint64_t index, uint64_t stream) const noexcept {
    return static_cast<double>(mix64(salt_ ^ mix64(index * 8 + stream)) >> 11) * 0x1.0p-53;
}

void Faults::hold(const shm::Incoming& in, int64_t due, bool after_next) {
    Held h;
    h.due = due;
    h.after_next = after_next;
    h.meta = in;
    h.bytes.assign(in.data, in.data + in.len);
    held_.push_back(std::move(h));
    arm_timer();
}

void Faults::arm_timer() noexcept {
    if (tfd_ < 0)
        return;
    int64_t first = 0;
    for (const Held& h : held_)
        if (!first || h.due < first)
            first = h.due;
    if (first == armed_for_)
        return;
    itimerspec its{};
    if (first) {
        its.it_value.tv_sec = first / 1'000'000'000;
        its.it_value.tv_nsec = first % 1'000'000'000;
    }
    ::timerfd_settime(tfd_, first ? TFD_TIMER_ABSTIME : 0, &its, nullptr);
    armed_for_ = first;
}

void Faults::on_datagram(shm::Incoming& in, DeliverFn fn, void* ctx) {
    const uint64_t i = rx_draws_.fetch_add(1, std::memory_order_relaxed);
    if (cfg_.drop > 0 && draw(i, kDrop) < cfg_.drop) {
        ctr_.add(Counter::fault_drop);
        return;
    }
    if (cfg_.corrupt > 0 && draw(i, kCorrupt) < cfg_.corrupt && in.len >= wire::kIcrcLen) {
        const size_t start = std::min(header_len(in.data, in.len, ib_), in.len - wire::kIcrcLen);
        const uint64_t bits = uint64_t{in.len - start} * 8;
        const uint64_t b = start * 8 + static_cast<uint64_t>(draw(i, kCorruptBit) * static_cast<double>(bits));
        in.data[b / 8] ^= static_cast<uint8_t>(1u << (b % 8));
        ctr_.add(Counter::fault_corrupt);
    }
    const int64_t now = (cfg_.delay > 0 || cfg_.reorder > 0 || !held_.empty()) ? shm::now_ns() : 0;
    if (cfg_.delay > 0 && cfg_.delay_us && draw(i, kDelay) < cfg_.delay) {
        ctr_.add(Counter::fault_delay);
        hold(in, now + int64_t{cfg_.delay_us} * 1000, false);
        return;
    }
    if (cfg_.reorder > 0 && draw(i, kReorder) < cfg_.reorder) {
        ctr_.add(Counter::fault_reorder);
        hold(in, now + kReorderMaxNs, true);
        return;
    }
    // Reordered datagrams held before this one go out right after it.
    size_t waiting = held_.size();
    fn(ctx, in);
    if (cfg_.dup > 0 && draw(i, kDup) < cfg_.dup) {
        ctr_.add(Counter::fault_dup);
        fn(ctx, in);
    }
    if (waiting) {
        for (size_t k = 0; k < held_.size();) {
            if (k < waiting && held_[k].after_next) {
                Held h = std::move(held_[k]);
                held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(k));
                --waiting;
                h.meta.data = h.bytes.data();
                fn(ctx, h.meta);
                continue;
            }
            ++k;
        }
        arm_timer();
    }
}

unsigned Faults::release_due(int64_t now, DeliverFn fn, void* ctx) {
    if (held_.empty())
        return 0;
    unsigned n = 0;
    for (size_t k = 0; k < held_.size();) {
        if (held_[k].due <= now) {
            Held h = std::move(held_[k]);
            held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(k));
            h.meta.data = h.bytes.data();
            fn(ctx, h.meta);
            ++n;
            continue;
        }
        ++k;
    }
    if (n && tfd_ >= 0) {
        uint64_t exp;
        ssize_t r = ::read(tfd_, &exp, sizeof(exp));  // clears readability; EAGAIN if not expired
        (void)r;
        armed_for_ = -1;  // force re-arming
    }
    if (n)
        arm_timer();
    return n;
}

bool Faults::wc_error() noexcept {
    if (cfg_.wc_err <= 0)
        return false;
    const uint64_t j = tx_draws_.fetch_add(1, std::memory_order_relaxed);
    if (draw(j, kWcErr) >= cfg_.wc_err)
        return false;
    ctr_.add(Counter::fault_wc_err);
    return true;
}

int64_t Faults::send_due(int64_t now, size_t n) noexcept {
    if (!cfg_.send_delay_us || !n)
        return 0;
    ctr_.add(Counter::fault_send_delay, n);
    return now + int64_t{cfg_.send_delay_us} * 1000;
}

bool Faults::cq_overrun() noexcept {
    if (!cfg_.cq_overrun)
        return false;
    if (completions_.fetch_add(1, std::memory_order_relaxed) + 1 != cfg_.cq_overrun)
        return false;
    ctr_.add(Counter::fault_cq_overrun);
    return true;
}

void Faults::discard() noexcept {
    if (!held_.empty())
        ctr_.add(Counter::fault_held_at_close, held_.size());
    held_.clear();
}

}  // namespace softud
