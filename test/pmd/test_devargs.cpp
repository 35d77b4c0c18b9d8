/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of net_rdmaud's devargs parser (a pure function: no EAL needed). */
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "rdmaud_devargs.h"

using rdmaud::DevConfig;
using rdmaud::parse_devargs;

namespace {

int parse(const char *args, DevConfig &cfg, std::string &err)
{
	err.clear();
	return parse_devargs(args, cfg, err);
}

TEST(Devargs, EmptyGivesDefaults)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse(nullptr, cfg, err), 0);
	ASSERT_EQ(parse("", cfg, err), 0);
	EXPECT_EQ(cfg.dev, "");
	EXPECT_EQ(cfg.port, 1u);
	EXPECT_EQ(cfg.gid_index, rdmaud::kGidIndexAuto);
	EXPECT_EQ(cfg.qkey, rdmaud::kDefaultQkey);
	EXPECT_FALSE(cfg.mac_set);
}

TEST(Devargs, AllKeys)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse("dev=softud1,port=2,gid_index=3,qkey=0x1234,mac=02:00:00:00:00:09", cfg, err), 0)
		<< err;
	EXPECT_EQ(cfg.dev, "softud1");
	EXPECT_EQ(cfg.port, 2u);
	EXPECT_EQ(cfg.gid_index, 3);
	EXPECT_EQ(cfg.qkey, 0x1234u);
	ASSERT_TRUE(cfg.mac_set);
	EXPECT_EQ(cfg.mac.addr_bytes[0], 0x02);
	EXPECT_EQ(cfg.mac.addr_bytes[5], 0x09);
}

TEST(Devargs, ReparseResetsToDefaults)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse("port=3", cfg, err), 0);
	ASSERT_EQ(parse("qkey=7", cfg, err), 0);
	EXPECT_EQ(cfg.port, 1u);
	EXPECT_EQ(cfg.qkey, 7u);
}

struct BadCase {
	const char *args;
	const char *names; /* the error message must contain this */
};

class DevargsBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(DevargsBad, RefusedNamingTheProblem)
{
	DevConfig cfg;
	std::string err;
	EXPECT_EQ(parse(GetParam().args, cfg, err), -EINVAL);
	EXPECT_NE(err.find(GetParam().names), std::string::npos) << "error was: " << err;
}

TEST(Devargs, Registry)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse("registry=127.0.0.1:11311;10.0.0.1,ns=lab-1,name=echo.server,registry_ttl=9", cfg, err), 0)
		<< err;
	EXPECT_TRUE(cfg.registry_on);
	EXPECT_EQ(cfg.registry, "127.0.0.1:11311,10.0.0.1");
	EXPECT_EQ(cfg.registry_ns, "lab-1");
	EXPECT_EQ(cfg.registry_name, "echo.server");
	EXPECT_EQ(cfg.registry_ttl, 9u);
}

TEST(Devargs, RegistryFromSeedEnvironment)
{
	DevConfig cfg;
	std::string err;
	::setenv("HRD_REGISTRY_IP", "127.0.0.5:12000", 1);
	ASSERT_EQ(parse("name=a", cfg, err), 0) << err;
	EXPECT_TRUE(cfg.registry_on);
	EXPECT_EQ(cfg.registry, "127.0.0.5:12000");
	ASSERT_EQ(parse("registry=127.0.0.6", cfg, err), 0) << err; /* the devarg wins */
	EXPECT_EQ(cfg.registry, "127.0.0.6");
	::setenv("HRD_REGISTRY_IP", "127.0.0.5:99999", 1);
	EXPECT_EQ(parse("", cfg, err), -EINVAL);
	EXPECT_NE(err.find("HRD_REGISTRY_IP"), std::string::npos) << err;
	::unsetenv("HRD_REGISTRY_IP");
	ASSERT_EQ(parse("", cfg, err), 0) << err;
	EXPECT_FALSE(cfg.registry_on);
}

