/* SPDX-License-Identifier: BSD-3-Clause */
// The memcached side of the registry: server list and behaviours (ketama distribution, auto-eject
// of failed servers, short timeouts), records and name keys with set/get/mget, and the
// membership set with gets + cas. Design: doc/design/registry.md.
#include "registry.h"

#include <libmemcached/memcached.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "keys.h"

namespace rdmaud::registry {
namespace {

// Memcached flags word stored with our values: lets a human with memcat tell them apart.
constexpr uint32_t kFlagsRecord = 0x52554445;   // "RUDE"
constexpr uint32_t kFlagsName = 0x5255444e;     // "RUDN"
constexpr uint32_t kFlagsMembers = 0x5255444d;  // "RUDM"
// Backoff between CAS rounds: contention clears in microseconds on a LAN; cap keeps the bound
// of cas_retries rounds well under a second.
constexpr std::chrono::microseconds kCasBackoffBase{50};
constexpr uint32_t kCasBackoffMaxShift = 6;  // 50 us << 6 = 3.2 ms

bool is_unavailable(memcached_return_t rc) {
    switch (rc) {
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_TIMEOUT:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_ERROR:  // also CONNECTION_SOCKET_CREATE_FAILURE
    case MEMCACHED_SOME_ERRORS:
        return true;
    default:
        return false;
    }
}

std::span<const uint8_t> as_bytes(const char* p, size_t n) {
    return {reinterpret_cast<const uint8_t*>(p), n};
}

uint32_t unix_s() { return static_cast<uint32_t>(unix_ms() / 1000); }

// A value malloc'd by libmemcached.
struct Value {
    char* p = nullptr;
    size_t len = 0;
    ~Value() { std::free(p); }
};

}  // namespace

uint64_t unix_ms() noexcept {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

Status Registry::create(RegistryConfig cfg, std::unique_ptr<Registry>* out) noexcept {
    if (cfg.servers.empty())
        return Status::error(Errc::invalid_argument, "no registry servers configured");
    if (!valid_namespace(cfg.ns))
        return Status::error(Errc::invalid_argument,
                             "namespace '" + cfg.ns + "' is not 1.." + std::to_string(kMaxNameLen) +
                                 " characters of [A-Za-z0-9._-]");
    if (!cfg.key.empty() && (cfg.key.size() < kMinKeyBytes || cfg.key.size() > kMaxKeyBytes))
        return Status::error(Errc::invalid_argument, "HMAC key length out of bounds");
    std::unique_ptr<Registry> r(new (std::nothrow) Registry(std::move(cfg)));
    if (!r)
        return Status::error(Errc::internal, "out of memory");
    Status st = r->setup();
    if (!st)
        return st;
    *out = std::move(r);
    return st;
}

Registry::~Registry() {
    if (mc_ != nullptr)
        memcached_free(mc_);
}

Status Registry::setup() noexcept {
    mc_ = memcached_create(nullptr);
    if (mc_ == nullptr)
        return Status::error(Errc::internal, "memcached_create failed");
    for (const Server& s : cfg_.servers) {
        const memcached_return_t rc = memcached_server_add(mc_, s.host.c_str(), s.port);
        if (rc != MEMCACHED_SUCCESS)
            return Status::error(Errc::invalid_argument, "registry server " + s.host + ":" +
                                                             std::to_string(s.port) + ": " +
                                                             memcached_strerror(mc_, rc));
    }
    const uint64_t connect_ms = static_cast<uint64_t>(cfg_.connect_timeout.count());
    const uint64_t io_ms = static_cast<uint64_t>(cfg_.io_timeout.count());
    // A single server is retried as soon as libmemcached's whole-second clock allows (< 1 s
    // after its return); several keep a failed one out of the ring for retry_timeout.
    const uint64_t retry_s = cfg_.servers.size() > 1 ? static_cast<uint64_t>(cfg_.retry_timeout.count()) : 0;
    const std::pair<memcached_behavior_t, uint64_t> behaviours[] = {
        // Consistent hashing: adding or ejecting one server moves only its share of the keys.
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
        {MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1},  // gets returns the CAS unique the members need
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},     // makes the connect/poll timeouts effective
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},  // small request/response: no Nagle delay
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, connect_ms},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, io_ms},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, io_ms * 1000},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, io_ms * 1000},
        {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, cfg_.failure_limit},
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, retry_s},
        {MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, retry_s},
        // Failover: a failed server leaves the ketama ring so its keys go to the others. With a
        // single server there is nowhere to go; ejecting would only delay noticing its return.
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, cfg_.servers.size() > 1 ? 1u : 0u},
    };
    for (const auto& [b, v] : behaviours) {
        const memcached_return_t rc = memcached_behavior_set(mc_, b, v);
        if (rc != MEMCACHED_SUCCESS)
            return Status::error(Errc::internal, std::string("memcached_behavior_set: ") +
                                                     memcached_strerror(mc_, rc));
    }
    return Status::success();
}

