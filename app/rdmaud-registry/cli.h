/* SPDX-License-Identifier: BSD-3-Clause */
// rdmaud-registry: list, show, purge (and publish, for tests and scripting) the endpoints of a
// namespace. Exit codes are part of the interface (scripts test them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rdmaud::registry::cli {

enum Exit : int {
    kExitOk = 0,
    kExitNotFound = 1,     // show/purge of an endpoint that is not registered
    kExitUsage = 2,        // bad command line, bad key file
    kExitUnavailable = 3,  // no registry server answered
    kExitRejected = 4,     // a record is there but invalid (forged, malformed, foreign)
    kExitError = 5,        // anything else
};

struct Options {
    std::string registry;  // server list; empty: HRD_REGISTRY_IP
    std::string ns = "default";
    std::string key_file;
    uint32_t timeout_ms = 200;
    std::string command;   // list | show | purge | publish | members
    std::vector<std::string> args;
    // publish
    std::string mac, gid, name;
    uint32_t lid = 0;
    std::vector<uint32_t> qpns;
    uint32_t qkey = 0x11111111;  // the seed's Q_Key
    uint32_t mtu = 1024;
    uint32_t ttl_s = 60;
    uint64_t incarnation = 0;    // 0: a fresh random one
};

// Fills `o`; on error prints the reason and usage to stderr and returns false.
bool parse_args(int argc, char** argv, Options* o);
void print_usage(const char* prog);
int run(const Options& o);

}  // namespace rdmaud::registry::cli
