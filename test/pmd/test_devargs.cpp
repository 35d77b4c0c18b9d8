/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of net_rdmaud's devargs parser (a pure function: no EAL needed). */
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

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
	BadCase{"mac=00:00:00:00:00:00", "non-zero unicast"}));

} // namespace
