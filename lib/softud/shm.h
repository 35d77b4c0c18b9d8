/* SPDX-License-Identifier: BSD-3-Clause */
// softud's same-host fast path: a shared-memory "mailbox" per receiving device, so datagrams
// between devices of one host (one network namespace) cross without a system call per batch.
// Layout, discovery, liveness and wakeups: doc/design/softud.md "Same-host fast path".
//
// A mailbox is /dev/shm/softud-<netns inode>-<a.b.c.d>-<udp port>, created by the process that
// binds the device's UDP socket (binding proves it owns the address in this netns, so any file
// of that name is stale and replaced). It holds kLanes single-producer/single-consumer byte
// rings: a sending (process, device) claims a lane on first send to the address and owns it
// until it closes the device or dies. A ring record carries exactly the UDP payload the socket
// path would carry (BTH..ICRC) plus the IP/UDP facts the receiver would learn from the kernel
// (source address and port, TOS, TTL), so the receiver runs the same parser and counters.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace softud::shm {

inline constexpr char kMailboxMagic[8] = {'S', 'O', 'F', 'T', 'U', 'D', 'M', '1'};
// Version 2: records carry no ICRC (kRecNoIcrc); a version-1 peer uses UDP instead.
inline constexpr uint32_t kMailboxVersion = 2;
// Sender lanes per receiving device: one per sending (process, device); more senders use UDP.
inline constexpr uint32_t kLanes = 16;
// Ring bytes per lane (power of two): ~37k 64-byte messages, about what the 32 MiB socket
// receive buffer holds; tmpfs only backs the pages a lane has touched.
inline constexpr uint64_t kLaneBytes = uint64_t{4} << 20;
// Records start on 16-byte boundaries (the record header's size) and never wrap.
inline constexpr uint64_t kRecAlign = 16;
// A full ring makes the sender wait (yielding the CPU) this long for the receiver, like a
// lossless fabric's pause, before it drops the datagram (counted by the receiver, drop_overflow);
// a receiver descheduled for a few time slices on a loaded host must not cost datagrams.
inline constexpr int64_t kFullWaitNs = 100'000'000;
// A sender re-checks a link (receiver alive, same mailbox) or re-probes a UDP-only address
// this often; between checks a closed flag in the mailbox is seen at every publication.
inline constexpr int64_t kRecheckNs = 100'000'000;

static_assert((kLaneBytes & (kLaneBytes - 1)) == 0, "lane ring size is a power of two");
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free,
              "atomics in shared memory must be lock-free (address-free)");

// One datagram in a ring. `len` bytes of UDP payload follow; flags kRecWrap = skip to ring start.
struct RecordHdr {
    uint32_t len;
    uint32_t saddr_be;   // sender device address (the IP source the kernel would report)
    uint16_t sport;      // sender UDP port (host order)
    uint8_t tos;         // IP TOS the sender's socket would send
    uint8_t ttl;         // IP TTL the sender's socket would send
    uint32_t flags;
};
inline constexpr uint32_t kRecWrap = 1;
// The record's last 4 bytes (the ICRC on the wire) were not computed: shared memory has no
// wire to corrupt a datagram, so the sender skips the CRC and the receiver its check (unless a
// receive-side fault injector is configured: it computes the ICRC first, see rx.cpp ingest()).
inline constexpr uint32_t kRecNoIcrc = 2;
static_assert(sizeof(RecordHdr) == kRecAlign, "a record header is one alignment unit");

// Per-lane control words, each written by one side, on separate cache lines.
struct alignas(64) LaneCtl {
    std::atomic<uint64_t> owner;     // 0 = free, else (pid << 32) | random token of the sender
    uint8_t pad0[56];
    std::atomic<uint64_t> tail;      // producer: bytes published (monotonic)
    std::atomic<uint64_t> overflow;  // producer: datagrams dropped because the ring stayed full
    uint8_t pad1[48];
    std::atomic<uint64_t> head;      // consumer: bytes consumed (monotonic)
    uint8_t pad2[56];
};
static_assert(sizeof(LaneCtl) == 192);

