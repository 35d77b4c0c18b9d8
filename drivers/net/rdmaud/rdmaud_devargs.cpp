/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_devargs.h"

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <rte_kvargs.h>

#include "config.h"
#include "record.h"
#include "resolver.h"

namespace rdmaud {
namespace {

const char *const kValidKeys[] = {kArgDev, kArgPort, kArgGidIndex, kArgQkey, kArgMac,
				   kArgPeers, kArgPeersFile, kArgTxInline, kArgTxSignal, kArgRegistry, kArgNs,
				   kArgName, kArgRegistryKey, kArgRegistryTtl, nullptr};
/* Separators inside peers=: kvargs owns ',' and '=', a MAC and a GID own ':'. */
inline constexpr char kPeerSep = ';';
inline constexpr char kPeerAddrSep = '@';
inline constexpr char kPeerFieldSep = '/';

struct KvargsDeleter {
	void operator()(rte_kvargs *kv) const { rte_kvargs_free(kv); }
};
using KvargsPtr = std::unique_ptr<rte_kvargs, KvargsDeleter>;

/* Whole-string unsigned parse in [0, max]; accepts decimal, 0x hex and 0 octal. */
bool parse_uint(const char *s, unsigned long long max, unsigned long long &out)
{
	if (s == nullptr || *s == '\0' || *s == '-' || *s == '+')
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long long v = std::strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	out = v;
	return true;
}

/* State handed to each per-key callback. */
struct ParseCtx {
	DevConfig &cfg;
	std::string &err;
};

int bad(ParseCtx *ctx, const char *key, const char *value, const char *why)
{
	ctx->err = std::string("invalid devarg ") + key + "=" + (value ? value : "") + ": " + why;
	return -EINVAL;
}

int on_dev(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	if (value == nullptr || *value == '\0')
		return bad(ctx, key, value, "empty device name");
	ctx->cfg.dev = value;
	return 0;
}

int on_port(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, kMaxPortNum, v) || v == 0)
		return bad(ctx, key, value, "expected a verbs port number from 1 to 254");
	ctx->cfg.port = static_cast<unsigned>(v);
	return 0;
}

int on_gid_index(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, kMaxGidIndex, v))
		return bad(ctx, key, value, "expected a GID table index from 0 to 255");
	ctx->cfg.gid_index = static_cast<int>(v);
	return 0;
}

int on_qkey(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, UINT32_MAX, v))
		return bad(ctx, key, value, "expected a 32-bit Q_Key");
	if (v & kQkeyControlledBit)
		return bad(ctx, key, value, "Q_Keys with bit 31 set are controlled (privileged); pick one below 0x80000000");
	ctx->cfg.qkey = static_cast<uint32_t>(v);
	return 0;
}

int on_mac(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	rte_ether_addr mac;
	if (value == nullptr || rte_ether_unformat_addr(value, &mac) != 0)
		return bad(ctx, key, value, "expected a MAC address xx:xx:xx:xx:xx:xx");
	if (!rte_is_unicast_ether_addr(&mac) || rte_is_zero_ether_addr(&mac))
		return bad(ctx, key, value, "the port's MAC must be a non-zero unicast address");
	ctx->cfg.mac = mac;
	ctx->cfg.mac_set = true;
	return 0;
}

int on_peers(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	std::string why;
	if (value == nullptr || parse_peers(value, ctx->cfg.peers, why) != 0)
		return bad(ctx, key, value, why.empty() ? "empty peers table" : why.c_str());
	return 0;
}

int on_peers_file(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	std::string why;
	if (value == nullptr || *value == '\0')
		return bad(ctx, key, value, "expected the path of a peers file");
	if (parse_peers_file(value, ctx->cfg.peers, why) != 0)
		return bad(ctx, key, value, why.c_str());
	return 0;
}

int on_tx_inline(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, kMaxTxInline, v))
		return bad(ctx, key, value, "expected an inline threshold in bytes from 0 to 1024");
	ctx->cfg.tx_inline = static_cast<unsigned>(v);
	return 0;
}

