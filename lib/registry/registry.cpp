/* SPDX-License-Identifier: BSD-3-Clause */
// The memcached side of the registry: servers as mirrors (one memcached_st each, short timeouts,
// a failed one rested while another answers), records and name keys with set/get/mget merged
// over the mirrors, and the membership set with gets + cas on each. Design:
// doc/design/registry.md.
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

// One registry server. Each has its own single-server memcached_st: libmemcached's multi-server
// mode distributes keys (each record on one server), and a fresh client only moves a dead
// server's keys elsewhere after failing on it twice, retry_timeout apart.
struct Registry::Mirror {
    Server server;
    std::string where;  // "host:port", for messages
    memcached_st* mc = nullptr;
    // After a failure the server is not asked before this while another one answers.
    std::chrono::steady_clock::time_point rest_until{};
    // A failure happened: the client is rebuilt before the next call. libmemcached keeps a
    // failed server "temporarily disabled" until its whole-second clock ticks (up to 1 s after
    // the server returned, measured); a new client connects at once.
    bool rebuild = false;
    Mirror() = default;
    Mirror(const Mirror&) = delete;
    Mirror& operator=(const Mirror&) = delete;
    ~Mirror() {
        if (mc != nullptr)
            memcached_free(mc);
    }
};

Registry::Registry(RegistryConfig cfg) noexcept : cfg_(std::move(cfg)) {}

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

Registry::~Registry() = default;

Status Registry::setup() noexcept {
    for (const Server& s : cfg_.servers) {
        auto m = std::make_unique<Mirror>();
        m->server = s;
        m->where = s.host + ":" + std::to_string(s.port);
        if (Status st = connect(*m); !st)
            return st;
        mirrors_.push_back(std::move(m));
    }
    return Status::success();
}

// (Re)builds the mirror's client; it connects lazily, on the first call.
Status Registry::connect(Mirror& m) noexcept {
    const uint64_t connect_ms = static_cast<uint64_t>(cfg_.connect_timeout.count());
    const uint64_t io_ms = static_cast<uint64_t>(cfg_.io_timeout.count());
    const std::pair<memcached_behavior_t, uint64_t> behaviours[] = {
        {MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1},  // gets returns the CAS unique the members need
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},     // makes the connect/poll timeouts effective
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},  // small request/response: no Nagle delay
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, connect_ms},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, io_ms},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, io_ms * 1000},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, io_ms * 1000},
        // A client's only server is never ejected: resting a failed mirror is done here.
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
    };
    memcached_st* mc = memcached_create(nullptr);
    if (mc == nullptr)
        return Status::error(Errc::internal, "memcached_create failed");
    Status st;
    memcached_return_t rc = memcached_server_add(mc, m.server.host.c_str(), m.server.port);
    if (rc != MEMCACHED_SUCCESS)
        st = Status::error(Errc::invalid_argument, "registry server " + m.where + ": " + memcached_strerror(mc, rc));
    for (const auto& [b, v] : behaviours)
        if (st && (rc = memcached_behavior_set(mc, b, v)) != MEMCACHED_SUCCESS)
            st = Status::error(Errc::internal, std::string("memcached_behavior_set: ") + memcached_strerror(mc, rc));
    if (!st) {
        memcached_free(mc);  // the mirror keeps its previous client, if any
        return st;
    }
    if (m.mc != nullptr)
        memcached_free(m.mc);
    m.mc = mc;
    m.rebuild = false;
    return st;
}

std::vector<Registry::Mirror*> Registry::live() noexcept {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Mirror*> out;
    for (const auto& m : mirrors_)
        if (m->rest_until <= now)
            out.push_back(m.get());
    if (out.empty())  // all resting: ask them all, someone must notice a return
        for (const auto& m : mirrors_)
            out.push_back(m.get());
    for (Mirror* m : out)
        if (m->rebuild)
            connect(*m);  // on failure (out of memory) the old client serves and rebuild stays set
    return out;
}

template <class Op>
Status Registry::on_each(Op&& op) noexcept {
    Status first;
    bool done = false;
    for (Mirror* m : live()) {
        Status st = op(*m);
        if (st)
            done = true;
        else if (first.ok())
            first = std::move(st);
    }
    return done ? Status::success() : first;
}

