/* SPDX-License-Identifier: BSD-3-Clause */
#include "echo_stats.h"

#include <bit>
#include <cstdio>

namespace echo {

unsigned Histogram::bucket_of(uint64_t v)
{
	constexpr uint64_t kLinear = 1u << kSubBits;
	if (v < kLinear)
		return static_cast<unsigned>(v);
	unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
	unsigned sub = static_cast<unsigned>(v >> (msb - kSubBits)) & (kLinear - 1);
	return ((msb - kSubBits + 1) << kSubBits) + sub;
}

uint64_t Histogram::bucket_low(unsigned b)
{
	constexpr unsigned kLinear = 1u << kSubBits;
	if (b < kLinear)
		return b;
	unsigned msb = (b >> kSubBits) + kSubBits - 1;
	uint64_t sub = b & (kLinear - 1);
	return (uint64_t{kLinear} | sub) << (msb - kSubBits);
}

uint64_t Histogram::bucket_high(unsigned b)
{
	return b + 1 < kBuckets ? bucket_low(b + 1) - 1 : UINT64_MAX;
}

void Histogram::add(uint64_t v)
{
	buckets_[bucket_of(v)]++;
	count_++;
	if (v > max_)
		max_ = v;
}

void Histogram::merge(const Histogram &o)
{
	for (unsigned i = 0; i < kBuckets; i++)
		buckets_[i] += o.buckets_[i];
	count_ += o.count_;
	if (o.max_ > max_)
		max_ = o.max_;
}

uint64_t Histogram::quantile(double q) const
{
	if (count_ == 0)
		return 0;
	if (q >= 1.0)
		return max_;
	/* The smallest bucket where the cumulative count reaches ceil(q * count). */
	uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_));
	if (static_cast<double>(rank) < q * static_cast<double>(count_))
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < kBuckets; b++) {
		seen += buckets_[b];
		if (seen >= rank) {
			uint64_t mid = bucket_low(b) + (bucket_high(b) - bucket_low(b)) / 2;
			return mid < max_ ? mid : max_;
		}
	}
	return max_;
}

bool thread_schedstat(uint64_t &run_ns, uint64_t &wait_ns)
{
	FILE *f = std::fopen("/proc/thread-self/schedstat", "r");
	if (f == nullptr)
		return false;
	unsigned long long r = 0, w = 0;
	const bool ok = std::fscanf(f, "%llu %llu", &r, &w) == 2;
	std::fclose(f);
	run_ns = r;
	wait_ns = w;
	return ok;
}

} // namespace echo
