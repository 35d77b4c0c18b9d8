/* SPDX-License-Identifier: BSD-3-Clause */
// softud fault injection (doc/design/softud.md "Fault injection"): on the receive/delivery side
// of a device, datagrams from either path (socket or shared memory) can be dropped, duplicated,
// reordered, corrupted (the ICRC check then drops them) or delayed; on the send side a fraction
// of WRs complete with an error and send completions can be held back (the send queue then
// fills as behind a slow link); a CQ can be made to overrun after N completions. Every injected
// fault has its own counter. Draws come from a counter-based generator seeded by `seed` and the
// device name, so the same input sequence gives the same faults.
//
//   SOFTUD_FAULTS="drop=0.01,dup=0.005,reorder=0.01,corrupt=0.001,delay=0.5,delay_us=100,
//                  wc_err=0.001,send_delay_us=2000,cq_overrun=100000,seed=42"  (every device)
//   SOFTUD_FAULTS_<DEVICE>=...                                    (one device; replaces the above)
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "counters.h"
#include "shm.h"

namespace softud {

struct FaultConfig {
    double drop = 0, dup = 0, reorder = 0, corrupt = 0;  // probabilities per received datagram
    double delay = 0;          // probability a datagram is delayed (1 if delay_us is given alone)
    uint32_t delay_us = 0;     // how long
    double wc_err = 0;         // probability a send WR completes with IBV_WC_GENERAL_ERR
    uint32_t send_delay_us = 0;  // send completions become pollable this long after the post
    uint64_t cq_overrun = 0;   // the device's N-th completion overruns its CQ (0: never)
    uint64_t seed = 1;
    bool any() const noexcept {
        return drop > 0 || dup > 0 || reorder > 0 || corrupt > 0 || (delay > 0 && delay_us) ||
               wc_err > 0 || send_delay_us || cq_overrun;
    }
};

// Parses "key=value,..." (keys above). Returns 0 or -EINVAL with `err` set.
int parse_faults(std::string_view spec, FaultConfig& out, std::string& err);
// SOFTUD_FAULTS_<device>, else SOFTUD_FAULTS. A bad spec is reported on stderr and ignored.
FaultConfig faults_from_env(const std::string& device);

// A reordered datagram waits for the next one at most this long, then is delivered anyway.
inline constexpr int64_t kReorderMaxNs = 1'000'000;

class Faults {
public:
    using DeliverFn = void (*)(void* ctx, shm::Incoming& in);

    Faults(const FaultConfig& cfg, const std::string& device, bool ib_mode, CounterBlock& ctr);
    ~Faults();
    Faults(const Faults&) = delete;
    Faults& operator=(const Faults&) = delete;

    // Receive side: applies drop/corrupt/delay/reorder/dup to one datagram, then delivers it
    // (0, 1 or 2 times now; held ones later via release_due). Caller holds the drain lock.
    void on_datagram(shm::Incoming& in, DeliverFn fn, void* ctx);
    // Delivers held datagrams that are due. Returns how many. Caller holds the drain lock.
    unsigned release_due(int64_t now, DeliverFn fn, void* ctx);
    // timerfd (in channel epoll sets) readable when a held datagram falls due; -1 if none needed.
    int timer_fd() const noexcept { return tfd_; }
    bool holding() const noexcept { return !held_.empty(); }
    // Send side: should this WR complete with an error? (thread-safe)
    bool wc_error() noexcept;
    // Send side: when the completions of a WR list posted at `now` become pollable (0: at once);
    // counts `n` delayed completions. (thread-safe)
    int64_t send_due(int64_t now, size_t n) noexcept;
    // Completion side: does this completion overrun its CQ? (thread-safe)
    bool cq_overrun() noexcept;
    // Datagrams still held when the device closes: counted in fault_held_at_close.
    void discard() noexcept;

private:
    struct Held {
        int64_t due;
        bool after_next;        // reordered: goes out right after the next delivered datagram
        shm::Incoming meta;     // data is set to bytes.data() when delivered
        std::vector<uint8_t> bytes;
    };
    double draw(uint64_t index, uint64_t stream) const noexcept;
    void hold(const shm::Incoming& in, int64_t due, bool after_next);
    void arm_timer() noexcept;

    FaultConfig cfg_;
    uint64_t salt_;
    bool ib_;
    CounterBlock& ctr_;
    std::atomic<uint64_t> rx_draws_{0}, tx_draws_{0}, completions_{0};
    std::vector<Held> held_;
    int tfd_ = -1;
    int64_t armed_for_ = 0;
};

}  // namespace softud
