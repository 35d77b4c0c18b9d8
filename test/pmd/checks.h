/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The end-to-end PMD programs (test_rx_nombuf, test_rx_scatter): their EAL set-up, and
 * checks that print "ok: ..." or "FAIL: ..." and count failures (main() exits non-zero
 * when any failed).
 */
#ifndef RDMAUD_TEST_CHECKS_H
#define RDMAUD_TEST_CHECKS_H

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

inline int failures = 0;

inline void check_eq(const char *what, uint64_t got, uint64_t want)
{
	if (got == want) {
		std::printf("ok: %s = %" PRIu64 "\n", what, got);
		return;
	}
	std::printf("FAIL: %s: got %" PRIu64 ", expected %" PRIu64 "\n", what, got, want);
	failures++;
}

inline void check(const char *what, bool ok)
{
	std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	failures += ok ? 0 : 1;
}

/* EAL without hugepages on one lcore, with the driver RDMAUD_PMD and a file prefix of
 * prog's name and our pid; extra EAL arguments after those. false (printed) on failure. */
inline bool init_test_eal(const char *prog, const std::vector<std::string> &extra = {})
{
	const char *pmd = std::getenv("RDMAUD_PMD");
	if (pmd == nullptr) {
		std::printf("FAIL: RDMAUD_PMD unset\n");
		return false;
	}
	std::vector<std::string> args{prog, "--no-huge", "-m", "256", "--no-pci", "-l", "0", "-d", pmd,
				      "--no-telemetry", "--log-level=lib.eal:error",
				      "--file-prefix=" + std::string(prog) + std::to_string(getpid())};
	args.insert(args.end(), extra.begin(), extra.end());
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
		std::printf("FAIL: EAL init: %s\n", rte_strerror(rte_errno));
		return false;
	}
	return true;
}

#endif /* RDMAUD_TEST_CHECKS_H */
