/* SPDX-License-Identifier: BSD-3-Clause */
// softud device counters: a small self-describing file per device, mmap'd so another process
// (softud-stat, the PMD's tests) can read them while the program runs. Layout and semantics:
// doc/design/softud.md "Counters".
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace softud {

enum class Counter : uint32_t {
    tx_packets,        // datagrams handed to the kernel
    tx_bytes,          // message payload bytes of those datagrams
    tx_too_long,       // WRs larger than the path MTU: completed, nothing sent
    tx_errors,         // datagrams the kernel refused (sendmmsg error)
    rx_packets,        // datagrams delivered into a posted receive
    rx_bytes,          // message payload bytes delivered
    drop_no_recv,      // no receive WR posted
    drop_qkey,         // Q_Key mismatch
    drop_pkey,         // P_Key mismatch
    drop_icrc,         // bad ICRC
    drop_too_long,     // larger than the port MTU or the posted receive buffer
    drop_unknown_qpn,  // no such destination QP on this device
    drop_malformed,    // not a UD SEND datagram softud can parse (any other parse error)
    drop_qp_state,     // destination QP not in RTR/RTS
    drop_dlid,         // IB mode: destination LID is not this port's
    post_send_calls,   // ibv_post_send calls
    post_send_wrs,     // WRs accepted by ibv_post_send
    signaled_wrs,      // of which signaled (or all, with sq_sig_all)
    post_recv_calls,   // ibv_post_recv calls
    post_recv_wrs,     // WRs accepted by ibv_post_recv
    poll_cq_calls,     // ibv_poll_cq calls
    sendmmsg_calls,    // sendmmsg system calls (one per posted WR list)
    recvmmsg_calls,    // recvmmsg system calls that returned datagrams
    drop_overflow,     // shared-memory path: the receiver's ring stayed full (sender gave up)
    shm_tx_batches,    // shared-memory ring publications (one per WR list and destination)
    shm_rx_batches,    // drains that took datagrams from the shared-memory rings
    fault_drop,        // injected: datagram dropped
    fault_dup,         // injected: datagram delivered twice
    fault_reorder,     // injected: datagram delivered after the next one
    fault_corrupt,     // injected: one bit flipped (the ICRC check then counts drop_icrc)
    fault_delay,       // injected: datagram held for delay_us
    fault_wc_err,      // injected: send WR completed with IBV_WC_GENERAL_ERR
    fault_cq_overrun,  // injected: a CQ overran
    fault_held_at_close,  // delayed/reordered datagrams still held when the device closed
    fault_send_delay,  // injected: send completion held back send_delay_us
    cq_lost,           // completions never polled: queued in, or pushed to, a CQ that overran
    rx_ip_id_recovered,  // datagrams whose non-zero IP ID (unseen by the socket) the ICRC gave
    count_
};
inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count_);

// Names in the file, same order as Counter.
extern const char* const kCounterNames[kCounterCount];

// File format (little-endian host layout, version 1).
inline constexpr char kCounterMagic[8] = {'S', 'O', 'F', 'T', 'U', 'D', 'C', '1'};
inline constexpr uint32_t kCounterVersion = 1;
inline constexpr size_t kCounterNameLen = 40;  // NUL-padded counter name

struct CounterFileHeader {
    char magic[8];         // "SOFTUDC1"
    uint32_t version;      // kCounterVersion
    uint32_t count;        // number of CounterEntry records that follow
    uint32_t entry_size;   // sizeof(CounterEntry)
    int32_t pid;           // process owning the device's socket
    char device[32];       // device name, NUL-padded
    uint64_t reserved;
};
struct CounterEntry {
    char name[kCounterNameLen];
    uint64_t value;        // updated with relaxed atomic adds; read with 8-byte loads
};
static_assert(sizeof(CounterFileHeader) == 64, "file format: header is 64 bytes");
static_assert(sizeof(CounterEntry) == 48, "file format: entries are 48 bytes");

// One device's counters. Starts in anonymous memory; `publish` moves them into
// <dir>/<device>.counters when the device's socket is bound (the owning process).
class CounterBlock {
public:
    CounterBlock() noexcept;
    ~CounterBlock();
    CounterBlock(const CounterBlock&) = delete;
    CounterBlock& operator=(const CounterBlock&) = delete;

    void add(Counter c, uint64_t v = 1) noexcept {
        __atomic_fetch_add(&entries_.load(std::memory_order_acquire)[static_cast<size_t>(c)].value,
                           v, __ATOMIC_RELAXED);
    }
    uint64_t get(Counter c) const noexcept {
        return __atomic_load_n(&entries_.load(std::memory_order_acquire)[static_cast<size_t>(c)].value,
                               __ATOMIC_RELAXED);
    }
    // Creates/resets the file (if `dir` is non-empty) and switches to it, counting from zero.
    // Returns 0 or -errno.
    int publish(const std::string& dir, const std::string& device) noexcept;
    void unpublish() noexcept;

private:
    CounterEntry local_[kCounterCount];
    std::atomic<CounterEntry*> entries_;
    void* map_ = nullptr;
    size_t map_len_ = 0;
};

}  // namespace softud
