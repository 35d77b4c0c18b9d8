/* SPDX-License-Identifier: BSD-3-Clause */
// Same-host fast path: mailbox creation/teardown (receiver), discovery, lane claiming, liveness
// checks and publication (sender). See shm.h and doc/design/softud.md.
#include "shm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace softud::shm {
namespace {

constexpr char kShmDir[] = "/dev/shm";

uint64_t random64() {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
}

bool pid_alive(int32_t pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

uint64_t owner_word(uint64_t token) {
    return (uint64_t{static_cast<uint32_t>(::getpid())} << 32) | (token & 0xffffffffu);
}

}  // namespace

uint64_t netns_id() noexcept {
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0)
        return 0;
    return st.st_ino;
}

std::string mailbox_name(uint64_t netns, uint32_t addr_be, uint16_t port) {
    char a[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &addr_be, a, sizeof(a));
    char buf[96];
    std::snprintf(buf, sizeof(buf), "/softud-%llu-%s-%u", static_cast<unsigned long long>(netns), a, port);
    return buf;
}

bool enabled_by_env() noexcept {
    const char* v = std::getenv("SOFTUD_SHM");
    if (!v || !*v)
        return true;
    return !(!std::strcmp(v, "0") || !std::strcmp(v, "off") || !std::strcmp(v, "udp") ||
             !std::strcmp(v, "no"));
}

int64_t now_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// --- receiver ---------------------------------------------------------------------------------

Mailbox::~Mailbox() {
    if (hdr_) {
        hdr_->closed.store(1, std::memory_order_release);
        ::shm_unlink(name_.c_str());
        ::unlink(fifo_.c_str());
        ::munmap(hdr_, kMailboxBytes);
    }
    if (bell_fd_ >= 0)
        ::close(bell_fd_);
}

int Mailbox::create(uint32_t addr_be, uint16_t port) noexcept {
    const uint64_t ns = netns_id();
    if (!ns)
        return -ENOENT;
    name_ = mailbox_name(ns, addr_be, port);
    fifo_ = std::string(kShmDir) + name_ + ".bell";
    // We hold addr:port's UDP socket in this netns, so a file of this name is a dead owner's.
    ::shm_unlink(name_.c_str());
    ::unlink(fifo_.c_str());
    if (::mkfifo(fifo_.c_str(), 0600) != 0)
        return -errno;
    // O_RDWR: the FIFO always has a writer (us), so poll never reports a hang-up on it.
    bell_fd_ = ::open(fifo_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (bell_fd_ < 0) {
        int e = errno;
        ::unlink(fifo_.c_str());
        return -e;
    }
    int fd = ::shm_open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        ::unlink(fifo_.c_str());
        return -e;
    }
    if (::ftruncate(fd, static_cast<off_t>(kMailboxBytes)) != 0) {
        int e = errno;
        ::close(fd);
        ::shm_unlink(name_.c_str());
        ::unlink(fifo_.c_str());
        return -e;
    }
    void* m = ::mmap(nullptr, kMailboxBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) {
        int e = errno;
        ::shm_unlink(name_.c_str());
        ::unlink(fifo_.c_str());
        return -e;
    }
    // A fresh file is zero-filled: the atomics start at 0. Publish the magic last, so a sender
    // that maps the file early sees "not ready" rather than a half-written header.
    auto* h = new (m) MailboxHeader;
    h->version = kMailboxVersion;
    h->lanes = kLanes;
    h->lane_bytes = kLaneBytes;
    h->pid = static_cast<int32_t>(::getpid());
    h->addr_be = addr_be;
    h->port = port;
    h->incarnation = random64();
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(h->magic, kMailboxMagic, sizeof(h->magic));
    hdr_ = h;
    rings_ = static_cast<uint8_t*>(m) + kHeaderBytes;
    return 0;
}

void Mailbox::withdraw() noexcept {
    if (!hdr_)
        return;
    hdr_->closed.store(1, std::memory_order_release);
    ::shm_unlink(name_.c_str());
    ::unlink(fifo_.c_str());
}

bool Mailbox::pending() const noexcept {
    for (const LaneCtl& l : hdr_->lane)
        if (l.head.load(std::memory_order_relaxed) != l.tail.load(std::memory_order_acquire))
            return true;
    return false;
}

// The bell protocol. bell_rung is claimed (0 -> 1) by whoever rings, before the byte is written;
// the receiver empties the FIFO first and resets bell_rung after. So bell_rung is never left set
// over an empty FIFO with no byte on its way (that state silenced every later sender: the missed
// wakeup), and every byte the receiver consumed belongs to a ringer whose records were published
// before it claimed, which the receiver's look at the rings after the reset sees. The one odd
// state left is a byte over a reset bell_rung (its ringer claimed before the reset and wrote after
// the read): a spurious wakeup at worst; the next ringer claims again and writes another byte.
bool ring_bell(MailboxHeader* hdr, int fd) noexcept {
    if (hdr->bell_rung.exchange(1, std::memory_order_seq_cst) != 0)
        return false;  // rung already: its byte is in the FIFO or on its way
    char b = 1;
    ssize_t n = ::write(fd, &b, 1);
    (void)n;
    return true;
}

