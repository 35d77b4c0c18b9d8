/* SPDX-License-Identifier: BSD-3-Clause */
// Error values of the registry library. Nothing in lib/registry throws across its API: every
// operation returns a Status (a code, the errno it maps to, and a message naming the server and
// the key involved). Design: doc/design/registry.md "Errors".
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

#include "record.h"

namespace rdmaud::registry {

enum class Errc : uint8_t {
    ok,
    not_found,        // no such key (never published, removed or expired)
    rejected,         // a record was there but failed validation (see Status::cause)
    unavailable,      // no memcached server answered in time
    invalid_argument, // caller error (bad MAC, name, namespace, server list, key file)
    conflict,         // CAS contention did not settle within the retry bound
    too_large,        // a value would exceed memcached's item limit or our own bound
    internal,         // anything else libmemcached or OpenSSL reported
};

const char* errc_name(Errc c) noexcept;

struct Status {
    Errc code = Errc::ok;
    RejectCause cause = RejectCause::none;  // meaningful when code == rejected
    std::string message;                    // empty when ok

    bool ok() const noexcept { return code == Errc::ok; }
    explicit operator bool() const noexcept { return ok(); }
    // Negative errno, the control-path convention of the PMD: 0 when ok.
    int to_errno() const noexcept;

    static Status success() noexcept { return {}; }
    static Status error(Errc code, std::string message) noexcept;
    static Status reject(RejectCause cause, std::string message) noexcept;
};

}  // namespace rdmaud::registry
