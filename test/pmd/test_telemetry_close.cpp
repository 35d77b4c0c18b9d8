/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_rdmaud's /rdmaud/registry telemetry command against port close: a client
 * thread queries the port through the process's own telemetry socket (the
 * telemetry thread runs the callback) as fast as it answers, while the main
 * thread probes and removes the port (rte_vdev_init / rte_vdev_uninit) over and
 * over. The port has a registry link (a thread and heap objects the callback
 * reads; the registry address has no server) and a long registry name (a heap
 * string): a callback reading a port being destroyed reads freed memory, which
 * the sanitizer build reports and which can crash the normal one.
 * Checks: every cycle probes and removes the port, every query is answered, with
 * the port's dict (port 0, its MAC and name) or a refusal (null), both seen, and
 * the process exits cleanly. Bounded: kCycles cycles or kSeconds.
 * Run under softud-run (test/pmd/on_softud.sh); argv[1]: cycles.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

namespace {

constexpr const char kName[] = "net_rdmaud0";
constexpr const char kMac[] = "02:00:00:00:00:71";
/* Longer than any string's inline buffer: the name lives on the heap. */
constexpr const char kRegName[] = "telemetry-versus-close-a-name-long-enough-for-the-heap";
constexpr int kSeconds = 20;

int failures = 0;

void check(const char *what, bool ok)
{
	std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	failures += ok ? 0 : 1;
}

/* A connection to this process's telemetry socket; -1 on failure. */
int telemetry_connect()
{
	const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
	const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
	timeval tv{5, 0}; /* a query unanswered for 5 s fails the test, not hangs it */
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[16384];
	if (::connect(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) != 0 || ::recv(fd, buf, sizeof(buf), 0) <= 0) {
		::close(fd);
		return -1;
	}
	return fd;
}

struct Client {
	std::atomic<bool> stop{false};
	unsigned answered = 0, port_dicts = 0, refused = 0, bad = 0;
	std::string last_bad;

	void run(int fd)
	{
		static constexpr char kQuery[] = "/rdmaud/registry,0";
		char buf[16384];
		while (!stop.load(std::memory_order_relaxed)) {
			if (::send(fd, kQuery, sizeof(kQuery) - 1, 0) < 0) {
				bad++;
				last_bad = "send failed";
				return;
			}
			const ssize_t n = ::recv(fd, buf, sizeof(buf) - 1, 0);
			if (n <= 0) {
				bad++;
				last_bad = "no answer";
				return;
			}
			buf[n] = '\0';
			answered++;
			const std::string a(buf);
			if (a == "{\"/rdmaud/registry\":null}")
				refused++;
			else if (a.find("\"port\":0,") != std::string::npos && a.find(kMac) != std::string::npos &&
				 a.find(kRegName) != std::string::npos)
				port_dicts++;
			else {
				bad++;
				last_bad = a;
			}
		}
	}
};

} // namespace

int main(int argc, char **argv)
{
	const unsigned cycles = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 200;
	const char *pmd = std::getenv("RDMAUD_PMD");
	if (pmd == nullptr) {
		std::printf("FAIL: RDMAUD_PMD unset\n");
		return 2;
	}
	const std::string prefix = "--file-prefix=rdmaudtelclose" + std::to_string(getpid());
	const char *eal[] = {"test_telemetry_close", "--no-huge", "-m", "128", "--no-pci", "-l", "0", "-d", pmd,
			     "--log-level=lib.eal:error", "--log-level=pmd.net.rdmaud:error", prefix.c_str()};
	if (rte_eal_init(RTE_DIM(eal), const_cast<char **>(eal)) < 0) {
		std::printf("FAIL: EAL init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* Port 1 of 127.0.0.1 has no server: the link's resolver just keeps failing. */
	const std::string args = std::string("dev=softud0,mac=") + kMac +
				 ",registry=127.0.0.1:1,ns=telclose,name=" + kRegName;
	const int fd = telemetry_connect();
	check("connected to the telemetry socket", fd >= 0);
	if (fd < 0)
		return 1;
	Client client;
	std::thread t([&] { client.run(fd); });

	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds);
	unsigned done = 0;
	int rc = 0;
	for (; done < cycles && std::chrono::steady_clock::now() < deadline; done++) {
		if ((rc = rte_vdev_init(kName, args.c_str())) != 0)
			break;
		/* Let a few queries find the port open (without this, close may win every race). */
		for (unsigned seen = client.answered; client.answered < seen + 2 && client.bad == 0 &&
		     std::chrono::steady_clock::now() < deadline;)
			std::this_thread::yield();
		if ((rc = rte_vdev_uninit(kName)) != 0)
			break;
	}
	client.stop = true;
	t.join();
	::close(fd);
	std::printf("%u of %u probe/remove cycles; %u queries answered: %u with the port, %u refused, %u bad\n",
		    done, cycles, client.answered, client.port_dicts, client.refused, client.bad);
	if (client.bad != 0)
		std::printf("last bad answer: %s\n", client.last_bad.c_str());
	check("every probe and remove succeeded", rc == 0);
	check("every cycle done within the time", done == cycles);
	check("every query answered with the port or a refusal", client.bad == 0);
	check("queries found the port open", client.port_dicts > 0);
	check("queries found it closed", client.refused > 0);
	rte_eal_cleanup();
	if (failures == 0)
		std::printf("PASS: telemetry queries raced %u port probe/remove cycles safely\n", done);
	return failures == 0 ? 0 : 1;
}
