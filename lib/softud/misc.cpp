/* SPDX-License-Identifier: BSD-3-Clause */
// Pure helpers of the verbs API (strings, rates, fork support) and the unsupported-verb logger
// the generated stubs call.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "softud.h"

extern "C" {

void softud_unsupported(const char* name, int* once) {
    if (__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
        return;
    if (!std::getenv("SOFTUD_QUIET"))
        std::fprintf(stderr, "softud: %s is not supported by softud (failing with EOPNOTSUPP)\n", name);
}

const char* ibv_wc_status_str(ibv_wc_status status) {
    static const char* const kNames[] = {
        "success", "local length error", "local QP operation error", "local EE context operation error",
        "local protection error", "Work Request Flushed Error", "memory management operation error",
        "bad response error", "local access error", "remote invalid request error",
        "remote access error", "remote operation error", "transport retry counter exceeded",
        "RNR retry counter exceeded", "local RDD violation error", "remote invalid RD request",
        "aborted error", "invalid EE context number", "invalid EE context state",
        "fatal error", "response timeout error", "general error", "TM error", "TM RNDV incomplete",
    };
    unsigned s = static_cast<unsigned>(status);
    return s < sizeof(kNames) / sizeof(kNames[0]) ? kNames[s] : "unknown";
}

const char* ibv_event_type_str(ibv_event_type event) {
    static const char* const kNames[] = {
        "CQ error", "local work queue catastrophic error", "invalid request local work queue error",
        "local access violation work queue error", "communication established", "send queue drained",
        "path migrated", "path migration request error", "local catastrophic error", "port active",
        "port error", "LID change", "P_Key change", "SM change", "SRQ catastrophic error",
        "SRQ limit reached", "last WQE reached", "client reregistration", "GID table change",
        "WQ fatal",
    };
    unsigned e = static_cast<unsigned>(event);
    return e < sizeof(kNames) / sizeof(kNames[0]) ? kNames[e] : "unknown";
}

const char* ibv_node_type_str(ibv_node_type node_type) {
    switch (node_type) {
    case IBV_NODE_CA: return "InfiniBand channel adapter";
    case IBV_NODE_SWITCH: return "InfiniBand switch";
    case IBV_NODE_ROUTER: return "InfiniBand router";
    case IBV_NODE_RNIC: return "iWARP NIC";
    case IBV_NODE_USNIC: return "usNIC";
    case IBV_NODE_USNIC_UDP: return "usNIC UDP";
    case IBV_NODE_UNSPECIFIED: return "unspecified";
    default: return "unknown";
    }
}

const char* ibv_port_state_str(ibv_port_state port_state) {
    switch (port_state) {
    case IBV_PORT_NOP: return "PORT_NOP";
    case IBV_PORT_DOWN: return "PORT_DOWN";
    case IBV_PORT_INIT: return "PORT_INIT";
    case IBV_PORT_ARMED: return "PORT_ARMED";
    case IBV_PORT_ACTIVE: return "PORT_ACTIVE";
    case IBV_PORT_ACTIVE_DEFER: return "PORT_ACTIVE_DEFER";
    default: return "invalid state";
    }
}

int ibv_rate_to_mult(ibv_rate rate) {
    switch (rate) {
    case IBV_RATE_2_5_GBPS: return 1;
    case IBV_RATE_5_GBPS: return 2;
    case IBV_RATE_10_GBPS: return 4;
    case IBV_RATE_20_GBPS: return 8;
    case IBV_RATE_30_GBPS: return 12;
    case IBV_RATE_40_GBPS: return 16;
    case IBV_RATE_60_GBPS: return 24;
    case IBV_RATE_80_GBPS: return 32;
    case IBV_RATE_120_GBPS: return 48;
    default: return -1;
    }
}

ibv_rate mult_to_ibv_rate(int mult) {
    switch (mult) {
    case 1: return IBV_RATE_2_5_GBPS;
    case 2: return IBV_RATE_5_GBPS;
    case 4: return IBV_RATE_10_GBPS;
    case 8: return IBV_RATE_20_GBPS;
    case 12: return IBV_RATE_30_GBPS;
    case 16: return IBV_RATE_40_GBPS;
    case 24: return IBV_RATE_60_GBPS;
    case 32: return IBV_RATE_80_GBPS;
    case 48: return IBV_RATE_120_GBPS;
    default: return IBV_RATE_MAX;
    }
}

int ibv_rate_to_mbps(ibv_rate rate) {
    switch (rate) {
    case IBV_RATE_2_5_GBPS: return 2500;
    case IBV_RATE_5_GBPS: return 5000;
    case IBV_RATE_10_GBPS: return 10000;
    case IBV_RATE_20_GBPS: return 20000;
    case IBV_RATE_30_GBPS: return 30000;
    case IBV_RATE_40_GBPS: return 40000;
    case IBV_RATE_60_GBPS: return 60000;
    case IBV_RATE_80_GBPS: return 80000;
    case IBV_RATE_120_GBPS: return 120000;
    case IBV_RATE_14_GBPS: return 14062;
    case IBV_RATE_56_GBPS: return 56250;
    case IBV_RATE_112_GBPS: return 112500;
    case IBV_RATE_168_GBPS: return 168750;
    case IBV_RATE_25_GBPS: return 25781;
    case IBV_RATE_100_GBPS: return 103125;
    case IBV_RATE_200_GBPS: return 206250;
    case IBV_RATE_300_GBPS: return 309375;
    case IBV_RATE_28_GBPS: return 28125;
    case IBV_RATE_50_GBPS: return 53125;
    case IBV_RATE_400_GBPS: return 425000;
    case IBV_RATE_600_GBPS: return 637500;
    default: return -1;
    }
}

ibv_rate mbps_to_ibv_rate(int mbps) {
    for (int r = IBV_RATE_2_5_GBPS; r <= IBV_RATE_600_GBPS; ++r)
        if (ibv_rate_to_mbps(static_cast<ibv_rate>(r)) == mbps)
            return static_cast<ibv_rate>(r);
    return IBV_RATE_MAX;
}

// softud never pins memory or hands it to a device, so fork() needs no protection.
int ibv_fork_init(void) { return 0; }
ibv_fork_status ibv_is_fork_initialized(void) { return IBV_FORK_UNNEEDED; }
int ibv_dontfork_range(void*, size_t) { return 0; }
int ibv_dofork_range(void*, size_t) { return 0; }

// Provider libraries (libmlx5, libefa, ...) register themselves from their constructors when a
// program links them (DPDK's mlx5 PMD, perftest). softud has its own devices and never calls a
// provider, so the registration is accepted and ignored.
void verbs_register_driver_34(const void*) {}

}  // extern "C"