void Mailbox::bell_self() noexcept { ring_bell(hdr_, bell_fd_); }

void Mailbox::empty_bell() noexcept {
    char buf[256];
    while (::read(bell_fd_, buf, sizeof(buf)) > 0) {
    }
    hdr_->bell_rung.store(0, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void Mailbox::arm() noexcept {
    hdr_->bell_wanted.store(1, std::memory_order_seq_cst);
    // Start from a silent bell: a byte left in the FIFO (its edge already taken by an earlier
    // wakeup) would keep an edge-triggered sleeper from seeing the next one. Then, as after
    // every reset, ring for records already waiting.
    empty_bell();
    // Pairs with the sender's fence between publishing its tail and reading bell_wanted: either
    // it sees our request, or we see its data here.
    if (pending())
        bell_self();
}

void Mailbox::disarm() noexcept { hdr_->bell_wanted.store(0, std::memory_order_release); }

bool Mailbox::clear_bell(bool always) noexcept {
    if (!always && !hdr_->bell_rung.load(std::memory_order_relaxed))
        return false;
    // The FIFO first, then the reset (see ring_bell); the caller reads the rings after.
    empty_bell();
    return true;
}

// --- sender -----------------------------------------------------------------------------------

Link::~Link() { detach(); }

void Link::detach() noexcept {
    if (lane_) {
        uint64_t mine = owner_word(token_);
        lane_->owner.compare_exchange_strong(mine, 0, std::memory_order_acq_rel);
    }
    if (hdr_)
        ::munmap(hdr_, kMailboxBytes);
    if (bell_fd_ >= 0)
        ::close(bell_fd_);
    hdr_ = nullptr;
    ring_ = nullptr;
    lane_ = nullptr;
    bell_fd_ = -1;
}

bool Link::attach(uint64_t netns) noexcept {
    const std::string name = mailbox_name(netns, addr_be, port);
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != kMailboxBytes) {
        ::close(fd);
        return false;
    }
    void* m = ::mmap(nullptr, kMailboxBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED)
        return false;
    auto* h = static_cast<MailboxHeader*>(m);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (std::memcmp(h->magic, kMailboxMagic, sizeof(h->magic)) != 0 || h->version != kMailboxVersion ||
        h->lanes != kLanes || h->lane_bytes != kLaneBytes || h->addr_be != addr_be || h->port != port ||
        h->closed.load(std::memory_order_acquire) || !pid_alive(h->pid)) {
        ::munmap(m, kMailboxBytes);
        return false;
    }
    hdr_ = h;
    ino_ = st.st_ino;
    if (!token_)
        token_ = random64() | 1;
    const uint64_t mine = owner_word(token_);
    // A free lane, else one whose owner process is gone (it continues from the current tail:
    // what the dead sender published is still delivered, its unpublished bytes are overwritten).
    for (int pass = 0; pass < 2 && !lane_; ++pass) {
        for (uint32_t i = 0; i < kLanes && !lane_; ++i) {
            LaneCtl& l = h->lane[i];
            uint64_t cur = l.owner.load(std::memory_order_acquire);
            if (pass == 0 ? cur != 0 : (cur == 0 || pid_alive(static_cast<int32_t>(cur >> 32))))
                continue;
            if (l.owner.compare_exchange_strong(cur, mine, std::memory_order_acq_rel))
                lane_ = &l, ring_ = reinterpret_cast<uint8_t*>(h) + kHeaderBytes + size_t{i} * kLaneBytes;
        }
    }
    if (!lane_) {
        detach();
        return false;
    }
    tail_ = lane_->tail.load(std::memory_order_acquire);
    head_cache_ = lane_->head.load(std::memory_order_acquire);
#ifdef MADV_POPULATE_WRITE
    // Back the whole lane now (4 MiB of tmpfs, about a millisecond, once per claim): otherwise
    // every 4 KiB of records the first time round the ring costs the sender a page fault on
    // the datapath. Best effort: kernels before 5.14 refuse it and fault lazily as before.
    (void)::madvise(ring_, kLaneBytes, MADV_POPULATE_WRITE);
#endif
    std::string fifo = std::string(kShmDir) + name + ".bell";
    bell_fd_ = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    return true;
}

bool Link::usable(uint64_t netns, int64_t now) noexcept {
    if (hdr_ && hdr_->closed.load(std::memory_order_acquire)) {
        detach();
        next_check_ = 0;  // the receiver closed: maybe a new one is there already
    }
    if (now < next_check_)
        return hdr_ != nullptr;
    next_check_ = now + kRecheckNs;
    if (hdr_) {
        // Still the file under that name, its owner alive, our lane still ours?
        struct stat st {};
        std::string path = std::string(kShmDir) + mailbox_name(netns, addr_be, port);
        if (::stat(path.c_str(), &st) == 0 && st.st_ino == ino_ && pid_alive(hdr_->pid) &&
            lane_->owner.load(std::memory_order_acquire) == owner_word(token_))
            return true;
        detach();
    }
    return attach(netns);
}

uint64_t Link::publish(const mmsghdr* msgs, size_t n, uint32_t saddr_be, uint16_t sport, uint8_t tos,
                       uint8_t ttl) noexcept {
    uint64_t bytes = 0, dropped = 0;
    int64_t give_up = 0;
    if (stalled_) {
        head_cache_ = lane_->head.load(std::memory_order_acquire);
        stalled_ = head_cache_ == stalled_head_;
    }
    for (size_t i = 0; i < n; ++i) {
        const msghdr& h = msgs[i].msg_hdr;
        size_t len = 0;
        for (size_t k = 0; k < h.msg_iovlen; ++k)
            len += h.msg_iov[k].iov_len;
        bytes += len;
        const uint64_t need = (sizeof(RecordHdr) + len + kRecAlign - 1) & ~(kRecAlign - 1);
        const uint64_t off = tail_ & (kLaneBytes - 1);
        const uint64_t skip = off + need > kLaneBytes ? kLaneBytes - off : 0;
        bool room = tail_ + skip + need - head_cache_ <= kLaneBytes;
        while (!room) {
            head_cache_ = lane_->head.load(std::memory_order_acquire);
            room = tail_ + skip + need - head_cache_ <= kLaneBytes;
            if (room || dropped || stalled_)
                break;  // once dropping, drop the rest of the list without waiting again
            const int64_t now = now_ns();
            if (!give_up) {
                // Let the receiver see what is there while we wait.
                lane_->tail.store(tail_, std::memory_order_release);
                give_up = now + kFullWaitNs;
            } else if (now > give_up || hdr_->closed.load(std::memory_order_relaxed)) {
                stalled_ = true;
                stalled_head_ = head_cache_;
                next_check_ = 0;  // is the receiver still alive? (checked at the next usable())
                break;
            }
            ::sched_yield();
        }
        if (!room) {
            ++dropped;
            continue;
        }
        if (skip) {
            reinterpret_cast<RecordHdr*>(ring_ + off)->flags = kRecWrap;
            tail_ += skip;
        }
        auto* r = reinterpret_cast<RecordHdr*>(ring_ + (tail_ & (kLaneBytes - 1)));
        r->len = static_cast<uint32_t>(len);
        r->saddr_be = saddr_be;
        r->sport = sport;
        r->tos = tos;
        r->ttl = ttl;
        r->flags = kRecNoIcrc;  // the trailer's ICRC bytes are zeros, not a CRC
        uint8_t* p = reinterpret_cast<uint8_t*>(r + 1);
        for (size_t k = 0; k < h.msg_iovlen; ++k) {
            std::memcpy(p, h.msg_iov[k].iov_base, h.msg_iov[k].iov_len);
            p += h.msg_iov[k].iov_len;
        }
        tail_ += need;
    }
    lane_->tail.store(tail_, std::memory_order_release);
    if (dropped)
        lane_->overflow.fetch_add(dropped, std::memory_order_release);
    // Pairs with Mailbox::arm(): tail published, then look whether the receiver sleeps.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // bell_rung is claimed before the byte goes in (ring_bell); the plain load first keeps the
    // common case (rung already) free of a locked instruction.
    if (hdr_->bell_wanted.load(std::memory_order_relaxed) &&
        !hdr_->bell_rung.load(std::memory_order_relaxed) && bell_fd_ >= 0)
        ring_bell(hdr_, bell_fd_);
    return bytes;
}

Link* Links::get(uint32_t addr_be, uint16_t port) noexcept {
    const uint64_t key = (uint64_t{addr_be} << 16) | port;
    std::lock_guard<std::mutex> g(lock_);
    auto it = map_.find(key);
    if (it != map_.end())
        return it->second.get();
    auto* l = new (std::nothrow) Link;
    if (!l)
        return nullptr;
    l->addr_be = addr_be;
    l->port = port;
    try {
        map_.emplace(key, std::unique_ptr<Link>(l));
    } catch (...) {
        delete l;
        return nullptr;
    }
    return l;
}

}  // namespace softud::shm
