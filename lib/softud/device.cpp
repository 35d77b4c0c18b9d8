/* SPDX-License-Identifier: BSD-3-Clause */
// Devices and contexts: the device list from the environment, open/close, and the query verbs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "softud.h"

#undef ibv_get_device_list
#undef ibv_query_port

namespace softud {
namespace {

constexpr uint32_t kVendorId = 0x000000;      // no IEEE OUI: a software device
constexpr uint32_t kVendorPartId = 0x5d;      // arbitrary, stable
constexpr char kFwVer[] = "softud-0.1";
constexpr uint64_t kMaxMrSize = 1ull << 40;   // any process address range

std::mutex g_devices_lock;
// Never freed (nor destroyed at exit: the exit-time withdraw below still walks it), so
// ibv_device pointers stay valid.
std::vector<Device*>& g_devices = *new std::vector<Device*>;

Device* find_or_make(const DeviceConfig& c) {
    for (Device* d : g_devices)
        if (d->cfg.name == c.name && d->cfg.addr_be == c.addr_be && d->cfg.mode == c.mode &&
            d->cfg.mtu == c.mtu)
            return d;
    auto* d = new (std::nothrow) Device;
    if (!d)
        return nullptr;
    d->cfg = c;
    d->dev.node_type = IBV_NODE_CA;
    d->dev.transport_type = IBV_TRANSPORT_IB;
    std::snprintf(d->dev.name, sizeof(d->dev.name), "%s", c.name.c_str());
    std::snprintf(d->dev.dev_name, sizeof(d->dev.dev_name), "uverbs_%s", c.name.c_str());
    std::snprintf(d->dev.dev_path, sizeof(d->dev.dev_path), "/sys/class/infiniband_verbs/uverbs_%s",
                  c.name.c_str());
    std::snprintf(d->dev.ibdev_path, sizeof(d->dev.ibdev_path), "/sys/class/infiniband/%s",
                  c.name.c_str());
    const auto* ip = reinterpret_cast<const uint8_t*>(&c.addr_be);
    // Locally administered EUI-64 "02:53:55:44" ("SUD") + the IPv4 address: unique per device.
    uint8_t guid[8] = {0x02, 0x53, 0x55, 0x44, ip[0], ip[1], ip[2], ip[3]};
    std::memcpy(&d->guid_be, guid, 8);
    d->lid = wire::lid_from_ipv4(c.addr_be).value_or(0);
    if (c.mode == LinkMode::roce) {
        wire::ipv4_mapped_gid(c.addr_be, std::span<uint8_t, 16>(d->gid, 16));
    } else {
        d->gid[0] = 0xfe;  // link-local subnet prefix fe80::/64 + port GUID
        d->gid[1] = 0x80;
        std::memcpy(d->gid + 8, guid, 8);
    }
    g_devices.push_back(d);
    return d;
}

// A program that exits without closing its devices must not leave mailboxes in /dev/shm that
// senders would have to find dead (they would, via the owner pid, but the files would pile up).
__attribute__((destructor)) void withdraw_mailboxes_at_exit() {
    std::lock_guard<std::mutex> g(g_devices_lock);
    for (Device* d : g_devices)
        if (Transport* tp = d->tp_fast.load(std::memory_order_acquire); tp && tp->mb)
            tp->mb->withdraw();
}

int query_port_impl(ibv_context* ctx, uint8_t port, ibv_port_attr* out, size_t len) {
    if (port != kPortNum)
        return EINVAL;
    Device* d = from_ibv(ctx)->dev;
    ibv_port_attr a{};
    const bool up = port_ctl_read(d) == kPortActive;  // the port control file (async.cpp)
    a.state = up ? IBV_PORT_ACTIVE : IBV_PORT_DOWN;
    a.max_mtu = IBV_MTU_4096;
    a.active_mtu = d->cfg.mtu;
    a.gid_tbl_len = kGidTableLen;
    a.port_cap_flags = is_ib(d) ? 0 : IBV_PORT_CM_SUP;
    a.max_msg_sz = mtu_bytes(d->cfg.mtu);  // UD: one message is one packet
    a.bad_pkey_cntr = static_cast<uint32_t>(std::min<uint64_t>(d->ctr.get(Counter::drop_pkey), 0xffff));
    a.qkey_viol_cntr = static_cast<uint32_t>(std::min<uint64_t>(d->ctr.get(Counter::drop_qkey), 0xffff));
    a.pkey_tbl_len = kPkeyTableLen;
    a.lid = is_ib(d) ? d->lid : 0;
    a.sm_lid = is_ib(d) ? d->lid : 0;  // every softud IB port is its own subnet manager
    a.lmc = 0;
    a.max_vl_num = 1;                   // VL0 only
    a.sm_sl = 0;
    a.subnet_timeout = 0;
    a.init_type_reply = 0;
    a.active_width = 2;                 // 4X
    a.active_speed = 32;                // EDR (25 Gb/s per lane): nominal
    a.phys_state = up ? 5 : 3;          // LinkUp / Disabled
    a.link_layer = is_ib(d) ? IBV_LINK_LAYER_INFINIBAND : IBV_LINK_LAYER_ETHERNET;
    a.flags = 0;
    a.port_cap_flags2 = 0;
    std::memcpy(out, &a, std::min(len, sizeof(a)));
    return 0;
}

void fill_device_attr(Device* d, ibv_device_attr& a) {
    std::memset(&a, 0, sizeof(a));
    std::snprintf(a.fw_ver, sizeof(a.fw_ver), "%s", kFwVer);
    a.node_guid = d->guid_be;
    a.sys_image_guid = d->guid_be;
    a.max_mr_size = kMaxMrSize;
    a.page_size_cap = 0xfffff000;  // any 4 KiB multiple
    a.vendor_id = kVendorId;
    a.vendor_part_id = kVendorPartId;
    a.hw_ver = 1;
    a.max_qp = kMaxQp;
    a.max_qp_wr = kMaxQpWr;
    a.device_cap_flags = IBV_DEVICE_PORT_ACTIVE_EVENT;
    a.max_sge = kMaxSge;
    a.max_sge_rd = 0;
    a.max_cq = kMaxQp * 2;
    a.max_cqe = kMaxCqe;
    a.max_mr = kMaxMr;
    a.max_pd = kMaxPd;
    a.atomic_cap = IBV_ATOMIC_NONE;
    a.max_ah = kMaxAh;
    a.max_pkeys = kPkeyTableLen;
    a.local_ca_ack_delay = 0;
    a.phys_port_cnt = 1;
}

int query_device_ex_impl(ibv_context* ctx, const ibv_query_device_ex_input* input,
                         ibv_device_attr_ex* out, size_t len) {
    if (input && input->comp_mask)
        return EINVAL;
    if (len < sizeof(ibv_device_attr))
        return EINVAL;
    ibv_device_attr_ex a{};
    fill_device_attr(from_ibv(ctx)->dev, a.orig_attr);
    a.max_dm_size = 0;
    std::memcpy(out, &a, std::min(len, sizeof(a)));
    return 0;
}

}  // namespace
}  // namespace softud

