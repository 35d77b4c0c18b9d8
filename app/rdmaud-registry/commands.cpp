/* SPDX-License-Identifier: BSD-3-Clause */
// The commands of rdmaud-registry over one Registry client.
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "cli.h"
#include "config.h"
#include "keys.h"
#include "registry.h"

namespace rdmaud::registry::cli {
namespace {

int exit_for(const Status& st) {
    switch (st.code) {
    case Errc::ok: return kExitOk;
    case Errc::not_found: return kExitNotFound;
    case Errc::invalid_argument: return kExitUsage;
    case Errc::unavailable: return kExitUnavailable;
    case Errc::rejected: return kExitRejected;
    default: return kExitError;
    }
}

int report(const Status& st) {
    std::fprintf(stderr, "rdmaud-registry: %s: %s\n", errc_name(st.code), st.message.c_str());
    return exit_for(st);
}

std::string address_of(const EndpointRecord& r) {
    return r.link == LinkLayer::roce ? "gid " + format_gid(r.gid) : "lid " + std::to_string(r.lid);
}

std::string qpns_of(const EndpointRecord& r) {
    std::string s;
    for (uint32_t q : r.qpns) {
        if (!s.empty())
            s += ',';
        s += std::to_string(q);
    }
    return s;
}

double age_s(const EndpointRecord& r) {
    const uint64_t now = unix_ms();
    return now > r.publish_ms ? double(now - r.publish_ms) / 1000.0 : 0.0;
}

void print_record(const EndpointRecord& r, const std::string& ns) {
    std::printf("mac          %s\n", format_mac(r.mac).c_str());
    std::printf("name         %s\n", r.name.empty() ? "-" : r.name.c_str());
    std::printf("namespace    %s\n", ns.c_str());
    std::printf("link         %s\n", r.link == LinkLayer::roce ? "roce" : "ib");
    std::printf("address      %s\n", address_of(r).c_str());
    std::printf("queues       %zu\n", r.qpns.size());
    std::printf("qpns         %s\n", qpns_of(r).c_str());
    std::printf("qkey         0x%08" PRIx32 "\n", r.qkey);
    std::printf("mtu          %u\n", unsigned(r.mtu));
    std::printf("incarnation  0x%016" PRIx64 "\n", r.incarnation);
    std::printf("ttl          %" PRIu32 "\n", r.ttl_s);
    std::printf("age          %.1f\n", age_s(r));
}

// <mac|name> -> MAC: a MAC as given, or the MAC the name key holds.
Status target_mac(Registry& reg, const std::string& arg, Mac* mac, EndpointRecord* rec) {
    if (parse_mac(arg, mac))
        return rec ? reg.resolve(*mac, rec) : Status::success();
    if (!valid_name(arg) || arg.empty())
        return Status::error(Errc::invalid_argument, "'" + arg + "' is neither a MAC nor an endpoint name");
    if (rec) {
        Status st = reg.resolve_name(arg, rec);
        if (st)
            *mac = rec->mac;
        return st;
    }
    std::vector<uint8_t> v;
    Status st = reg.get_raw(name_key(reg.config().ns, arg), &v);
    if (!st)
        return st;
    if (!parse_mac(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()), mac))
        return Status::reject(RejectCause::malformed, "name key of '" + arg + "' does not hold a MAC");
    return Status::success();
}

int cmd_list(Registry& reg) {
    std::vector<EndpointRecord> recs;
    std::vector<Lookup> problems;
    Status st = reg.list(&recs, &problems);
    if (!st)
        return report(st);
    std::printf("%-17s  %-16s  %-4s  %-39s  %-6s  %-10s  %-5s  %-18s  %s\n", "MAC", "NAME", "LINK",
                "ADDRESS", "QUEUES", "QKEY", "MTU", "INCARNATION", "AGE");
    for (const EndpointRecord& r : recs)
        std::printf("%-17s  %-16s  %-4s  %-39s  %-6zu  0x%08" PRIx32 "  %-5u  0x%016" PRIx64 "  %.1f\n",
                    format_mac(r.mac).c_str(), r.name.empty() ? "-" : r.name.c_str(),
                    r.link == LinkLayer::roce ? "roce" : "ib",
                    r.link == LinkLayer::roce ? format_gid(r.gid).c_str() : std::to_string(r.lid).c_str(),
                    r.qpns.size(), r.qkey, unsigned(r.mtu), r.incarnation, age_s(r));
    int rc = kExitOk;
    for (const Lookup& l : problems) {
        std::fprintf(stderr, "rdmaud-registry: member %s: %s: %s\n", format_mac(l.mac).c_str(),
                     errc_name(l.status.code), l.status.message.c_str());
        if (l.status.code == Errc::unavailable)
            rc = kExitUnavailable;
    }
    std::printf("%zu endpoint(s) in namespace %s\n", recs.size(), reg.config().ns.c_str());
    return rc;
}

int cmd_show(Registry& reg, const std::string& arg) {
    Mac mac;
    EndpointRecord r;
    Status st = target_mac(reg, arg, &mac, &r);
    if (!st)
        return report(st);
    print_record(r, reg.config().ns);
    return kExitOk;
}

int cmd_purge(Registry& reg, const std::vector<std::string>& args) {
    if (args.empty()) {
        size_t n = 0;
        Status st = reg.purge(&n);
        if (!st)
            return report(st);
        std::printf("purged %zu endpoint(s) from namespace %s\n", n, reg.config().ns.c_str());
        return kExitOk;
    }
    Mac mac;
    Status st = target_mac(reg, args[0], &mac, nullptr);
    if (!st)
        return report(st);
    std::vector<uint8_t> v;
    st = reg.get_raw(endpoint_key(reg.config().ns, mac), &v);
    if (!st)
        return report(st);
    st = reg.remove(mac);
    if (!st)
        return report(st);
    std::printf("purged %s from namespace %s\n", format_mac(mac).c_str(), reg.config().ns.c_str());
    return kExitOk;
}

int cmd_members(Registry& reg) {
    std::vector<Member> set;
    Status st = reg.members(&set);
    if (!st)
        return report(st);
    const uint64_t now = unix_ms() / 1000;
    for (const Member& m : set)
        std::printf("%s  %" PRIu64 "\n", format_mac(m.mac).c_str(), m.expires_s > now ? m.expires_s - now : 0);
    std::printf("%zu member(s) in namespace %s\n", set.size(), reg.config().ns.c_str());
    return kExitOk;
}

int cmd_publish(Registry& reg, const Options& o) {
    EndpointRecord r;
    if (!parse_mac(o.mac, &r.mac))
        return report(Status::error(Errc::invalid_argument, "--mac '" + o.mac + "' is not a MAC"));
    if (!o.gid.empty() == (o.lid != 0))
        return report(Status::error(Errc::invalid_argument, "give exactly one of --gid and --lid"));
    if (!o.gid.empty()) {
        r.link = LinkLayer::roce;
        if (!parse_gid(o.gid, &r.gid))
            return report(Status::error(Errc::invalid_argument, "--gid '" + o.gid + "' is not 8 groups of 4 hex digits"));
    } else {
        r.link = LinkLayer::ib;
        r.lid = static_cast<uint16_t>(o.lid);
    }
    r.qpns = o.qpns;
    r.qkey = o.qkey;
    r.mtu = static_cast<uint16_t>(o.mtu > 0xFFFF ? 0 : o.mtu);
    r.name = o.name;
    r.incarnation = o.incarnation ? o.incarnation : new_incarnation();
    if (o.ttl_s == 0 || o.ttl_s > kMaxTtlSeconds)
        return report(Status::error(Errc::invalid_argument, "--ttl must be 1.." + std::to_string(kMaxTtlSeconds)));
    Status st = reg.publish(&r, o.ttl_s);
    if (!st)
        return report(st);
    std::printf("published %s incarnation 0x%016" PRIx64 " in namespace %s\n", format_mac(r.mac).c_str(),
                r.incarnation, reg.config().ns.c_str());
    return kExitOk;
}

}  // namespace

int run(const Options& o) {
    RegistryConfig cfg;
    Status st = servers_from(o.registry, &cfg.servers);
    if (!st)
        return report(st);
    cfg.ns = o.ns;
    if (!o.key_file.empty()) {
        st = load_key_file(o.key_file, &cfg.key);
        if (!st)
            return report(st);
    }
    cfg.connect_timeout = std::chrono::milliseconds(o.timeout_ms);
    cfg.io_timeout = std::chrono::milliseconds(o.timeout_ms);
    std::unique_ptr<Registry> reg;
    st = Registry::create(std::move(cfg), &reg);
    if (!st)
        return report(st);
    if (o.command == "list")
        return cmd_list(*reg);
    if (o.command == "show")
        return cmd_show(*reg, o.args[0]);
    if (o.command == "purge")
        return cmd_purge(*reg, o.args);
    if (o.command == "members")
        return cmd_members(*reg);
    return cmd_publish(*reg, o);
}

}  // namespace rdmaud::registry::cli
