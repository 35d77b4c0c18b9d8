/* SPDX-License-Identifier: BSD-3-Clause */
/* A real EAL for the PMD unit tests: --no-huge, --no-pci, in memory, started once. */
#include <gtest/gtest.h>

#include <string>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

namespace {

class EalEnv : public ::testing::Environment {
public:
	void SetUp() override
	{
		std::string prefix = "--file-prefix=pmdunit" + std::to_string(getpid());
		const char *argv[] = {"test_pmd_unit", "--no-huge", "-m", "256", "--no-pci",
				      "--no-telemetry", "--log-level=lib.eal:error", prefix.c_str()};
		ASSERT_GE(rte_eal_init(RTE_DIM(argv), const_cast<char **>(argv)), 0) << "EAL did not start";
	}
	void TearDown() override { rte_eal_cleanup(); }
};

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new EalEnv);

} // namespace
