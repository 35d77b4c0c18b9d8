/* SPDX-License-Identifier: BSD-3-Clause */
// Protection domains and memory regions. An MR records a range of this process's address space
// and its access flags; lkey == rkey, unique per context. SGEs are checked against it at post time.
#include <cerrno>
#include <new>

#include "softud.h"

#undef ibv_reg_mr
#undef ibv_reg_mr_iova

namespace softud {
namespace {

// Access bits softud understands (the optional range may be ignored by any device).
constexpr unsigned kKnownAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                                  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |
                                  IBV_ACCESS_MW_BIND | IBV_ACCESS_ZERO_BASED |
                                  IBV_ACCESS_ON_DEMAND | IBV_ACCESS_HUGETLB |
                                  IBV_ACCESS_RELAXED_ORDERING | IBV_ACCESS_OPTIONAL_RANGE;

ibv_mr* reg(ibv_pd* pd, void* addr, size_t length, uint64_t iova, unsigned access) {
    if (!pd || (access & ~kKnownAccess)) {
        errno = EINVAL;
        return nullptr;
    }
    // Remote write/atomic need local write (ibv_reg_mr(3)).
    if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
        !(access & IBV_ACCESS_LOCAL_WRITE)) {
        errno = EINVAL;
        return nullptr;
    }
    if (!addr && length) {
        errno = EINVAL;
        return nullptr;
    }
    Context* c = from_ibv(pd->context);
    auto* m = new (std::nothrow) Mr;
    if (!m) {
        errno = ENOMEM;
        return nullptr;
    }
    m->start = reinterpret_cast<uintptr_t>(addr);
    m->len = length;
    m->access = static_cast<int>(access);
    std::unique_lock<std::shared_mutex> g(c->mr_lock);
    if (c->mrs.size() >= kMaxMr) {
        delete m;
        errno = ENOMEM;
        return nullptr;
    }
    uint32_t key;
    do {
        key = c->next_key++;
    } while (key == 0 || c->mrs.count(key));
    c->mrs.emplace(key, m);
    m->mr.context = pd->context;
    m->mr.pd = pd;
    m->mr.addr = addr;
    m->mr.length = length;
    m->mr.handle = key;
    m->mr.lkey = key;
    m->mr.rkey = key;
    (void)iova;
    return &m->mr;
}

}  // namespace
}  // namespace softud

using namespace softud;

extern "C" {

ibv_pd* ibv_alloc_pd(ibv_context* context) {
    auto* p = new (std::nothrow) Pd;
    if (!p) {
        errno = ENOMEM;
        return nullptr;
    }
    p->pd.context = context;
    return &p->pd;
}

int ibv_dealloc_pd(ibv_pd* pd) {
    Context* c = from_ibv(pd->context);
    {
        std::shared_lock<std::shared_mutex> g(c->mr_lock);
        for (auto& [k, m] : c->mrs)
            if (m->mr.pd == pd)
                return EBUSY;
    }
    delete from_ibv(pd);
    return 0;
}

ibv_mr* ibv_reg_mr(ibv_pd* pd, void* addr, size_t length, int access) {
    return reg(pd, addr, length, reinterpret_cast<uintptr_t>(addr), static_cast<unsigned>(access));
}

ibv_mr* ibv_reg_mr_iova(ibv_pd* pd, void* addr, size_t length, uint64_t iova, int access) {
    return reg(pd, addr, length, iova, static_cast<unsigned>(access));
}

ibv_mr* ibv_reg_mr_iova2(ibv_pd* pd, void* addr, size_t length, uint64_t iova, unsigned int access) {
    return reg(pd, addr, length, iova, access);
}

int ibv_dereg_mr(ibv_mr* mr) {
    Context* c = from_ibv(mr->context);
    {
        std::unique_lock<std::shared_mutex> g(c->mr_lock);
        c->mrs.erase(mr->lkey);
    }
    delete from_ibv(mr);
    return 0;
}

}  // extern "C"
