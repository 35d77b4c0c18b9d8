/* SPDX-License-Identifier: BSD-3-Clause */
// softud internals: the private objects behind the public verbs structs. Each embeds its public
// struct and is recovered with from_*() (the rxe pattern). Locking rules are stated per member.
#pragma once

#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "counters.h"
#include "faults.h"
#include "shm.h"
#include "wire.h"

namespace softud {

// --- device limits (reported by ibv_query_device; enforced at create time) --------------------
inline constexpr uint32_t kMaxQp = 4096;         // QPNs are per device; plenty for tests and DPDK
inline constexpr uint32_t kMaxQpWr = 8192;       // one sendmmsg carries up to a full send queue
inline constexpr uint32_t kMaxSge = 16;          // iovecs per datagram = SGEs + header + trailer
inline constexpr uint32_t kMaxCqe = 1u << 20;    // ring memory is cqe * sizeof(Cqe)
inline constexpr uint32_t kMaxInline = 4096;     // inline = iovec to the caller's bytes, sent at post
inline constexpr uint32_t kDefaultInline = 256;  // granted when the caller asks for less
inline constexpr uint32_t kMaxMr = 1u << 20;
inline constexpr uint32_t kMaxPd = 1u << 16;
inline constexpr uint32_t kMaxAh = 1u << 20;
inline constexpr uint32_t kFirstQpn = 0x11;      // QPN 0/1 are the IB special QPs
inline constexpr uint32_t kDefaultQkey = 0;
inline constexpr int kPortNum = 1;               // one port per device
inline constexpr int kGidTableLen = 1;           // GID[0] only
inline constexpr int kPkeyTableLen = 1;          // the default partition only
inline constexpr uint32_t kUdGrhLen = wire::kGrhLen;  // reserved at the start of UD receives

// Receive batching: datagrams per recvmmsg and the buffer for each (largest MTU + headers).
inline constexpr unsigned kRxBatch = 64;
inline constexpr size_t kRxBufLen = wire::kMaxMtu + wire::kMaxIbOverhead + 64;
// Socket buffer sizes asked for: a few thousand MTU-sized datagrams of burst.
inline constexpr int kSockBufBytes = 32 << 20;
// With a shared-memory mailbox, the socket (other hosts' traffic) is read on every kSockEvery-th
// drain unless its last read returned datagrams: no system call per batch on the fast path.
inline constexpr unsigned kSockEvery = 8;
// sendmmsg takes at most UIO_MAXIOV messages per call.
inline constexpr unsigned kMaxMsgsPerSyscall = 1024;
static_assert(kMaxSge + 2 <= 1024, "iovec count per datagram within UIO_MAXIOV");

struct Context;
struct Qp;
struct Cq;
struct Channel;

// --- transport: the device's UDP socket, its shared-memory mailbox and fault injector, shared
// by every context of the device in a process ---
struct Transport {
    int fd = -1;
    uint16_t port = 0;                  // bound UDP port (4791 RoCE, 4792 IB mode)
    uint8_t ttl = 64;                   // IP TTL the socket sends (what shm records carry)
    uint64_t netns = 0;                 // this netns's identity; 0 = fast path off (SOFTUD_SHM=0)
    std::unique_ptr<shm::Mailbox> mb;   // receive side of the fast path (null: off)
    shm::Links links;                   // send side: one per destination address
    std::unique_ptr<Faults> faults;     // null unless SOFTUD_FAULTS[_<dev>] asks for some
    std::vector<int> wake_fds;          // fds channel epoll sets watch: socket, bell, fault timer
    std::mutex drain_lock;              // held (try_lock) while one thread drains the socket
    unsigned sock_turn = 0;             // drain_lock: drains since the socket was last read
    bool sock_hot = true;               // drain_lock: the last socket read returned datagrams
    // Receive batch, used only under drain_lock.
    std::vector<uint8_t> rx_bufs;
    mmsghdr rx_msgs[kRxBatch]{};
    iovec rx_iov[kRxBatch]{};
    sockaddr_in rx_from[kRxBatch]{};
    alignas(8) uint8_t rx_cmsg[kRxBatch][64]{};
};

// --- device: one per configured IPv4 address; process-global and never freed ---------------
struct Device {
    ibv_device dev{};            // what ibv_get_device_list hands out (first member)
    DeviceConfig cfg;
    uint64_t guid_be = 0;
    uint16_t lid = 0;            // IB mode: low 16 bits of the address
    uint8_t gid[16]{};           // GID[0]
    CounterBlock ctr;

