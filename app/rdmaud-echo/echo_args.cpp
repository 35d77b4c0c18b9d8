/* SPDX-License-Identifier: BSD-3-Clause */
#include "echo_args.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "echo_proto.h"

namespace echo {
namespace {

bool to_uint(const char *s, unsigned long max, unsigned &out)
{
	if (s == nullptr || *s == '\0' || *s == '-' || *s == '+')
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long v = std::strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	out = static_cast<unsigned>(v);
	return true;
}

bool parse_macs(const char *list, std::vector<rte_ether_addr> &out)
{
	std::string_view rest(list);
	out.clear();
	while (!rest.empty()) {
		size_t comma = rest.find(',');
		std::string one(rest.substr(0, comma));
		rte_ether_addr mac;
		if (rte_ether_unformat_addr(one.c_str(), &mac) != 0 || !rte_is_unicast_ether_addr(&mac))
			return false;
		out.push_back(mac);
		rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
	}
	return !out.empty();
}

} // namespace

const char *usage()
{
	return "rdmaud-echo [EAL options] -- --mode server|client [options]\n"
	       "  --port N          ethdev port (default 0)\n"
	       "  --duration S      stop after S seconds, 0 = at SIGINT/SIGTERM (default 10)\n"
	       "  --quiet           no per-second lines, only the summary\n"
	       "client only:\n"
	       "  --server MAC[,MAC...]  server ports to send to, round-robin (required)\n"
	       "  --window W        outstanding requests per client thread (default 16, max 512)\n"
	       "  --size B          frame size in bytes (default 64, at least 62)\n"
	       "  --timeout-ms T    a request unanswered for T ms is counted lost (default 200)\n"
	       "  --client-id N     this client machine's number, 0..255 (default 0)\n"
	       "  --server-name N[,N...] look the servers up by name in the registry instead\n"
	       "  --registry H[:P],...   registry memcached servers (default: $HRD_REGISTRY_IP)\n"
	       "  --ns NAME         registry namespace (default echo)\n"
	       "  --key-file F      HMAC key the namespace's records are signed with\n"
	       "server only:\n"
	       "  --stages          time each step of the loop (rx burst, echo, tx burst, empty poll)\n"
	       "                    with the TSC and print the average cycles per step at the end\n"
	       "both:\n"
	       "  --idle-yield      sched_yield() when a worker has no work (more processes than cores)\n"
	       "Each worker lcore owns one queue of the port; the main lcore prints statistics.\n";
}

int parse_args(int argc, char **argv, Options &opt, std::string &err)
{
	opt = Options{};
	bool have_mode = false;
	for (int i = 0; i < argc; i++) {
		std::string_view a(argv[i]);
		const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
		auto bad = [&](const char *why) {
			err = std::string("invalid ") + std::string(a) + " " + (val ? val : "") + ": " + why;
			return -EINVAL;
		};
		if (a == "--quiet" || a == "--idle-yield" || a == "--stages") {
			(a == "--quiet" ? opt.quiet : a == "--stages" ? opt.stages : opt.idle_yield) = true;
			continue;
		}
		if (val == nullptr) {
			err = std::string("option ") + std::string(a) + (a.starts_with("--") ? " needs a value" : " is not an option");
			return -EINVAL;
		}
		i++;
		if (a == "--mode") {
			if (std::strcmp(val, "server") == 0)
				opt.mode = Mode::kServer;
			else if (std::strcmp(val, "client") == 0)
				opt.mode = Mode::kClient;
			else
				return bad("expected server or client");
			have_mode = true;
		} else if (a == "--port") {
			unsigned v;
			if (!to_uint(val, RTE_MAX_ETHPORTS - 1, v))
				return bad("expected an ethdev port number");
			opt.port = static_cast<uint16_t>(v);
		} else if (a == "--duration") {
			if (!to_uint(val, 86400, opt.duration_s))
				return bad("expected seconds, 0 to 86400");
		} else if (a == "--window") {
			if (!to_uint(val, kMaxWindow, opt.window) || opt.window == 0)
				return bad("expected 1 to 512 outstanding requests");
		} else if (a == "--size") {
			if (!to_uint(val, kMaxFrame, opt.frame_size) || opt.frame_size < kMinFrame)
				return bad("expected a frame size from 62 to 9000 bytes");
		} else if (a == "--timeout-ms") {
			if (!to_uint(val, 60000, opt.timeout_ms) || opt.timeout_ms == 0)
				return bad("expected 1 to 60000 ms");
		} else if (a == "--client-id") {
			if (!to_uint(val, 255, opt.client_id))
				return bad("expected a machine number from 0 to 255");
		} else if (a == "--server") {
			if (!parse_macs(val, opt.servers))
				return bad("expected unicast MAC addresses separated by commas");
		} else if (a == "--server-name") {
			opt.server_names.clear();
			std::string_view rest(val);
			while (!rest.empty()) {
				size_t comma = rest.find(',');
				opt.server_names.emplace_back(rest.substr(0, comma));
				if (opt.server_names.back().empty())
					return bad("empty server name");
				rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
			}
			if (opt.server_names.empty())
				return bad("expected server names separated by commas");
		} else if (a == "--registry") {
			opt.registry = val;
		} else if (a == "--ns") {
			if (*val == '\0')
				return bad("empty namespace");
			opt.ns = val;
		} else if (a == "--key-file") {
			opt.key_file = val;
		} else {
			err = std::string("unknown option ") + std::string(a);
			return -EINVAL;
		}
	}
	if (!have_mode) {
		err = "--mode server|client is required";
		return -EINVAL;
	}
	if (opt.mode == Mode::kClient && opt.servers.empty() == opt.server_names.empty()) {
		err = "client mode needs either --server MAC[,MAC...] or --server-name NAME[,NAME...]";
		return -EINVAL;
	}
	return 0;
}

} // namespace echo
