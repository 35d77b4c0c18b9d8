/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of rdmaud-echo's option parser and latency histogram. */
#include <gtest/gtest.h>

#include <cerrno>
#include <algorithm>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "echo_args.h"
#include "echo_stats.h"

namespace {

int parse(std::vector<const char *> v, echo::Options &o, std::string &err)
{
	return echo::parse_args(static_cast<int>(v.size()), const_cast<char **>(v.data()), o, err);
}

TEST(EchoArgs, ServerDefaults)
{
	echo::Options o;
	std::string err;
	ASSERT_EQ(parse({"--mode", "server"}, o, err), 0) << err;
	EXPECT_EQ(o.mode, echo::Mode::kServer);
	EXPECT_FALSE(o.stages);
	EXPECT_EQ(o.duration_s, echo::kDefaultDurationS);
	EXPECT_EQ(o.window, echo::kDefaultWindow);
}

TEST(EchoArgs, ServerStages)
{
	echo::Options o;
	std::string err;
	ASSERT_EQ(parse({"--mode", "server", "--stages"}, o, err), 0) << err;
	EXPECT_TRUE(o.stages);
}

TEST(EchoArgs, ClientWithServers)
{
	echo::Options o;
	std::string err;
	ASSERT_EQ(parse({"--mode", "client", "--server", "02:00:00:00:00:01,02:00:00:00:00:02", "--window", "64",
			 "--size", "128", "--client-id", "3", "--duration", "0", "--quiet"},
			o, err),
		  0)
		<< err;
	ASSERT_EQ(o.servers.size(), 2u);
	EXPECT_EQ(o.servers[1].addr_bytes[5], 2);
	EXPECT_EQ(o.window, 64u);
	EXPECT_EQ(o.frame_size, 128u);
	EXPECT_EQ(o.client_id, 3u);
	EXPECT_EQ(o.duration_s, 0u);
	EXPECT_TRUE(o.quiet);
}

TEST(EchoArgs, ClientByName)
{
	echo::Options o;
	std::string err;
	ASSERT_EQ(parse({"--mode", "client", "--server-name", "s1,s2", "--registry", "127.0.0.1:1",
			 "--ns", "lab", "--idle-yield"},
			o, err),
		  0)
		<< err;
	ASSERT_EQ(o.server_names.size(), 2u);
	EXPECT_EQ(o.server_names[1], "s2");
	EXPECT_EQ(o.registry, "127.0.0.1:1");
	EXPECT_EQ(o.ns, "lab");
	EXPECT_TRUE(o.idle_yield);
	EXPECT_TRUE(o.servers.empty());
}

TEST(EchoArgs, Refusals)
{
	const std::vector<std::pair<std::vector<const char *>, const char *>> bad = {
		{{}, "--mode server|client is required"},
		{{"--mode", "both"}, "invalid --mode both"},
		{{"--mode", "client"}, "needs either --server"},
		{{"--mode", "client", "--server", "02:00:00:00:00:01", "--server-name", "x"}, "needs either --server"},
		{{"--mode", "client", "--server-name", "a,,b"}, "empty server name"},
		{{"--mode", "client", "--server", "ff:ff:ff:ff:ff:ff"}, "invalid --server"},
		{{"--mode", "server", "--window", "0"}, "invalid --window 0"},
		{{"--mode", "server", "--window", "513"}, "invalid --window 513"},
		{{"--mode", "server", "--size", "61"}, "invalid --size 61"},
		{{"--mode", "server", "--client-id", "256"}, "invalid --client-id 256"},
		{{"--mode", "server", "--bogus", "1"}, "unknown option --bogus"},
		{{"--mode", "server", "--port"}, "needs a value"},
	};
	for (const auto &[args, msg] : bad) {
		echo::Options o;
		std::string err;
		EXPECT_EQ(parse(args, o, err), -EINVAL) << msg;
		EXPECT_NE(err.find(msg), std::string::npos) << "got: " << err;
	}
}

TEST(EchoHistogram, BucketsCoverEveryValueOnce)
{
	for (uint64_t v : std::initializer_list<uint64_t>{0, 1, 7, 8, 9, 15, 16, 1000, 123456789, UINT64_MAX}) {
		unsigned b = echo::Histogram::bucket_of(v);
		ASSERT_LT(b, echo::Histogram::kBuckets);
		EXPECT_LE(echo::Histogram::bucket_low(b), v);
		EXPECT_GE(echo::Histogram::bucket_high(b), v);
	}
	for (unsigned b = 0; b + 1 < echo::Histogram::kBuckets; b++)
		EXPECT_EQ(echo::Histogram::bucket_high(b) + 1, echo::Histogram::bucket_low(b + 1)) << b;
}

TEST(EchoHistogram, QuantilesWithinOneBucket)
{
	echo::Histogram h;
	std::vector<uint64_t> v;
	std::mt19937_64 rng(42);
	for (int i = 0; i < 100000; i++) {
		uint64_t x = 1000 + rng() % 1000000;
		v.push_back(x);
		h.add(x);
	}
	std::sort(v.begin(), v.end());
	for (double q : {0.5, 0.9, 0.99}) {
		uint64_t exact = v[static_cast<size_t>(q * static_cast<double>(v.size())) - 1];
		uint64_t got = h.quantile(q);
		EXPECT_NEAR(static_cast<double>(got), static_cast<double>(exact), static_cast<double>(exact) / 64.0)
			<< "q=" << q;
	}
	EXPECT_EQ(h.quantile(1.0), v.back());
	EXPECT_EQ(h.max(), v.back());
	EXPECT_EQ(h.count(), v.size());
}

TEST(EchoHistogram, MergeAddsCounts)
{
	echo::Histogram a, b;
	a.add(10);
	b.add(1000);
	b.add(2000);
	a.merge(b);
	EXPECT_EQ(a.count(), 3u);
	EXPECT_EQ(a.max(), 2000u);
	EXPECT_NEAR(static_cast<double>(a.quantile(0.5)), 1000.0, 1000.0 / 64.0);
}

} // namespace