    std::mutex lock;             // guards everything below
    int open_contexts = 0;
    std::unique_ptr<Transport> tp;          // bound lazily (first QP), closed with the last context
    std::atomic<Transport*> tp_fast{nullptr};  // tp.get() for lock-free readers (poll/post paths)
    std::unordered_map<uint32_t, Qp*> qps;  // QPN -> QP; rx lookups take `lock` briefly
    uint32_t next_qpn = kFirstQpn;
    std::vector<Channel*> channels;         // comp channels whose epoll set holds tp->wake_fds
    // CQs with a channel that are armed; while there are any, shm senders ring the bell.
    std::mutex bell_lock;
    int armed_channel_cqs = 0;
};
inline Device* from_ibv(ibv_device* d) { return reinterpret_cast<Device*>(d); }

// --- context ----------------------------------------------------------------------------------
struct Context {
    verbs_context vctx{};        // ibv_context is its last member; abi_compat marks it extended
    Device* dev = nullptr;

    std::shared_mutex mr_lock;   // guards mrs
    std::unordered_map<uint32_t, struct Mr*> mrs;
    uint32_t next_key = 0x100;

    std::mutex async_lock;       // guards async_events, ctl_state
    std::deque<ibv_async_event> async_events;
    uint32_t async_acked = 0;
    // ibv_context.async_fd is an epoll set of these two (async.cpp):
    int async_evfd = -1;         // eventfd (semaphore) counting queued events
    int ctl_ifd = -1;            // inotify on the port control file's directory (-1: none)
    int ctl_state = 0;           // PortCtl the context last reported
};
// vctx is Context's first member (as ibv_device is Device's, ibv_cq is Cq's, ...).
inline Context* from_ibv(ibv_context* c) {
    return reinterpret_cast<Context*>(reinterpret_cast<uint8_t*>(c) - offsetof(verbs_context, context));
}
inline ibv_context* to_ibv(Context* c) { return &c->vctx.context; }

struct Pd {
    ibv_pd pd{};
};
inline Pd* from_ibv(ibv_pd* p) { return reinterpret_cast<Pd*>(p); }

struct Mr {
    ibv_mr mr{};
    uintptr_t start = 0;
    size_t len = 0;
    int access = 0;
};
inline Mr* from_ibv(ibv_mr* m) { return reinterpret_cast<Mr*>(m); }

struct Ah {
    ibv_ah ah{};
    sockaddr_in dst{};           // where datagrams go
    bool grh = false;            // IB mode: send a GRH
    wire::IbLrh lrh;             // IB mode
    wire::IbGrh ibgrh;           // IB mode with grh
};
inline Ah* from_ibv(ibv_ah* a) { return reinterpret_cast<Ah*>(a); }

// A completion plus the send-queue bookkeeping that polling it releases.
struct Cqe {
    ibv_wc wc;
    Qp* qp;              // send completions: QP whose slots to retire (nulled by destroy_qp)
    uint64_t sq_retire;  // send completions: posted-WR count up to and including this WR
    bool solicited;      // receive with the BTH SE bit, or an error: wakes solicited-only arming
    int64_t due;         // send_delay_us fault: not pollable before this (shm::now_ns); 0: at once
};

struct Cq {
    ibv_cq cq{};
    Context* ctx = nullptr;
    Channel* ch = nullptr;
    bool ignore_overrun = false;
    std::mutex lock;             // guards everything below
    std::vector<Cqe> ring;
    uint32_t head = 0, count = 0;
    uint32_t held = 0;           // entries in the ring with a `due` time (send_delay_us fault)
    bool error = false;          // overrun happened: CQ unusable
    bool armed = false;
    bool solicited_only = false;
    uint32_t events_delivered = 0;  // comp events handed out (cq.mutex/cond for the ack wait)
    int users = 0;               // QPs using this CQ
};
inline Cq* from_ibv(ibv_cq* c) { return reinterpret_cast<Cq*>(c); }

struct Channel {
    ibv_comp_channel ch{};       // ch.fd is an epoll set: evfd + the device socket
    Context* ctx = nullptr;
    int evfd = -1;               // readable while events are queued
    std::mutex lock;
    std::deque<Cq*> events;
};
inline Channel* from_ibv(ibv_comp_channel* c) { return reinterpret_cast<Channel*>(c); }

struct RecvWqe {
    uint64_t wr_id;
    uint32_t num_sge;
    bool prot_err;               // an SGE failed the lkey/LOCAL_WRITE/bounds check at post time
    uint32_t total;              // bytes the SGEs can hold
};

struct Qp {
    ibv_qp qp{};
    Context* ctx = nullptr;
    Device* dev = nullptr;
    Cq* scq = nullptr;
    Cq* rcq = nullptr;
    bool sq_sig_all = false;
    ibv_qp_cap cap{};

