/* SPDX-License-Identifier: BSD-3-Clause */
// Client configuration: the server list (devarg `registry=`, CLI `--registry`, or the seed's
// HRD_REGISTRY_IP), the namespace, the HMAC key file, and the timeouts of a control thread that
// must keep going when memcached does not answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "record.h"
#include "status.h"

namespace rdmaud::registry {

inline constexpr uint16_t kDefaultPort = 11211;       // memcached's port, as in the seed
inline constexpr size_t kMaxServers = 16;             // a registry, not a cache farm
inline constexpr std::string_view kEnvRegistry = "HRD_REGISTRY_IP";  // the seed's variable
inline constexpr std::string_view kDefaultNamespace = "default";
inline constexpr size_t kMinKeyBytes = 16;            // 128 bits: below that HMAC is theatre
inline constexpr size_t kMaxKeyBytes = 1024;          // a key file, not a data file

struct Server {
    std::string host;
    uint16_t port = kDefaultPort;
    bool operator==(const Server&) const = default;
};

struct RegistryConfig {
    std::vector<Server> servers;
    std::string ns{kDefaultNamespace};
    HmacKey key;  // empty: records are not signed and signatures are not checked
    // A dead server must cost the control thread at most this per attempt.
    std::chrono::milliseconds connect_timeout{150};
    std::chrono::milliseconds io_timeout{150};
    // With several servers (mirrors), one that failed is left alone for this long while another
    // answers; a lone server, or every server once all have failed, is asked on every call.
    std::chrono::milliseconds retry_timeout{1000};
    // Bound on gets+cas rounds of one membership update before giving up with Errc::conflict.
    uint32_t cas_retries = 64;
};

// Parses "host[:port][,host[:port]...]". Hosts are names, IPv4, or [IPv6]; ports 1..65535.
Status parse_servers(std::string_view list, std::vector<Server>* out);
// `explicit_list` if non-empty, else $HRD_REGISTRY_IP, else Errc::invalid_argument.
Status servers_from(std::string_view explicit_list, std::vector<Server>* out);
// Reads an HMAC key: the file's bytes with one trailing newline removed, kMinKeyBytes..
// kMaxKeyBytes long. Refuses files others can write (anyone could then choose the key).
Status load_key_file(const std::string& path, HmacKey* out);

std::string format_servers(const std::vector<Server>& servers);

}  // namespace rdmaud::registry