struct MailboxHeader {
    char magic[8];
    uint32_t version;
    uint32_t lanes;
    uint64_t lane_bytes;
    int32_t pid;                      // receiving process
    uint32_t addr_be;
    uint16_t port;
    uint8_t pad[6];
    uint64_t incarnation;             // random per creation
    std::atomic<uint32_t> closed;     // set by the receiver before it unlinks the mailbox
    uint8_t pad1[12];
    alignas(64) std::atomic<uint32_t> bell_wanted;  // receiver has an armed CQ with a channel
    std::atomic<uint32_t> bell_rung;                // the bell FIFO holds a byte (written first)
    alignas(64) LaneCtl lane[kLanes];
};
inline constexpr size_t kHeaderBytes = 4096;
static_assert(sizeof(MailboxHeader) <= kHeaderBytes, "header fits its page");
inline constexpr size_t kMailboxBytes = kHeaderBytes + size_t{kLanes} * kLaneBytes;

// Rings the bell of a mailbox unless it is rung already: claims bell_rung, then writes the byte
// to the FIFO fd. True if this call wrote it.
bool ring_bell(MailboxHeader* hdr, int fd) noexcept;

// Identity of this process's network namespace (inode of /proc/self/ns/net); 0 if unknown.
uint64_t netns_id() noexcept;
// "/softud-<netns>-<a.b.c.d>-<port>" (shm_open name); the bell FIFO is /dev/shm/<name>.bell.
std::string mailbox_name(uint64_t netns, uint32_t addr_be, uint16_t port);
// SOFTUD_SHM=0/off/udp disables the fast path (this process neither offers nor uses mailboxes).
bool enabled_by_env() noexcept;
int64_t now_ns() noexcept;

// A datagram as the receive path sees it, from either path.
struct Incoming {
    uint8_t* data;      // UDP payload (may be modified in place by fault injection)
    uint32_t len;
    uint32_t saddr_be;
    uint16_t sport;
    uint8_t tos, ttl;
    bool trunc;         // did not fit the receive buffer (socket path only)
    bool no_icrc;       // shared-memory record without a computed ICRC (kRecNoIcrc)
};

// Receiver side: the device's own mailbox.
class Mailbox {
public:
    ~Mailbox();
    // Creates (replacing a stale one) the mailbox of addr:port in this netns. 0 or -errno.
    int create(uint32_t addr_be, uint16_t port) noexcept;
    // FIFO read end for channel epoll sets: readable after a sender rang the bell.
    int bell_fd() const noexcept { return bell_fd_; }
    // Consumes up to `budget` records; `fn(Incoming&)` handles each. Returns records consumed
    // and adds ring-full drops reported by senders to `overflow`.
    template <class Fn> unsigned poll(unsigned budget, uint64_t& overflow, Fn&& fn) noexcept;
    // The device has an armed CQ with a channel (or no longer has one): senders ring the bell
    // after publishing while it is wanted. Arming rings it at once if records already wait.
    void arm() noexcept;
    void disarm() noexcept;
    // Reads the bell FIFO empty if a sender rang it (always: whatever it holds, before a
    // blocking wait), then resets bell_rung; the caller looks at the rings after. True if it read.
    bool clear_bell(bool always = false) noexcept;
    bool pending() const noexcept;
    // Process exit without ibv_close_device: mark closed and remove the names (keeps the mapping).
    void withdraw() noexcept;

private:
    void bell_self() noexcept;
    void empty_bell() noexcept;
    MailboxHeader* hdr_ = nullptr;
    uint8_t* rings_ = nullptr;
    int bell_fd_ = -1;
    std::string name_, fifo_;
    unsigned next_lane_ = 0;
    uint64_t overflow_seen_[kLanes]{};
};

