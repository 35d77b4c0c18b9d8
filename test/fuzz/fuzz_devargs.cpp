/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: net_rdmaud's devargs parser (rte_kvargs underneath, no EAL needed).
//
// Input = one mode byte + text. Mode (the byte modulo 5):
//   0  the text is a whole devargs string ("dev=softud0,peers=...")
//   1  the text is the value of peers= alone
//   2  the text is $HRD_REGISTRY_IP, parsed with devargs "name=n"
//   3  the text is a devargs string, parsed twice: the second parse must give the same result
//   4  the text (NULs included) is the content of a peers_file= file
// Properties: no crash / UB / leak; a refusal names what was wrong; an accepted configuration
// is within every documented bound; an accepted peers table printed back in canonical form
// parses to the same table.
#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "rdmaud_devargs.h"
#include "resolver.h"

using namespace rdmaud;

namespace {

bool unicast_nonzero(const rte_ether_addr &m)
{
	return rte_is_unicast_ether_addr(&m) && !rte_is_zero_ether_addr(&m);
}

void check_peer(const PeerSpec &p)
{
	require(unicast_nonzero(p.mac));
	require(p.qpn >= kMinDataQpn && p.qpn <= kQpnMask);
	if (p.kind == PeerAddrKind::kLid)
		require(p.lid >= 1 && p.lid <= kMaxUnicastLid);
	if (p.qkey_set)
		require((p.qkey & kQkeyControlledBit) == 0);
	require(p.queue_qpns.empty());
}

void check_config(const DevConfig &c)
{
	require(c.port >= 1 && c.port <= kMaxPortNum);
	require(c.gid_index == kGidIndexAuto || (c.gid_index >= 0 && c.gid_index <= kMaxGidIndex));
	require((c.qkey & kQkeyControlledBit) == 0);
	if (c.mac_set)
		require(unicast_nonzero(c.mac));
	require(c.tx_inline <= kMaxTxInline);
	require(c.tx_signal >= 1 && c.tx_signal <= kMaxTxSignal);
	require(c.registry_ttl >= registry::kMinLocalTtl && c.registry_ttl <= kMaxRegistryTtl);
	require(c.peers.size() <= kMaxStaticPeers);
	for (size_t i = 0; i < c.peers.size(); i++) {
		check_peer(c.peers[i]);
		for (size_t j = 0; j < i; j++)
			require(!rte_is_same_ether_addr(&c.peers[i].mac, &c.peers[j].mac));
	}
	require(!c.registry_on || !c.registry.empty());
	require(c.registry_on || (c.registry_name.empty() && c.registry_key.empty()));
}

// Canonical text of a peers table: what parse_peers must read back to the same entries.
std::string format_peers(const std::vector<PeerSpec> &v)
{
	std::string s;
	for (const PeerSpec &p : v) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		rte_ether_format_addr(mac, sizeof(mac), &p.mac);
		s += mac;
		s += '@';
		if (p.kind == PeerAddrKind::kLid) {
			s += std::to_string(p.lid);
		} else {
			char gid[INET6_ADDRSTRLEN];
			require(inet_ntop(AF_INET6, p.gid, gid, sizeof(gid)) != nullptr);
			s += gid; /* always has a ':', so it reads back as a GID, never a LID */
		}
		s += '/' + std::to_string(p.qpn);
		if (p.qkey_set)
			s += '/' + std::to_string(p.qkey);
		s += ';';
	}
	return s;
}

bool same_peer(const PeerSpec &a, const PeerSpec &b)
{
	return rte_is_same_ether_addr(&a.mac, &b.mac) && a.kind == b.kind &&
	       (a.kind == PeerAddrKind::kLid ? a.lid == b.lid : std::memcmp(a.gid, b.gid, 16) == 0) &&
	       a.qpn == b.qpn && a.qkey_set == b.qkey_set && (!a.qkey_set || a.qkey == b.qkey);
}

bool same_peers(const std::vector<PeerSpec> &a, const std::vector<PeerSpec> &b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++)
		if (!same_peer(a[i], b[i]))
			return false;
	return true;
}

