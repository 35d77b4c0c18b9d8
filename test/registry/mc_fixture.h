/* SPDX-License-Identifier: BSD-3-Clause */
// A real memcached for GoogleTest fixtures, through memcached_fixture.sh (shared with the script
// tests): started on a free 127.0.0.1 port, killed by PID (stop(), restart(), destructor).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rdmaud::registry::test {

class Memcached {
public:
    Memcached() = default;
    ~Memcached() { stop(); }
    Memcached(const Memcached&) = delete;
    Memcached& operator=(const Memcached&) = delete;

    // port 0: any free port. Returns false (and says why on stderr) if it did not come up.
    bool start(uint16_t port = 0);
    // SIGKILL, like a crash. The port is kept for restart().
    void stop();
    bool restart() { stop(); return start(port_); }
    bool running() const { return mc_pid_ > 0; }
    uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    uint16_t port_ = 0;
    pid_t wrapper_pid_ = -1, mc_pid_ = -1;
};

}  // namespace rdmaud::registry::test