int on_tx_signal(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, kMaxTxSignal, v) || v == 0)
		return bad(ctx, key, value, "expected a completion interval from 1 to 256 sends");
	ctx->cfg.tx_signal = static_cast<unsigned>(v);
	return 0;
}

/* registry=host[:port][;host[:port]...]: ';' because kvargs owns ','. */
int on_registry(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	std::string list = value ? value : "";
	for (char &c : list)
		if (c == ';')
			c = ',';
	std::vector<registry::Server> servers;
	registry::Status st = registry::parse_servers(list, &servers);
	if (!st.ok())
		return bad(ctx, key, value, st.message.c_str());
	ctx->cfg.registry = list;
	ctx->cfg.registry_on = true;
	return 0;
}

int on_ns(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	if (value == nullptr || !registry::valid_namespace(value))
		return bad(ctx, key, value, "expected 1 to 64 characters of [A-Za-z0-9._-]");
	ctx->cfg.registry_ns = value;
	return 0;
}

int on_name(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	if (value == nullptr || *value == '\0' || !registry::valid_name(value))
		return bad(ctx, key, value, "expected 1 to 64 characters of [A-Za-z0-9._-]");
	ctx->cfg.registry_name = value;
	return 0;
}

int on_registry_key(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	if (value == nullptr || *value == '\0')
		return bad(ctx, key, value, "expected the path of a key file");
	ctx->cfg.registry_key = value; /* read (and its permissions checked) at probe */
	return 0;
}

int on_registry_ttl(const char *key, const char *value, void *opaque)
{
	auto *ctx = static_cast<ParseCtx *>(opaque);
	unsigned long long v;
	if (!parse_uint(value, kMaxRegistryTtl, v) || v < registry::kMinLocalTtl)
		return bad(ctx, key, value, "expected a record lifetime from 2 to 86400 seconds");
	ctx->cfg.registry_ttl = static_cast<unsigned>(v);
	return 0;
}

/* One peer entry "MAC@ADDR/QPN[/QKEY]" (a copy: it is cut in place). */
int parse_peer(std::string entry, PeerSpec &p, std::string &err)
{
	const std::string whole = entry;
	auto fail = [&](const char *why) {
		err = "peer \"" + whole + "\": " + why;
		return -EINVAL;
	};
	size_t at = entry.find(kPeerAddrSep);
	if (at == std::string::npos)
		return fail("expected MAC@ADDR/QPN[/QKEY]");
	std::string mac = entry.substr(0, at);
	std::string rest = entry.substr(at + 1);
	if (rte_ether_unformat_addr(mac.c_str(), &p.mac) != 0)
		return fail("bad MAC address");
	if (!rte_is_unicast_ether_addr(&p.mac) || rte_is_zero_ether_addr(&p.mac))
		return fail("a peer's MAC must be a non-zero unicast address");

	std::vector<std::string> f;
	for (size_t pos = 0;;) {
		size_t sl = rest.find(kPeerFieldSep, pos);
		f.push_back(rest.substr(pos, sl == std::string::npos ? std::string::npos : sl - pos));
		if (sl == std::string::npos)
			break;
		pos = sl + 1;
	}
	if (f.size() < 2 || f.size() > 3)
		return fail("expected MAC@ADDR/QPN[/QKEY]");

	const std::string &addr = f[0];
	in_addr v4;
	in6_addr v6;
	unsigned long long v;
	if (addr.find(':') != std::string::npos) {
		if (inet_pton(AF_INET6, addr.c_str(), &v6) != 1)
			return fail("bad GID (expected IPv6 notation)");
		p.kind = PeerAddrKind::kGid;
		std::memcpy(p.gid, &v6, sizeof(p.gid));
	} else if (addr.find('.') != std::string::npos) {
		if (inet_pton(AF_INET, addr.c_str(), &v4) != 1)
			return fail("bad IPv4 address");
		p.kind = PeerAddrKind::kGid;
		std::memset(p.gid, 0, sizeof(p.gid));
		p.gid[10] = 0xff; /* IPv4-mapped IPv6, as RoCE v2 IPv4 GIDs are */
		p.gid[11] = 0xff;
		std::memcpy(&p.gid[12], &v4, 4);
	} else {
		if (!parse_uint(addr.c_str(), kMaxUnicastLid, v) || v == 0)
			return fail("bad LID (expected a unicast LID 0x1-0xbfff)");
		p.kind = PeerAddrKind::kLid;
		p.lid = static_cast<uint16_t>(v);
	}
	if (!parse_uint(f[1].c_str(), kQpnMask, v) || v < kMinDataQpn)
		return fail("bad QPN (expected 2 to 0xffffff)");
	p.qpn = static_cast<uint32_t>(v);
	if (f.size() == 3) {
		if (!parse_uint(f[2].c_str(), UINT32_MAX, v) || (v & kQkeyControlledBit))
			return fail("bad Q_Key (expected a 32-bit value below 0x80000000)");
		p.qkey_set = true;
		p.qkey = static_cast<uint32_t>(v);
	}
	return 0;
}

