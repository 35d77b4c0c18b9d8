/* SPDX-License-Identifier: BSD-3-Clause */
/* Port, queues and mempool of rdmaud-echo, placed on the port's NUMA node. */
#ifndef RDMAUD_ECHO_PORT_H
#define RDMAUD_ECHO_PORT_H

#include <cstdint>
#include <string>

#include <rte_ether.h>
#include <rte_mempool.h>

namespace echo {

/* Descriptors per queue: enough for a 512-request window in flight plus a burst. */
inline constexpr uint16_t kRxDesc = 1024;
inline constexpr uint16_t kTxDesc = 1024;
/* Frames handled per rx/tx call: DPDK's customary burst. */
inline constexpr uint16_t kBurst = 32;
/* Per-lcore mempool cache: DPDK's recommended maximum is 512; 256 keeps the pool small. */
inline constexpr unsigned kPoolCache = 256;

struct Port {
	uint16_t id = 0;
	uint16_t nb_queues = 0;
	int socket = 0;                /* NUMA node of the port (0 if unknown) */
	rte_mempool *pool = nullptr;
	rte_ether_addr mac{};
	bool started = false;
};

/* Configures nb_queues rx/tx queue pairs and starts the port. -errno + *err on failure. */
int port_open(uint16_t id, uint16_t nb_queues, unsigned frame_size, Port &port, std::string &err);
/* Stops and closes the port and frees its pool; safe on a half-opened Port. */
void port_close(Port &port);

} // namespace echo

#endif
