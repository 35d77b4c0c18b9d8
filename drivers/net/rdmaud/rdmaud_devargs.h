/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud devargs: the keys a user passes with --vdev=net_rdmaud0,key=value,...
 * Parsing is a pure function (no EAL, no device) so it is unit-tested on its own.
 */
#ifndef RDMAUD_DEVARGS_H
#define RDMAUD_DEVARGS_H

#include <cstdint>
#include <string>

#include <rte_ether.h>

#include "rdmaud_params.h"

namespace rdmaud {

/* Devargs keys, one constant each. */
inline constexpr const char kArgDev[] = "dev";
inline constexpr const char kArgPort[] = "port";
inline constexpr const char kArgGidIndex[] = "gid_index";
inline constexpr const char kArgQkey[] = "qkey";
inline constexpr const char kArgMac[] = "mac";

/* The seed's and libhrd's Q_Key; any value below 0x80000000 works (see kQkeyControlledBit). */
inline constexpr uint32_t kDefaultQkey = 0x11111111;
/* Q_Keys with the top bit set are "controlled": a WR carrying one makes the QP
 * send its own Q_Key instead, and only privileged consumers may own them. */
inline constexpr uint32_t kQkeyControlledBit = 0x80000000;
/* Verbs port numbers start at 1; HCAs have at most a handful. */
inline constexpr unsigned kMaxPortNum = 254;
/* A verbs GID table has at most this many entries on any device we know (mlx5: 255). */
inline constexpr int kMaxGidIndex = 255;
/* gid_index not given: pick the first RoCE v2 IPv4 GID, or LID routing on InfiniBand. */
inline constexpr int kGidIndexAuto = -1;

/* What the user asked for; unset optional values keep their defaults. */
struct DevConfig {
	std::string dev;              /* verbs device name; empty: the first device */
	unsigned port = 1;            /* verbs port number */
	int gid_index = kGidIndexAuto;
	uint32_t qkey = kDefaultQkey;
	bool mac_set = false;         /* false: MAC derived from GID and QPN at start */
	rte_ether_addr mac{};
};

/*
 * Parse a devargs string ("dev=softud0,port=1"). Returns 0, or -EINVAL with
 * *err naming the bad key or value. NULL or "" yields the defaults.
 */
int parse_devargs(const char *args, DevConfig &cfg, std::string &err);


} // namespace rdmaud

#endif /* RDMAUD_DEVARGS_H */