/* key=value pairs of a non-empty devargs string into cfg (defined below). */
int parse_kvargs(const char *args, DevConfig &cfg, std::string &err);

} // namespace

namespace {

/* Append the ';'-separated entries of s to out; seen holds the MACs already in out. */
int append_peers(const std::string &s, std::vector<PeerSpec> &out, std::unordered_set<uint64_t> &seen,
		 std::string &err)
{
	for (size_t pos = 0; pos <= s.size();) {
		size_t sep = s.find(kPeerSep, pos);
		std::string entry = s.substr(pos, sep == std::string::npos ? std::string::npos : sep - pos);
		const size_t b = entry.find_first_not_of(" \t");
		entry = b == std::string::npos ? std::string() : entry.substr(b, entry.find_last_not_of(" \t") - b + 1);
		if (!entry.empty()) { /* a trailing ';' is tolerated */
			PeerSpec p;
			if (parse_peer(entry, p, err) != 0)
				return -EINVAL;
			uint64_t key = 0;
			std::memcpy(&key, p.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
			if (!seen.insert(key).second) {
				err = "peer \"" + entry + "\": MAC listed twice";
				return -EINVAL;
			}
			if (out.size() == kMaxStaticPeers) {
				err = "more than " + std::to_string(kMaxStaticPeers) + " static peers";
				return -EINVAL;
			}
			out.push_back(p);
		}
		if (sep == std::string::npos)
			break;
		pos = sep + 1;
	}
	return 0;
}

std::unordered_set<uint64_t> macs_of(const std::vector<PeerSpec> &v)
{
	std::unordered_set<uint64_t> seen;
	for (const PeerSpec &p : v) {
		uint64_t key = 0;
		std::memcpy(&key, p.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
		seen.insert(key);
	}
	return seen;
}

struct FileCloser {
	void operator()(FILE *f) const { std::fclose(f); }
};

} // namespace

int parse_peers(const char *value, std::vector<PeerSpec> &out, std::string &err)
{
	out.clear();
	if (value == nullptr || *value == '\0') {
		err = "empty peers table";
		return -EINVAL;
	}
	std::unordered_set<uint64_t> seen;
	if (append_peers(value, out, seen, err) != 0)
		return -EINVAL;
	if (out.empty()) {
		err = "empty peers table";
		return -EINVAL;
	}
	return 0;
}

int parse_peers_file(const char *path, std::vector<PeerSpec> &out, std::string &err)
{
	std::unique_ptr<FILE, FileCloser> f(std::fopen(path, "re"));
	if (!f) {
		const int e = errno;
		err = std::string("cannot open: ") + std::strerror(e);
		return -e;
	}
	struct stat st{};
	if (::fstat(fileno(f.get()), &st) != 0 || !S_ISREG(st.st_mode)) {
		err = "not a regular file";
		return -EINVAL;
	}
	if (st.st_size > kMaxPeersFileBytes) {
		err = std::to_string(st.st_size) + " bytes: larger than " + std::to_string(kMaxPeersFileBytes) +
		      " (" + std::to_string(kMaxStaticPeers) + " peers of 1 KiB)";
		return -EINVAL;
	}
	std::unordered_set<uint64_t> seen = macs_of(out);
	const size_t before = out.size();
	char *buf = nullptr;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	for (ssize_t len; (len = getline(&buf, &cap, f.get())) >= 0;) {
		lineno++;
		std::string line(buf, static_cast<size_t>(len));
		if (size_t hash = line.find('#'); hash != std::string::npos)
			line.erase(hash);
		const size_t b = line.find_first_not_of(" \t\r\n");
		if (b == std::string::npos)
			continue;
		line = line.substr(b, line.find_last_not_of(" \t\r\n") - b + 1);
		if (append_peers(line, out, seen, err) != 0) {
			err = "line " + std::to_string(lineno) + ": " + err;
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0 && std::ferror(f.get())) {
		err = std::string("read error: ") + std::strerror(errno);
		rc = -EIO;
	}
	std::free(buf);
	if (rc == 0 && out.size() == before) {
		err = "no peer entries";
		rc = -EINVAL;
	}
	return rc;
}

int parse_devargs(const char *args, DevConfig &cfg, std::string &err)
{
	cfg = DevConfig{};
	if (args != nullptr && *args != '\0') {
		if (int rc = parse_kvargs(args, cfg, err); rc != 0)
			return rc;
	}
	/* The seed's HRD_REGISTRY_IP when no registry devarg names one. */
	if (!cfg.registry_on) {
		const char *env = std::getenv(kEnvRegistry);
		if (env != nullptr && *env != '\0') {
			std::vector<registry::Server> servers;
			registry::Status st = registry::parse_servers(env, &servers);
			if (!st.ok()) {
				err = std::string("invalid ") + kEnvRegistry + "=" + env + ": " + st.message;
				return -EINVAL;
			}
			cfg.registry = env;
			cfg.registry_on = true;
		}
	}
	if (!cfg.registry_on && (!cfg.registry_name.empty() || !cfg.registry_key.empty())) {
		err = "devargs name and registry_key need a registry (registry= or HRD_REGISTRY_IP)";
		return -EINVAL;
	}
	return 0;
}

namespace {

int parse_kvargs(const char *args, DevConfig &cfg, std::string &err)
{
	/* Parse once without a key list so an unknown key can be named. */
	KvargsPtr all(rte_kvargs_parse(args, nullptr));
	if (!all) {
		err = std::string("cannot parse devargs \"") + args + "\": expected key=value[,key=value...]";
		return -EINVAL;
	}
	for (unsigned i = 0; i < all->count; i++) {
		const char *key = all->pairs[i].key;
		bool known = false;
		for (const char *const *k = kValidKeys; *k != nullptr; k++)
			known = known || std::strcmp(*k, key) == 0;
		if (!known) {
			err = std::string("unknown devarg \"") + key + "\"; accepted: " RDMAUD_PARAM_STRING;
			return -EINVAL;
		}
		if (rte_kvargs_count(all.get(), key) > 1) {
			err = std::string("devarg \"") + key + "\" given more than once";
			return -EINVAL;
		}
	}

	ParseCtx ctx{cfg, err};
	const struct {
		const char *key;
		arg_handler_t fn;
	} handlers[] = {
		{kArgDev, on_dev}, {kArgPort, on_port}, {kArgGidIndex, on_gid_index},
		{kArgQkey, on_qkey}, {kArgMac, on_mac}, {kArgPeers, on_peers}, {kArgPeersFile, on_peers_file},
		{kArgTxInline, on_tx_inline}, {kArgTxSignal, on_tx_signal},
		{kArgRegistry, on_registry}, {kArgNs, on_ns}, {kArgName, on_name},
		{kArgRegistryKey, on_registry_key}, {kArgRegistryTtl, on_registry_ttl},
	};
	for (const auto &h : handlers) {
		if (rte_kvargs_process(all.get(), h.key, h.fn, &ctx) != 0) {
			if (err.empty())
				err = std::string("invalid devarg ") + h.key;
			return -EINVAL;
		}
	}
	return 0;
}

} // namespace

} // namespace rdmaud