Status Registry::failure(Mirror& m, int rc_int, const char* op, const std::string& key) noexcept {
    const auto rc = static_cast<memcached_return_t>(rc_int);
    std::string msg = std::string(op) + " " + key + " on " + m.where + ": " + memcached_strerror(m.mc, rc);
    // libmemcached's detail: "(0x<memcached_st>) TEXT, host: h:p -> file:line"; keep TEXT only.
    if (rc != MEMCACHED_NOTFOUND) {
        const char* d = memcached_last_error_message(m.mc);
        std::string_view detail = d ? d : "";
        if (detail.starts_with("(0x") && detail.find(") ") != std::string_view::npos)
            detail.remove_prefix(detail.find(") ") + 2);
        detail = detail.substr(0, detail.find(",  host:"));
        if (!detail.empty() && detail != "SUCCESS" && detail != memcached_strerror(m.mc, rc))
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
    if (code == Errc::unavailable) {
        server_failures_++;
        m.rebuild = true;
        if (mirrors_.size() > 1)
            m.rest_until = std::chrono::steady_clock::now() + cfg_.retry_timeout;
    }
    return Status::error(code, std::move(msg));
}

Status Registry::get_on(Mirror& m, const std::string& key, std::vector<uint8_t>* value) noexcept {
    Value v;
    uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    v.p = memcached_get(m.mc, key.data(), key.size(), &v.len, &flags, &rc);
    if (rc != MEMCACHED_SUCCESS)
        return failure(m, rc, "get", key);
    value->assign(v.p, v.p + (v.p ? v.len : 0));
    return Status::success();
}

Status Registry::set_on(Mirror& m, const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s,
                        uint32_t flags) noexcept {
    const memcached_return_t rc = memcached_set(m.mc, key.data(), key.size(), reinterpret_cast<const char*>(value.data()),
                                                value.size(), static_cast<time_t>(ttl_s), flags);
    return rc == MEMCACHED_SUCCESS ? Status::success() : failure(m, rc, "set", key);
}

// not_found when there was nothing to delete.
Status Registry::delete_on(Mirror& m, const std::string& key) noexcept {
    const memcached_return_t rc = memcached_delete(m.mc, key.data(), key.size(), 0);
    return rc == MEMCACHED_SUCCESS ? Status::success() : failure(m, rc, "delete", key);
}

Status Registry::set_raw(const std::string& key, std::span<const uint8_t> value, uint32_t ttl_s) noexcept {
    return on_each([&](Mirror& m) { return set_on(m, key, value, ttl_s, kFlagsRecord); });
}

Status Registry::get_raw(const std::string& key, std::vector<uint8_t>* value) noexcept {
    Status missing, down;
    for (Mirror* m : live()) {
        Status st = get_on(*m, key, value);
        if (st)
            return st;
        if (st.code == Errc::not_found) {
            if (missing.ok())
                missing = std::move(st);
        } else if (down.ok()) {
            down = std::move(st);
        }
    }
    return missing.ok() ? down : missing;  // one server saying "no such key" is an answer
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

Status Registry::publish(EndpointRecord* r, uint32_t ttl_s, bool member) noexcept {
    r->ttl_s = ttl_s;
    r->publish_ms = unix_ms();
    std::vector<uint8_t> bytes;
    if (!encode_record(*r, cfg_.ns, cfg_.key, &bytes))
        return Status::error(Errc::invalid_argument,
                             "record of " + format_mac(r->mac) + " is invalid (bounds in record.h)");
    const std::string ek = endpoint_key(cfg_.ns, r->mac);
    const std::string nk = r->name.empty() ? std::string() : name_key(cfg_.ns, r->name);
    const std::string mac = format_mac(r->mac);
    const uint32_t now = unix_s();
    return on_each([&](Mirror& m) {
        Status st = set_on(m, ek, bytes, ttl_s, kFlagsRecord);
        if (st && !nk.empty())
            st = set_on(m, nk, as_bytes(mac.data(), mac.size()), ttl_s, kFlagsName);
        if (st && member)
            st = update_members(
                m, r->mac, [&](std::vector<Member>* s) { return members_join(s, r->mac, now + ttl_s, now); },
                "join");
        return st;
    });
}

Status Registry::resolve(const Mac& mac, EndpointRecord* out) noexcept {
    std::vector<Lookup> l;
    resolve_many(std::span<const Mac>(&mac, 1), &l);
    if (!l[0].status)
        return l[0].status;
    *out = std::move(l[0].record);
    return Status::success();
}

Status Registry::resolve_many(std::span<const Mac> macs, std::vector<Lookup>* out) noexcept {
    out->clear();
    out->resize(macs.size());
    const std::vector<Mirror*> mirrors = live();
    for (size_t base = 0; base < macs.size(); base += kMgetBatch) {
        const size_t n = std::min(kMgetBatch, macs.size() - base);
        std::vector<std::string> keys(n);
        std::vector<const char*> kp(n);
        std::vector<size_t> kl(n);
        std::map<std::string_view, size_t> index;
        for (size_t i = 0; i < n; i++) {
            (*out)[base + i].mac = macs[base + i];
            keys[i] = endpoint_key(cfg_.ns, macs[base + i]);
            kp[i] = keys[i].data();
            kl[i] = keys[i].size();
            index.emplace(keys[i], i);
        }
        // Per key, what the servers said: a valid record (the newest kept in the Lookup), a
        // rejection, "no such key" (answered without it), or only failures.
        std::vector<bool> found(n, false), answered(n, false);
        std::vector<Status> rejected(n), failed(n);
        // Every server's request is sent before any reply is read: the round trips overlap.
        std::vector<memcached_return_t> sent(mirrors.size());
        for (size_t s = 0; s < mirrors.size(); s++)
            sent[s] = memcached_mget(mirrors[s]->mc, kp.data(), kl.data(), n);
        for (size_t s = 0; s < mirrors.size(); s++) {
            Mirror* m = mirrors[s];
            std::vector<bool> got(n, false);
            memcached_return_t rc = sent[s];
            Status trouble;
            if (rc != MEMCACHED_SUCCESS)
                trouble = failure(*m, rc, "mget", keys[0]);
            if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_SOME_ERRORS) {
                memcached_result_st* res;
                while ((res = memcached_fetch_result(m->mc, nullptr, &rc)) != nullptr) {
                    const std::string_view k(memcached_result_key_value(res), memcached_result_key_length(res));
                    auto it = index.find(k);
                    if (it != index.end() && !got[it->second]) {
                        const size_t i = it->second;
                        got[i] = true;
                        Lookup& l = (*out)[base + i];
                        EndpointRecord rec;
                        Status st = decode_for(as_bytes(memcached_result_value(res), memcached_result_length(res)),
                                               l.mac, keys[i], &rec);
                        if (st && (!found[i] || rec.publish_ms > l.record.publish_ms)) {
                            l.record = std::move(rec);
                            found[i] = true;
                        } else if (!st && rejected[i].ok()) {
                            rejected[i] = std::move(st);
                        }
                    }
                    memcached_result_free(res);
                }
                if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND && trouble.ok())
                    trouble = failure(*m, rc, "mget", keys[0]);
            }
            if (trouble.code == Errc::not_found)  // not an answer about these keys
                trouble.code = Errc::unavailable;
            for (size_t i = 0; i < n; i++) {
                if (got[i] || trouble.ok())
                    answered[i] = true;
                else if (failed[i].ok())
                    failed[i] = trouble;
            }
        }
        for (size_t i = 0; i < n; i++) {
            Lookup& l = (*out)[base + i];
            if (found[i])
                l.status = Status::success();
            else if (!rejected[i].ok())
                l.status = std::move(rejected[i]);
            else if (answered[i])
                l.status = Status::error(Errc::not_found, "no record " + keys[i]);
            else
                l.status = std::move(failed[i]);
        }
    }
    return Status::success();
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
Status Registry::update_members(Mirror& m, const Mac& mac, Update&& update, const char* op) noexcept {
    const std::string key = members_key(cfg_.ns, member_shard(mac));
    const char* kp = key.data();
    const size_t kl = key.size();
    std::minstd_rand jitter(static_cast<uint32_t>(unix_ms()) ^ static_cast<uint32_t>(reinterpret_cast<uintptr_t>(this)));
    for (uint32_t attempt = 0; attempt <= cfg_.cas_retries; attempt++) {
        if (attempt > 0) {
            const auto cap = kCasBackoffBase * (1u << std::min(attempt - 1, kCasBackoffMaxShift));
            std::this_thread::sleep_for(std::chrono::microseconds(jitter() % (cap.count() + 1)));
        }
        memcached_return_t rc = memcached_mget(m.mc, &kp, &kl, 1);
        if (rc != MEMCACHED_SUCCESS)
            return failure(m, rc, "gets", key);
        bool found = false;
        uint64_t cas = 0;
        std::vector<Member> set;
        memcached_result_st* res;
        while ((res = memcached_fetch_result(m.mc, nullptr, &rc)) != nullptr) {
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
            return failure(m, rc, "gets", key);
        if (!update(&set))
            return Status::error(Errc::too_large, std::string(op) + " " + key + ": membership set full (" +
                                                      std::to_string(kMaxMembers) + ")");
        const std::vector<uint8_t> bytes = encode_members(set);
        const char* vp = reinterpret_cast<const char*>(bytes.data());
        rc = found ? memcached_cas(m.mc, kp, kl, vp, bytes.size(), 0, kFlagsMembers, cas)
                   : memcached_add(m.mc, kp, kl, vp, bytes.size(), 0, kFlagsMembers);
        if (rc == MEMCACHED_SUCCESS)
            return Status::success();
        // Someone else won this round (cas: DATA_EXISTS or the key vanished; add: NOTSTORED).
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_NOTFOUND)
            return failure(m, rc, found ? "cas" : "add", key);
    }
    return Status::error(Errc::conflict, std::string(op) + " " + key + " on " + m.where + ": still contended after " +
                                             std::to_string(cfg_.cas_retries) + " CAS retries");
}

Status Registry::join(const Mac& mac, uint32_t ttl_s) noexcept {
    if (!valid_unicast_mac(mac))
        return Status::error(Errc::invalid_argument, "join: " + format_mac(mac) + " is not a unicast MAC");
    const uint32_t now = unix_s();
    return on_each([&](Mirror& m) {
        return update_members(
            m, mac, [&](std::vector<Member>* s) { return members_join(s, mac, now + ttl_s, now); }, "join");
    });
}

Status Registry::leave(const Mac& mac) noexcept {
    const uint32_t now = unix_s();
    return on_each([&](Mirror& m) {
        return update_members(
            m, mac,
            [&](std::vector<Member>* s) {
                members_leave(s, mac, now);
                return true;
            },
            "leave");
    });
}

// The membership shard keys of the namespace, for one mget per server.
struct Registry::ShardKeys {
    std::vector<std::string> keys;
    std::vector<const char*> kp;
    std::vector<size_t> kl;
    explicit ShardKeys(const std::string& ns) : keys(kMemberShards), kp(kMemberShards), kl(kMemberShards) {
        for (uint32_t i = 0; i < kMemberShards; i++) {
            keys[i] = members_key(ns, i);
            kp[i] = keys[i].data();
            kl[i] = keys[i].size();
        }
    }
};

// Reads the reply to one server's mget of all shards (`rc`: what the mget returned). A missing
// shard is an empty one; a corrupt shard sets *bad (once) and the others' members are returned.
Status Registry::members_on(Mirror& m, const ShardKeys& sk, int rc_int, std::vector<Member>* out,
                            Status* bad) noexcept {
    auto rc = static_cast<memcached_return_t>(rc_int);
    if (rc != MEMCACHED_SUCCESS)
        return failure(m, rc, "mget", sk.keys[0]);
    memcached_result_st* res;
    while ((res = memcached_fetch_result(m.mc, nullptr, &rc)) != nullptr) {
        std::vector<Member> shard;
        const RejectCause cause =
            decode_members(as_bytes(memcached_result_value(res), memcached_result_length(res)), &shard);
        if (cause != RejectCause::none && bad->ok())
            *bad = Status::reject(cause, "membership set " +
                                             std::string(memcached_result_key_value(res), memcached_result_key_length(res)) +
                                             " on " + m.where + " rejected: " + reject_cause_name(cause));
        out->insert(out->end(), shard.begin(), shard.end());
        memcached_result_free(res);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
        return failure(m, rc, "mget", sk.keys[0]);  // a shard we could not read: this server's set is incomplete
    return Status::success();
}

Status Registry::members(std::vector<Member>* out) noexcept {
    const ShardKeys sk(cfg_.ns);
    const std::vector<Mirror*> mirrors = live();
    std::vector<memcached_return_t> sent(mirrors.size());
    for (size_t s = 0; s < mirrors.size(); s++)  // all requests out before any reply is read
        sent[s] = memcached_mget(mirrors[s]->mc, sk.kp.data(), sk.kl.data(), kMemberShards);
    std::vector<Member> all;
    Status bad, down;
    bool answered = false;
    for (size_t s = 0; s < mirrors.size(); s++) {
        std::vector<Member> part;
        Status st = members_on(*mirrors[s], sk, sent[s], &part, &bad);
        if (!st) {
            if (down.ok())
                down = std::move(st);
            continue;
        }
        answered = true;
        all.insert(all.end(), part.begin(), part.end());
    }
    if (!answered)
        return down;
    // The union over servers: each MAC once, with the latest expiry any server holds.
    const uint32_t now = unix_s();
    std::erase_if(all, [now](const Member& m) { return m.expires_s <= now; });
    std::sort(all.begin(), all.end(), [](const Member& x, const Member& y) {
        return x.mac != y.mac ? x.mac < y.mac : x.expires_s > y.expires_s;
    });
    all.erase(std::unique(all.begin(), all.end(), [](const Member& x, const Member& y) { return x.mac == y.mac; }),
              all.end());
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

Status Registry::remove_on(Mirror& m, const Mac& mac) noexcept {
    const std::string ek = endpoint_key(cfg_.ns, mac);
    // The name key is deleted only if it still names this MAC (a newer endpoint may own it).
    std::vector<uint8_t> v;
    Status st = get_on(m, ek, &v);
    if (!st && st.code != Errc::not_found)
        return st;
    if (st) {
        EndpointRecord r;
        // Without a valid record we cannot know the name; its key then expires with its TTL.
        if (decode_record(v, cfg_.ns, cfg_.key, &r) == RejectCause::none && !r.name.empty()) {
            const std::string nk = name_key(cfg_.ns, r.name);
            std::vector<uint8_t> nv;
            Mac owner;
            if (get_on(m, nk, &nv) &&
                parse_mac(std::string_view(reinterpret_cast<const char*>(nv.data()), nv.size()), &owner) &&
                owner == mac) {
                st = delete_on(m, nk);
                if (!st && st.code != Errc::not_found)
                    return st;
            }
        }
        st = delete_on(m, ek);
        if (!st && st.code != Errc::not_found)
            return st;
    }
    const uint32_t now = unix_s();
    return update_members(
        m, mac,
        [&](std::vector<Member>* s) {
            members_leave(s, mac, now);
            return true;
        },
        "leave");
}

Status Registry::remove(const Mac& mac) noexcept {
    return on_each([&](Mirror& m) { return remove_on(m, mac); });
}

Status Registry::purge(size_t* removed) noexcept {
    *removed = 0;
    std::vector<Member> set;
    Status st = members(&set);
    if (!st && st.code != Errc::rejected)
        return st;
    std::vector<bool> gone(set.size(), false);  // deleted from at least one server
    st = on_each([&](Mirror& m) -> Status {
        for (size_t i = 0; i < set.size(); i++) {
            const std::string ek = endpoint_key(cfg_.ns, set[i].mac);
            std::vector<uint8_t> v;
            EndpointRecord r;
            if (get_on(m, ek, &v) && decode_record(v, cfg_.ns, cfg_.key, &r) == RejectCause::none &&
                !r.name.empty())
                delete_on(m, name_key(cfg_.ns, r.name));
            Status d = delete_on(m, ek);
            if (d)
                gone[i] = true;
            else if (d.code != Errc::not_found)
                return d;
        }
        for (uint32_t i = 0; i < kMemberShards; i++) {
            Status d = delete_on(m, members_key(cfg_.ns, i));
            if (!d && d.code != Errc::not_found)
                return d;
        }
        return Status::success();
    });
    *removed = static_cast<size_t>(std::count(gone.begin(), gone.end(), true));
    return st;
}

}  // namespace rdmaud::registry
