/* SPDX-License-Identifier: BSD-3-Clause */
/* Client start-up: find the servers' MACs by name in the registry (lib/registry). */
#ifndef RDMAUD_ECHO_RESOLVE_H
#define RDMAUD_ECHO_RESOLVE_H

#include <string>
#include <vector>

#include <rte_ether.h>

#include "echo_args.h"

namespace echo {

/* Servers may still be starting: keep asking this long before giving up. */
inline constexpr unsigned kResolveWaitS = 15;

/* Appends the MAC of every opt.server_names entry to opt.servers. -errno + *err on failure. */
int resolve_servers(Options &opt, std::string &err);

} // namespace echo

#endif
