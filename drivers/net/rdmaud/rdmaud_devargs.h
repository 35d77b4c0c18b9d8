/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud devargs: the keys a user passes with --vdev=net_rdmaud0,key=value,...
 * Parsing is a pure function (no EAL, no device) so it is unit-tested on its own.
 */
#ifndef RDMAUD_DEVARGS_H
#define RDMAUD_DEVARGS_H

#include <cstdint>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "rdmaud_params.h"

namespace rdmaud {

/* Devargs keys, one constant each. */
inline constexpr const char kArgDev[] = "dev";
inline constexpr const char kArgPort[] = "port";
inline constexpr const char kArgGidIndex[] = "gid_index";
inline constexpr const char kArgQkey[] = "qkey";
inline constexpr const char kArgMac[] = "mac";
inline constexpr const char kArgPeers[] = "peers";
inline constexpr const char kArgPeersFile[] = "peers_file";
inline constexpr const char kArgTxInline[] = "tx_inline";
inline constexpr const char kArgTxSignal[] = "tx_signal";
inline constexpr const char kArgRegistry[] = "registry";
inline constexpr const char kArgNs[] = "ns";
inline constexpr const char kArgName[] = "name";
inline constexpr const char kArgRegistryKey[] = "registry_key";
inline constexpr const char kArgRegistryTtl[] = "registry_ttl";
/* Seconds an endpoint record outlives its process: a crashed port disappears
 * this long after its last keep-alive (sent every third of it). */
inline constexpr unsigned kDefaultRegistryTtl = 6;
/* memcached reads TTLs above 30 days as timestamps; a day is plenty. */
inline constexpr unsigned kMaxRegistryTtl = 86400;
/* The seed's variable naming the registry when no devarg does. */
inline constexpr const char kEnvRegistry[] = "HRD_REGISTRY_IP";

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
/* QPNs are 24 bits on the wire (BTH DestQP). */
inline constexpr uint32_t kQpnMask = 0xffffff;
/* QPN 0 and 1 are the special SMI/GSI QPs; a UD data QP is never one of them. */
inline constexpr uint32_t kMinDataQpn = 2;
/* Unicast LIDs are 0x0001-0xbfff; 0xc000 and above are multicast, 0xffff permissive. */
inline constexpr uint32_t kMaxUnicastLid = 0xbfff;
/* Frames up to this many bytes go inline by default: a 64 B frame plus margin;
 * copying it at post time costs less than holding its mbuf until a completion. */
inline constexpr unsigned kDefaultTxInline = 128;
/* Inline data is bounded by the WQE size; no device we know inlines more than 1 KiB. */
inline constexpr unsigned kMaxTxInline = 1024;
/* One signaled send per 32 (mlx5's interval): few completions to poll, and a
 * 32-WR batch of mbufs freed at once. */
inline constexpr unsigned kDefaultTxSignal = 32;
/* The interval must leave room for at least two signaled WRs in the smallest ring. */
inline constexpr unsigned kMaxTxSignal = 256;
/* Static peers (peers= and peers_file= together): a larger table belongs in the registry. */
inline constexpr size_t kMaxStaticPeers = 16384;
/* A peers file is a regular file of at most this size: every static peer on a line of
 * 1 KiB (comments included) fits; a device or a huge file is refused before it is read. */
inline constexpr long long kMaxPeersFileBytes = static_cast<long long>(kMaxStaticPeers) * 1024;

/* How a peer is addressed: a GID (RoCE, or IB with a GRH) or a LID (IB, no GRH). */
enum class PeerAddrKind : uint8_t { kGid, kLid };

/* One entry of the static peers table: MAC -> (GID or LID, QPN, Q_Key). */
struct PeerSpec {
	rte_ether_addr mac{};
	PeerAddrKind kind = PeerAddrKind::kGid;
	uint8_t gid[16]{};     /* kGid: raw GID (IPv4 given: ::ffff:a.b.c.d) */
	uint16_t lid = 0;      /* kLid */
	uint32_t qpn = 0;
	std::vector<uint32_t> queue_qpns; /* registry: every queue's QPN (software RSS); empty: qpn only */
	bool qkey_set = false; /* false: the port's own Q_Key */
	uint32_t qkey = 0;
};

/* What the user asked for; unset optional values keep their defaults. */
struct DevConfig {
	std::string dev;              /* verbs device name; empty: the first device */
	unsigned port = 1;            /* verbs port number */
	int gid_index = kGidIndexAuto;
	uint32_t qkey = kDefaultQkey;
	bool mac_set = false;         /* false: MAC derived from GID and QPN at probe */
	rte_ether_addr mac{};
	std::vector<PeerSpec> peers;  /* static MAC -> address table */
	unsigned tx_inline = kDefaultTxInline; /* 0: never inline */
	unsigned tx_signal = kDefaultTxSignal; /* request a completion every N sends */
	/* Registry (memcached) address resolution; off unless registry= or HRD_REGISTRY_IP. */
	bool registry_on = false;
	std::string registry;         /* host[:port][;host[:port]...]; empty: HRD_REGISTRY_IP */
	std::string registry_ns = "default";
	std::string registry_name;    /* published endpoint name (may be empty) */
	std::string registry_key;     /* HMAC key file; empty: records unsigned */
	unsigned registry_ttl = kDefaultRegistryTtl;
};

/*
 * Parse a devargs string ("dev=softud0,port=1"). Returns 0, or -EINVAL with
 * *err naming the bad key or value. NULL or "" yields the defaults.
 */
int parse_devargs(const char *args, DevConfig &cfg, std::string &err);

/*
 * Parse the value of peers=: entries separated by ';' (',' belongs to kvargs),
 * each MAC@ADDR/QPN[/QKEY] where ADDR is an IPv6-notation GID, a dotted IPv4
 * address (its IPv4-mapped GID) or a decimal/0x LID. Returns 0 or -EINVAL
 * with err naming the bad entry.
 */
int parse_peers(const char *value, std::vector<PeerSpec> &out, std::string &err);

/*
 * Append the entries of a peers file to out: one or more peers= entries per
 * line (';'-separated), blank lines and '#' comments ignored. A MAC already in
 * out or listed twice is refused. Returns 0 or -EINVAL / -errno with err
 * naming the file, the line and the bad entry.
 */
int parse_peers_file(const char *path, std::vector<PeerSpec> &out, std::string &err);

} // namespace rdmaud

#endif /* RDMAUD_DEVARGS_H */
