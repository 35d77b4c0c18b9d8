/* SPDX-License-Identifier: BSD-3-Clause */
#include "status.h"

namespace rdmaud::registry {

const char* errc_name(Errc c) noexcept {
    switch (c) {
    case Errc::ok: return "ok";
    case Errc::not_found: return "not_found";
    case Errc::rejected: return "rejected";
    case Errc::unavailable: return "unavailable";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::conflict: return "conflict";
    case Errc::too_large: return "too_large";
    case Errc::internal: return "internal";
    }
    return "unknown";
}

int Status::to_errno() const noexcept {
    switch (code) {
    case Errc::ok: return 0;
    case Errc::not_found: return -ENOENT;
    case Errc::rejected: return -EBADMSG;
    case Errc::unavailable: return -EHOSTUNREACH;
    case Errc::invalid_argument: return -EINVAL;
    case Errc::conflict: return -EAGAIN;
    case Errc::too_large: return -E2BIG;
    case Errc::internal: return -EIO;
    }
    return -EIO;
}

Status Status::error(Errc code, std::string message) noexcept {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
}

Status Status::reject(RejectCause cause, std::string message) noexcept {
    Status s;
    s.code = Errc::rejected;
    s.cause = cause;
    s.message = std::move(message);
    return s;
}

}  // namespace rdmaud::registry
