/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace softud {

int mtu_from_bytes(unsigned long bytes) noexcept {
    switch (bytes) {
    case 256: return IBV_MTU_256;
    case 512: return IBV_MTU_512;
    case 1024: return IBV_MTU_1024;
    case 2048: return IBV_MTU_2048;
    case 4096: return IBV_MTU_4096;
    default: return 0;
    }
}

namespace {

bool parse_mtu(std::string_view s, ibv_mtu& out) {
    std::string v(s);
    char* end = nullptr;
    errno = 0;
    unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || errno || *end)
        return false;
    int m = mtu_from_bytes(n);
    if (!m)
        return false;
    out = static_cast<ibv_mtu>(m);
    return true;
}

int parse_one(std::string_view item, ibv_mtu default_mtu, DeviceConfig& d, std::string& err) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        err = "expected name=a.b.c.d in '" + std::string(item) + "'";
        return -EINVAL;
    }
    d.name = std::string(item.substr(0, eq));
    if (d.name.size() >= kMaxDeviceName) {
        err = "device name too long: " + d.name;
        return -EINVAL;
    }
    std::string_view rest = item.substr(eq + 1);
    size_t colon = rest.find(':');
    std::string addr(rest.substr(0, colon));
    in_addr a{};
    if (::inet_pton(AF_INET, addr.c_str(), &a) != 1) {
        err = "not an IPv4 address: '" + addr + "'";
        return -EINVAL;
    }
    d.addr_be = a.s_addr;
    d.mode = LinkMode::roce;
    d.mtu = default_mtu;
    while (colon != std::string_view::npos) {
        rest = rest.substr(colon + 1);
        colon = rest.find(':');
        std::string_view opt = rest.substr(0, colon);
        if (opt == "ib") {
            d.mode = LinkMode::ib;
        } else if (opt == "roce") {
            d.mode = LinkMode::roce;
        } else if (opt.substr(0, 4) == "mtu=") {
            if (!parse_mtu(opt.substr(4), d.mtu)) {
                err = "bad mtu in '" + std::string(item) + "' (256, 512, 1024, 2048 or 4096)";
                return -EINVAL;
            }
        } else {
            err = "unknown option '" + std::string(opt) + "' in '" + std::string(item) + "'";
            return -EINVAL;
        }
    }
    return 0;
}

}  // namespace

int parse_devices(std::string_view spec, ibv_mtu default_mtu, std::vector<DeviceConfig>& out,
                  std::string& err) {
    out.clear();
    while (!spec.empty()) {
        size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.empty())
            continue;
        DeviceConfig d;
        if (int rc = parse_one(item, default_mtu, d, err); rc)
            return rc;
        for (const auto& o : out) {
            if (o.name == d.name || o.addr_be == d.addr_be) {
                err = "duplicate device name or address: '" + std::string(item) + "'";
                return -EINVAL;
            }
        }
        out.push_back(std::move(d));
    }
    return 0;
}

std::vector<DeviceConfig> devices_from_env() {
    static std::once_flag warned;
    std::vector<DeviceConfig> out;
    ibv_mtu def = IBV_MTU_4096;
    if (const char* m = std::getenv("SOFTUD_MTU"); m && *m && !parse_mtu(m, def)) {
        std::call_once(warned, [m] {
            std::fprintf(stderr, "softud: SOFTUD_MTU=%s: expected 256, 512, 1024, 2048 or 4096\n", m);
        });
        return out;
    }
    const char* spec = std::getenv("SOFTUD_DEVICES");
    if (!spec)
        return out;
    std::string err;
    if (parse_devices(spec, def, out, err)) {
        std::call_once(warned, [&err] { std::fprintf(stderr, "softud: SOFTUD_DEVICES: %s\n", err.c_str()); });
        out.clear();
    }
    return out;
}

}  // namespace softud