INSTANTIATE_TEST_SUITE_P(All, DevargsBad, ::testing::Values(
	BadCase{"bogus=1", "unknown devarg \"bogus\""},
	BadCase{"port=1,port=2", "\"port\" given more than once"},
	BadCase{"dev=", "invalid devarg dev="},
	BadCase{"port=0", "invalid devarg port=0"},
	BadCase{"port=255", "invalid devarg port=255"},
	BadCase{"port=-1", "invalid devarg port=-1"},
	BadCase{"port=1x", "invalid devarg port=1x"},
	BadCase{"gid_index=256", "invalid devarg gid_index=256"},
	BadCase{"gid_index=", "invalid devarg gid_index="},
	BadCase{"qkey=0x100000000", "invalid devarg qkey=0x100000000"},
	BadCase{"qkey=0x80000000", "controlled"},
	BadCase{"mac=02:00:00:00:00", "invalid devarg mac=02:00:00:00:00"},
	BadCase{"mac=ff:ff:ff:ff:ff:ff", "non-zero unicast"},
	BadCase{"mac=00:00:00:00:00:00", "non-zero unicast"},
	BadCase{"registry=host:0", "invalid devarg registry=host:0"},
	BadCase{"registry=", "invalid devarg registry="},
	BadCase{"registry=a,ns=bad/ns", "invalid devarg ns=bad/ns"},
	BadCase{"registry=a,name=", "invalid devarg name="},
	BadCase{"registry=a,registry_ttl=1", "invalid devarg registry_ttl=1"},
	BadCase{"name=x", "need a registry"}));

} // namespace

namespace {

TEST(Devargs, PeersAndKnobs)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse("peers=02:00:00:00:00:01@127.0.0.3/0x11;02:00:00:00:00:02@fe80::1/99/0x2222;"
			"02:00:00:00:00:03@0x12/7,tx_inline=0,tx_signal=16", cfg, err), 0) << err;
	ASSERT_EQ(cfg.peers.size(), 3u);
	const rdmaud::PeerSpec &a = cfg.peers[0];
	EXPECT_EQ(a.kind, rdmaud::PeerAddrKind::kGid);
	const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 3};
	EXPECT_EQ(memcmp(a.gid, mapped, 16), 0);
	EXPECT_EQ(a.qpn, 0x11u);
	EXPECT_FALSE(a.qkey_set);
	const rdmaud::PeerSpec &b = cfg.peers[1];
	EXPECT_EQ(b.gid[0], 0xfe);
	EXPECT_EQ(b.gid[1], 0x80);
	EXPECT_EQ(b.gid[15], 1);
	EXPECT_EQ(b.qpn, 99u);
	EXPECT_TRUE(b.qkey_set);
	EXPECT_EQ(b.qkey, 0x2222u);
	const rdmaud::PeerSpec &c = cfg.peers[2];
	EXPECT_EQ(c.kind, rdmaud::PeerAddrKind::kLid);
	EXPECT_EQ(c.lid, 0x12);
	EXPECT_EQ(c.mac.addr_bytes[5], 3);
	EXPECT_EQ(cfg.tx_inline, 0u);
	EXPECT_EQ(cfg.tx_signal, 16u);
}

TEST(Devargs, TrailingPeerSeparatorTolerated)
{
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse("peers=02:00:00:00:00:01@10.1.2.3/2;", cfg, err), 0) << err;
	EXPECT_EQ(cfg.peers.size(), 1u);
	EXPECT_EQ(cfg.tx_inline, rdmaud::kDefaultTxInline);
	EXPECT_EQ(cfg.tx_signal, rdmaud::kDefaultTxSignal);
}

