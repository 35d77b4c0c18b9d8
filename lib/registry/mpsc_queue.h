/* SPDX-License-Identifier: BSD-3-Clause */
// Bounded lock-free multi-producer queue (per-slot sequence numbers, after D. Vyukov's bounded
// MPMC design). Producers (datapath lcores) only ever try: a full queue returns false at once,
// never waits, never allocates, never makes a system call. The consumer is the Resolver thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace rdmaud::registry {

template <class T>
class MpscQueue {
    static_assert(std::is_trivially_copyable_v<T>, "queue slots are copied, never constructed");

public:
    // `capacity` is rounded up to a power of two (index masking), at least 2.
    explicit MpscQueue(size_t capacity) {
        size_t cap = 2;
        while (cap < capacity)
            cap <<= 1;
        mask_ = cap - 1;
        slots_ = std::make_unique<Slot[]>(cap);
        for (size_t i = 0; i < cap; i++)
            slots_[i].seq.store(i, std::memory_order_relaxed);
    }
    MpscQueue(const MpscQueue&) = delete;
    MpscQueue& operator=(const MpscQueue&) = delete;

    size_t capacity() const noexcept { return mask_ + 1; }

    // Any thread. False when full.
    bool try_push(const T& v) noexcept {
        size_t pos = tail_.load(std::memory_order_relaxed);
        for (;;) {
            Slot& s = slots_[pos & mask_];
            const size_t seq = s.seq.load(std::memory_order_acquire);
            const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
            if (diff == 0) {
                if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed))
                    break;  // slot claimed
            } else if (diff < 0) {
                return false;  // the consumer has not freed this slot yet: full
            } else {
                pos = tail_.load(std::memory_order_relaxed);  // another producer got it
            }
        }
        Slot& s = slots_[pos & mask_];
        s.value = v;
        s.seq.store(pos + 1, std::memory_order_release);
        return true;
    }

    // Consumer thread only. False when empty.
    bool try_pop(T* out) noexcept {
        Slot& s = slots_[head_ & mask_];
        const size_t seq = s.seq.load(std::memory_order_acquire);
        if (static_cast<intptr_t>(seq) - static_cast<intptr_t>(head_ + 1) < 0)
            return false;  // not yet published
        *out = s.value;
        s.seq.store(head_ + mask_ + 1, std::memory_order_release);
        head_++;
        return true;
    }

private:
    struct alignas(64) Slot {  // one cache line per slot: producers do not false-share
        std::atomic<size_t> seq{0};
        T value{};
    };
    std::unique_ptr<Slot[]> slots_;
    size_t mask_ = 0;
    alignas(64) std::atomic<size_t> tail_{0};  // producers
    alignas(64) size_t head_ = 0;              // consumer only
};

}  // namespace rdmaud::registry
