/* SPDX-License-Identifier: BSD-3-Clause */
/* rdmaud-echo's own options (after EAL's and "--"). Pure parsing, unit-tested. */
#ifndef RDMAUD_ECHO_ARGS_H
#define RDMAUD_ECHO_ARGS_H

#include <cstdint>
#include <string>
#include <vector>

#include <rte_ether.h>

namespace echo {

enum class Mode { kServer, kClient };

/* Outstanding requests per client thread: the seed kept 16. */
inline constexpr unsigned kDefaultWindow = 16;
/* Ring sizes: the largest window must fit in one tx ring with room to spare. */
inline constexpr unsigned kMaxWindow = 512;
/* A request unanswered this long is counted lost and its slot reused. UD is unreliable. */
inline constexpr unsigned kDefaultTimeoutMs = 200;
/* Bounded by default: a demo must end by itself. */
inline constexpr unsigned kDefaultDurationS = 10;
/* Ethernet MTU-sized frames at most; the port's MTU is checked at start. */
inline constexpr unsigned kMaxFrame = 9000;

struct Options {
	Mode mode = Mode::kServer;
	uint16_t port = 0;
	unsigned duration_s = kDefaultDurationS;      /* 0: until SIGINT/SIGTERM */
	unsigned window = kDefaultWindow;
	unsigned frame_size = 64;
	unsigned timeout_ms = kDefaultTimeoutMs;
	unsigned client_id = 0;                       /* machine number, 0..255 */
	std::vector<rte_ether_addr> servers;          /* client: server MACs, round-robin */
	std::vector<std::string> server_names;        /* client: names to look up in the registry */
	std::string registry;                         /* host[:port],... (else HRD_REGISTRY_IP) */
	std::string ns = "echo";                      /* registry namespace */
	std::string key_file;                         /* HMAC key of the namespace's records */
	bool quiet = false;                           /* no per-second lines */
	bool idle_yield = false;                      /* give the core away when there is no work */
	bool stages = false;                          /* server: time the loop's steps (TSC) */
};

/* Parses argv (without EAL's part). Returns 0, or -EINVAL with *err naming the bad option. */
int parse_args(int argc, char **argv, Options &opt, std::string &err);

/* One paragraph of usage text. */
const char *usage();

} // namespace echo

#endif
