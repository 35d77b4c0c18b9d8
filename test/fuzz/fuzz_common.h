/* SPDX-License-Identifier: BSD-3-Clause */
// What every fuzz target shares: require(cond) checks a property; a violation names the
// property and its line, then aborts, so libFuzzer reports it and keeps the input.
//
// The wire parser targets' input convention: one control byte + one UDP payload. Control bit 0
// set: the harness overwrites the last 4 bytes with the correct ICRC before parsing, so
// mutations get past the ICRC check and reach the field decoding; clear: the bytes are parsed
// as they are (ICRC almost always bad).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void fuzz_violated(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    std::abort();
}
#define require(cond) ((cond) ? (void)0 : fuzz_violated(#cond, __FILE__, __LINE__))

namespace softud::wire::fuzz {

inline constexpr uint8_t kFixIcrc = 0x01;

}  // namespace softud::wire::fuzz