INSTANTIATE_TEST_SUITE_P(Peers, DevargsBad, ::testing::Values(
	BadCase{"peers=", "empty peers table"},
	BadCase{"peers=;", "empty peers table"},
	BadCase{"peers=02:00:00:00:00:01", "expected MAC@ADDR/QPN"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.3", "expected MAC@ADDR/QPN"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.3/1/2/3", "expected MAC@ADDR/QPN"},
	BadCase{"peers=02:00:00:00:01@127.0.0.3/5", "bad MAC"},
	BadCase{"peers=03:00:00:00:00:01@127.0.0.3/5", "non-zero unicast"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.300/5", "bad IPv4"},
	BadCase{"peers=02:00:00:00:00:01@fe80:::1/5", "bad GID"},
	BadCase{"peers=02:00:00:00:00:01@0/5", "bad LID"},
	BadCase{"peers=02:00:00:00:00:01@0xc000/5", "bad LID"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.3/1", "bad QPN"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.3/0x1000000", "bad QPN"},
	BadCase{"peers=02:00:00:00:00:01@127.0.0.3/5/0x80000000", "bad Q_Key"},
	BadCase{"peers=02:00:00:00:00:01@1.2.3.4/5;02:00:00:00:00:01@1.2.3.5/6", "MAC listed twice"},
	BadCase{"tx_inline=1025", "invalid devarg tx_inline=1025"},
	BadCase{"tx_signal=0", "invalid devarg tx_signal=0"},
	BadCase{"tx_signal=257", "invalid devarg tx_signal=257"}));


/* A peers file in the temporary directory, removed at scope exit. */
struct TempFile {
	std::string path;
	explicit TempFile(const std::string &text)
	{
		char tmpl[] = "/tmp/rdmaud_peers_XXXXXX";
		int fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		path = tmpl;
		EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
		close(fd);
	}
	~TempFile() { unlink(path.c_str()); }
};

/* n distinct peers, one per line: 02:00:00:<i>@127.0.0.3/0x11. */
std::string peer_lines(unsigned n)
{
	std::string s;
	char line[64];
	for (unsigned i = 0; i < n; i++) {
		std::snprintf(line, sizeof(line), "02:00:00:%02x:%02x:%02x@127.0.0.3/0x11\n", (i >> 16) & 0xff,
			      (i >> 8) & 0xff, i & 0xff);
		s += line;
	}
	return s;
}

TEST(Devargs, PeersFile)
{
	TempFile f("# static peers\n\n  02:00:00:00:00:01@127.0.0.3/0x11  \r\n"
		   "02:00:00:00:00:02@10.0.0.7/0x12/0x2222 ; 02:00:00:00:00:03@0x0b03/0x13 # IB LID\n"
		   "\t\n02:00:00:00:00:04@fe80::1/99");
	DevConfig cfg;
	std::string err;
	const std::string args = "peers=02:00:00:00:00:09@127.0.0.2/0x11,peers_file=" + f.path;
	ASSERT_EQ(parse(args.c_str(), cfg, err), 0) << err;
	ASSERT_EQ(cfg.peers.size(), 5u);
	EXPECT_EQ(cfg.peers[0].mac.addr_bytes[5], 0x09); /* peers= first, then the file in order */
	EXPECT_EQ(cfg.peers[1].mac.addr_bytes[5], 0x01);
	EXPECT_EQ(cfg.peers[1].qpn, 0x11u);
	EXPECT_EQ(cfg.peers[2].qpn, 0x12u);
	EXPECT_TRUE(cfg.peers[2].qkey_set);
	EXPECT_EQ(cfg.peers[2].qkey, 0x2222u);
	EXPECT_EQ(cfg.peers[3].kind, rdmaud::PeerAddrKind::kLid);
	EXPECT_EQ(cfg.peers[3].lid, 0x0b03);
	EXPECT_EQ(cfg.peers[4].qpn, 99u);
	EXPECT_EQ(cfg.peers[4].gid[0], 0xfe);
}

TEST(Devargs, PeersFileTenThousand)
{
	TempFile f(peer_lines(10000));
	DevConfig cfg;
	std::string err;
	ASSERT_EQ(parse(("peers_file=" + f.path).c_str(), cfg, err), 0) << err;
	ASSERT_EQ(cfg.peers.size(), 10000u);
	EXPECT_EQ(cfg.peers[9999].mac.addr_bytes[4], 9999 >> 8);
	EXPECT_EQ(cfg.peers[9999].mac.addr_bytes[5], 9999 & 0xff);
}

TEST(Devargs, PeersFileRefused)
{
	struct Case {
		std::string text;
		std::string extra; /* devargs before peers_file= */
		const char *names;
	};
	const Case cases[] = {
		{"# nothing but a comment\n\n", "", "no peer entries"},
		{"02:00:00:00:00:01@127.0.0.3/0x11\n\n02:00:00:00:01@127.0.0.3/0x11\n", "", "line 3: peer \"02:00:00:00:01@127.0.0.3/0x11\": bad MAC"},
		{"02:00:00:00:00:01@127.0.0.3\n", "", "line 1: peer \"02:00:00:00:00:01@127.0.0.3\": expected MAC@ADDR/QPN"},
		{"02:00:00:00:00:01@127.0.0.3/1\n", "", "bad QPN"},
		{"02:00:00:00:00:01@127.0.0.3/5\n02:00:00:00:00:01@127.0.0.4/6\n", "", "line 2: peer \"02:00:00:00:00:01@127.0.0.4/6\": MAC listed twice"},
		{"02:00:00:00:00:01@127.0.0.3/5\n", "peers=02:00:00:00:00:01@127.0.0.9/7,", "MAC listed twice"},
		{peer_lines(rdmaud::kMaxStaticPeers + 1), "", "more than 16384 static peers"},
		{peer_lines(rdmaud::kMaxStaticPeers), "peers=02:01:00:00:00:01@127.0.0.9/7,", "more than 16384 static peers"},
	};
	for (const Case &c : cases) {
		TempFile f(c.text);
		DevConfig cfg;
		std::string err;
		const std::string args = c.extra + "peers_file=" + f.path;
		EXPECT_EQ(parse(args.c_str(), cfg, err), -EINVAL) << c.names;
		EXPECT_NE(err.find("invalid devarg peers_file=" + f.path), std::string::npos) << err;
		EXPECT_NE(err.find(c.names), std::string::npos) << "expected \"" << c.names << "\" in: " << err;
	}
	DevConfig cfg;
	std::string err;
	EXPECT_EQ(parse("peers_file=/nonexistent/rdmaud-peers", cfg, err), -EINVAL);
	EXPECT_NE(err.find("peers_file=/nonexistent/rdmaud-peers: cannot open: No such file or directory"),
		  std::string::npos) << err;
	EXPECT_EQ(parse("peers_file=", cfg, err), -EINVAL);
	EXPECT_NE(err.find("expected the path of a peers file"), std::string::npos) << err;
	EXPECT_EQ(parse("peers_file=/tmp", cfg, err), -EINVAL); /* a directory */
	EXPECT_NE(err.find("peers_file=/tmp: not a regular file"), std::string::npos) << err;
	/* A device would be read for ever (no newline in /dev/zero). */
	EXPECT_EQ(parse("peers_file=/dev/zero", cfg, err), -EINVAL);
	EXPECT_NE(err.find("peers_file=/dev/zero: not a regular file"), std::string::npos) << err;
	{
		TempFile big("02:00:00:00:00:01@127.0.0.3/0x11\n");
		ASSERT_EQ(::truncate(big.path.c_str(), rdmaud::kMaxPeersFileBytes + 1), 0);
		const std::string args = "peers_file=" + big.path;
		EXPECT_EQ(parse(args.c_str(), cfg, err), -EINVAL);
		EXPECT_NE(err.find(std::to_string(rdmaud::kMaxPeersFileBytes + 1) + " bytes: larger than"),
			  std::string::npos) << err;
	}
}

} // namespace