/* A parser's verdict: 0, or -EINVAL with a message. Returns whether it accepted. */
bool accepted(int rc, const std::string &err)
{
	require(rc == 0 || rc == -EINVAL);
	require(rc == 0 || !err.empty());
	return rc == 0;
}

/* An accepted peers table printed back in canonical form parses to the same table. */
void check_reparse(const std::vector<PeerSpec> &peers)
{
	std::vector<PeerSpec> again;
	std::string err;
	require(parse_peers(format_peers(peers).c_str(), again, err) == 0);
	require(same_peers(peers, again));
}

void fuzz_devargs(const std::string &text)
{
	DevConfig cfg;
	std::string err;
	if (!accepted(parse_devargs(text.c_str(), cfg, err), err))
		return;
	check_config(cfg);
	if (!cfg.peers.empty())
		check_reparse(cfg.peers);
}

/* A file of this process holding content; its path. In memory (memfd): a disk under load
 * once stalled an ftruncate of a /tmp file for 81 s, which libFuzzer reports as a hang. */
const char *peers_file(const std::string &content)
{
	static std::string path;
	static int fd = -1;
	if (fd < 0) {
		fd = memfd_create("fuzz_devargs_peers", MFD_CLOEXEC);
		require(fd >= 0);
		path = "/proc/self/fd/" + std::to_string(fd);
	}
	require(ftruncate(fd, 0) == 0);
	require(pwrite(fd, content.data(), content.size(), 0) == static_cast<ssize_t>(content.size()));
	return path.c_str();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	unsetenv(kEnvRegistry); /* mode 2 sets it per input */
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const unsigned mode = data[0] % 5;
	/* Devargs arrive as a C string: stop at the first NUL, as EAL would. */
	const std::string text(reinterpret_cast<const char *>(data + 1), size - 1);
	const std::string cstr(text.c_str());
	switch (mode) {
	case 0:
		fuzz_devargs(cstr);
		break;
	case 1: {
		std::vector<PeerSpec> peers;
		std::string err;
		if (!accepted(parse_peers(cstr.c_str(), peers, err), err))
			break;
		require(!peers.empty() && peers.size() <= kMaxStaticPeers);
		for (const PeerSpec &p : peers)
			check_peer(p);
		check_reparse(peers);
		break;
	}
	case 2: {
		setenv(kEnvRegistry, cstr.c_str(), 1);
		DevConfig cfg;
		std::string err;
		const int rc = parse_devargs("name=n", cfg, err);
		unsetenv(kEnvRegistry);
		if (accepted(rc, err))
			require(cfg.registry_on && cfg.registry == cstr && cfg.registry_name == "n");
		break;
	}
	case 4: {
		std::vector<PeerSpec> peers;
		std::string err;
		const int rc = parse_peers_file(peers_file(text), peers, err);
		if (rc == 0) {
			require(!peers.empty() && peers.size() <= kMaxStaticPeers);
			for (const PeerSpec &p : peers)
				check_peer(p);
			check_reparse(peers);
		} else {
			require(rc == -EINVAL && !err.empty());
		}
		break;
	}
	case 3: {
		DevConfig a, b;
		std::string ea, eb;
		const int ra = parse_devargs(cstr.c_str(), a, ea);
		const int rb = parse_devargs(cstr.c_str(), b, eb);
		require(ra == rb && ea == eb);
		if (ra == 0) {
			check_config(a);
			require(a.dev == b.dev && a.port == b.port && a.gid_index == b.gid_index &&
				a.qkey == b.qkey && a.mac_set == b.mac_set && same_peers(a.peers, b.peers) &&
				a.tx_inline == b.tx_inline && a.tx_signal == b.tx_signal &&
				a.registry == b.registry && a.registry_ns == b.registry_ns &&
				a.registry_name == b.registry_name && a.registry_key == b.registry_key &&
				a.registry_ttl == b.registry_ttl);
		}
		break;
	}
	}
	return 0;
}
