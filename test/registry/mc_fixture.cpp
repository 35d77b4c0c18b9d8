/* SPDX-License-Identifier: BSD-3-Clause */
#include "mc_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#ifndef MC_FIXTURE_SCRIPT
#error "MC_FIXTURE_SCRIPT (path of memcached_fixture.sh) must be defined by the build"
#endif

namespace rdmaud::registry::test {
namespace {

// True while `pid` exists and is not a zombie.
bool alive(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    FILE* f = std::fopen(path, "r");
    if (f == nullptr)
        return false;
    char buf[512] = {};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    const char* close = std::strrchr(buf, ')');  // comm may contain spaces; state follows ')'
    return n > 0 && close != nullptr && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

}  // namespace

bool Memcached::start(uint16_t port) {
    // Without LD_PRELOAD: a test run by softud-run in the sanitizer build has ASan's runtime
    // preloaded (for the uninstrumented programs that load softud), and memcached, mktemp and
    // ss are none of those: LeakSanitizer would fail them at exit for their own small leaks.
    std::string cmd = std::string("env -u LD_PRELOAD bash ") + MC_FIXTURE_SCRIPT + " start";
    if (port != 0)
        cmd += " " + std::to_string(port);
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr)
        return false;
    unsigned prt = 0;
    long wrapper = -1, mc = -1;
    const int n = std::fscanf(p, "%u %ld %ld", &prt, &wrapper, &mc);
    const int rc = ::pclose(p);
    if (n != 3 || rc != 0 || prt == 0 || prt > 65535) {
        std::fprintf(stderr, "memcached fixture did not start (%s)\n", cmd.c_str());
        return false;
    }
    port_ = static_cast<uint16_t>(prt);
    wrapper_pid_ = static_cast<pid_t>(wrapper);
    mc_pid_ = static_cast<pid_t>(mc);
    return true;
}

void Memcached::stop() {
    // Kill by PID only; the wrapper (timeout) is not our child (the script's), so no waitpid.
    if (mc_pid_ > 0)
        ::kill(mc_pid_, SIGKILL);
    if (wrapper_pid_ > 0)
        ::kill(wrapper_pid_, SIGKILL);
    // Wait until it has exited (its sockets are closed once it is a zombie; reaping the zombie
    // is init's business and may lag) so the port is free for a restart.
    for (int i = 0; mc_pid_ > 0 && i < 400 && alive(mc_pid_); i++)
        ::usleep(2000);
    mc_pid_ = wrapper_pid_ = -1;
}

}  // namespace rdmaud::registry::test