using namespace softud;

// Implemented in tx.cpp / rx.cpp / cq.cpp with C linkage but not exported.
extern "C" int softud_post_send(ibv_qp*, ibv_send_wr*, ibv_send_wr**);
extern "C" int softud_post_recv(ibv_qp*, ibv_recv_wr*, ibv_recv_wr**);
extern "C" int softud_poll_cq(ibv_cq*, int, ibv_wc*);
extern "C" int softud_req_notify_cq(ibv_cq*, int);

extern "C" {

ibv_device** ibv_get_device_list(int* num) {
    std::vector<DeviceConfig> cfgs = devices_from_env();
    std::lock_guard<std::mutex> g(g_devices_lock);
    auto** list = static_cast<ibv_device**>(std::calloc(cfgs.size() + 1, sizeof(ibv_device*)));
    if (!list) {
        errno = ENOMEM;
        return nullptr;
    }
    size_t n = 0;
    for (const auto& c : cfgs)
        if (Device* d = find_or_make(c))
            list[n++] = &d->dev;
    if (num)
        *num = static_cast<int>(n);
    return list;
}

void ibv_free_device_list(ibv_device** list) { std::free(list); }

const char* ibv_get_device_name(ibv_device* dev) { return dev ? dev->name : nullptr; }

__be64 ibv_get_device_guid(ibv_device* dev) { return from_ibv(dev)->guid_be; }

int ibv_get_device_index(ibv_device* dev) {
    std::lock_guard<std::mutex> g(g_devices_lock);
    auto it = std::find(g_devices.begin(), g_devices.end(), from_ibv(dev));
    if (it == g_devices.end()) {
        errno = ENODEV;
        return -1;
    }
    return static_cast<int>(it - g_devices.begin());
}

ibv_context* ibv_open_device(ibv_device* device) {
    Device* d = from_ibv(device);
    auto* c = new (std::nothrow) Context;
    if (!c) {
        errno = ENOMEM;
        return nullptr;
    }
    c->dev = d;
    verbs_context& v = c->vctx;
    v.sz = sizeof(verbs_context);
    v.query_port = query_port_impl;
    v.query_device_ex = query_device_ex_impl;
    ibv_context& ctx = v.context;
    ctx.device = device;
    ctx.ops.post_send = softud_post_send;
    ctx.ops.post_recv = softud_post_recv;
    ctx.ops.poll_cq = softud_poll_cq;
    ctx.ops.req_notify_cq = softud_req_notify_cq;
    ctx.cmd_fd = -1;
    if (int e = async_open(c); e != 0) {
        delete c;
        errno = e;
        return nullptr;
    }
    ctx.num_comp_vectors = 1;
    pthread_mutex_init(&ctx.mutex, nullptr);
    ctx.abi_compat = __VERBS_ABI_IS_EXTENDED;
    std::lock_guard<std::mutex> g(d->lock);
    ++d->open_contexts;
    return &ctx;
}

int ibv_close_device(ibv_context* context) {
    Context* c = from_ibv(context);
    Device* d = c->dev;
    {
        std::lock_guard<std::mutex> g(d->lock);
        if (--d->open_contexts == 0)
            transport_release_locked(d);
    }
    async_close(c);
    pthread_mutex_destroy(&context->mutex);
    delete c;
    return 0;
}

int ibv_query_device(ibv_context* context, ibv_device_attr* attr) {
    fill_device_attr(from_ibv(context)->dev, *attr);
    return 0;
}

// The exported (pre-extension) entry point: callers built against older headers pass the
// shorter legacy struct, which ends before port_cap_flags2.
int ibv_query_port(ibv_context* context, uint8_t port_num, struct _compat_ibv_port_attr* attr) {
    return query_port_impl(context, port_num, reinterpret_cast<ibv_port_attr*>(attr),
                           offsetof(ibv_port_attr, port_cap_flags2));
}

int ibv_query_gid(ibv_context* context, uint8_t port_num, int index, ibv_gid* gid) {
    if (port_num != kPortNum || index < 0 || index >= kGidTableLen)
        return -1;  // rdma-core returns -1 here
    std::memcpy(gid->raw, from_ibv(context)->dev->gid, 16);
    return 0;
}

int _ibv_query_gid_ex(ibv_context* context, uint32_t port_num, uint32_t gid_index,
                      ibv_gid_entry* entry, uint32_t flags, size_t entry_size) {
    if (flags)
        return EINVAL;
    if (port_num != kPortNum)
        return EINVAL;
    if (gid_index >= kGidTableLen)
        return ENODATA;
    Device* d = from_ibv(context)->dev;
    ibv_gid_entry e{};
    std::memcpy(e.gid.raw, d->gid, 16);
    e.gid_index = gid_index;
    e.port_num = port_num;
    e.gid_type = is_ib(d) ? IBV_GID_TYPE_IB : IBV_GID_TYPE_ROCE_V2;
    e.ndev_ifindex = 0;
    std::memcpy(entry, &e, std::min(entry_size, sizeof(e)));
    return 0;
}

ssize_t _ibv_query_gid_table(ibv_context* context, ibv_gid_entry* entries, size_t max_entries,
                             uint32_t flags, size_t entry_size) {
    if (flags)
        return -EINVAL;
    if (max_entries < kGidTableLen)
        return -EINVAL;
    int rc = _ibv_query_gid_ex(context, kPortNum, 0, entries, 0, entry_size);
    return rc ? -rc : kGidTableLen;
}

// rdma-core's private helper (ibv_devinfo uses it): sysfs GID type of a GID table entry.
// Values of enum ibv_gid_type_sysfs: 0 = IB/RoCE v1, 1 = RoCE v2.
int ibv_query_gid_type(ibv_context* context, uint8_t port_num, unsigned int index, int* type) {
    if (port_num != kPortNum || index >= static_cast<unsigned>(kGidTableLen)) {
        errno = EINVAL;
        return -1;
    }
    *type = is_ib(from_ibv(context)->dev) ? 0 : 1;
    return 0;
}

int ibv_query_pkey(ibv_context*, uint8_t port_num, int index, __be16* pkey) {
    if (port_num != kPortNum || index < 0 || index >= kPkeyTableLen)
        return -1;
    *pkey = htons(wire::kDefaultPkey);
    return 0;
}

int ibv_get_pkey_index(ibv_context*, uint8_t port_num, __be16 pkey) {
    if (port_num != kPortNum)
        return -1;
    return ntohs(pkey) == wire::kDefaultPkey ? 0 : -1;
}

// Reads <dir>/<file> like rdma-core: returns the length read (trailing newline removed) or -1.
int ibv_read_sysfs_file(const char* dir, const char* file, char* buf, size_t size) {
    char path[512];
    if (std::snprintf(path, sizeof(path), "%s/%s", dir, file) >= static_cast<int>(sizeof(path))) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = ::read(fd, buf, size);
    int e = errno;
    ::close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (static_cast<size_t>(n) < size)
        buf[n] = '\0';
    return static_cast<int>(n);
}

}  // extern "C"
