/* SPDX-License-Identifier: BSD-3-Clause */
#include <getopt.h>

#include <charconv>
#include <cstdio>
#include <string_view>

#include "cli.h"

namespace rdmaud::registry::cli {
namespace {

template <class T>
bool parse_uint(std::string_view s, T* out, uint64_t max) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > max)
        return false;
    *out = static_cast<T>(v);
    return true;
}

bool parse_qpns(std::string_view s, std::vector<uint32_t>* out) {
    out->clear();
    while (true) {
        const size_t comma = s.find(',');
        uint32_t q;
        if (!parse_uint(s.substr(0, comma), &q, 0xFFFFFF))
            return false;
        out->push_back(q);
        if (comma == std::string_view::npos)
            return true;
        s.remove_prefix(comma + 1);
    }
}

}  // namespace

void print_usage(const char* prog) {
    std::fprintf(stderr,
                 "usage: %s [--registry host[:port][,host[:port]...]] [--ns NAME] [--key-file FILE]\n"
                 "          [--timeout MS] COMMAND\n"
                 "commands:\n"
                 "  list                      every endpoint of the namespace\n"
                 "  show <mac|name>           one endpoint's record\n"
                 "  purge [<mac|name>]        remove one endpoint, or all of the namespace\n"
                 "  members                   the membership set (MAC, seconds left)\n"
                 "  publish --mac M (--gid G | --lid L) --qpn Q[,Q...] [--qkey K] [--mtu N]\n"
                 "          [--name S] [--ttl SECONDS] [--incarnation N]\n"
                 "Without --registry, HRD_REGISTRY_IP (host or host:port) is used.\n"
                 "exit: 0 ok, 1 not found, 2 usage, 3 registry unavailable, 4 invalid record, 5 error\n",
                 prog);
}

bool parse_args(int argc, char** argv, Options* o) {
    enum { kRegistry = 256, kNs, kKeyFile, kTimeout, kMac, kGid, kLid, kQpn, kQkey, kMtu, kName, kTtl,
           kIncarnation, kHelp };
    static const option longopts[] = {
        {"registry", required_argument, nullptr, kRegistry}, {"ns", required_argument, nullptr, kNs},
        {"key-file", required_argument, nullptr, kKeyFile},  {"timeout", required_argument, nullptr, kTimeout},
        {"mac", required_argument, nullptr, kMac},           {"gid", required_argument, nullptr, kGid},
        {"lid", required_argument, nullptr, kLid},           {"qpn", required_argument, nullptr, kQpn},
        {"qkey", required_argument, nullptr, kQkey},         {"mtu", required_argument, nullptr, kMtu},
        {"name", required_argument, nullptr, kName},         {"ttl", required_argument, nullptr, kTtl},
        {"incarnation", required_argument, nullptr, kIncarnation},
        {"help", no_argument, nullptr, kHelp},               {nullptr, 0, nullptr, 0},
    };
    auto fail = [&](const char* what, const char* arg) {
        std::fprintf(stderr, "%s: %s '%s'\n", argv[0], what, arg ? arg : "");
        print_usage(argv[0]);
        return false;
    };
    optind = 1;
    int c;
    // GNU getopt permutes: options may come before or after the command ("publish --mac ...").
    while ((c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
        const std::string_view a = optarg ? optarg : "";
        switch (c) {
        case kRegistry: o->registry = optarg; break;
        case kNs: o->ns = optarg; break;
        case kKeyFile: o->key_file = optarg; break;
        case kTimeout: if (!parse_uint(a, &o->timeout_ms, 60000) || o->timeout_ms == 0) return fail("bad --timeout", optarg); break;
        case kMac: o->mac = optarg; break;
        case kGid: o->gid = optarg; break;
        case kLid: if (!parse_uint(a, &o->lid, 0xFFFF)) return fail("bad --lid", optarg); break;
        case kQpn: if (!parse_qpns(a, &o->qpns)) return fail("bad --qpn", optarg); break;
        case kQkey: if (!parse_uint(a, &o->qkey, 0xFFFFFFFF)) return fail("bad --qkey", optarg); break;
        case kMtu: if (!parse_uint(a, &o->mtu, 0xFFFF)) return fail("bad --mtu", optarg); break;
        case kName: o->name = optarg; break;
        case kTtl: if (!parse_uint(a, &o->ttl_s, 0xFFFFFFFF)) return fail("bad --ttl", optarg); break;
        case kIncarnation: if (!parse_uint(a, &o->incarnation, UINT64_MAX)) return fail("bad --incarnation", optarg); break;
        case 'h': case kHelp: print_usage(argv[0]); return false;
        default: print_usage(argv[0]); return false;
        }
    }
    if (optind >= argc)
        return fail("missing command", "");
    o->command = argv[optind++];
    for (; optind < argc; optind++)
        o->args.emplace_back(argv[optind]);
    const bool ok = (o->command == "list" && o->args.empty()) || (o->command == "show" && o->args.size() == 1) ||
                    (o->command == "purge" && o->args.size() <= 1) || (o->command == "members" && o->args.empty()) ||
                    (o->command == "publish" && o->args.empty());
    if (!ok)
        return fail("bad command or arguments:", o->command.c_str());
    return true;
}

}  // namespace rdmaud::registry::cli