// Sender side: a destination address and what we know about reaching it through shm.
class Link {
public:
    ~Link();
    // Lock held by publish(); a Link is shared by every QP of the sending device.
    std::mutex lock;
    // True if the destination has a live mailbox and we hold a lane in it (re-checks it every
    // kRecheckNs, probes again every kRecheckNs while it has none). Call with `lock` held.
    bool usable(uint64_t netns, int64_t now) noexcept;
    // Copies messages into the lane, publishes them with one release store and rings the bell if
    // the receiver asked. Datagrams that find no room within kFullWaitNs are counted in the lane's
    // overflow word (the receiver accounts them). Returns the bytes of all `n` datagrams (what
    // the socket path would have handed to the kernel). `lock` held.
    uint64_t publish(const mmsghdr* msgs, size_t n, uint32_t saddr_be, uint16_t sport, uint8_t tos,
                     uint8_t ttl) noexcept;
    uint32_t addr_be = 0;
    uint16_t port = 0;

private:
    bool attach(uint64_t netns) noexcept;
    void detach() noexcept;
    MailboxHeader* hdr_ = nullptr;
    uint8_t* ring_ = nullptr;
    LaneCtl* lane_ = nullptr;
    int bell_fd_ = -1;
    uint64_t ino_ = 0;           // inode of the mapped file: a replaced mailbox has another
    uint64_t token_ = 0;
    int64_t next_check_ = 0;
    uint64_t tail_ = 0, head_cache_ = 0;
    // The ring stayed full for kFullWaitNs: drop at once (no waiting) until the receiver moves.
    bool stalled_ = false;
    uint64_t stalled_head_ = 0;
};

// The sending device's links, keyed by (address, port). Links live until the transport closes.
class Links {
public:
    Link* get(uint32_t addr_be, uint16_t port) noexcept;

private:
    std::mutex lock_;
    std::unordered_map<uint64_t, std::unique_ptr<Link>> map_;
};

// --- inline: the consumer loop ----------------------------------------------------------------
template <class Fn>
unsigned Mailbox::poll(unsigned budget, uint64_t& overflow, Fn&& fn) noexcept {
    unsigned done = 0;
    unsigned start = next_lane_;
    for (unsigned k = 0; k < kLanes && done < budget; ++k) {
        const unsigned li = (start + k) % kLanes;
        LaneCtl& l = hdr_->lane[li];
        uint64_t ov = l.overflow.load(std::memory_order_relaxed);
        if (ov != overflow_seen_[li]) {
            overflow += ov - overflow_seen_[li];
            overflow_seen_[li] = ov;
        }
        uint64_t head = l.head.load(std::memory_order_relaxed);
        const uint64_t tail = l.tail.load(std::memory_order_acquire);
        if (head == tail)
            continue;
        uint8_t* ring = rings_ + size_t{li} * kLaneBytes;
        while (head != tail && done < budget) {
            const uint64_t off = head & (kLaneBytes - 1);
            auto* r = reinterpret_cast<RecordHdr*>(ring + off);
            if (r->flags & kRecWrap) {
                head += kLaneBytes - off;
                continue;
            }
            const uint64_t need = (sizeof(RecordHdr) + r->len + kRecAlign - 1) & ~(kRecAlign - 1);
            if (r->len > kLaneBytes / 2 || off + need > kLaneBytes || tail - head < need) {
                head = tail;  // a corrupt lane (a sender scribbled): discard what it holds
                break;
            }
            Incoming in{reinterpret_cast<uint8_t*>(r + 1), r->len, r->saddr_be, r->sport, r->tos, r->ttl,
                        false, (r->flags & kRecNoIcrc) != 0};
            fn(in);
            head += need;
            ++done;
        }
        l.head.store(head, std::memory_order_release);
        next_lane_ = (li + 1) % kLanes;  // fairness: the next drain starts after the last lane served
    }
    if (!done)
        next_lane_ = (start + 1) % kLanes;
    return done;
}

}  // namespace softud::shm