Status Registry::failure(int rc_int, const char* op, const std::string& key) noexcept {
    const auto rc = static_cast<memcached_return_t>(rc_int);
    std::string where = "?";
    memcached_return_t lrc = MEMCACHED_SUCCESS;
    const memcached_instance_st* inst = memcached_server_by_key(mc_, key.data(), key.size(), &lrc);
    if (inst != nullptr)
        where = std::string(memcached_server_name(inst)) + ":" + std::to_string(memcached_server_port(inst));
    else if (!cfg_.servers.empty())
        where = format_servers(cfg_.servers);
    std::string msg = std::string(op) + " " + key + " on " + where + ": " + memcached_strerror(mc_, rc);
    // libmemcached's detail: "(0x<memcached_st>) TEXT, host: h:p -> file:line"; keep TEXT only.
    if (rc != MEMCACHED_NOTFOUND) {
        const char* d = memcached_last_error_message(mc_);
        std::string_view detail = d ? d : "";
        if (detail.starts_with("(0x") && detail.find(") ") != std::string_view::npos)
            detail.remove_prefix(detail.find(") ") + 2);
        detail = detail.substr(0, detail.find(",  host:"));
        if (!detail.empty() && detail != "SUCCESS" && detail != memcached_strerror(mc_, rc))
            msg += " (" + std::string(detail) + ")";
    }
    Errc code = Errc::internal;
    if (rc == MEMCACHED_NOTFOUND)
        code = Errc::not_found;
    else if (rc == MEMCACHED_E2BIG)
        code = Errc::too_large;
    else if (rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTSTORED)
        code = Errc::conflict;
    else if (is_unavailable(rc))
        code = Errc::unavailable;
    return Status::error(code, std::move(msg));
}

Status Registry::set_raw(const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s) noexcept {
    const memcached_return_t rc =
        memcached_set(mc_, key.data(), key.size(), reinterpret_cast<const char*>(value.data()),
                      value.size(), static_cast<time_t>(ttl_s), kFlagsRecord);
    return rc == MEMCACHED_SUCCESS ? Status::success() : failure(rc, "set", key);
}

Status Registry::get_raw(const std::string& key, std::vector<uint8_t>* value) noexcept {
    Value v;
    uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    v.p = memcached_get(mc_, key.data(), key.size(), &v.len, &flags, &rc);
    if (rc != MEMCACHED_SUCCESS)
        return failure(rc, "get", key);
    value->assign(v.p, v.p + (v.p ? v.len : 0));
    return Status::success();
}

Status Registry::decode_for(std::span<const uint8_t> v, const Mac& mac, const std::string& key,
                            EndpointRecord* out) noexcept {
    EndpointRecord r;
    RejectCause cause = decode_record(v, cfg_.ns, cfg_.key, &r);
    if (cause == RejectCause::none && r.mac != mac)
        cause = RejectCause::mismatch;  // a valid record copied under another MAC's key
    if (cause != RejectCause::none)
        return Status::reject(cause, "record " + key + " rejected: " + reject_cause_name(cause));
    *out = std::move(r);
    return Status::success();
}

Status Registry::publish(EndpointRecord* r, uint32_t ttl_s) noexcept {
    r->ttl_s = ttl_s;
    r->publish_ms = unix_ms();
    std::vector<uint8_t> bytes;
    if (!encode_record(*r, cfg_.ns, cfg_.key, &bytes))
        return Status::error(Errc::invalid_argument,
                             "record of " + format_mac(r->mac) + " is invalid (bounds in record.h)");
    const std::string ek = endpoint_key(cfg_.ns, r->mac);
    memcached_return_t rc = memcached_set(mc_, ek.data(), ek.size(), reinterpret_cast<const char*>(bytes.data()),
                                          bytes.size(), static_cast<time_t>(ttl_s), kFlagsRecord);
    if (rc != MEMCACHED_SUCCESS)
        return failure(rc, "set", ek);
    if (!r->name.empty()) {
        const std::string nk = name_key(cfg_.ns, r->name);
        const std::string mac = format_mac(r->mac);
        rc = memcached_set(mc_, nk.data(), nk.size(), mac.data(), mac.size(), static_cast<time_t>(ttl_s),
                           kFlagsName);
        if (rc != MEMCACHED_SUCCESS)
            return failure(rc, "set", nk);
    }
    return join(r->mac, ttl_s);
}

