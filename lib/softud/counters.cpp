/* SPDX-License-Identifier: BSD-3-Clause */
#include "counters.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace softud {

const char* const kCounterNames[kCounterCount] = {
    "tx_packets",      "tx_bytes",        "tx_too_long",      "tx_errors",
    "rx_packets",      "rx_bytes",        "drop_no_recv",     "drop_qkey",
    "drop_pkey",       "drop_icrc",       "drop_too_long",    "drop_unknown_qpn",
    "drop_malformed",  "drop_qp_state",   "drop_dlid",        "post_send_calls",
    "post_send_wrs",   "signaled_wrs",    "post_recv_calls",  "post_recv_wrs",
    "poll_cq_calls",   "sendmmsg_calls",  "recvmmsg_calls",   "drop_overflow",
    "shm_tx_batches",  "shm_rx_batches",  "fault_drop",       "fault_dup",
    "fault_reorder",   "fault_corrupt",   "fault_delay",      "fault_wc_err",
    "fault_cq_overrun", "fault_held_at_close", "fault_send_delay", "cq_lost",
    "rx_ip_id_recovered",
};

CounterBlock::CounterBlock() noexcept : local_{}, entries_(local_) {}

CounterBlock::~CounterBlock() { unpublish(); }

int CounterBlock::publish(const std::string& dir, const std::string& device) noexcept {
    if (dir.empty() || map_)
        return 0;
    // A fresh file renamed over the old one: another process that published the same device
    // name keeps its own (now unlinked) mapping instead of seeing it truncated (SIGBUS).
    std::string path = dir + "/" + device + ".counters";
    std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t len = sizeof(CounterFileHeader) + kCounterCount * sizeof(CounterEntry);
    void* m = MAP_FAILED;
    if (::ftruncate(fd, static_cast<off_t>(len)) == 0)
        m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = m == MAP_FAILED ? errno : 0;
    ::close(fd);
    if (err != 0) {
        ::unlink(tmp.c_str());
        return -err;
    }
    auto* hdr = static_cast<CounterFileHeader*>(m);
    std::memcpy(hdr->magic, kCounterMagic, sizeof(hdr->magic));
    hdr->version = kCounterVersion;
    hdr->count = kCounterCount;
    hdr->entry_size = sizeof(CounterEntry);
    hdr->pid = static_cast<int32_t>(::getpid());
    std::strncpy(hdr->device, device.c_str(), sizeof(hdr->device) - 1);
    auto* e = reinterpret_cast<CounterEntry*>(hdr + 1);
    for (size_t i = 0; i < kCounterCount; ++i) {
        std::strncpy(e[i].name, kCounterNames[i], kCounterNameLen - 1);
        e[i].value = 0;  // a file counts from the moment the device's socket is bound
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {  // readers see a complete header
        err = errno;
        ::munmap(m, len);
        ::unlink(tmp.c_str());
        return -err;
    }
    map_ = m;
    map_len_ = len;
    entries_.store(e, std::memory_order_release);
    return 0;
}

void CounterBlock::unpublish() noexcept {
    if (!map_)
        return;
    CounterEntry* e = entries_.load(std::memory_order_acquire);
    for (size_t i = 0; i < kCounterCount; ++i)
        local_[i].value = __atomic_load_n(&e[i].value, __ATOMIC_RELAXED);
    entries_.store(local_, std::memory_order_release);
    // Called when the device's last context closes: no verb of the device can run any more.
    // The file keeps its final values for softud-stat.
    ::munmap(map_, map_len_);
    map_ = nullptr;
    map_len_ = 0;
}

}  // namespace softud