    // Attributes (written by modify_qp under both locks, read under either).
    uint32_t qkey = kDefaultQkey;
    uint16_t pkey_index = 0;
    uint32_t sq_psn = 0;
    std::atomic<int> state{IBV_QPS_RESET};   // mirrors qp.state for lock-free rx checks

    // Send queue (send_lock). Slots: posted - retired <= cap.max_send_wr.
    std::mutex send_lock;
    uint64_t sq_posted = 0;
    std::atomic<uint64_t> sq_retired{0};
    std::vector<mmsghdr> tx_msgs;
    std::vector<iovec> tx_iov;                 // (max_send_sge + 2) per message
    std::vector<uint8_t> tx_hdr;               // kMaxIbHeaderLen per message
    std::vector<uint8_t> tx_trl;               // kMaxTrailerLen (rounded) per message
    std::vector<Cqe> tx_done;                  // completions of the WR list being posted

    // Receive queue (recv_lock): ring of WQEs and their SGEs (resolved host addresses).
    std::mutex recv_lock;
    std::vector<RecvWqe> rq;
    std::vector<iovec> rq_sge;                 // cap.max_recv_sge per WQE
    uint32_t rq_head = 0, rq_count = 0;
};
inline Qp* from_ibv(ibv_qp* q) { return reinterpret_cast<Qp*>(q); }

// --- cross-file functions ---------------------------------------------------------------------
// transport.cpp
int transport_acquire(Device* d) noexcept;         // binds the socket if needed; 0 or -errno
void transport_release_locked(Device* d) noexcept;  // d->lock held; last context gone
// rx.cpp: drain up to one batch of datagrams into posted receives. False if another thread is.
// empty_bell: read the shared-memory bell FIFO empty even if no sender claims to have rung it
// (before a blocking wait on a channel fd, which a leftover byte would keep readable).
bool drain(Device* d, bool empty_bell = false) noexcept;
// cq.cpp: push completions (takes cq->lock); raises CQ_ERR on overrun; fires armed events.
void cq_push(Cq* cq, const Cqe* cqes, size_t n) noexcept;
// cq.cpp: a CQ with a channel became armed (+1) or fired/went away (-1): keeps the mailbox's
// bell wanted exactly while some are armed.
void armed_channel_cq(Device* d, int delta) noexcept;
// async.cpp
void post_async_event(Context* ctx, const ibv_async_event& ev) noexcept;
// The port control file <SOFTUD_STAT_DIR>/<device>.ctl ("active", "down" or "fatal"; missing:
// active): the port's state as ibv_query_port reports it.
enum PortCtl { kPortActive = 0, kPortDown = 1, kDeviceFatal = 2 };
int port_ctl_read(const Device* d) noexcept;
// Context open/close: async_fd (epoll) with the event counter and the control file watch.
int async_open(Context* ctx) noexcept;
void async_close(Context* ctx) noexcept;
// qp.cpp: move to the error state and flush the receive queue (caller holds neither QP lock).
void qp_to_error(Qp* qp) noexcept;
// device.cpp
inline bool is_ib(const Device* d) { return d->cfg.mode == LinkMode::ib; }
// misc.cpp
extern "C" void softud_unsupported(const char* name, int* once);

}  // namespace softud