Status Registry::resolve(const Mac& mac, EndpointRecord* out) noexcept {
    const std::string key = endpoint_key(cfg_.ns, mac);
    std::vector<uint8_t> v;
    Status st = get_raw(key, &v);
    if (!st)
        return st;
    return decode_for(v, mac, key, out);
}

Status Registry::resolve_many(std::span<const Mac> macs, std::vector<Lookup>* out) noexcept {
    out->clear();
    out->resize(macs.size());
    for (size_t base = 0; base < macs.size(); base += kMgetBatch) {
        const size_t n = std::min(kMgetBatch, macs.size() - base);
        std::vector<std::string> keys(n);
        std::vector<const char*> kp(n);
        std::vector<size_t> kl(n);
        std::map<std::string_view, size_t> index;
        std::vector<bool> answered(n, false);
        for (size_t i = 0; i < n; i++) {
            (*out)[base + i].mac = macs[base + i];
            keys[i] = endpoint_key(cfg_.ns, macs[base + i]);
            kp[i] = keys[i].data();
            kl[i] = keys[i].size();
            index.emplace(keys[i], i);
        }
        memcached_return_t rc = memcached_mget(mc_, kp.data(), kl.data(), n);
        bool trouble = rc != MEMCACHED_SUCCESS;
        Status first_err;
        if (trouble)
            first_err = failure(rc, "mget", keys[0]);
        if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_SOME_ERRORS) {
            memcached_result_st* res;
            while ((res = memcached_fetch_result(mc_, nullptr, &rc)) != nullptr) {
                const std::string_view k(memcached_result_key_value(res), memcached_result_key_length(res));
                auto it = index.find(k);
                if (it != index.end() && !answered[it->second]) {
                    const size_t i = it->second;
                    answered[i] = true;
                    Lookup& l = (*out)[base + i];
                    l.status = decode_for(as_bytes(memcached_result_value(res), memcached_result_length(res)),
                                          l.mac, keys[i], &l.record);
                }
                memcached_result_free(res);
            }
            if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
                if (!trouble)
                    first_err = failure(rc, "mget", keys[0]);
                trouble = true;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (answered[i])
                continue;
            // libmemcached's mget silently skips a server it has marked failed, and does not
            // count toward ejecting it: a key it owns would look "not found" for as long as the
            // server is down. Ask such keys with a plain get, which reports the truth and drives
            // the failure accounting that ejects the server from the ring.
            if (server_failed(keys[i])) {
                Lookup& l = (*out)[base + i];
                std::vector<uint8_t> v;
                l.status = get_raw(keys[i], &v);
                if (l.status)
                    l.status = decode_for(v, l.mac, keys[i], &l.record);
                continue;
            }
            // A server that failed may hold the key: that is not "not found".
            (*out)[base + i].status =
                trouble ? Status::error(first_err.code == Errc::not_found ? Errc::unavailable : first_err.code,
                                        first_err.message)
                        : Status::error(Errc::not_found, "no record " + keys[i]);
        }
    }
    return Status::success();
}

bool Registry::server_failed(const std::string& key) noexcept {
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st* inst = memcached_server_by_key(mc_, key.data(), key.size(), &rc);
    return inst != nullptr && is_unavailable(memcached_server_error_return(inst));
}

