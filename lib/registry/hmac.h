/* SPDX-License-Identifier: BSD-3-Clause */
// HMAC-SHA256 over a list of byte ranges, by OpenSSL's EVP_MAC; constant-time comparison.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace rdmaud::registry {

using HmacTag = std::array<uint8_t, 32>;

// Computes the tag of the concatenation of `parts`. Returns false only if OpenSSL fails.
bool hmac_sha256(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts,
                 HmacTag* out) noexcept;

// Constant-time equality of two tags (CRYPTO_memcmp).
bool tags_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;

}  // namespace rdmaud::registry
