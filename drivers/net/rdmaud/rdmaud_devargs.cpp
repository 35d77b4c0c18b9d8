/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_devargs.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <rte_kvargs.h>

namespace rdmaud {
namespace {

const char *const kValidKeys[] = {kArgDev, kArgPort, kArgGidIndex, kArgQkey, kArgMac, nullptr};

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

} // namespace

int parse_devargs(const char *args, DevConfig &cfg, std::string &err)
{
	cfg = DevConfig{};
	if (args == nullptr || *args == '\0')
		return 0;

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
		{kArgQkey, on_qkey}, {kArgMac, on_mac},
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

} // namespace rdmaud