Status Registry::resolve_name(std::string_view name, EndpointRecord* out) noexcept {
    if (name.empty() || !valid_name(name))
        return Status::error(Errc::invalid_argument, "invalid endpoint name '" + std::string(name) + "'");
    const std::string nk = name_key(cfg_.ns, name);
    std::vector<uint8_t> v;
    Status st = get_raw(nk, &v);
    if (!st)
        return st;
    Mac mac;
    if (!parse_mac(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()), &mac) ||
        !valid_unicast_mac(mac))
        return Status::reject(RejectCause::malformed, "name key " + nk + " does not hold a unicast MAC");
    EndpointRecord r;
    st = resolve(mac, &r);
    if (!st)
        return st;
    if (r.name != name)  // an unkeyed writer can point a name anywhere; the signed record decides
        return Status::reject(RejectCause::mismatch,
                              "name key " + nk + " points to " + format_mac(mac) + " whose record is named '" +
                                  r.name + "'");
    *out = std::move(r);
    return Status::success();
}

template <class Update>
Status Registry::update_members(const Mac& mac, Update&& update, const char* op) noexcept {
    const std::string key = members_key(cfg_.ns, member_shard(mac));
    const char* kp = key.data();
    const size_t kl = key.size();
    std::minstd_rand jitter(static_cast<uint32_t>(unix_ms()) ^ static_cast<uint32_t>(reinterpret_cast<uintptr_t>(this)));
    for (uint32_t attempt = 0; attempt <= cfg_.cas_retries; attempt++) {
        if (attempt > 0) {
            const auto cap = kCasBackoffBase * (1u << std::min(attempt - 1, kCasBackoffMaxShift));
            std::this_thread::sleep_for(std::chrono::microseconds(jitter() % (cap.count() + 1)));
        }
        memcached_return_t rc = memcached_mget(mc_, &kp, &kl, 1);
        if (rc != MEMCACHED_SUCCESS)
            return failure(rc, "gets", key);
        bool found = false;
        uint64_t cas = 0;
        std::vector<Member> set;
        memcached_result_st* res;
        while ((res = memcached_fetch_result(mc_, nullptr, &rc)) != nullptr) {
            if (!found) {
                found = true;
                cas = memcached_result_cas(res);
                // A corrupt set is replaced rather than trusted; members re-join on refresh.
                if (decode_members(as_bytes(memcached_result_value(res), memcached_result_length(res)), &set) !=
                    RejectCause::none)
                    set.clear();
            }
            memcached_result_free(res);
        }
        if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
            return failure(rc, "gets", key);
        if (!update(&set))
            return Status::error(Errc::too_large, std::string(op) + " " + key + ": membership set full (" +
                                                      std::to_string(kMaxMembers) + ")");
        const std::vector<uint8_t> bytes = encode_members(set);
        const char* vp = reinterpret_cast<const char*>(bytes.data());
        rc = found ? memcached_cas(mc_, kp, kl, vp, bytes.size(), 0, kFlagsMembers, cas)
                   : memcached_add(mc_, kp, kl, vp, bytes.size(), 0, kFlagsMembers);
        if (rc == MEMCACHED_SUCCESS)
            return Status::success();
        // Someone else won this round (cas: DATA_EXISTS or the key vanished; add: NOTSTORED).
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_NOTFOUND)
            return failure(rc, found ? "cas" : "add", key);
    }
    return Status::error(Errc::conflict, std::string(op) + " " + key + ": still contended after " +
                                             std::to_string(cfg_.cas_retries) + " CAS retries");
}

Status Registry::join(const Mac& mac, uint32_t ttl_s) noexcept {
    if (!valid_unicast_mac(mac))
        return Status::error(Errc::invalid_argument, "join: " + format_mac(mac) + " is not a unicast MAC");
    const uint32_t now = unix_s();
    return update_members(mac, [&](std::vector<Member>* s) { return members_join(s, mac, now + ttl_s, now); },
                          "join");
}

Status Registry::leave(const Mac& mac) noexcept {
    const uint32_t now = unix_s();
    return update_members(
        mac, [&](std::vector<Member>* s) {
            members_leave(s, mac, now);
            return true;
        },
        "leave");
}

