/* SPDX-License-Identifier: BSD-3-Clause */
// softud configuration from the environment (documented in doc/design/softud.md):
//   SOFTUD_DEVICES   "name=a.b.c.d[:ib][:mtu=N],..."  the devices, one per IPv4 address
//   SOFTUD_MTU       default port MTU for devices without :mtu= (256..4096, IB MTU values)
//   SOFTUD_STAT_DIR  directory for the per-device counter files (none if unset)
//   SOFTUD_QUIET     if set, unsupported verbs are not logged
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace softud {

enum class LinkMode : uint8_t { roce, ib };

struct DeviceConfig {
    std::string name;
    uint32_t addr_be = 0;          // IPv4, network order
    LinkMode mode = LinkMode::roce;
    ibv_mtu mtu = IBV_MTU_4096;
};

// Longest device name (ibv_device::name is IBV_SYSFS_NAME_MAX bytes incl. NUL).
inline constexpr size_t kMaxDeviceName = 32;

// IB MTU enum for a byte count (256, 512, 1024, 2048, 4096); 0 if not one of those.
int mtu_from_bytes(unsigned long bytes) noexcept;
// Bytes of an IB MTU enum value.
constexpr uint32_t mtu_bytes(ibv_mtu m) noexcept { return 128u << static_cast<int>(m); }

// Parses a SOFTUD_DEVICES value. Returns 0, or -EINVAL with `err` describing the problem.
int parse_devices(std::string_view spec, ibv_mtu default_mtu, std::vector<DeviceConfig>& out,
                  std::string& err);

// Reads the environment (SOFTUD_DEVICES, SOFTUD_MTU). Bad entries are reported once on stderr
// and yield no devices.
std::vector<DeviceConfig> devices_from_env();

}  // namespace softud
