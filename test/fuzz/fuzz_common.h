/* SPDX-License-Identifier: BSD-3-Clause */
// Shared input convention of the wire parser fuzz targets.
//
// Input = one control byte + one UDP payload. Control bit 0 set: the harness overwrites the
// last 4 bytes with the correct ICRC before parsing, so mutations get past the ICRC check and
// reach the field decoding; clear: the bytes are parsed as they are (ICRC almost always bad).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace softud::wire::fuzz {

inline constexpr uint8_t kFixIcrc = 0x01;

// Fail loudly: libFuzzer reports the crashing input.
inline void require(bool cond) {
    if (!cond)
        std::abort();
}

}  // namespace softud::wire::fuzz