Status Registry::members(std::vector<Member>* out) noexcept {
    // All shards in one mget. A missing shard is an empty one; a corrupt shard is an error.
    std::vector<std::string> keys(kMemberShards);
    std::vector<const char*> kp(kMemberShards);
    std::vector<size_t> kl(kMemberShards);
    for (uint32_t i = 0; i < kMemberShards; i++) {
        keys[i] = members_key(cfg_.ns, i);
        kp[i] = keys[i].data();
        kl[i] = keys[i].size();
    }
    memcached_return_t rc = memcached_mget(mc_, kp.data(), kl.data(), kMemberShards);
    if (rc != MEMCACHED_SUCCESS)
        return failure(rc, "mget", keys[0]);
    std::vector<Member> all;
    Status bad;
    memcached_result_st* res;
    while ((res = memcached_fetch_result(mc_, nullptr, &rc)) != nullptr) {
        std::vector<Member> shard;
        const RejectCause cause =
            decode_members(as_bytes(memcached_result_value(res), memcached_result_length(res)), &shard);
        if (cause != RejectCause::none && bad.ok())
            bad = Status::reject(cause, "membership set " +
                                            std::string(memcached_result_key_value(res), memcached_result_key_length(res)) +
                                            " rejected: " + reject_cause_name(cause));
        all.insert(all.end(), shard.begin(), shard.end());
        memcached_result_free(res);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
        return failure(rc, "mget", keys[0]);  // a shard we could not read: the set is incomplete
    const uint32_t now = unix_s();
    std::erase_if(all, [now](const Member& m) { return m.expires_s <= now; });
    std::sort(all.begin(), all.end(), [](const Member& x, const Member& y) { return x.mac < y.mac; });
    *out = std::move(all);
    return bad.ok() ? Status::success() : bad;
}

Status Registry::list(std::vector<EndpointRecord>* out, std::vector<Lookup>* problems) noexcept {
    std::vector<Member> set;
    Status st = members(&set);
    if (!st)
        return st;
    std::vector<Mac> macs;
    macs.reserve(set.size());
    for (const Member& m : set)
        macs.push_back(m.mac);
    std::vector<Lookup> found;
    st = resolve_many(macs, &found);
    if (!st)
        return st;
    out->clear();
    if (problems)
        problems->clear();
    for (Lookup& l : found) {
        if (l.status.ok())
            out->push_back(std::move(l.record));
        else if (problems)
            problems->push_back(std::move(l));
    }
    return Status::success();
}

Status Registry::remove(const Mac& mac) noexcept {
    const std::string ek = endpoint_key(cfg_.ns, mac);
    // The name key is deleted only if it still names this MAC (a newer endpoint may own it).
    std::vector<uint8_t> v;
    Status st = get_raw(ek, &v);
    if (!st && st.code != Errc::not_found)
        return st;
    if (st) {
        EndpointRecord r;
        // Without a valid record we cannot know the name; its key then expires with its TTL.
        if (decode_record(v, cfg_.ns, cfg_.key, &r) == RejectCause::none && !r.name.empty()) {
            const std::string nk = name_key(cfg_.ns, r.name);
            std::vector<uint8_t> nv;
            Mac owner;
            if (get_raw(nk, &nv) &&
                parse_mac(std::string_view(reinterpret_cast<const char*>(nv.data()), nv.size()), &owner) &&
                owner == mac) {
                const memcached_return_t rc = memcached_delete(mc_, nk.data(), nk.size(), 0);
                if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
                    return failure(rc, "delete", nk);
            }
        }
        const memcached_return_t rc = memcached_delete(mc_, ek.data(), ek.size(), 0);
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
            return failure(rc, "delete", ek);
    }
    return leave(mac);
}

Status Registry::purge(size_t* removed) noexcept {
    *removed = 0;
    std::vector<Member> set;
    Status st = members(&set);
    if (!st && st.code != Errc::rejected)
        return st;
    for (const Member& m : set) {
        const std::string ek = endpoint_key(cfg_.ns, m.mac);
        std::vector<uint8_t> v;
        EndpointRecord r;
        if (get_raw(ek, &v) && decode_record(v, cfg_.ns, cfg_.key, &r) == RejectCause::none && !r.name.empty()) {
            const std::string nk = name_key(cfg_.ns, r.name);
            memcached_delete(mc_, nk.data(), nk.size(), 0);
        }
        const memcached_return_t rc = memcached_delete(mc_, ek.data(), ek.size(), 0);
        if (rc == MEMCACHED_SUCCESS)
            ++*removed;
        else if (rc != MEMCACHED_NOTFOUND)
            return failure(rc, "delete", ek);
    }
    for (uint32_t i = 0; i < kMemberShards; i++) {
        const std::string key = members_key(cfg_.ns, i);
        const memcached_return_t rc = memcached_delete(mc_, key.data(), key.size(), 0);
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
            return failure(rc, "delete", key);
    }
    return Status::success();
}

}  // namespace rdmaud::registry
